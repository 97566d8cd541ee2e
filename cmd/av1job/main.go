// Command av1job encodes video to AV1 with rav1e in scene chunks, in
// parallel, and can be stopped and resumed at any point: see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1   // the job failed; finished chunks are kept
	exitUsage       = 2   // bad arguments or input; nothing was changed
	exitStopped     = 3   // stopped on request (stop, Ctrl+C, SIGTERM, SIGHUP); all encoded work recorded
	exitInterrupted = 130 // killed by a second Ctrl+C; the next run salvages what was in flight
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
	root.Flags().Bool("version", false, "print the versions of av1job, its encoders, ffmpeg, ffprobe and dav1d")
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if v, _ := cmd.Flags().GetBool("version"); v {
			fmt.Print(version())
			return nil
		}
		return cmd.Help()
	}
	root.AddCommand(newVersionCmd(), newEncodeCmd(), newScenesCmd(), newStatusCmd(), newVerifyCmd(),
		newPauseCmd(), newResumeCmd(), newStopCmd(), newWorkerCmd(),
		newServerCmd(), newSubmitCmd(), newJobsCmd(), newWaitCmd())
	root.PersistentPreRun = func(*cobra.Command, []string) { ranCommand = true }
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of av1job, its encoders, ffmpeg, ffprobe and dav1d",
		Args:  exactArgs(0, "version takes no arguments"),
		RunE: func(*cobra.Command, []string) error {
			fmt.Print(version())
			return nil
		},
	}
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// signals routes SIGINT, SIGTERM and SIGHUP: the first one calls the
// stopper a running job registered (a graceful stop), or cancels the
// command's context; the second one exits at once (children die with
// av1job through their parent-death signal).
type signals struct {
	mu      sync.Mutex
	stopper func()
	restore []func() // undo terminal changes before exiting
}

var sig signals

func (s *signals) setStopper(f func()) {
	s.mu.Lock()
	s.stopper = f
	s.mu.Unlock()
}

func (s *signals) onExit(f func()) {
	s.mu.Lock()
	s.restore = append(s.restore, f)
	s.mu.Unlock()
}

func (s *signals) runExitHooks() {
	s.mu.Lock()
	hooks := s.restore
	s.restore = nil
	s.mu.Unlock()
	for i := len(hooks) - 1; i >= 0; i-- {
		hooks[i]()
	}
}

func (s *signals) route(cancel context.CancelFunc) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-ch
		s.mu.Lock()
		stopper := s.stopper
		s.mu.Unlock()
		if stopper != nil {
			stopper() // the job reports that it is stopping
		} else {
			cancel()
		}
		<-ch
		s.runExitHooks()
		fmt.Fprintln(os.Stderr, "\nav1job: killed; the next run keeps what was encoded")
		os.Exit(exitInterrupted)
	}()
}

func run(args []string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig.route(cancel)
	defer sig.runExitHooks()
	if len(args) > 0 && args[0] == "encode" {
		rawArgs = args[1:]
	}
	root := newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	// Every error is one line.
	fmt.Fprintln(os.Stderr, "av1job: "+strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; "))
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case av1job.IsUsage(err):
		return exitUsage
	case errors.Is(err, av1job.ErrStopped):
		return exitStopped
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
