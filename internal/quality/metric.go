// Package quality measures how close an encoded stream is to its source,
// frame by frame, and sums a chunk's scores up (Stat). The search for the
// quantizer that reaches a target score is package task's
// (TargetQuality.Next), beside the values it works on.
//
// Three metrics are built in. Two are computed here in Go from the decoded
// frames: SSIMULACRA 2.1 (package ssimulacra2; higher is better, 100 for
// identical frames) and PSNR over Y, Cb and Cr weighted 6:1:1 (dB, 100
// for identical frames); the encoded stream is decoded with dav1d, a
// decoder independent of the encoder. SSIM is ffmpeg's ssim filter (its
// "All" value, 0 to 1), on frames ffmpeg decodes.
package quality

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/ssimulacra2"
)

// Metric names.
const (
	SSIMULACRA2 = "ssimulacra2"
	PSNR        = "psnr"
	SSIM        = "ssim" // ffmpeg's ssim filter: 0 to 1 over Y, Cb and Cr ("All")
)

// Statistics a chunk's per-frame scores are summed up with.
const (
	StatMean = "mean"
	StatP5   = "p5" // the 5th percentile: 95 % of the frames score at least this
	StatMin  = "min"
)

// CheckMetric returns an error unless name is a metric this package knows.
func CheckMetric(name string) error {
	switch name {
	case SSIMULACRA2, PSNR, SSIM:
		return nil
	}
	return fmt.Errorf("unknown metric %q (use %s, %s or %s)", name, SSIMULACRA2, PSNR, SSIM)
}

// CheckStat returns an error unless name is a statistic Stat knows.
func CheckStat(name string) error {
	switch name {
	case StatMean, StatP5, StatMin:
		return nil
	}
	return fmt.Errorf("unknown statistic %q (use %s, %s or %s)", name, StatMean, StatP5, StatMin)
}

// Stat sums up per-frame scores: their mean, 5th percentile (nearest
// rank) or minimum. It returns NaN for no scores.
func Stat(scores []float64, stat string) float64 {
	if len(scores) == 0 {
		return math.NaN()
	}
	switch stat {
	case StatMin:
		m := scores[0]
		for _, s := range scores[1:] {
			m = math.Min(m, s)
		}
		return m
	case StatP5:
		s := append([]float64(nil), scores...)
		sort.Float64s(s)
		k := int(math.Ceil(0.05*float64(len(s)))) - 1
		return s[max(k, 0)]
	}
	var sum float64
	for _, s := range scores {
		sum += s
	}
	return sum / float64(len(scores))
}

// Color returns the conversion to RGB of a stream with an FFmpeg colour
// matrix name (colorspace) and range: BT.709 unless the stream says
// BT.601 or BT.2020, limited range unless it says full.
func Color(matrix string, fullRange bool) ssimulacra2.Color {
	c := ssimulacra2.Color{Matrix: ssimulacra2.BT709, Range: ssimulacra2.RangeLimited}
	switch matrix {
	case "bt470bg", "smpte170m", "bt601", "fcc":
		c.Matrix = ssimulacra2.BT601
	case "bt2020nc", "bt2020c", "bt2020_ncl", "bt2020_cl":
		c.Matrix = ssimulacra2.BT2020
	}
	if fullRange {
		c.Range = ssimulacra2.RangeFull
	}
	return c
}

// ScoreOptions tune Scores.
type ScoreOptions struct {
	// Every > 1 scores frames 0, Every, 2*Every ... only (the others are
	// read and skipped).
	Every int
	// Hold, when set, is called before each frame is read and scored: it
	// may block (a pause) while no frame is being scored.
	Hold func()
}

// Scores scores frames of dist against the same frames of ref, both
// YUV4MPEG2 streams of the same size, with the metric named (see
// ScoreOptions for which frames). color says how SSIMULACRA2 converts
// them to RGB; the chroma siting of ref is taken for both (decoders tag
// it differently). The streams must have the same number of frames.
func Scores(ctx context.Context, metric string, ref, dist io.Reader, color ssimulacra2.Color, opt ScoreOptions) ([]float64, error) {
	if err := CheckMetric(metric); err != nil {
		return nil, err
	}
	every := max(opt.Every, 1)
	if metric == SSIM {
		return ffmpegSSIM(ctx, ref, nil, dist, every)
	}
	rr, err := ssimulacra2.NewY4MReader(ref)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	dr, err := ssimulacra2.NewY4MReader(dist)
	if err != nil {
		return nil, fmt.Errorf("distorted: %w", err)
	}
	rh, dh := rr.Header(), dr.Header()
	if rh.Width != dh.Width || rh.Height != dh.Height {
		return nil, fmt.Errorf("%dx%d vs %dx%d: %w", rh.Width, rh.Height, dh.Width, dh.Height, ssimulacra2.ErrSizeMismatch)
	}
	if metric == PSNR && (rh.Depth != dh.Depth || rh.SubX != dh.SubX || rh.SubY != dh.SubY || rh.Mono != dh.Mono) {
		return nil, fmt.Errorf("%d-bit vs %d-bit, or other chroma: %w", rh.Depth, dh.Depth, ssimulacra2.ErrSizeMismatch)
	}
	var out []float64
	for n := 0; ; n++ {
		if opt.Hold != nil {
			opt.Hold()
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		rf, rerr := rr.ReadFrame()
		df, derr := dr.ReadFrame()
		switch {
		case errors.Is(rerr, io.EOF) && errors.Is(derr, io.EOF):
			return out, nil
		case errors.Is(rerr, io.EOF) || errors.Is(derr, io.EOF):
			return out, fmt.Errorf("frame %d: %w", n, ssimulacra2.ErrFrameCount)
		case rerr != nil:
			return out, fmt.Errorf("reference: %w", rerr)
		case derr != nil:
			return out, fmt.Errorf("distorted: %w", derr)
		}
		if n%every != 0 {
			continue
		}
		var v float64
		if metric == PSNR {
			peak := float64(int(1)<<rh.Depth - 1)
			v = (6*planePSNR(rf.Y, df.Y, peak) + planePSNR(rf.Cb, df.Cb, peak) + planePSNR(rf.Cr, df.Cr, peak)) / 8
		} else {
			df.Header.Siting = rf.Header.Siting
			v, err = ssimulacra2.Score(rf.Image(color), df.Image(color))
			if err != nil {
				return out, fmt.Errorf("frame %d: %w", n, err)
			}
		}
		out = append(out, v)
	}
}

// ScoreIVF decodes the AV1 IVF file dist with dav1d and scores its frames
// against ref (see Scores). dist may be unlinked already: dav1d reads it
// through its descriptor. dav1d runs in ctx's process group, so it is
// frozen with the job's other processes.
func ScoreIVF(ctx context.Context, metric string, ref io.Reader, dist *os.File, color ssimulacra2.Color, opt ScoreOptions) ([]float64, error) {
	if metric == SSIM {
		return ffmpegSSIM(ctx, ref, dist, nil, max(opt.Every, 1))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd, err := tools.Command(ctx, tools.Dav1d, "-q", "--demuxer", "ivf", "-i", "/dev/fd/3", "-o", "-", "--muxer", "yuv4mpeg2", "--threads", "1")
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{dist}
	stderr := tools.NewTail(4096)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dav1d: %w", err)
	}
	scores, serr := Scores(ctx, metric, ref, bufio.NewReaderSize(out, 1<<20), color, opt)
	if serr != nil {
		cancel()
	}
	werr := cmd.Wait()
	switch {
	case serr != nil && werr != nil && ctx.Err() == nil:
		return scores, fmt.Errorf("dav1d: %s: %w", tools.LastLine(stderr.String()), werr)
	case serr != nil:
		return scores, serr
	case werr != nil:
		return scores, fmt.Errorf("dav1d: %s: %w", tools.LastLine(stderr.String()), werr)
	}
	return scores, nil
}

// ffmpegSSIM runs ffmpeg's ssim filter on the Y4M stream ref (its
// standard input) and the distorted frames: the AV1 IVF file distFile, or
// the Y4M stream dist. It returns each frame's "All" value, every k-th
// frame's with every > 1. ffmpeg runs in ctx's process group.
func ffmpegSSIM(ctx context.Context, ref io.Reader, distFile *os.File, dist io.Reader, every int) ([]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := []string{"-f", "ivf"}
	var pw *os.File
	if distFile == nil {
		pr, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		defer pr.Close()
		distFile, pw, in = pr, w, []string{"-f", "yuv4mpegpipe"}
	}
	args := append([]string{"-hide_banner", "-nostats", "-v", "error", "-f", "yuv4mpegpipe", "-i", "pipe:0"}, in...)
	args = append(args, "-i", "/dev/fd/3", "-lavfi", "[1:v][0:v]ssim=stats_file=-", "-f", "null", "-")
	cmd, err := tools.Command(ctx, tools.FFmpeg, args...)
	if err != nil {
		return nil, err
	}
	cmd.Stdin = ref
	cmd.ExtraFiles = []*os.File{distFile}
	stderr := tools.NewTail(4096)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ffmpeg: %w", err)
	}
	copied := make(chan error, 1)
	if pw != nil {
		distFile.Close() // ffmpeg has it
		go func() {
			_, err := io.Copy(pw, dist)
			pw.Close()
			copied <- err
		}()
	} else {
		copied <- nil
	}
	var scores []float64
	sc := bufio.NewScanner(out)
	for n := 0; sc.Scan(); n++ {
		_, all, ok := strings.Cut(sc.Text(), "All:")
		v, perr := strconv.ParseFloat(strings.Fields(all + " x")[0], 64)
		if !ok || perr != nil {
			cancel()
			_ = cmd.Wait()
			return nil, fmt.Errorf("ffmpeg ssim: line %q", sc.Text())
		}
		if n%every == 0 {
			scores = append(scores, v)
		}
	}
	werr := cmd.Wait()
	cerr := <-copied
	switch {
	case werr != nil:
		return nil, fmt.Errorf("ffmpeg ssim: %s: %w", tools.LastLine(stderr.String()), werr)
	case cerr != nil:
		return nil, fmt.Errorf("ffmpeg ssim: distorted: %w", cerr)
	}
	return scores, nil
}

// planePSNR returns one plane's PSNR in dB, 100 when it is identical.
//
//go:norace
func planePSNR(a, b []uint16, peak float64) float64 {
	if len(a) == 0 {
		return 100 // mono: no chroma to differ
	}
	var sse uint64
	for i := range a {
		d := int64(a[i]) - int64(b[i])
		sse += uint64(d * d)
	}
	if sse == 0 {
		return 100
	}
	mse := float64(sse) / float64(len(a))
	return math.Min(100, 10*math.Log10(peak*peak/mse))
}

// Describe names a target as people write it: "ssimulacra2 mean 80".
func Describe(metric, stat string, score float64) string {
	return strings.Join([]string{metric, stat, fmt.Sprintf("%g", score)}, " ")
}
