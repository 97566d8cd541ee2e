package verify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// needFFmpeg skips the test unless ffmpeg with librav1e is installed, and
// under -short.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs ffmpeg: skipped under -short")
	}
	if err := tools.Check(tools.FFmpeg, tools.FFprobe); err != nil {
		t.Skip(err)
	}
	out, err := tools.Output(context.Background(), tools.FFmpeg, "-hide_banner", "-encoders")
	if err != nil || !strings.Contains(string(out), "librav1e") {
		t.Skip("ffmpeg has no librav1e encoder")
	}
}

// ffmpeg runs ffmpeg with args, quietly, overwriting its output.
func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"-nostdin", "-hide_banner", "-v", "error", "-y"}, args...)
	if _, err := tools.Output(context.Background(), tools.FFmpeg, args...); err != nil {
		t.Fatalf("ffmpeg %s: %v", strings.Join(args, " "), err)
	}
}

// Clips are 160x90 at 24 fps.
const (
	clipSize = "size=160x90:rate=24"
	srt      = "1\n00:00:00,500 --> 00:00:01,500\nhello\n\n2\n00:00:01,800 --> 00:00:02,500\nworld\n"
)

// av1 encodes fast and lossy with librav1e.
var av1 = []string{"-c:v", "librav1e", "-speed", "10", "-qp", "80", "-fps_mode", "passthrough"}

// makeSource writes a 3 s testsrc2 clip with a sine audio track and a
// subtitle track to dir/source.mkv.
func makeSource(t *testing.T, dir string) string {
	t.Helper()
	subs := filepath.Join(dir, "subs.srt")
	if err := os.WriteFile(subs, []byte(srt), 0o666); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "source.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2="+clipSize+":duration=3",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-i", subs,
		"-map", "0", "-map", "1", "-map", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p",
		"-c:a", "flac", "-c:s", "srt", src)
	return src
}

// encode re-encodes src to AV1 in out with the extra output options, which
// come last and so override the defaults; audio and subtitles are copied.
func encode(t *testing.T, src, out string, extra ...string) {
	t.Helper()
	args := []string{"-i", src}
	if !hasFlag(extra, "-map") {
		args = append(args, "-map", "0")
	}
	args = append(append(args, av1...), "-c:a", "copy", "-c:s", "copy")
	ffmpeg(t, append(append(args, extra...), out)...)
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

func TestRun(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	src := makeSource(t, dir)

	t.Run("ok", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(dir, "good.mkv")
		encode(t, src, out)
		var calls [][2]int
		r, err := Run(context.Background(), src, out, Options{Progress: func(done, total int) {
			calls = append(calls, [2]int{done, total})
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(r.Summary())
		if !r.OK() {
			t.Fatalf("not ok: %s", r.Summary())
		}
		if r.SourceFrames != 72 || r.OutputFrames != 72 {
			t.Errorf("frames %d %d, want 72", r.SourceFrames, r.OutputFrames)
		}
		if r.MinPSNR < 30 || r.MeanPSNR < r.MinPSNR || r.MeanPSNR >= PSNRCap {
			t.Errorf("PSNR min %.2f mean %.2f", r.MinPSNR, r.MeanPSNR)
		}
		if r.SourceStreams[Audio] != 1 || r.SourceStreams[Subtitle] != 1 || r.OutputStreams[Audio] != 1 || r.OutputStreams[Subtitle] != 1 {
			t.Errorf("streams %v %v", r.SourceStreams, r.OutputStreams)
		}
		if r.SourceDuration != 3 || r.OutputDuration != 3 {
			t.Errorf("durations %g %g, want 3", r.SourceDuration, r.OutputDuration)
		}
		s := r.Summary()
		if !strings.HasPrefix(s, "ok: 72 frames, aligned, PSNR min ") || !strings.HasSuffix(s, ", streams audio 1 subtitle 1, duration 3.00 s") {
			t.Errorf("summary %q", s)
		}
		if len(calls) != 3 || calls[0] != [2]int{25, 72} || calls[2] != [2]int{72, 72} {
			t.Errorf("progress %v", calls)
		}
	})

	t.Run("ivf, video only", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(dir, "video.ivf")
		encode(t, src, out, "-map", "0:v")
		r, err := Run(context.Background(), src, out, Options{VideoOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || !strings.Contains(r.Summary(), "streams not checked") {
			t.Errorf("%s", r.Summary())
		}
	})

	t.Run("larger output", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(dir, "large.mkv")
		encode(t, src, out, "-vf", "scale=320:180")
		r, err := Run(context.Background(), src, out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() {
			t.Errorf("%s", r.Summary())
		}
	})

	cases := []struct {
		name  string
		args  []string // for encode, or nil with from set
		from  string   // a lavfi source to encode instead of src
		opt   Options
		want  []string // substrings of problems, in order
		avoid string   // a substring no problem may have
	}{
		{name: "dropped frame", args: []string{"-vf", "select='not(eq(n,10))'"},
			want: []string{"frame count: source 72, output 71", "misaligned: 61 frames (10, 11, 12, 13, 14, ...)"}, avoid: "duration"},
		{name: "duplicated frame", args: []string{"-filter_complex",
			"[0:v]split[a][b];[a]trim=end_frame=11[a1];[b]trim=start_frame=10[b1];[a1][b1]concat,setpts=N/24/TB[v]",
			"-map", "[v]", "-map", "0:a", "-map", "0:s"},
			want: []string{"frame count: source 72, output 73", "misaligned: 61 frames (11, 12, 13, 14, 15, ...)"}},
		{name: "shifted", args: []string{"-vf", "trim=start_frame=1,setpts=N/24/TB,tpad=stop=1:stop_mode=clone"},
			want: []string{"misaligned: 71 frames (0, 1, 2, 3, 4, ...)"}, avoid: "frame count"},
		{name: "low quality", args: []string{"-qp", "255"}, opt: Options{MinPSNR: 40},
			want: []string{"PSNR: 72 frames below 40.0 dB, min "}, avoid: "misaligned"},
		{name: "missing audio", args: []string{"-map", "0:v", "-map", "0:s"},
			want: []string{"audio streams: output 0, expected 1 (source 1)"}},
		{name: "shorter", args: []string{"-t", "2"},
			want: []string{"frame count: source 72, output 48", "duration: source 3.000 s, output 2.000 s"}},
		{name: "different content", from: "mandelbrot=" + clipSize + ":maxiter=64", opt: Options{VideoOnly: true},
			want: []string{"PSNR: 72 frames below 20.0 dB"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".mkv")
			if c.from != "" {
				ffmpeg(t, append([]string{"-f", "lavfi", "-i", c.from, "-t", "3"}, append(av1, out)...)...)
			} else {
				encode(t, src, out, c.args...)
			}
			r, err := Run(context.Background(), src, out, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.Summary())
			if r.OK() {
				t.Fatalf("ok, want problems %q", c.want)
			}
			joined := strings.Join(r.Problems, "\n")
			for _, w := range c.want {
				if !strings.Contains(joined, w) {
					t.Errorf("no problem %q in %q", w, r.Problems)
				}
			}
			if c.avoid != "" && strings.Contains(joined, c.avoid) {
				t.Errorf("unexpected %q in %q", c.avoid, r.Problems)
			}
			if s := r.Summary(); !strings.HasPrefix(s, "FAIL: ") || strings.Contains(s, "\n") {
				t.Errorf("summary %q", s)
			}
		})
	}
}

// TestRunStatic checks that lossy encodes of pictures without motion, whose
// neighbouring frames are all alike, are not taken for misaligned.
func TestRunStatic(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	for _, c := range []struct{ name, lavfi, vf string }{
		{"color", "color=c=0x336699:" + clipSize + ":duration=2", ""},
		{"smptehdbars", "smptehdbars=" + clipSize + ":duration=2", ""},
		{"grainy bars", "smptehdbars=" + clipSize + ":duration=2", "noise=alls=12:allf=t"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := filepath.Join(dir, c.name+".mkv")
			args := []string{"-f", "lavfi", "-i", c.lavfi}
			if c.vf != "" {
				args = append(args, "-vf", c.vf)
			}
			ffmpeg(t, append(args, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "8", "-pix_fmt", "yuv420p", src)...)
			out := filepath.Join(dir, c.name+"-av1.mkv")
			encode(t, src, out, "-qp", "150")
			r, err := Run(context.Background(), src, out, Options{MinPSNR: 20})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.Summary())
			if !r.OK() || len(r.Misaligned) > 0 {
				t.Errorf("%s (misaligned %v)", r.Summary(), r.Misaligned)
			}
		})
	}
}

// TestRunRepeatedLast: rav1e at speed 10 codes the last frame of a short
// mandelbrot stream as mostly its previous picture (about 78 % of the way to
// the previous source frame); that is the encoder's choice, not a shift.
func TestRunRepeatedLast(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "mandelbrot.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "mandelbrot=size=160x90:rate=24,trim=end_frame=10,format=yuv420p", "-c:v", "ffv1", src)
	for _, qp := range []string{"100", "120"} {
		t.Run("qp"+qp, func(t *testing.T) {
			out := filepath.Join(dir, "qp"+qp+".mkv")
			encode(t, src, out, "-qp", qp)
			r, err := Run(context.Background(), src, out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.Summary())
			if !r.OK() || len(r.Misaligned) > 0 {
				t.Errorf("%s (misaligned %v)", r.Summary(), r.Misaligned)
			}
		})
	}
}

func TestRunBadInput(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mkv")
	if err := os.WriteFile(text, []byte("not a video\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(dir, "clip.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2="+clipSize+":duration=0.5", "-c:v", "ffv1", clip)
	missing := filepath.Join(dir, "missing.mkv")
	for _, c := range []struct{ src, out, bad string }{
		{missing, clip, missing},
		{clip, missing, missing},
		{text, clip, text},
		{clip, text, text},
	} {
		_, err := Run(context.Background(), c.src, c.out, Options{})
		var ie *probe.InputError
		if !errors.As(err, &ie) || ie.Path != c.bad || !strings.Contains(err.Error(), c.bad) {
			t.Errorf("Run(%s, %s): %v, want an input error for %s", filepath.Base(c.src), filepath.Base(c.out), err, c.bad)
		}
	}
	// Truncated after the first kilobytes: readable, but frames are lost.
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mkv")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o666); err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), clip, cut, Options{})
	if err != nil {
		t.Fatalf("truncated output: %v", err)
	}
	if r.OK() || !strings.Contains(r.Summary(), "frame count: source 12, output ") {
		t.Errorf("truncated output: %s", r.Summary())
	}
}

// TestRunCancel cancels a run midway: Run must return promptly with the
// context's error and leave no ffmpeg behind.
func TestRunCancel(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2="+clipSize+":duration=4", "-c:v", "ffv1", clip)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, clip, clip, Options{Progress: func(done, total int) {
		if done == 25 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}
