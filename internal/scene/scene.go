// Package scene decodes a source once and returns what the planner needs:
// the exact number of frames, each frame's timestamp, a scene-cut score per
// frame, from which it picks the cut frames, and each frame's spatial
// detail.
//
// ffmpeg decodes the video, scales it down to grey frames of about 160x90
// samples and writes them to a pipe; the detector (detect.go) scores them
// in Go. The frames' timestamps come from a second pipe, written by ffmpeg's
// metadata filter (see args).
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
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// DefaultThreshold is the score from which a frame starts a new scene: its
// change from the frame before is twice the largest change of the frames
// around it (see Analysis.Scores).
const DefaultThreshold = 2.0

// Analysis is the result of one decoding pass over the source's video.
type Analysis struct {
	Frames   int
	PTS      []int64  // each frame's timestamp as stored in the file (ffmpeg -copyts), in TimeBase units
	TimeBase *big.Rat // of PTS: the video stream's time base

	// Scores rates each frame as the first of a scene: how many times its
	// change from the frame before exceeds the largest change of the two
	// frames on either side (or a small floor in still scenes). A cut
	// scores well above DefaultThreshold; steady change (motion, noise, a
	// fade or a dissolve) scores about 1 or less; frame 0, the last frame
	// and the frames of a flash score 0. Below the threshold a higher score
	// is still a better place for a keyframe: more of the picture is new.
	Scores []float64

	// Detail is each frame's spatial detail: the mean absolute difference
	// between neighbouring luma samples of the frame scaled down to about
	// 160x90, in 8-bit levels (0 for a flat frame).
	Detail []float64

	// Motion is each frame's change from the frame before: the mean
	// absolute difference of the scaled-down luma samples, in 8-bit levels
	// (0 for frame 0 and a still picture).
	Motion []float64

	// Bytes is each frame's compressed size in the source, from its
	// packet (0 when the container's packets could not be read): what a
	// frame cost the source's encoder predicts what it costs ours.
	Bytes []int64
}

// Seconds returns frame i's timestamp in seconds.
func (a *Analysis) Seconds(i int) float64 {
	tb, _ := a.TimeBase.Float64()
	return float64(a.PTS[i]) * tb
}

// Options tune Analyze.
type Options struct {
	// Progress, when set, is called with the number of frames decoded so
	// far, every 50 frames and once at the end.
	Progress func(frames int)
	// Final, when set, is called as the pass goes with the analysis so
	// far, whose first n frames (timestamps, scores, detail, motion) are
	// final: nothing that follows changes them. Frames come out about
	// scoreLag frames behind decoding, and a few hundred behind when
	// ffmpeg's timestamp output lags. The call must not keep a's slices.
	// A pass that ends in an error (a damaged source) makes what was
	// final void.
	Final func(a *Analysis, n int)
}

// progressEvery is how often, in frames, Analyze reports progress, and
// finalEvery how often it reports final frames.
const (
	progressEvery = 50
	finalEvery    = 12
)

// Analyze decodes src's video once. A source that does not decode cleanly
// gives a *probe.InputError.
func Analyze(ctx context.Context, src *probe.Source, opt Options) (*Analysis, error) {
	w, h := analysisSize(src.Video.Width, src.Video.Height)
	ptsR, ptsW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("scene: %w", err)
	}
	defer ptsR.Close()
	pktR, pktW, err := os.Pipe()
	if err != nil {
		ptsW.Close()
		return nil, fmt.Errorf("scene: %w", err)
	}
	defer pktR.Close()
	closeW := func() { ptsW.Close(); pktW.Close() }
	cmd, err := tools.Command(ctx, tools.FFmpeg, args(src, w, h)...)
	if err != nil {
		closeW()
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{ptsW, pktW} // fd 3 and 4
	stderr := tools.NewTail(8192)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		closeW()
		return nil, fmt.Errorf("scene: %w", err)
	}
	err = cmd.Start()
	closeW() // ffmpeg holds its own copies
	if err != nil {
		return nil, fmt.Errorf("scene: start ffmpeg: %w", err)
	}

	// The two pipes are read at once, or ffmpeg could block on either.
	type ptsResult struct {
		pts []int64
		err error
	}
	ptsDone := make(chan ptsResult, 1)
	var ptsMu sync.Mutex
	var ptsSoFar []int64 // for Final; the result comes through ptsDone
	go func() {
		pts, err := readPTS(ptsR, func(p []int64) {
			ptsMu.Lock()
			ptsSoFar = p
			ptsMu.Unlock()
		})
		_, _ = io.Copy(io.Discard, ptsR)
		ptsDone <- ptsResult{pts, err}
	}()
	det := newDetector(w, h)
	// The three pipes are read at once, or ffmpeg could block on any.
	sz := scanSizes(pktR)
	var bytes []int64
	var final func()
	if opt.Final != nil {
		lastN, sized := 0, 0
		final = func() {
			ptsMu.Lock()
			pts := ptsSoFar
			ptsMu.Unlock()
			n := min(det.final(), len(pts))
			for len(bytes) < n {
				bytes = append(bytes, 0)
			}
			sized = sz.fill(bytes, pts, sized, n)
			if n = min(n, sized); n > lastN {
				lastN = n
				opt.Final(&Analysis{Frames: len(det.d), PTS: pts, TimeBase: src.Video.TimeBase, Scores: det.s, Detail: det.detail, Motion: det.d, Bytes: bytes}, n)
			}
		}
	}
	ferr := readFrames(out, w*h, det, opt.Progress, final)
	if ferr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	pr := <-ptsDone
	<-sz.wait
	werr := cmd.Wait()

	path := "file:" + src.Path
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if werr != nil {
		return nil, &probe.InputError{Path: src.Path, Msg: "cannot be decoded: " + tools.Clean(tools.LastLine(stderr.String()), path)}
	}
	a := &Analysis{Frames: len(det.d), PTS: pr.pts, TimeBase: src.Video.TimeBase}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return nil, &probe.InputError{Path: src.Path, Msg: fmt.Sprintf("decode error after frame %d: %s (the file looks damaged or truncated)", a.Frames, tools.Clean(firstLine(msg), path))}
	}
	switch {
	case ferr != nil:
		return nil, fmt.Errorf("scene: %s: %w", src.Path, ferr)
	case pr.err != nil:
		return nil, fmt.Errorf("scene: %s: %w", src.Path, pr.err)
	case len(pr.pts) != a.Frames:
		return nil, fmt.Errorf("scene: %s: ffmpeg gave %d frames but %d timestamps", src.Path, a.Frames, len(pr.pts))
	case a.Frames == 0:
		return nil, &probe.InputError{Path: src.Path, Msg: "video stream decodes to no frames"}
	}
	if err := checkComplete(src, a); err != nil {
		return nil, err
	}
	a.Scores = det.scores()
	a.Detail = det.detail
	a.Motion = det.d
	// A packet without a timestamp counts 0, as it did while the pass
	// ran. A scan that failed is an error: the sizes price the chunks,
	// and a plan must not depend on a failure that a rerun may not have.
	if sz.err != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("scene: %s: %w", src.Path, sz.err)
	}
	a.Bytes = make([]int64, a.Frames)
	sz.fill(a.Bytes, a.PTS, 0, a.Frames)
	return a, nil
}

// Analysis frames have about analysisArea samples, in the source's aspect
// ratio. At this size the detector scored the benchmark set (package
// scenebench) best: smaller frames blur the differences between similar
// scenes, larger ones make its 8x8 tiles too fine to ignore texture.
const analysisArea = 160 * 90

// analysisSize returns the size of the grey frames the detector reads for
// a w x h source: about analysisArea samples, even sides, never larger than
// the source.
func analysisSize(w, h int) (int, int) {
	if w <= 0 || h <= 0 {
		return 160, 90
	}
	if w*h <= analysisArea {
		return max(2, w&^1), max(2, h&^1)
	}
	sw := math.Sqrt(float64(analysisArea) * float64(w) / float64(h))
	aw := max(2, int(math.Round(sw/2))*2)
	ah := max(2, int(math.Round(float64(aw)*float64(h)/float64(w)/2))*2)
	return aw, ah
}

// args returns ffmpeg's arguments for the pass. The video goes to stdout as
// w x h grey frames; the metadata filter prints every frame's timestamp to
// fd 3 (the key it adds first makes it print every frame); the stream's
// packets, copied, go to fd 4 as framecrc lines (their timestamps and
// sizes). -copyts keeps the timestamps the file's own, exactly the ones
// package source selects frames by, in both outputs. The area scaler averages the samples it drops, so noise and
// grain shrink with the picture. The frames are read as stored
// (-noautorotate), as the encoder gets them.
//
// -skip_loop_filter noref spares the decoder the deblocking of frames no
// other frame refers to (about half of its cost on H.264 with B-frames):
// those pictures differ a little from a player's, but the error stays in
// them. Skipping it on reference frames too would be faster still, but
// the error then builds up from frame to frame through prediction (with
// H.264's weighted prediction, by tens of grey levels over a GOP) until a
// keyframe snaps the picture back, which reads as a cut.
func args(src *probe.Source, w, h int) []string {
	vf := fmt.Sprintf("scale=%d:%d:flags=area,format=gray,metadata=mode=add:key=av1job:value=1,metadata=mode=print:file='pipe\\:3':direct=1", w, h)
	return []string{"-nostdin", "-hide_banner", "-v", "error", "-copyts", "-skip_loop_filter", "noref", "-noautorotate",
		// "file:" keeps ffmpeg from reading a name like "x:y" as a protocol.
		"-i", "file:" + src.Path, "-map", fmt.Sprintf("0:%d", src.Video.Index), "-vf", vf,
		"-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1",
		"-map", fmt.Sprintf("0:%d", src.Video.Index), "-c", "copy", "-f", "framecrc", "pipe:4"}
}

// readFrames feeds every frame of size bytes from r to det, calling
// progress every progressEvery frames and at the end, and final (when set)
// every finalEvery frames.
func readFrames(r io.Reader, size int, det *detector, progress func(int), final func()) error {
	br := bufio.NewReaderSize(r, 64<<10)
	buf := make([]byte, size)
	n := 0
	for {
		_, err := io.ReadFull(br, buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read frame %d: %w", n, err)
		}
		det.add(buf)
		n++
		if progress != nil && n%progressEvery == 0 {
			progress(n)
		}
		if final != nil && n%finalEvery == 0 {
			final()
		}
	}
	if progress != nil {
		progress(n)
	}
	return nil
}

// readPTS reads the metadata filter's output: a "frame:N pts:P pts_time:T"
// line per frame followed by its key=value lines. The timestamps must
// increase. got, when set, is handed the timestamps read so far after each
// one; the slice's elements never change.
func readPTS(r io.Reader, got func([]int64)) ([]int64, error) {
	var pts []int64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "frame:") {
			continue
		}
		var t int64
		found := false
		for _, kv := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(kv, "pts:"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				t, found = n, err == nil
			}
		}
		if !found {
			return nil, fmt.Errorf("frame %d has no timestamp (%q)", len(pts), line)
		}
		if n := len(pts); n > 0 && t <= pts[n-1] {
			return nil, errors.New("frame timestamps are not increasing at frame " + strconv.Itoa(n))
		}
		pts = append(pts, t)
		if got != nil {
			got(pts)
		}
	}
	return pts, sc.Err()
}

// checkComplete compares the decoded frame count with what the container
// promises, to catch a truncated file that decodes without an error. A
// container's frame count may include frames a player never shows (an
// MP4 cut without re-encoding keeps the frames before its first keyframe
// and hides them with an edit list): the video is whole if it decodes to
// its listed frame count or to its listed duration.
func checkComplete(src *probe.Source, a *Analysis) error {
	v := src.Video
	fps, _ := v.FrameRate.Float64()
	span := a.Seconds(a.Frames-1) - a.Seconds(0)
	if fps > 0 {
		span += 1 / fps
	}
	lastsWhole := v.Duration <= 0 || fps <= 0 || span*fps >= v.Duration*fps-2 || float64(a.Frames) >= v.Duration*fps-2
	switch {
	case v.NbFrames > 0 && a.Frames < v.NbFrames && (v.Duration <= 0 || !lastsWhole):
		return &probe.InputError{Path: src.Path, Msg: fmt.Sprintf("truncated: the container lists %d video frames but only %d decode", v.NbFrames, a.Frames)}
	case !lastsWhole:
		return &probe.InputError{Path: src.Path, Msg: fmt.Sprintf("truncated: the container lasts %.2f s but video decodes only to %.2f s (%d frames)", v.Duration, span, a.Frames)}
	}
	return nil
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
func (a *Analysis) VariableRate(fps float64) (bool, int) { return a.VariableRateFrom(fps, 1) }

// VariableRateFrom is VariableRate for the frames from frame from on (each
// compared with the one before it).
func (a *Analysis) VariableRateFrom(fps float64, from int) (bool, int) {
	if fps <= 0 {
		return false, 0
	}
	step := 1 / fps
	tol := math.Max(0.0015, step*0.02)
	for i := max(1, from); i < len(a.PTS); i++ {
		if math.Abs(a.Seconds(i)-a.Seconds(i-1)-step) > tol {
			return true, i
		}
	}
	return false, 0
}
