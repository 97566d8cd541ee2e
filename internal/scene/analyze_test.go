package scene

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scenebench"
)

// needFFmpeg skips a test unless ffmpeg and ffprobe are installed, and
// under -short.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs ffmpeg: skipped under -short")
	}
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skip(p + " not installed")
		}
	}
}

// TestAnalyze runs the whole pass on a tiny H.264 clip with B-frames: hard
// cuts (one into a scene that churns on every frame), a white flash and a
// dissolve.
func TestAnalyze(t *testing.T) {
	needFFmpeg(t)
	ctx := context.Background()
	clip := scenebench.Clip{Name: "tiny", Frame: scenebench.Frame{W: 160, H: 90, Rate: 24}, Shots: []scenebench.Shot{
		{Src: scenebench.Testsrc2, Frames: 30, Flashes: []scenebench.Flash{{At: 12, Kind: scenebench.White}}},
		{Src: scenebench.Mandelbrot, Frames: 30},
		{Src: scenebench.HDBars, Frames: 26, How: scenebench.Dissolve, In: 10},
		// A cut into the game of life's first, chaotic generations: the
		// frames after the cut change almost as much as the cut.
		{Src: scenebench.LifeRaw(1), Frames: 30},
		{Src: scenebench.Cellauto, Frames: 24},
		// ffmpeg 5.1's gradients source is not deterministic even with a
		// seed; last, its cut is into it from calm cells.
		{Src: scenebench.Gradients(1), Frames: 24},
	}}
	path, err := scenebench.Generate(ctx, clip, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	truth := clip.Truth()
	src, err := probe.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var progress []int
	a, err := Analyze(ctx, src, Options{Progress: func(n int) { progress = append(progress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if a.Frames != truth.Frames || len(a.PTS) != a.Frames || len(a.Scores) != a.Frames || len(a.Detail) != a.Frames {
		t.Fatalf("%d frames, %d timestamps, %d scores, %d detail figures; the clip has %d frames",
			a.Frames, len(a.PTS), len(a.Scores), len(a.Detail), truth.Frames)
	}
	if want := append([]int{0}, truth.Cuts...); !reflect.DeepEqual(a.Cuts(DefaultThreshold), want) {
		t.Errorf("cuts %v, want %v (flash at %v and dissolve %v are no cuts)", a.Cuts(DefaultThreshold), want, truth.Flashes, truth.Transitions)
	}
	if want := framePTS(t, path); !reflect.DeepEqual(a.PTS, want) {
		t.Errorf("timestamps %v\nffprobe    %v", a.PTS, want)
	}
	if a.TimeBase == nil || a.TimeBase.Cmp(src.Video.TimeBase) != 0 {
		t.Errorf("time base %v, want the stream's %v", a.TimeBase, src.Video.TimeBase)
	}
	if vfr, at := a.VariableRate(24); vfr {
		t.Errorf("constant-rate clip reported variable at frame %d", at)
	}
	if want := []int{50, 100, 150, truth.Frames}; !reflect.DeepEqual(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
	for i, d := range a.Detail {
		if flash := i == truth.Flashes[0]; (d == 0) != flash {
			t.Errorf("frame %d (white flash: %v) has detail %g", i, flash, d)
		}
	}

	// The first 60 % of the file: a bad input, not a short analysis.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.mp4")
	if err := os.WriteFile(cut, b[:len(b)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	src, err = probe.Probe(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Analyze(ctx, src, Options{})
	var ie *probe.InputError
	if !errors.As(err, &ie) {
		t.Errorf("truncated file: error %v, want a *probe.InputError", err)
	}
}

// framePTS returns the timestamps ffprobe reports for the frames of path.
func framePTS(t *testing.T, path string) []int64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pts []int64
	for _, f := range strings.Fields(string(out)) {
		p, err := strconv.ParseInt(strings.TrimSuffix(f, ","), 10, 64)
		if err != nil {
			t.Fatalf("ffprobe frame pts %q", f)
		}
		pts = append(pts, p)
	}
	return pts
}

// TestAnalyzeCancel stops the pass through its context.
func TestAnalyzeCancel(t *testing.T) {
	needFFmpeg(t)
	ctx, cancel := context.WithCancel(context.Background())
	clip := scenebench.Clip{Name: "long", Frame: scenebench.Frame{W: 160, H: 90, Rate: 24}, Shots: []scenebench.Shot{{Src: scenebench.Testsrc2, Frames: 600}}}
	path, err := scenebench.Generate(ctx, clip, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src, err := probe.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Analyze(ctx, src, Options{Progress: func(n int) {
		if n >= 100 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pass: error %v, want context.Canceled", err)
	}
}

// TestAnalyzeCodecs runs the pass on one clip (a cut at frame 48 of 96)
// in the codecs and containers users bring: in every one the pass must
// count 96 frames, find the cut at 48 and nothing else, and give each
// frame the timestamp ffprobe reports for it.
func TestAnalyzeCodecs(t *testing.T) {
	needFFmpeg(t)
	ctx := context.Background()
	dir := t.TempDir()
	const frames, cut = 96, 48
	lavfi := fmt.Sprintf("testsrc2=s=160x90:r=24,trim=end_frame=%d[a];mandelbrot=s=160x90:r=24,trim=end_frame=%d,setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1:a=0", cut, frames-cut)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"h265.mkv", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none:bframes=3", "-pix_fmt", "yuv420p"}},
		{"vp9.webm", []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k", "-pix_fmt", "yuv420p"}},
		{"av1.mkv", []string{"-c:v", "librav1e", "-speed", "10", "-pix_fmt", "yuv420p"}},
		{"mpeg2.ts", []string{"-c:v", "mpeg2video", "-bf", "2", "-q:v", "4", "-pix_fmt", "yuv420p"}},
		{"ffv1.mkv", []string{"-c:v", "ffv1", "-pix_fmt", "yuv420p10le"}},
		{"prores.mov", []string{"-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le"}},
		{"mjpeg.avi", []string{"-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"}},
		{"raw.y4m", []string{"-pix_fmt", "yuv420p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			args := append([]string{"-v", "error", "-f", "lavfi", "-i", lavfi}, tc.args...)
			if out, err := exec.CommandContext(ctx, "ffmpeg", append(args, path)...).CombinedOutput(); err != nil {
				t.Fatalf("write %s: %v: %s", tc.name, err, out)
			}
			src, err := probe.Probe(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Analyze(ctx, src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Frames != frames {
				t.Fatalf("%d frames, want %d", a.Frames, frames)
			}
			if got := a.Cuts(DefaultThreshold); !reflect.DeepEqual(got, []int{0, cut}) {
				t.Errorf("cuts %v, want [0 %d]", got, cut)
			}
			if want := framePTS(t, path); !reflect.DeepEqual(a.PTS, want) {
				t.Errorf("timestamps %v\nffprobe    %v", a.PTS, want)
			}
		})
	}
}

// TestAnalyzeNoDrift: a slow tilt faded in from black, encoded by x264 with
// weighted prediction and a keyframe every 125 frames, none on a cut.
// Decoded without deblocking on reference frames, the pictures drift away
// from what a player shows until the keyframe at frame 125 snaps them
// back, which scored as a cut; the pass must see no cut at all.
func TestAnalyzeNoDrift(t *testing.T) {
	needFFmpeg(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "drift.mp4")
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-f", "lavfi",
		"-i", "mandelbrot=s=320x360:r=25,crop=320:180:0:'min(t*5,180)',fade=in:0:60", "-t", "10",
		"-c:v", "libx264", "-threads", "1", "-preset", "medium", "-crf", "45",
		"-x264-params", "weightp=2:keyint=125:min-keyint=125:scenecut=0", "-pix_fmt", "yuv420p", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	src, err := probe.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(ctx, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cuts := a.Cuts(DefaultThreshold); len(cuts) != 1 {
		t.Errorf("cuts %v in a clip without one (frame 125 scores %.2f)", cuts, a.Scores[125])
	}
}

// TestAnalyzeFinal: what the pass reports final while it runs is what it
// returns at the end.
func TestAnalyzeFinal(t *testing.T) {
	needFFmpeg(t)
	ctx := context.Background()
	clip := scenebench.Clip{Name: "final", Frame: scenebench.Frame{W: 160, H: 90, Rate: 24}, Shots: []scenebench.Shot{
		{Src: scenebench.Testsrc2, Frames: 40, Flashes: []scenebench.Flash{{At: 20, Kind: scenebench.White}}},
		{Src: scenebench.Mandelbrot, Frames: 50},
		{Src: scenebench.LifeRaw(1), Frames: 40},
		{Src: scenebench.HDBars, Frames: 30, How: scenebench.Dissolve, In: 10},
	}}
	path, err := scenebench.Generate(ctx, clip, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src, err := probe.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	type snap struct {
		n                     int
		pts, bytes            []int64
		score, detail, motion []float64
	}
	var snaps []snap
	a, err := Analyze(ctx, src, Options{Final: func(a *Analysis, n int) {
		if len(snaps) > 0 && n <= snaps[len(snaps)-1].n {
			t.Errorf("final went from %d to %d", snaps[len(snaps)-1].n, n)
		}
		snaps = append(snaps, snap{n, append([]int64(nil), a.PTS[:n]...), append([]int64(nil), a.Bytes[:n]...), append([]float64(nil), a.Scores[:n]...),
			append([]float64(nil), a.Detail[:n]...), append([]float64(nil), a.Motion[:n]...)})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) == 0 || snaps[len(snaps)-1].n < a.Frames/2 {
		t.Fatalf("%d reports of final frames for %d frames", len(snaps), a.Frames)
	}
	var total int64
	for _, b := range a.Bytes {
		total += b
	}
	if fi, _ := os.Stat(path); total <= 0 || total > fi.Size() {
		t.Errorf("the frames' sizes add up to %d bytes, the file has %d", total, fi.Size())
	}
	for _, s := range snaps {
		if !reflect.DeepEqual(s.pts, a.PTS[:s.n]) || !reflect.DeepEqual(s.bytes, a.Bytes[:s.n]) || !reflect.DeepEqual(s.score, a.Scores[:s.n]) ||
			!reflect.DeepEqual(s.detail, a.Detail[:s.n]) || !reflect.DeepEqual(s.motion, a.Motion[:s.n]) {
			t.Fatalf("frames [0,%d) reported final differ from the end result", s.n)
		}
	}
}
