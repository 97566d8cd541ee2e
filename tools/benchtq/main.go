// Command benchtq measures target-quality encoding on a generated clip of
// eight scenes that differ widely in how hard they are to encode: it
// encodes the clip with `--target-quality`, prints each chunk's probes,
// chosen quantizer, predicted and measured score and size, and how many
// chunks land within ±2 of the target; then it finds the fixed quantizer
// whose output has the same mean score (bisection; each chunk
// measured by verify from the output), and the one whose worst chunk is
// as good, and compares sizes and worst chunks. It also checks that verify,
// measuring the muxed output, finds the scores the job journaled.
//
// Run it with `make bench-tq`; -target, -size, -frames and -speed change
// the clip and the settings.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/verify"
)

func main() {
	target := flag.Float64("target", 70, "target SSIMULACRA2 score")
	size := flag.String("size", "640x360", "clip size")
	frames := flag.Int("frames", 72, "frames per scene")
	speed := flag.Int("speed", 10, "encoder speed")
	probes := flag.Int("probes", 4, "probes per chunk")
	keep := flag.String("keep", "", "keep the clip and the outputs in this directory")
	compare := flag.Bool("fixed", true, "compare with fixed quantizers")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *target, *size, *frames, *speed, *probes, *keep, *compare); err != nil {
		fmt.Fprintln(os.Stderr, "benchtq:", err)
		os.Exit(1)
	}
}

// chunk is what the bench reads of a chunk from the job's journal.
type chunk struct {
	id, start, end int
	q              int
	score          float64
	size           int64
	probes         []av1job.Probe
}

func run(ctx context.Context, target float64, size string, frames, speed, probes int, keep string, compare bool) error {
	var w, h int
	if _, err := fmt.Sscanf(size, "%dx%d", &w, &h); err != nil {
		return fmt.Errorf("-size %q: %w", size, err)
	}
	dir := keep
	if dir == "" {
		d, err := os.MkdirTemp("", "benchtq-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	spec := testclip.Spec{Width: w, Height: h, Rate: "24", SegFrames: frames, VideoCodec: "ffv1",
		Segments: []string{"testsrc2", "mandelbrot", "life", "smptehdbars", "cellauto", "testsrc", "rgbtestsrc", "yuvtestsrc"}}
	in := filepath.Join(dir, "clip.mkv")
	if err := testclip.Make(ctx, spec, in); err != nil {
		return err
	}
	fmt.Printf("clip: %dx%d, %d scenes of %d frames (%s), speed %d, target SSIMULACRA2 %g (mean per chunk), %d probes\n\n",
		w, h, len(spec.Segments), frames, strings.Join(spec.Segments, ", "), speed, target, probes)

	encode := func(name string, tq float64, lo, hi, n int) ([]chunk, time.Duration, int64, error) {
		out := filepath.Join(dir, name+".mkv")
		o := av1job.NewOptions(in, out)
		o.Speed, o.Keep, o.Overwrite, o.Restart = av1job.SpeedOf(speed), true, true, true
		o.TargetQuality, o.MinQuantizer, o.MaxQuantizer, o.Probes = tq, lo, hi, n
		_ = os.RemoveAll(out + ".av1job")
		t0 := time.Now()
		if err := av1job.New(o).Run(ctx); err != nil {
			return nil, 0, 0, err
		}
		took := time.Since(t0)
		cs, err := readChunks(out + ".av1job")
		fi, _ := os.Stat(out)
		return cs, took, fi.Size(), err
	}

	cs, took, outSize, err := encode("target", target, av1job.DefaultMinQuantizer, av1job.DefaultMaxQuantizer, probes)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "chunk\tframes\tprobes (q: score)\tq\tpredicted\tmeasured\tmeasured-predicted\tKiB\t")
	var within, below5, measured int
	var errSum, errMax float64
	for _, c := range cs {
		var ps []string
		for _, p := range c.probes {
			ps = append(ps, fmt.Sprintf("%d: %.1f", p.Quantizer, p.Score))
		}
		tq := av1job.TargetQuality{Score: target, Metric: "ssimulacra2", Stat: "mean", MinQ: av1job.DefaultMinQuantizer, MaxQ: av1job.DefaultMaxQuantizer, Probes: probes, Known: c.probes}
		_, pred, _, _ := tq.Decide()
		d := c.score - pred
		measured++
		errSum += math.Abs(d)
		errMax = math.Max(errMax, math.Abs(d))
		if math.Abs(c.score-target) <= 2 {
			within++
		}
		if c.score < target-5 {
			below5++
		}
		fmt.Fprintf(tw, "%d\t%d-%d\t%s\t%d\t%.2f\t%.2f\t%+.2f\t%.1f\t\n", c.id, c.start, c.end-1, strings.Join(ps, ", "), c.q, pred, c.score, d, float64(c.size)/1024)
	}
	tw.Flush()
	tqMean, tqWorst := summary(cs)
	fmt.Printf("\ntarget quality: %d of %d chunks within ±2 of %g (%.0f %%), %d more than 5 below; |measured-predicted| mean %.2f, max %.2f\n",
		within, measured, target, 100*float64(within)/float64(measured), below5, errSum/float64(measured), errMax)
	fmt.Printf("target quality: %.1f s, output %.1f KiB, mean score %.2f (frame-weighted), worst chunk %.2f\n\n", took.Seconds(), float64(outSize)/1024, tqMean, tqWorst)

	// The journaled scores are those of the output: verify measures the
	// same frames from the muxed file.
	vq, err := verify.Measure(ctx, in, filepath.Join(dir, "target.mkv"), verify.MetricOptions{Metric: "ssimulacra2"})
	if err != nil {
		return err
	}
	var maxDiff float64
	for i, c := range cs {
		if i < len(vq.Chunks) {
			maxDiff = math.Max(maxDiff, math.Abs(vq.Chunks[i].Score-c.score))
		}
	}
	fmt.Printf("verify --metric on the output: %d keyframe chunks for %d chunks; largest difference from the journaled scores %.2g\n\n", len(vq.Chunks), len(cs), maxDiff)
	if !compare {
		return nil
	}

	// Fixed quantizers: the one of the same mean score and the one of the
	// same worst chunk (scores fall as the quantizer rises), each chunk
	// measured from the output by verify.
	type fixed struct {
		q           int
		mean, worst float64
		size        int64
	}
	runs := map[int]fixed{}
	encodeFixed := func(q int) (fixed, error) {
		if f, ok := runs[q]; ok {
			return f, nil
		}
		out := filepath.Join(dir, fmt.Sprintf("fixed-%d.mkv", q))
		o := av1job.NewOptions(in, out)
		o.Speed, o.Quantizer, o.Overwrite, o.Restart = av1job.SpeedOf(speed), q, true, true
		if err := av1job.New(o).Run(ctx); err != nil {
			return fixed{}, err
		}
		m, err := verify.Measure(ctx, in, out, verify.MetricOptions{Metric: "ssimulacra2"})
		if err != nil {
			return fixed{}, err
		}
		var fcs []chunk
		for _, c := range m.Chunks {
			fcs = append(fcs, chunk{start: c.Start, end: c.End, score: c.Score})
		}
		fi, err := os.Stat(out)
		if err != nil {
			return fixed{}, err
		}
		mean, worst := summary(fcs)
		f := fixed{q, mean, worst, fi.Size()}
		runs[q] = f
		fmt.Printf("fixed quantizer %d: mean %.2f, worst chunk %.2f, %.1f KiB\n", q, mean, worst, float64(f.size)/1024)
		return f, nil
	}
	// closest bisects for the quantizer whose value of get is nearest to
	// want.
	closest := func(get func(fixed) float64, want float64) (fixed, error) {
		lo, hi := av1job.DefaultMinQuantizer, av1job.DefaultMaxQuantizer
		var best *fixed
		for lo <= hi {
			q := (lo + hi) / 2
			f, err := encodeFixed(q)
			if err != nil {
				return f, err
			}
			if best == nil || math.Abs(get(f)-want) < math.Abs(get(*best)-want) {
				best = &f
			}
			if get(f) >= want {
				lo = q + 1
			} else {
				hi = q - 1
			}
		}
		return *best, nil
	}
	sameMean, err := closest(func(f fixed) float64 { return f.mean }, tqMean)
	if err != nil {
		return err
	}
	sameWorst, err := closest(func(f fixed) float64 { return f.worst }, tqWorst)
	if err != nil {
		return err
	}
	fmt.Printf("\n%-36s %10s %12s %12s\n", "", "KiB", "mean score", "worst chunk")
	fmt.Printf("%-36s %10.1f %12.2f %12.2f\n", fmt.Sprintf("target quality %g", target), float64(outSize)/1024, tqMean, tqWorst)
	for _, f := range []struct {
		what string
		fixed
	}{{"same mean", sameMean}, {"same worst chunk", sameWorst}} {
		fmt.Printf("%-36s %10.1f %12.2f %12.2f   target quality's size %+.1f %%\n", fmt.Sprintf("fixed quantizer %d (%s)", f.q, f.what),
			float64(f.size)/1024, f.mean, f.worst, 100*(float64(outSize)/float64(f.size)-1))
	}
	return nil
}

// summary returns the frame-weighted mean of the chunks' scores and the
// worst chunk's.
func summary(cs []chunk) (mean, worst float64) {
	worst = math.Inf(1)
	var sum float64
	var n int
	for _, c := range cs {
		sum += c.score * float64(c.end-c.start)
		n += c.end - c.start
		worst = math.Min(worst, c.score)
	}
	return sum / float64(n), worst
}

// readChunks reads the done chunks, with their probes, from a job's
// journal.
func readChunks(jobDir string) ([]chunk, error) {
	f, err := os.Open(filepath.Join(jobDir, "journal.log"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type rec struct {
		Type              string
		Chunk, Start, End int
		Q                 int
		Score             *float64
		Size              int64
	}
	probes := map[int][]av1job.Probe{}
	var out []chunk
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, payload, _ := strings.Cut(sc.Text(), " ")
		var r rec
		if json.Unmarshal([]byte(payload), &r) != nil || r.Score == nil {
			continue
		}
		switch r.Type {
		case "probe":
			probes[r.Chunk] = append(probes[r.Chunk], av1job.Probe{Quantizer: r.Q, Score: *r.Score, Size: r.Size})
		case "done":
			out = append(out, chunk{id: r.Chunk, start: r.Start, end: r.End, q: r.Q, score: *r.Score, size: r.Size})
		}
	}
	for i := range out {
		out[i].probes = probes[out[i].id]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out, sc.Err()
}
