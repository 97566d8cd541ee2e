package main

import (
	"context"
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
	var sf serverFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "pause JOB | --all",
		Short: "Freeze every process of a running job (they keep their state in memory and use no CPU)",
		Long: `Freeze every process of a running job: they keep their state in memory and
use no CPU until resume. JOB is a job's output path or job directory, or the
ID (or output) of a job on an av1job server, whose encoders are frozen on
every worker. --all pauses every job of the server.`,
		Args: allOrOne(&all, "pause"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all {
				return controlAll(cmd.Context(), &sf, "pause")
			}
			if c, ji, err := sf.serverJob(cmd.Context(), args[0]); err != nil || c != nil {
				if err != nil {
					return err
				}
				return serverControl(cmd.Context(), c, ji, args[0], "pause")
			}
			st, err := av1job.PauseJob(cmd.Context(), args[0])
			if err != nil {
				return usageIfIdle(args[0], err)
			}
			fmt.Printf("%s: paused at %d/%d frames (pid %d); av1job resume %s continues it\n", args[0], st.FramesDone, st.FramesTotal, st.PID, args[0])
			return nil
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "every job of the server")
	return cmd
}

// allOrOne accepts one JOB, or none with --all.
func allOrOne(all *bool, name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case *all && len(args) > 0:
			return &usageErr{fmt.Errorf("%s --all takes no JOB", name)}
		case !*all && len(args) != 1:
			return &usageErr{fmt.Errorf("%s takes one JOB (or --all)", name)}
		}
		return nil
	}
}

// controlAll pauses or resumes every job of the server.
func controlAll(ctx context.Context, sf *serverFlags, op string) error {
	c, err := sf.client()
	if err != nil {
		return err
	}
	jobs, err := c.All(ctx, op)
	if err != nil {
		return requestErr(err)
	}
	for _, j := range jobs {
		fmt.Printf("job %s (%s): %s\n", j.ID, j.Output, queueState(&j))
	}
	if len(jobs) == 0 {
		fmt.Println("no job to " + op)
	}
	return nil
}

func newStopCmd() *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "stop JOB",
		Short: "Stop a running job without losing work: in-flight chunks end at their current frame, everything is recorded",
		Args:  exactArgs(1, "stop takes one JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ji, err := sf.serverJob(cmd.Context(), args[0]); err != nil || c != nil {
				if err != nil {
					return err
				}
				if err := serverControl(cmd.Context(), c, ji, args[0], "stop"); err != nil {
					return err
				}
				fin, err := c.Wait(cmd.Context(), ji.ID)
				if err != nil {
					return requestErr(err)
				}
				fmt.Printf("job %s: %s, %d/%d frames done; av1job resume %s continues it\n", fin.ID, fin.State, fin.FramesDone, fin.FramesTotal, fin.ID)
				return nil
			}
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
	sf.add(cmd.Flags())
	return cmd
}

func newResumeCmd() *cobra.Command {
	var quiet, all bool
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "resume JOB | --all",
		Short: "Continue a paused job, or continue a stopped or crashed job here with its original settings",
		Long: `Continue a paused job, or continue a stopped or crashed job here with its
original settings. A job on an av1job server (JOB is its ID or output) is
resumed by the server: a stopped or failed one is queued again. --all resumes
every job of the server.`,
		Args: allOrOne(&all, "resume"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all {
				return controlAll(cmd.Context(), &sf, "resume")
			}
			if c, ji, err := sf.serverJob(cmd.Context(), args[0]); err != nil || c != nil {
				if err != nil {
					return err
				}
				return serverControl(cmd.Context(), c, ji, args[0], "resume")
			}
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
	cmd.Flags().BoolVar(&all, "all", false, "every job of the server")
	sf.add(cmd.Flags())
	return cmd
}
