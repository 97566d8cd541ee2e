// Package verify proves that an encoded output matches its source: it
// decodes both videos side by side and checks, frame by frame, that the
// output has the same frames in the same order at an acceptable quality
// (luma PSNR), and that the other streams and the duration were kept.
//
// Both videos are decoded by ffmpeg to 8-bit luma and streamed through the
// comparison; only a few frames of each are in memory at any time.
package verify

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/probe"
)

// DefaultMinPSNR is the PSNR floor, in dB, used when Options.MinPSNR is 0.
const DefaultMinPSNR = 20.0

// Stream types counted in Report.SourceStreams and Report.OutputStreams.
const (
	Audio      = "audio"
	Subtitle   = "subtitle"
	Attachment = "attachment"
)

// streamTypes lists the counted stream types in the order they are reported.
var streamTypes = []string{Audio, Subtitle, Attachment}

// Frame buffers kept per decoder: the source needs its window of five plus
// room to decode ahead; the output one plus room to decode ahead.
const (
	sourceBuffers = window + 3
	outputBuffers = 3
)

// Options tune Run.
type Options struct {
	// MinPSNR is the lowest luma PSNR, in dB, that any output frame may
	// have against its source frame; 0 means DefaultMinPSNR.
	MinPSNR float64
	// VideoOnly compares the video alone and skips the stream check, for
	// outputs that hold only video (an .ivf, for instance).
	VideoOnly bool
	// Audio is the --audio the output was encoded with: what the output
	// must hold of the source's audio.
	Audio mux.Audio
	// Progress, when set, is called every 25 output frames and once at the
	// end with the frames compared so far and the expected total (an
	// estimate from the source's container; 0 when unknown).
	Progress func(done, total int)
}

// Report is the outcome of Run. Failed checks are listed in Problems.
type Report struct {
	// SourceFrames and OutputFrames are the frames decoded from each file.
	SourceFrames, OutputFrames int
	// MinPSNR and MeanPSNR are the lowest and the mean luma PSNR, in dB, of
	// output frame i against source frame i, over the frames both have.
	// Identical frames count as PSNRCap. MinPSNRFrame is the frame with the
	// lowest PSNR, -1 when no frame was compared.
	MinPSNR, MeanPSNR float64
	MinPSNRFrame      int
	// Misaligned lists, in order, the output frames that match a
	// neighbouring source frame (i±1, i±2) clearly better than their own.
	Misaligned []int
	// SourceStreams and OutputStreams count the streams other than video
	// by type: Audio, Subtitle and Attachment (cover art included);
	// ExpectedStreams what the output must hold, the source's streams that
	// its container can carry. They are nil with Options.VideoOnly.
	SourceStreams, OutputStreams, ExpectedStreams map[string]int
	// SourceDuration and OutputDuration are the durations in seconds of the
	// video streams (of the container when the stream's is unknown).
	SourceDuration, OutputDuration float64
	// HDR is the source's HDR10 static metadata in AV1's units, which the
	// output's first frame must carry; "" when the source has none.
	HDR string
	// Problems has one short phrase per failed check, such as
	// "frame count: source 480, output 479".
	Problems []string

	videoOnly bool
}

// OK reports whether every check passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Summary returns the report on one line: "ok: ..." with the figures, or
// "FAIL: " and the problems.
func (r *Report) Summary() string {
	if !r.OK() {
		return "FAIL: " + strings.Join(r.Problems, "; ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ok: %d frames, aligned, PSNR min %.1f dB (frame %d) mean %.1f dB, streams ",
		r.OutputFrames, r.MinPSNR, r.MinPSNRFrame, r.MeanPSNR)
	switch s := streamList(r.OutputStreams); {
	case r.videoOnly:
		b.WriteString("not checked")
	case s == "":
		b.WriteString("video only")
	default:
		b.WriteString(s)
	}
	fmt.Fprintf(&b, ", duration %.2f s", r.OutputDuration)
	if r.HDR != "" {
		b.WriteString(", HDR10 metadata kept")
	}
	return b.String()
}

// streamList formats the non-zero counts of c: "audio 1 subtitle 2".
func streamList(c map[string]int) string {
	var parts []string
	for _, t := range streamTypes {
		if c[t] > 0 {
			parts = append(parts, t+" "+strconv.Itoa(c[t]))
		}
	}
	return strings.Join(parts, " ")
}

// Run compares the output at outputPath with the source at sourcePath. It
// returns an error only when a file cannot be read at all (a
// *probe.InputError naming the file) or ffmpeg cannot be run; every failed
// check is a problem in the report.
func Run(ctx context.Context, sourcePath, outputPath string, opt Options) (*Report, error) {
	floor := opt.MinPSNR
	if floor == 0 {
		floor = DefaultMinPSNR
	}
	src, err := probe.Probe(ctx, sourcePath)
	if err != nil {
		return nil, err
	}
	out, err := probe.Probe(ctx, outputPath)
	if err != nil {
		return nil, err
	}

	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The source as the encoder got it: converted the same way when its
	// pixel format was (an RGB source's luma depends on the matrix).
	sd, err := startDecoder(dctx, sourcePath, src.Video.Index, 0, 0, sourceBuffers, probe.LayoutFor(src.Video).Filter)
	if err != nil {
		return nil, err
	}
	defer sd.abort()
	// The output is always scaled to the source's decoded size; for equal
	// sizes the scale filter passes frames through untouched.
	od, err := startDecoder(dctx, outputPath, out.Video.Index, sd.width, sd.height, outputBuffers, "")
	if err != nil {
		return nil, err
	}
	defer od.abort()

	total := expectedFrames(src)
	var progress func(int)
	if opt.Progress != nil {
		progress = func(done int) { opt.Progress(done, max(total, done)) }
	}
	st := compare(sd, od, floor, progress)
	srcDecode, outDecode := sd.wait(), od.wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if st.srcFrames == 0 && srcDecode != "" {
		return nil, &probe.InputError{Path: sourcePath, Msg: "cannot decode video: " + srcDecode}
	}
	if st.outFrames == 0 && outDecode != "" {
		return nil, &probe.InputError{Path: outputPath, Msg: "cannot decode video: " + outDecode}
	}
	if opt.Progress != nil {
		opt.Progress(st.outFrames, max(total, st.outFrames))
	}

	r := &Report{
		SourceFrames: st.srcFrames,
		OutputFrames: st.outFrames,
		MinPSNR:      st.minPSNR,
		MinPSNRFrame: st.minFrame,
		Misaligned:   st.misaligned,
		videoOnly:    opt.VideoOnly,
	}
	if st.compared > 0 {
		r.MeanPSNR = st.sumPSNR / float64(st.compared)
	}
	if srcDecode != "" {
		r.problem("source: %s", srcDecode)
	}
	if outDecode != "" {
		r.problem("output: %s", outDecode)
	}
	if st.srcFrames != st.outFrames {
		r.problem("frame count: source %d, output %d", st.srcFrames, st.outFrames)
	}
	if n := len(st.misaligned); n > 0 {
		r.problem("misaligned: %d %s (%s)", n, plural(n, "frame"), frameList(st.misaligned, 5))
	}
	if st.below > 0 {
		r.problem("PSNR: %d %s below %.1f dB, min %.1f dB (frame %d)",
			st.below, plural(st.below, "frame"), floor, st.minPSNR, st.minFrame)
	}
	if !opt.VideoOnly {
		// What the output must hold is what its container can carry of
		// the source's streams (package mux decides, and warns of the
		// rest when encoding).
		r.SourceStreams, r.OutputStreams = countStreams(src), countStreams(out)
		r.ExpectedStreams = r.SourceStreams
		wantRotation := src.Video.Rotation
		var kept map[int]bool
		if format := mux.Format(outputPath); format != "" {
			p, err := mux.Streams(src, format, opt.Audio)
			if err != nil {
				return nil, &probe.InputError{Path: outputPath, Msg: err.Error()}
			}
			r.ExpectedStreams, wantRotation, kept = p.Expected(src), p.Rotation, p.Kept()
		}
		countOK := true
		for _, t := range streamTypes {
			if e, o := r.ExpectedStreams[t], r.OutputStreams[t]; e != o {
				r.problem("%s streams: output %d, expected %d (source %d)", t, o, e, r.SourceStreams[t])
				countOK = false
			}
		}
		if countOK && kept != nil {
			for _, p := range matchStreams(src, out, kept) {
				r.problem("%s", p)
			}
		}
		if w, o := degrees(wantRotation), degrees(out.Video.Rotation); w != o {
			r.problem("rotation: output %d degrees, expected %d (source %d)", o, w, degrees(src.Video.Rotation))
		}
	}
	if want := src.Video.HDR; want.Static() {
		// Exact: the source's values rounded to AV1's units once, by
		// probe, against what the output's first frame carries.
		r.HDR = want.String()
		if got := out.Video.HDR; !got.Equal(want) {
			r.problem("HDR metadata: output %s, expected %s", orNone(got.String()), want.String())
		}
	}
	r.SourceDuration = videoDuration(src, st.srcFrames)
	r.OutputDuration = videoDuration(out, st.outFrames)
	tol := 0.05
	if fps := frameRate(src); fps > 0 {
		tol = max(tol, 1.5/fps)
	}
	if math.Abs(r.SourceDuration-r.OutputDuration) > tol {
		r.problem("duration: source %.3f s, output %.3f s", r.SourceDuration, r.OutputDuration)
	}
	return r, nil
}

// problem adds a failed check to r.
func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// frameList formats up to max frame numbers: "10, 11, 12, ...".
func frameList(frames []int, limit int) string {
	var parts []string
	for i, f := range frames {
		if i == limit {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, strconv.Itoa(f))
	}
	return strings.Join(parts, ", ")
}

// degrees normalizes a rotation to 0-359.
func degrees(r int) int { return ((r % 360) + 360) % 360 }

// countStreams counts s's streams by type, video excluded; cover art counts
// as an attachment (Matroska stores it as one).
func countStreams(s *probe.Source) map[string]int {
	c := map[string]int{Audio: 0, Subtitle: 0, Attachment: 0}
	for _, st := range s.Streams {
		switch {
		case st.CoverArt:
			c[Attachment]++
		case st.Type == Audio || st.Type == Subtitle || st.Type == Attachment:
			c[st.Type]++
		}
	}
	return c
}

// videoDuration returns the duration of s's video stream in seconds: the
// stream's own (or Matroska's DURATION tag); else the container's when the
// video is the only stream; else frames at the nominal frame rate; else the
// container's.
func videoDuration(s *probe.Source, frames int) float64 {
	if s.Video.Duration > 0 {
		return s.Video.Duration
	}
	if len(s.Streams) == 1 && s.Duration > 0 {
		return s.Duration
	}
	if frames > 0 && s.Video.FrameRate != nil {
		d, _ := new(big.Rat).Quo(big.NewRat(int64(frames), 1), s.Video.FrameRate).Float64()
		return d
	}
	return s.Duration
}

// expectedFrames estimates the source's frame count from its container, for
// progress reports; 0 when unknown.
func expectedFrames(s *probe.Source) int {
	if s.Video.NbFrames > 0 {
		return s.Video.NbFrames
	}
	d := s.Video.Duration
	if d <= 0 {
		d = s.Duration
	}
	return int(math.Round(d * frameRate(s)))
}

// frameRate returns s's nominal frame rate; 0 when unknown.
func frameRate(s *probe.Source) float64 {
	if s.Video.FrameRate == nil {
		return 0
	}
	f, _ := s.Video.FrameRate.Float64()
	return f
}
