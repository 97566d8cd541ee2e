package av1job

import (
	"errors"
	"fmt"

	"github.com/av1job/av1job/internal/claim"
	"github.com/av1job/av1job/internal/control"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// ErrNotRunning is returned by PauseJob, ResumeJob and StopJob when no
// process runs the job.
var ErrNotRunning = control.ErrNotRunning

// UsageError is a problem with the options, the input files or the job
// directory that running the same command again cannot fix: nothing was
// started, and nothing was changed on disk. Err, when set, is the cause
// (errors.As reaches it: a *tools.MissingError for a missing program, for
// instance).
type UsageError struct {
	Msg string // the message; Err's when empty
	Err error
}

func (e *UsageError) Error() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// IsUsage reports whether err is a *UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// usage marks err as a usage error, keeping it as the cause.
func usage(err error) error {
	if err == nil || IsUsage(err) {
		return err
	}
	return &UsageError{Err: err}
}

// classify turns the errors that mean "bad input or job directory, nothing
// changed" into usage errors and leaves every other error as it is: an I/O
// error is not the user's input.
func classify(err error) error {
	var (
		in      *probe.InputError
		miss    *tools.MissingError
		locked  *journal.LockedError
		notJob  *jobdir.NotJobError
		damaged *jobdir.DamagedError
		held    *claim.HeldError
	)
	switch {
	case errors.As(err, &in), errors.As(err, &miss), errors.As(err, &locked),
		errors.As(err, &notJob), errors.As(err, &damaged), errors.As(err, &held):
		return usage(err)
	}
	return err
}
