package source_test

import (
	"context"
	"crypto/md5"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/testclip"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (run scripts/install-deps.sh)")
	}
}

// frameSums reads r's frames and returns the MD5 of each.
func frameSums(t *testing.T, ctx context.Context, r source.Range) [][16]byte {
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
	return sums
}

// TestRangeFrameExact checks that every extracted range holds exactly the
// frames [Start,End) of one full decode, no more, no less, for containers
// whose timestamps make seeking hard.
func TestRangeFrameExact(t *testing.T) {
	needFFmpeg(t)
	cases := []struct {
		name   string
		file   string
		rate   string
		pixfmt string
	}{
		{"h264 mp4 with B-frames at 24000/1001", "clip.mp4", "24000/1001", "yuv420p"},
		{"matroska ms timestamps at 24000/1001", "clip.mkv", "24000/1001", "yuv420p"},
		{"matroska 10-bit at 30000/1001", "clip10.mkv", "30000/1001", "yuv420p10le"},
		{"matroska 25 fps", "clip25.mkv", "25", "yuv420p"},
		{"y4m: time base 1/fps", "clip.y4m", "24", "yuv420p"},
		{"mpeg-ts: start time 1.4 s, 90 kHz", "clip.ts", "30000/1001", "yuv420p"},
		{"mov at 60 fps", "clip.mov", "60", "yuv420p"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), tc.file)
			spec := testclip.Spec{Width: 160, Height: 90, Rate: tc.rate, Segments: []string{"testsrc2", "mandelbrot", "testsrc"}, SegFrames: 30, PixFmt: tc.pixfmt, Audio: true}
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
			pix := probe.LayoutFor(src.Video.PixFmt).PixFmt
			rng := source.Range{Path: path, Stream: src.Video.Index, PixFmt: pix, PTS: a.PTS, TimeBase: a.TimeBase}
			rng.Start, rng.End = 0, a.Frames
			full := frameSums(t, ctx, rng)
			if len(full) != a.Frames {
				t.Fatalf("full decode gave %d frames, want %d", len(full), a.Frames)
			}
			for _, r := range [][2]int{{1, 2}, {7, 19}, {29, 31}, {30, 60}, {44, 45}, {61, 90}, {89, 90}, {0, 13}} {
				rng.Start, rng.End = r[0], r[1]
				got := frameSums(t, ctx, rng)
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
