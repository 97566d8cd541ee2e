// Command benchmetric times package ssimulacra2 on a generated 1080p pair
// and, when it finds the reference tool (github.com/cloudinary/ssimulacra2;
// $SSIMULACRA2_REF, else ssimulacra2 in PATH), times that on the same PNG
// files, and prints a table.
//
// The pair is a testsrc2 frame and a blurred, noisy copy, written as PNGs
// by ffmpeg into a temporary directory. Go is timed scoring decoded images
// (Score alone, with -workers goroutines and with one, since the reference
// tool uses one thread) and from the PNG files (decoding included, as the
// reference tool's time includes its own decoding and start-up): once cold
// and as the median of -n runs. The reference tool runs -n times; its
// median counts.
//
// Run it with `make bench-metric`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/av1job/av1job/ssimulacra2"
)

func main() {
	size := flag.String("size", "1920x1080", "frame size")
	runs := flag.Int("n", 5, "timed runs of each (the median counts)")
	workers := flag.Int("workers", 0, "goroutines per comparison (0: GOMAXPROCS)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *size, *runs, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "benchmetric:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, size string, runs, workers int) error {
	if runs < 1 {
		return errors.New("-n must be at least 1")
	}
	dir, err := os.MkdirTemp("", "benchmetric-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ref, dist := filepath.Join(dir, "ref.png"), filepath.Join(dir, "dist.png")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=s="+size,
		"-filter_complex", "format=rgb24,split[r][d];[d]gblur=sigma=0.8,noise=alls=6:allf=t:all_seed=1[o]",
		"-map", "[r]", "-frames:v", "1", ref, "-map", "[o]", "-frames:v", "1", dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("generate pair: %w\n%s", err, out)
	}

	sc := ssimulacra2.Scorer{Workers: workers}
	var goScore float64
	fromFiles := func() (time.Duration, error) {
		start := time.Now()
		a, err := loadPNG(ref)
		if err != nil {
			return 0, err
		}
		b, err := loadPNG(dist)
		if err != nil {
			return 0, err
		}
		if goScore, err = sc.Score(a, b); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	a, err := loadPNG(ref)
	if err != nil {
		return err
	}
	b, err := loadPNG(dist)
	if err != nil {
		return err
	}
	scoreWith := func(sc ssimulacra2.Scorer) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			start := time.Now()
			var err error
			goScore, err = sc.Score(a, b)
			return time.Since(start), err
		}
	}

	type row struct {
		name       string
		first, med time.Duration
		score      float64
	}
	var rows []row
	for _, m := range []struct {
		name string
		f    func() (time.Duration, error)
	}{
		{"go Score", scoreWith(sc)},
		{"go Score, 1 worker", scoreWith(ssimulacra2.Scorer{Workers: 1})},
		{"go PNG files", fromFiles},
	} {
		ts, err := timeRuns(ctx, runs+1, m.f)
		if err != nil {
			return err
		}
		rows = append(rows, row{m.name, ts[0], median(ts[1:]), goScore})
	}

	tool := os.Getenv("SSIMULACRA2_REF")
	if tool == "" {
		tool, _ = exec.LookPath("ssimulacra2")
	}
	var refScore float64
	if tool != "" {
		ts, err := timeRuns(ctx, runs+1, func() (time.Duration, error) {
			start := time.Now()
			out, err := exec.CommandContext(ctx, tool, ref, dist).Output()
			if err != nil {
				return 0, fmt.Errorf("%s: %w", tool, err)
			}
			d := time.Since(start)
			refScore, err = strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			return d, err
		})
		if err != nil {
			return err
		}
		rows = append(rows, row{"reference tool", ts[0], median(ts[1:]), refScore})
	}

	w := workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	fmt.Printf("SSIMULACRA 2.1, %s testsrc2 pair, %d CPUs, %d workers, median of %d runs\n\n", size, runtime.NumCPU(), w, runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tfirst run\tmedian\tscore\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.6f\t\n", r.name, ms(r.first), ms(r.med), r.score)
	}
	if tool == "" {
		fmt.Fprintln(tw, "reference tool\tnot found: set SSIMULACRA2_REF or put ssimulacra2 in PATH\t\t\t")
	}
	return tw.Flush()
}

// timeRuns calls f n times and returns its durations.
func timeRuns(ctx context.Context, n int, f func() (time.Duration, error)) ([]time.Duration, error) {
	var ts []time.Duration
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := f()
		if err != nil {
			return nil, err
		}
		ts = append(ts, d)
	}
	return ts, nil
}

func median(ts []time.Duration) time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func loadPNG(path string) (*ssimulacra2.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return ssimulacra2.FromImage(im), nil
}
