package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job"
)

// usageIfIdle makes a job that no process runs, or no job at all, a usage
// error.
func usageIfIdle(name string, err error) error {
	if err == nil {
		return nil
	}
	if _, serr := os.Stat(av1job.JobDir(name)); serr != nil || errors.Is(err, av1job.ErrNotRunning) {
		return &exitError{code: exitUsage, err: err}
	}
	return err
}

func newPauseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pause JOB",
		Short: "Freeze every process of a running job (they keep their state in memory and use no CPU)",
		Args:  exactArgs(1, "pause takes one JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := av1job.PauseJob(cmd.Context(), args[0])
			if err != nil {
				return usageIfIdle(args[0], err)
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
			st, err := av1job.StopJob(cmd.Context(), args[0])
			if err != nil {
				return usageIfIdle(args[0], err)
			}
			fmt.Printf("%s: stopping (pid %d), the encoders finish the frames they were given...\n", args[0], st.PID)
			if err := av1job.WaitJob(cmd.Context(), args[0]); err != nil {
				return err
			}
			if fin, err := av1job.Status(cmd.Context(), args[0]); err == nil {
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
			st, err := av1job.ResumeJob(cmd.Context(), args[0])
			if err == nil {
				fmt.Printf("%s: resumed at %d/%d frames (pid %d)\n", args[0], st.FramesDone, st.FramesTotal, st.PID)
				return nil
			}
			if !errors.Is(err, av1job.ErrNotRunning) {
				return usageIfIdle(args[0], err)
			}
			o, err := av1job.Load(args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if !quiet {
				fmt.Fprintf(os.Stderr, "av1job: no process runs %s; continuing it here\n", args[0])
			}
			return runEncode(cmd.Context(), o, quiet)
		},
	}
	cmd.Flags().BoolVar(&quiet, "quiet", false, "print nothing but errors")
	return cmd
}
