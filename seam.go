package av1job

import "github.com/av1job/av1job/task"

// The values that cross the seam between a job's coordinator and the
// executors that run its chunks live in package task; these names keep
// them in this package's API.
type (
	Task            = task.Task
	SourceRef       = task.SourceRef
	EncoderRef      = task.EncoderRef
	EncoderOptions  = task.EncoderOptions
	Result          = task.Result
	TaskError       = task.TaskError
	StreamHeader    = task.StreamHeader
	StreamWriter    = task.StreamWriter
	Steer           = task.Steer
	Executor        = task.Executor
	Pauser          = task.Pauser
	Recoverer       = task.Recoverer
	SentStream      = task.SentStream
	TargetQuality   = task.TargetQuality
	Probe           = task.Probe
	QualityRecorder = task.QualityRecorder
	Placed          = task.Placed
	// A SourceChangedError reports that the file at a job's source path
	// is no longer the file the job was planned from.
	SourceChangedError = task.SourceChangedError
)

// ErrStopped is returned by Run when the job was stopped on request
// (Job.Stop, or a signal the caller turned into Stop): everything encoded
// until then is recorded, and running the job again continues it.
var ErrStopped = task.ErrStopped
