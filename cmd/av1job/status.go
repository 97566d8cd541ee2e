package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job"
)

func newStatusCmd() *cobra.Command {
	var asJSON, showChunks bool
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
			chunks, err := av1job.ReadChunks(st.Job)
			if err != nil && (asJSON || showChunks) {
				fmt.Fprintln(os.Stderr, "av1job: chunks:", err)
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(struct {
					*av1job.StatusInfo
					Chunks []av1job.ChunkInfo `json:"chunks,omitempty"`
				}{st, chunks})
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
			if showChunks {
				printChunks(os.Stdout, chunks, st.FrameRate)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (with each chunk)")
	cmd.Flags().BoolVar(&showChunks, "chunks", false, "print a table of the chunks: frames, state, size, bitrate and, with --target-quality, probes, quantizer and score")
	sf.add(cmd.Flags())
	return cmd
}

// printChunks prints a table of the chunks; rate is the frame rate (0
// when unknown).
func printChunks(w io.Writer, chunks []av1job.ChunkInfo, rate float64) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "chunk\tframes\tstate\tsize\tkbit/s\tprobes\tq\tscore\t")
	var scored []float64
	for _, c := range chunks {
		kbps, q, score, probes := "-", "-", "-", "-"
		if c.Frames > 0 && rate > 0 {
			kbps = fmt.Sprintf("%.0f", float64(c.Bytes)*8*rate/float64(c.Frames)/1000)
		}
		if c.Quantizer > 0 {
			q = fmt.Sprint(c.Quantizer)
		}
		if c.Score != nil {
			score = fmt.Sprintf("%.4g", *c.Score)
			scored = append(scored, *c.Score)
		}
		if c.Probes > 0 {
			probes = fmt.Sprint(c.Probes)
		}
		fmt.Fprintf(tw, "%d\t%d-%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.ID, c.Start, c.End-1, c.State, humanBytes(c.Bytes), kbps, probes, q, score)
	}
	tw.Flush()
	if len(scored) > 0 {
		fmt.Fprintf(w, "%d of %d chunks scored: mean %.4g, worst %.4g\n", len(scored), len(chunks), mean(scored), slices.Min(scored))
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// humanBytes writes a size in B, KiB or MiB.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
