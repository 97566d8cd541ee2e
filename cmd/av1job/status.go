package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job"
)

func newStatusCmd() *cobra.Command {
	var asJSON bool
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "status JOB",
		Short: "Print a job's state and progress (JOB is the output path or the job directory, or a server job's ID)",
		Args:  exactArgs(1, "status takes one JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ji, err := sf.serverJob(cmd.Context(), args[0]); err != nil || c != nil {
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(os.Stdout).Encode(ji)
				}
				fmt.Printf("job %s: %s, %s frames (%s %%), %d/%d chunks, %s fps, ETA %s\n", ji.ID, queueState(ji), frames(ji), percent(ji), ji.ChunksDone, ji.ChunksTotal, fps(ji.FPS), eta(ji.ETA))
				fmt.Printf("  %s -> %s\n", ji.Input, ji.Output)
				if ji.Error != "" {
					fmt.Println("error:", ji.Error)
				}
				return nil
			}
			st, err := av1job.Status(cmd.Context(), args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(st)
			}
			pct := 0.0
			if st.FramesTotal > 0 {
				pct = 100 * float64(st.FramesDone) / float64(st.FramesTotal)
			}
			fmt.Printf("%s: %s", st.Job, st.State)
			if st.PID > 0 {
				fmt.Printf(" (pid %d)", st.PID)
			}
			if st.FramesTotal > 0 {
				fmt.Printf(", %d/%d frames (%.1f %%), %d/%d chunks", st.FramesDone, st.FramesTotal, pct, st.ChunksDone, st.ChunksTotal)
			}
			fmt.Println()
			if !st.PausedSince.IsZero() {
				fmt.Printf("paused since %s (%s)\n", st.PausedSince.Format(time.TimeOnly), time.Since(st.PausedSince).Round(time.Second))
			}
			if st.Error != "" {
				fmt.Println("error:", st.Error)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	sf.add(cmd.Flags())
	return cmd
}
