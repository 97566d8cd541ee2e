// Package scene decodes a source once and returns what the planner needs:
// the exact number of frames, each frame's timestamp, and a scene-change
// score per frame (ffmpeg's scdet filter on a downscaled picture), from which
// it picks the cut frames.
//
// The same pass is the source's integrity check: a decode error, or fewer
// frames than the container promises, is reported as a bad input instead of
// silently shortening the output.
package scene

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// DefaultThreshold is the scdet score from which a frame starts a new scene.
const DefaultThreshold = 5.0

// Analysis is the result of one decoding pass over the source's video.
type Analysis struct {
	Frames   int
	PTS      []int64   // each frame's timestamp as stored in the file (ffmpeg -copyts), in TimeBase units
	TimeBase *big.Rat  // of PTS: the video stream's time base
	Scores   []float64 // scdet score of each frame against the one before
}

// Seconds returns frame i's timestamp in seconds.
func (a *Analysis) Seconds(i int) float64 {
	tb, _ := a.TimeBase.Float64()
	return float64(a.PTS[i]) * tb
}

// Options tune Analyze.
type Options struct {
	// Progress, when set, is called with the number of frames decoded so far.
	Progress func(frames int)
}

// Analyze decodes src's video once. A source that does not decode cleanly
// gives a *probe.InputError.
func Analyze(ctx context.Context, src *probe.Source, opt Options) (*Analysis, error) {
	vf := "scdet=threshold=100,metadata=mode=print:file=-"
	if src.Video.Width > 480 {
		vf = "scale=480:-2:flags=area," + vf
	}
	// -copyts: the timestamps printed are the file's own, exactly the
	// ones package source selects frames by.
	cmd, err := tools.Command(ctx, tools.FFmpeg, "-nostdin", "-hide_banner", "-v", "error", "-copyts",
		"-i", src.Path, "-map", fmt.Sprintf("0:%d", src.Video.Index), "-vf", vf,
		"-fps_mode", "passthrough", "-f", "null", "-")
	if err != nil {
		return nil, err
	}
	stderr := tools.NewTail(8192)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("scene: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("scene: start ffmpeg: %w", err)
	}
	a, perr := parse(out, opt.Progress)
	if perr == nil {
		a.TimeBase = src.Video.TimeBase
	}
	if perr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if werr != nil {
		return nil, &probe.InputError{Path: src.Path, Msg: "cannot be decoded: " + tools.Clean(tools.LastLine(stderr.String()), src.Path)}
	}
	if perr != nil {
		return nil, fmt.Errorf("scene: %s: %w", src.Path, perr)
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return nil, &probe.InputError{Path: src.Path, Msg: fmt.Sprintf("decode error after frame %d: %s (the file looks damaged or truncated)", a.Frames, tools.Clean(firstLine(msg), src.Path))}
	}
	if a.Frames == 0 {
		return nil, &probe.InputError{Path: src.Path, Msg: "video stream decodes to no frames"}
	}
	if err := checkComplete(src, a); err != nil {
		return nil, err
	}
	return a, nil
}

// checkComplete compares the decoded frame count with what the container
// promises, to catch a truncated file that decodes without an error.
func checkComplete(src *probe.Source, a *Analysis) error {
	v := src.Video
	fps, _ := v.FrameRate.Float64()
	switch {
	case v.NbFrames > 0 && a.Frames < v.NbFrames:
		return &probe.InputError{Path: src.Path, Msg: fmt.Sprintf("truncated: the container lists %d video frames but only %d decode", v.NbFrames, a.Frames)}
	case v.NbFrames == 0 && v.Duration > 0 && fps > 0:
		want := v.Duration * fps
		span := a.Seconds(a.Frames-1) - a.Seconds(0) + 1/fps
		if span*fps < want-2 && float64(a.Frames) < want-2 {
			return &probe.InputError{Path: src.Path, Msg: fmt.Sprintf("truncated: the container lasts %.2f s but video decodes only to %.2f s (%d frames)", v.Duration, span, a.Frames)}
		}
	}
	return nil
}

// parse reads the metadata filter's output: a "frame:N pts:P pts_time:T"
// line per frame followed by key=value lines.
func parse(r io.Reader, progress func(int)) (*Analysis, error) {
	a := &Analysis{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "frame:") {
			var t int64
			found := false
			for _, kv := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(kv, "pts:"); ok {
					n, err := strconv.ParseInt(v, 10, 64)
					t, found = n, err == nil
				}
			}
			if !found {
				return nil, fmt.Errorf("frame %d has no timestamp (%q)", a.Frames, line)
			}
			a.PTS = append(a.PTS, t)
			a.Scores = append(a.Scores, 0)
			a.Frames++
			if progress != nil && a.Frames%50 == 0 {
				progress(a.Frames)
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "lavfi.scd.score="); ok && a.Frames > 0 {
			s, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("bad score line %q", line)
			}
			a.Scores[a.Frames-1] = s
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if progress != nil {
		progress(a.Frames)
	}
	for i := 1; i < len(a.PTS); i++ {
		if a.PTS[i] <= a.PTS[i-1] {
			return nil, errors.New("frame timestamps are not increasing at frame " + strconv.Itoa(i))
		}
	}
	return a, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// Cuts returns the frames that start a scene: 0, then every frame whose
// score reaches threshold.
func (a *Analysis) Cuts(threshold float64) []int {
	cuts := []int{0}
	for i := 1; i < a.Frames; i++ {
		if a.Scores[i] >= threshold {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

// VariableRate reports whether the frame timestamps stray from a constant
// rate fps by more than rounding (ms timestamps in Matroska stray by up to
// 1 ms), and if so the first frame that does.
func (a *Analysis) VariableRate(fps float64) (bool, int) {
	if fps <= 0 {
		return false, 0
	}
	step := 1 / fps
	tol := math.Max(0.0015, step*0.02)
	for i := 1; i < len(a.PTS); i++ {
		if math.Abs(a.Seconds(i)-a.Seconds(i-1)-step) > tol {
			return true, i
		}
	}
	return false, 0
}
