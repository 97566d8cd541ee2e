// Package task holds the values that cross the seam between a job's
// coordinator and whatever runs its chunks: a Task (one chunk's work as a
// plain value), its Result, the Executor that runs it and the StreamWriter
// it writes to, the Steer that stops or pauses it, a TargetQuality with its
// Probes and the quantizer search over them (a function of the value
// alone, so every executor decides alike), and ErrStopped. It imports no other package of av1job's API, so
// an executor (package local, package cluster) and the job (package av1job)
// share it without depending on each other.
package task
