// Package testclip makes synthetic video clips with ffmpeg's lavfi sources:
// segments from different generators joined by hard cuts, so that the true
// scene cuts are known, optionally with a sine-wave audio track and a
// subtitle track. Tests, the demo and the benchmarks use it; no media is
// kept in the repository.
package testclip

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Spec describes a clip.
type Spec struct {
	Width, Height int
	Rate          string   // frame rate, e.g. "24" or "24000/1001"
	Segments      []string // lavfi sources, one per scene, e.g. "testsrc2", "mandelbrot"
	SegFrames     int      // frames per segment
	PixFmt        string   // default yuv420p
	Audio         bool     // add a sine-wave track
	Subtitles     bool     // add a subtitle track
	SubCodec      string   // subtitle codec; default from the container
	VideoCodec    string   // default libx264 (with B-frames); always wrapped_avframe for .y4m
	ExtraArgs     []string // more output arguments for ffmpeg
}

// DefaultSegments are scenes that differ clearly from one another.
var DefaultSegments = []string{"testsrc2", "mandelbrot", "life", "smptehdbars", "cellauto", "testsrc"}

// Frames is the clip's frame count.
func (s Spec) Frames() int { return len(s.Segments) * s.SegFrames }

// Cuts are the first frames of the segments.
func (s Spec) Cuts() []int {
	cuts := make([]int, len(s.Segments))
	for i := range cuts {
		cuts[i] = i * s.SegFrames
	}
	return cuts
}

// source returns the lavfi graph of one segment.
func (s Spec) source(name string) string {
	size := fmt.Sprintf("s=%dx%d", s.Width, s.Height)
	var g string
	switch name {
	case "life":
		g = fmt.Sprintf("life=%s:r=%s:mold=10:ratio=0.5:seed=1:death_color=#103060:life_color=#e0c040", size, s.Rate)
	case "cellauto":
		g = fmt.Sprintf("cellauto=%s:r=%s:rule=110:seed=1", size, s.Rate)
	case "mandelbrot":
		g = fmt.Sprintf("mandelbrot=%s:r=%s", size, s.Rate)
	default:
		g = fmt.Sprintf("%s=%s:r=%s", name, size, s.Rate)
	}
	return g + fmt.Sprintf(",trim=end_frame=%d,setpts=PTS-STARTPTS,format=yuv420p", s.SegFrames)
}

// Args returns ffmpeg's arguments to write the clip to out.
func (s Spec) Args(out string, srt string) []string {
	ext := strings.ToLower(filepath.Ext(out))
	if ext == ".y4m" { // video only, uncompressed
		s.Audio, s.Subtitles, s.VideoCodec = false, false, "wrapped_avframe"
	}
	if ext == ".ts" { // no text subtitles in MPEG-TS
		s.Subtitles = false
	}
	var parts, labels []string
	for i, seg := range s.Segments {
		parts = append(parts, fmt.Sprintf("%s[s%d]", s.source(seg), i))
		labels = append(labels, fmt.Sprintf("[s%d]", i))
	}
	pix := s.PixFmt
	if pix == "" {
		pix = "yuv420p"
	}
	graph := strings.Join(parts, ";") + ";" + strings.Join(labels, "") +
		fmt.Sprintf("concat=n=%d:v=1:a=0,format=%s[v]", len(s.Segments), pix)
	args := []string{"-nostdin", "-v", "error", "-y", "-filter_complex", graph}
	if s.Audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+evalDur(s.Frames(), s.Rate))
	}
	if s.Subtitles {
		args = append(args, "-i", srt)
	}
	args = append(args, "-map", "[v]")
	in := 0
	if s.Audio {
		args = append(args, "-map", fmt.Sprintf("%d:a", in))
		in++
	}
	if s.Subtitles {
		args = append(args, "-map", fmt.Sprintf("%d:s", in))
	}
	codec := s.VideoCodec
	if codec == "" {
		codec = "libx264"
	}
	args = append(args, "-c:v", codec)
	if codec == "libx264" {
		args = append(args, "-preset", "ultrafast", "-bf", "3", "-crf", "16", "-g", "48")
		if strings.Contains(pix, "10") {
			args = append(args, "-profile:v", "high10")
		}
	}
	if s.Audio {
		switch ext {
		case ".mp4", ".mov", ".ts":
			args = append(args, "-c:a", "aac")
		default:
			args = append(args, "-c:a", "libopus")
		}
	}
	if s.Subtitles && s.SubCodec != "" {
		args = append(args, "-c:s", s.SubCodec)
	} else if s.Subtitles {
		switch ext {
		case ".mp4", ".mov":
			args = append(args, "-c:s", "mov_text")
		case ".webm":
			args = append(args, "-c:s", "webvtt")
		default:
			args = append(args, "-c:s", "srt")
		}
	}
	if ext == ".y4m" {
		args = append(args, "-strict", "-1")
	}
	// Bit-exact muxing: the same spec gives the same bytes.
	args = append(args, "-fflags", "+bitexact")
	args = append(args, s.ExtraArgs...)
	return append(args, out)
}

// Make writes the clip to out with ffmpeg.
func Make(ctx context.Context, s Spec, out string) error {
	srt := ""
	if s.Subtitles {
		srt = out + ".srt"
		if err := os.WriteFile(srt, []byte(subtitles(s)), 0o644); err != nil {
			return err
		}
		defer os.Remove(srt)
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", s.Args(out, srt)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testclip: ffmpeg: %v: %s", err, b)
	}
	return nil
}

// subtitles makes one cue per segment.
func subtitles(s Spec) string {
	var b strings.Builder
	secs := func(f int) float64 {
		var n, d float64 = 0, 1
		if _, err := fmt.Sscanf(s.Rate, "%g/%g", &n, &d); err != nil {
			fmt.Sscanf(s.Rate, "%g", &n) //nolint:errcheck
			d = 1
		}
		return float64(f) * d / n
	}
	for i, seg := range s.Segments {
		t0, t1 := secs(i*s.SegFrames)+0.1, secs((i+1)*s.SegFrames)-0.1
		fmt.Fprintf(&b, "%d\n%s --> %s\nScene %d: %s\n\n", i+1, clock(t0), clock(t1), i+1, seg)
	}
	return b.String()
}

func clock(t float64) string {
	ms := int(t*1000 + 0.5)
	return fmt.Sprintf("%02d:%02d:%02d,%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

func evalDur(frames int, rate string) string {
	var n, d float64 = 0, 1
	if _, err := fmt.Sscanf(rate, "%g/%g", &n, &d); err != nil {
		fmt.Sscanf(rate, "%g", &n) //nolint:errcheck
		d = 1
	}
	return fmt.Sprintf("%.3f", float64(frames)*d/n)
}
