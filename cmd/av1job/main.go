// Command av1job encodes video to AV1 with rav1e in scene chunks, in
// parallel, and can be stopped and resumed at any point: see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1   // the job failed; finished chunks are kept
	exitUsage       = 2   // bad arguments or input; nothing was changed
	exitInterrupted = 130 // stopped by a signal; finished chunks are kept
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "av1job",
		Short:         "Resumable, parallel AV1 encoding with rav1e",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newEncodeCmd(), newScenesCmd(), newStatusCmd(), newVerifyCmd())
	root.PersistentPreRun = func(*cobra.Command, []string) { ranCommand = true }
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() {
		// After the first signal, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	root := newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "av1job: "+err.Error())
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case av1job.IsUsage(err):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case isFlagError(err) || !ranCommand:
		return exitUsage // cobra's own errors: unknown command, flag or argument
	}
	return exitFailed
}

// isFlagError reports cobra's errors for unknown flags and bad arguments,
// which come back as plain errors.
func isFlagError(err error) bool {
	var ue *usageErr
	return errors.As(err, &ue)
}

type usageErr struct{ error }

// ranCommand is set once a command's arguments parsed and it started.
var ranCommand bool
