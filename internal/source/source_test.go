package source_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/testclip"
)

// needFFmpeg skips a test unless ffmpeg is installed, and under -short.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs ffmpeg: skipped under -short")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (run scripts/install-deps.sh)")
	}
}

// framemd5 decodes the whole file with a plain ffmpeg command, independent
// of package source, and returns the MD5 of each frame's planes.
func framemd5(t *testing.T, path, pixFmt string) [][16]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
		"-pix_fmt", pixFmt, "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("framemd5: %v", err)
	}
	var sums [][16]byte
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		b, err := hex.DecodeString(strings.TrimSpace(f[len(f)-1]))
		if err != nil || len(b) != 16 {
			t.Fatalf("framemd5 line %q", line)
		}
		sums = append(sums, [16]byte(b))
	}
	return sums
}

// frameSumsSeek reads r's frames and returns the MD5 of each, and how many
// tries Open took (source.Seeks).
func frameSumsSeek(t *testing.T, ctx context.Context, r source.Range) ([][16]byte, int) {
	t.Helper()
	y, err := source.Open(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, y.FrameSize())
	var sums [][16]byte
	for {
		err := y.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, md5.Sum(buf))
	}
	if err := y.Close(); err != nil {
		t.Fatal(err)
	}
	return sums, source.Seeks(y)
}

// TestRangeFrameExact checks that every extracted range holds exactly the
// frames [Start,End) of one full decode, no more, no less, for containers
// whose timestamps make seeking hard.
func TestRangeFrameExact(t *testing.T) {
	needFFmpeg(t)
	cases := []struct {
		name    string
		file    string
		rate    string
		pixfmt  string
		codec   string   // default H.264
		args    []string // the codec's settings
		missing bool     // seeks may land after the range's first frame
	}{
		{"h264 mp4 with B-frames at 24000/1001", "clip.mp4", "24000/1001", "yuv420p", "", nil, false},
		{"matroska ms timestamps at 24000/1001", "clip.mkv", "24000/1001", "yuv420p", "", nil, false},
		{"matroska 10-bit at 30000/1001", "clip10.mkv", "30000/1001", "yuv420p10le", "", nil, false},
		{"matroska 25 fps", "clip25.mkv", "25", "yuv420p", "", nil, false},
		{"y4m: time base 1/fps", "clip.y4m", "24", "yuv420p", "", nil, false},
		{"mpeg-ts: start time 1.4 s, 90 kHz", "clip.ts", "30000/1001", "yuv420p", "", nil, true},
		{"mov at 60 fps", "clip.mov", "60", "yuv420p", "", nil, false},
		// Seeks land on open-GOP keyframes (CRA) whose leading frames
		// cannot be decoded after the seek.
		{"hevc open GOP in matroska", "hevc.mkv", "24000/1001", "yuv420p", "libx265", []string{"-preset", "ultrafast", "-x265-params", "log-level=none:bframes=3:keyint=20:min-keyint=20:open-gop=1:scenecut=0"}, false},
		{"vp9 with hidden frames in webm", "vp9.webm", "25", "yuv420p", "libvpx-vp9", []string{"-deadline", "good", "-cpu-used", "8", "-auto-alt-ref", "1", "-lag-in-frames", "16", "-g", "20", "-b:v", "300k"}, false},
		{"av1 in matroska", "av1.mkv", "24", "yuv420p", "librav1e", []string{"-speed", "10", "-g", "20"}, false},
		{"mpeg-2 with B-frames in mpeg-ts", "mpeg2.ts", "25", "yuv420p", "mpeg2video", []string{"-bf", "2", "-g", "15", "-q:v", "4"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), tc.file)
			spec := testclip.Spec{Width: 160, Height: 90, Rate: tc.rate, Segments: []string{"testsrc2", "mandelbrot", "testsrc"}, SegFrames: 30, PixFmt: tc.pixfmt, Audio: true,
				VideoCodec: tc.codec, ExtraArgs: tc.args}
			if err := testclip.Make(ctx, spec, path); err != nil {
				t.Fatal(err)
			}
			src, err := probe.Probe(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			a, err := scene.Analyze(ctx, src, scene.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Frames != spec.Frames() {
				t.Fatalf("scene pass counted %d frames, clip has %d", a.Frames, spec.Frames())
			}
			pix := probe.LayoutFor(src.Video).PixFmt
			rng := source.Range{Path: path, Stream: src.Video.Index, PixFmt: pix, PTS: a.PTS, TimeBase: a.TimeBase}
			full := framemd5(t, path, pix)
			if len(full) != a.Frames {
				t.Fatalf("full decode gave %d frames, want %d", len(full), a.Frames)
			}
			for _, r := range [][2]int{{1, 2}, {7, 19}, {29, 31}, {30, 60}, {44, 45}, {61, 90}, {89, 90}, {0, 13}} {
				rng.Start, rng.End = r[0], r[1]
				got, seeks := frameSumsSeek(t, ctx, rng)
				if seeks > 1 && !tc.missing {
					// A seek to the range's first frame must land on it
					// or before: another try is correct but costs a
					// start and a decode of what lies before.
					t.Errorf("range %v: the seek to its first frame landed after it (%d tries)", r, seeks)
				}
				if len(got) != r[1]-r[0] {
					t.Errorf("range %v: %d frames, want %d", r, len(got), r[1]-r[0])
					continue
				}
				for i, s := range got {
					if s != full[r[0]+i] {
						t.Errorf("range %v: frame %d differs from frame %d of the full decode", r, r[0]+i, r[0]+i)
						break
					}
				}
			}
		})
	}
}
