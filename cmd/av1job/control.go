package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/control"
	"github.com/av1job/av1job/internal/journal"
)

// call sends cmd to the process running the job named by name; a job no
// process runs gives a usage error saying so.
func call(cmd *cobra.Command, name, what string) (*av1job.StatusInfo, error) {
	dir := av1job.JobDir(name)
	if _, err := os.Stat(dir); err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: no job here (no job directory %s)", name, dir)}
	}
	var st av1job.StatusInfo
	if err := control.Call(cmd.Context(), dir, what, &st); err != nil {
		if errors.Is(err, control.ErrNotRunning) {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", name, err)}
		}
		return nil, err
	}
	return &st, nil
}

func newPauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pause JOB",
		Short: "Freeze every process of a running job (they keep their state in memory and use no CPU)",
		Args:  exactArgs(1, "pause takes one JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := call(cmd, args[0], "pause")
			if err != nil {
				return err
			}
			fmt.Printf("%s: paused at %d/%d frames (pid %d); av1job resume %s continues it\n", args[0], st.FramesDone, st.FramesTotal, st.PID, args[0])
			return nil
		},
	}
}

func newStopCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stop JOB",
		Short: "Stop a running job without losing work: in-flight chunks end at their current frame, everything is recorded",
		Args:  exactArgs(1, "stop takes one JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := call(cmd, args[0], "stop")
			if err != nil {
				return err
			}
			fmt.Printf("%s: stopping (pid %d), the encoders finish the frames they were given...\n", args[0], st.PID)
			dir := av1job.JobDir(args[0])
			for {
				if _, locked, _ := journal.Owner(dir); !locked {
					break
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
			if fin, err := av1job.Status(args[0]); err == nil {
				fmt.Printf("%s: %s, %d/%d frames done; av1job resume %s continues it\n", args[0], fin.State, fin.FramesDone, fin.FramesTotal, args[0])
			}
			return nil
		},
	}
}

func newResumeCmd() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "resume JOB",
		Short: "Continue a paused job, or continue a stopped or crashed job here with its original settings",
		Args:  exactArgs(1, "resume takes one JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := av1job.JobDir(args[0])
			var st av1job.StatusInfo
			err := control.Call(cmd.Context(), dir, "resume", &st)
			if err == nil {
				fmt.Printf("%s: resumed at %d/%d frames (pid %d)\n", args[0], st.FramesDone, st.FramesTotal, st.PID)
				return nil
			}
			if !errors.Is(err, control.ErrNotRunning) {
				return err
			}
			command, wd, err := av1job.ResumeCommand(args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if wd != "" {
				if err := os.Chdir(wd); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("resume: %w", err)}
				}
			}
			if !quiet {
				fmt.Fprintf(os.Stderr, "av1job: no process runs %s; continuing it here\n", args[0])
			}
			enc := newEncodeCmd()
			enc.SetContext(cmd.Context())
			rawArgs = command
			if err := enc.ParseFlags(command); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("resume: stored command: %w", err)}
			}
			rest := enc.Flags().Args()
			if quiet {
				_ = enc.Flags().Set("quiet", "true")
			}
			return enc.RunE(enc, rest)
		},
	}
	cmd.Flags().BoolVar(&quiet, "quiet", false, "print nothing but errors")
	return cmd
}
