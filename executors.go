package av1job

import "github.com/av1job/av1job/local"

// LocalExecutor runs tasks on this machine; see package local.
type LocalExecutor = local.Executor

// AutoWorkers is the default number of parallel encoders for a source of
// this size and bit depth with the default encoder; see package local.
func AutoWorkers(width, height, bitDepth int) int { return local.AutoWorkers(width, height, bitDepth) }
