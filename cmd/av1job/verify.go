package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/quality"
	"github.com/av1job/av1job/internal/verify"
)

// verifyFlags are verify's options beyond verify.Options.
type verifyFlags struct {
	metric verify.MetricOptions
	plot   string // an SVG file to write
	chunks bool   // print the per-chunk table
	audio  string // the encode's --audio
}

func newVerifyCmd() *cobra.Command {
	var (
		opt verify.Options
		vf  verifyFlags
	)
	cmd := &cobra.Command{
		Use:   "verify SOURCE OUTPUT",
		Short: "Check OUTPUT against SOURCE frame by frame",
		Long: `Decode SOURCE and OUTPUT side by side and check: equal frame counts, every
output frame closest to its own source frame (no shift, drop or duplicate), a
per-frame PSNR floor, the number of audio, subtitle and attachment streams,
and the durations. Prints one line; exits 1 if any check fails.

With --metric (or --plot), it also scores every output frame against its
source frame with SSIMULACRA2 or PSNR, sums the scores up per chunk (the
output's keyframe intervals) and prints a second line with the mean, 5th
percentile and minimum and the worst chunk; --chunks adds a line per chunk,
--plot draws the scores and the chunks' bit rates as an SVG. The scores
do not fail the check.`,
		Args: exactArgs(2, "verify takes SOURCE and OUTPUT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := vf.check(cmd.Flags().Changed); err != nil {
				return &usageErr{err}
			}
			a, err := mux.ParseAudio(vf.audio)
			if err != nil {
				return &usageErr{err}
			}
			opt.Audio = a
			if strings.EqualFold(filepath.Ext(args[1]), ".ivf") {
				opt.VideoOnly = true // IVF holds only the video
			}
			return runVerify(cmd.Context(), os.Stdout, args[0], args[1], opt, vf)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&opt.MinPSNR, "min-psnr", verify.DefaultMinPSNR, "lowest acceptable luma PSNR of any frame, in dB")
	f.BoolVar(&opt.VideoOnly, "video-only", false, "compare the video only, not the other streams")
	f.StringVar(&vf.audio, "audio", "", "the --audio the output was encoded with: copy, opus[:KBPS] or none")
	f.StringVar(&vf.metric.Metric, "metric", "", "also score every frame: ssimulacra2, psnr or ssim")
	f.StringVar(&vf.metric.Stat, "quality-stat", quality.StatMean, "how a chunk's frame scores are summed up: mean, p5 or min")
	f.StringVar(&vf.plot, "plot", "", "write a plot of the scores and the chunks' bit rates to `FILE.svg` (implies --metric ssimulacra2)")
	f.BoolVarP(&vf.chunks, "chunks", "v", false, "print the score and bit rate of every chunk")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	return cmd
}

// check validates the flags and fills in what --plot implies; changed
// tells which flags were given.
func (vf *verifyFlags) check(changed func(string) bool) error {
	if vf.plot != "" && vf.metric.Metric == "" {
		vf.metric.Metric = quality.SSIMULACRA2
	}
	if vf.metric.Metric == "" {
		for _, name := range []string{"quality-stat", "chunks"} {
			if changed(name) {
				return fmt.Errorf("--%s needs --metric or --plot", name)
			}
		}
		return nil
	}
	if err := quality.CheckMetric(vf.metric.Metric); err != nil {
		return fmt.Errorf("--metric: %w", err)
	}
	if err := quality.CheckStat(vf.metric.Stat); err != nil {
		return fmt.Errorf("--quality-stat: %w", err)
	}
	if vf.plot != "" {
		if !strings.EqualFold(filepath.Ext(vf.plot), ".svg") {
			return fmt.Errorf("--plot %s: the file name must end in .svg", vf.plot)
		}
		dir := filepath.Dir(vf.plot)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("--plot %s: no directory %s to write it in", vf.plot, dir)
		}
	}
	return nil
}

// runVerify runs verify on sourcePath and outputPath and prints its report
// to w: the check's line, then, with a metric, the scores' line and the
// chunk table, and writes the plot. The exit code is the check's: a score
// fails nothing; a metric that cannot be measured is an error unless the
// check already failed, when it is only noted on stderr.
func runVerify(ctx context.Context, w io.Writer, sourcePath, outputPath string, opt verify.Options, vf verifyFlags) error {
	rep, err := verify.Run(ctx, sourcePath, outputPath, opt)
	if err != nil {
		return inputErr(err)
	}
	fmt.Fprintln(w, rep.Summary())
	failed := func() error {
		if rep.OK() {
			return nil
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("%s does not match %s", outputPath, sourcePath)}
	}
	if vf.metric.Metric == "" {
		return failed()
	}
	q, err := verify.Measure(ctx, sourcePath, outputPath, vf.metric)
	if err != nil {
		if rep.OK() || ctx.Err() != nil {
			return inputErr(err)
		}
		fmt.Fprintf(os.Stderr, "av1job: %s not measured: %v\n", vf.metric.Metric, err)
		return failed()
	}
	fmt.Fprintln(w, q.Summary())
	if vf.chunks {
		fmt.Fprint(w, q.Table())
	}
	if vf.plot != "" {
		if err := verify.WritePlot(vf.plot, q); err != nil {
			return fmt.Errorf("--plot %s: %w", vf.plot, err)
		}
	}
	return failed()
}

// inputErr gives a file that cannot be read the exit code of bad input.
func inputErr(err error) error {
	var ie *probe.InputError
	if errors.As(err, &ie) {
		return &exitError{code: exitUsage, err: err}
	}
	return err
}
