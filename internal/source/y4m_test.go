package source

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrameSize(t *testing.T) {
	cases := []struct {
		hdr  string
		want int
	}{
		{"YUV4MPEG2 W160 H90 F24:1 Ip A1:1 C420jpeg", 160*90 + 2*80*45},
		{"YUV4MPEG2 W160 H90 F24:1", 160*90 + 2*80*45},
		{"YUV4MPEG2 W161 H91 F24:1 C420mpeg2", 161*91 + 2*81*46},
		{"YUV4MPEG2 W160 H90 F24000:1001 C420p10 XYSCSS=420P10", 2 * (160*90 + 2*80*45)},
		{"YUV4MPEG2 W160 H90 F24:1 C422", 160*90 + 2*80*90},
		{"YUV4MPEG2 W160 H90 F24:1 C444p10", 2 * 3 * 160 * 90},
		{"YUV4MPEG2 W16 H16 F24:1 Cmono", 256},
	}
	for _, tc := range cases {
		h, err := ParseHeader([]byte(tc.hdr))
		if err != nil {
			t.Fatalf("%s: %v", tc.hdr, err)
		}
		got, err := h.FrameSize()
		if err != nil || got != tc.want {
			t.Errorf("%s: size %d (%v), want %d", tc.hdr, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		hdr        string
		colorspace string
		num, den   uint64
	}{
		{"YUV4MPEG2 W160 H90 F24:1 Ip A1:1 C420jpeg", "420jpeg", 1, 1},
		{"YUV4MPEG2 W160 H90 F24:1 A64:45 C420p10", "420p10", 64, 45},
		{"YUV4MPEG2 W160 H90 F24:1", "", 0, 0},
		{"YUV4MPEG2 W160 H90 F24:1 Ax:1", "", 0, 0},
	} {
		h, err := ParseHeader([]byte(tc.hdr))
		if err != nil || h.Colorspace != tc.colorspace || h.AspectNum != tc.num || h.AspectDen != tc.den {
			t.Errorf("%s: colour space %q, aspect %d:%d (%v); want %q, %d:%d", tc.hdr, h.Colorspace, h.AspectNum, h.AspectDen, err, tc.colorspace, tc.num, tc.den)
		}
	}
	for _, bad := range []string{"", "YUV4MPEG W1 H1 F1:1", "YUV4MPEG2 W0 H90 F24:1", "YUV4MPEG2 W16 H16 F24", "YUV4MPEG2 W16 H16 F0:1", "YUV4MPEG2 Wx H16 F24:1"} {
		if _, err := ParseHeader([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func stream(frames int, tail string) string {
	var b strings.Builder
	b.WriteString("YUV4MPEG2 W4 H2 F25:1 C420jpeg\n")
	for i := 0; i < frames; i++ {
		b.WriteString("FRAME\n")
		b.WriteString(strings.Repeat(string(rune('a'+i)), 12))
	}
	b.WriteString(tail)
	return b.String()
}

func TestReader(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		frames int
		end    error
	}{
		{"clean", stream(3, ""), 3, io.EOF},
		{"frame params", strings.Replace(stream(2, ""), "FRAME\n", "FRAME Ixyz\n", 1), 2, io.EOF},
		{"partial frame", stream(2, "FRAME\nabc"), 2, io.ErrUnexpectedEOF},
		{"partial frame header", stream(1, "FRA"), 1, io.ErrUnexpectedEOF},
		{"garbage", stream(1, "JUNK\n"), 1, nil},
	}
	for _, tc := range cases {
		r, err := NewReader(strings.NewReader(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		buf := make([]byte, r.FrameSize())
		var last error
		for {
			if last = r.ReadFrame(buf); last != nil {
				break
			}
		}
		if r.Frames() != tc.frames {
			t.Errorf("%s: %d frames, want %d", tc.name, r.Frames(), tc.frames)
		}
		if tc.end != nil && !errors.Is(last, tc.end) {
			t.Errorf("%s: ended with %v, want %v", tc.name, last, tc.end)
		}
		if tc.end == nil && (last == nil || errors.Is(last, io.EOF)) {
			t.Errorf("%s: ended with %v, want an error", tc.name, last)
		}
	}
	if _, err := NewReader(bytes.NewReader(nil)); !errors.Is(err, ErrNotY4M) {
		t.Errorf("empty: %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(stream(2, "")))
	f.Add([]byte(stream(1, "FRAME\nab")))
	f.Add([]byte("YUV4MPEG2 W1 H1 F1:1 C444p16\nFRAME\n123456"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		if r.FrameSize() <= 0 || r.FrameSize() > 6<<32 {
			t.Fatalf("frame size %d", r.FrameSize())
		}
		if r.FrameSize() > len(b) {
			return // do not allocate huge buffers for tiny inputs
		}
		buf := make([]byte, r.FrameSize())
		for i := 0; i < 1000 && r.ReadFrame(buf) == nil; i++ {
		}
	})
}
