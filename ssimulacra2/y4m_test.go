package ssimulacra2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseY4MHeader(t *testing.T) {
	tests := []struct {
		line       string
		want       Y4MHeader
		wantErr    bool
		frameBytes int
	}{
		{line: "YUV4MPEG2 W4 H2 F25:1 Ip A1:1", want: Y4MHeader{Width: 4, Height: 2, Colorspace: "420jpeg", Depth: 8, SubX: 1, SubY: 1, Siting: SitingCenter}, frameBytes: 8 + 2*2},
		{line: "YUV4MPEG2 W5 H3 C420mpeg2 XYSCSS=420MPEG2", want: Y4MHeader{Width: 5, Height: 3, Colorspace: "420mpeg2", Depth: 8, SubX: 1, SubY: 1, Siting: SitingLeft}, frameBytes: 15 + 2*6},
		{line: "YUV4MPEG2 W4 H4 C420paldv", want: Y4MHeader{Width: 4, Height: 4, Colorspace: "420paldv", Depth: 8, SubX: 1, SubY: 1, Siting: SitingTopLeft}, frameBytes: 16 + 2*4},
		{line: "YUV4MPEG2 W4 H4 C420p10 XYSCSS=420P10 XCOLORRANGE=FULL", want: Y4MHeader{Width: 4, Height: 4, Colorspace: "420p10", Depth: 10, SubX: 1, SubY: 1, Siting: SitingCenter, Range: RangeFull}, frameBytes: 2 * (16 + 2*4)},
		{line: "YUV4MPEG2 W3 H2 C422 XCOLORRANGE=LIMITED", want: Y4MHeader{Width: 3, Height: 2, Colorspace: "422", Depth: 8, SubX: 1, Siting: SitingLeft, Range: RangeLimited}, frameBytes: 6 + 2*4},
		{line: "YUV4MPEG2 W3 H2 C422p10", want: Y4MHeader{Width: 3, Height: 2, Colorspace: "422p10", Depth: 10, SubX: 1, Siting: SitingLeft}, frameBytes: 2 * (6 + 2*4)},
		{line: "YUV4MPEG2 W3 H2 C444", want: Y4MHeader{Width: 3, Height: 2, Colorspace: "444", Depth: 8}, frameBytes: 18},
		{line: "YUV4MPEG2 W3 H2 C444p10", want: Y4MHeader{Width: 3, Height: 2, Colorspace: "444p10", Depth: 10}, frameBytes: 36},
		{line: "YUV4MPEG2 W3 H2 Cmono", want: Y4MHeader{Width: 3, Height: 2, Colorspace: "mono", Depth: 8, Mono: true}, frameBytes: 6},
		{line: "YUV4MPEG2 W3 H2 Cmono10", want: Y4MHeader{Width: 3, Height: 2, Colorspace: "mono10", Depth: 10, Mono: true}, frameBytes: 12},
		{line: "YUV4MPEG W3 H2", wantErr: true},
		{line: "YUV4MPEG2 W0 H2", wantErr: true},
		{line: "YUV4MPEG2 Wx H2", wantErr: true},
		{line: "YUV4MPEG2 W3", wantErr: true},
		{line: "YUV4MPEG2 W4 H2 C420p12", want: Y4MHeader{Width: 4, Height: 2, Colorspace: "420p12", Depth: 12, SubX: 1, SubY: 1, Siting: SitingCenter}, frameBytes: 2 * (8 + 2*2)},
		{line: "YUV4MPEG2 W3 H2 C420p17", wantErr: true},
		{line: "YUV4MPEG2 W3 H2 C420p8", wantErr: true},
		{line: "YUV4MPEG2 W3 H2 C444alpha", wantErr: true},
		{line: "YUV4MPEG2 W3 H2 C411", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := parseY4MHeader(tt.line)
			if tt.wantErr {
				if !errors.Is(err, ErrBadY4M) {
					t.Fatalf("error %v, want ErrBadY4M", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			if n := got.frameSize(); n != tt.frameBytes {
				t.Errorf("frame size %d, want %d", n, tt.frameBytes)
			}
		})
	}
}

// y4mStream builds a stream of frames whose samples are produced by fill.
func y4mStream(header string, frames int, fill func(frame, i int) []byte) []byte {
	h, err := parseY4MHeader(header)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for f := 0; f < frames; f++ {
		b.WriteString("FRAME\n")
		per := 1
		if h.Depth > 8 {
			per = 2
		}
		for i := 0; i < h.frameSize()/per; i++ {
			b.Write(fill(f, i))
		}
	}
	return b.Bytes()
}

func TestY4MReader(t *testing.T) {
	data := y4mStream("YUV4MPEG2 W4 H2 C420p10", 2, func(f, i int) []byte {
		v := uint16(100*f + i)
		return []byte{byte(v), byte(v >> 8)}
	})
	r, err := NewY4MReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for f := 0; f < 2; f++ {
		fr, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if len(fr.Y) != 8 || len(fr.Cb) != 2 || len(fr.Cr) != 2 {
			t.Fatalf("plane sizes %d %d %d", len(fr.Y), len(fr.Cb), len(fr.Cr))
		}
		if fr.Y[7] != uint16(100*f+7) || fr.Cb[0] != uint16(100*f+8) || fr.Cr[1] != uint16(100*f+11) {
			t.Fatalf("frame %d samples %v %v %v", f, fr.Y, fr.Cb, fr.Cr)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestY4MReaderErrors(t *testing.T) {
	good := y4mStream("YUV4MPEG2 W4 H2 C444", 1, func(_, i int) []byte { return []byte{byte(i)} })
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated frame", good[:len(good)-3], io.ErrUnexpectedEOF},
		{"truncated frame header", append(bytes.Clone(good), "FRA"...), io.ErrUnexpectedEOF},
		{"bad frame header", append(bytes.Clone(good), "FRAMX\n"...), ErrBadY4M},
		{"long frame header", append(append(bytes.Clone(good), "FRAME "...), bytes.Repeat([]byte("x"), 70000)...), ErrBadY4M},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewY4MReader(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			for {
				_, err = r.ReadFrame()
				if err != nil {
					break
				}
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := NewY4MReader(strings.NewReader("")); err == nil {
		t.Error("empty stream: no error")
	}
}

// TestScoreY4M scores a stream against itself and against a stream with
// one frame changed, and checks the mismatch errors.
func TestScoreY4M(t *testing.T) {
	const hdr = "YUV4MPEG2 W16 H16 C420jpeg"
	frame := func(f, i int) []byte {
		if i < 256 {
			return []byte{byte(16 + (i*7+f*13)%200)}
		}
		return []byte{byte(128 + (i%5)*4)}
	}
	ref := y4mStream(hdr, 3, frame)
	dist := y4mStream(hdr, 3, func(f, i int) []byte {
		if f == 1 && i < 256 && i%3 == 0 {
			return []byte{byte(16 + (i*7+f*13)%200 + 10)}
		}
		return frame(f, i)
	})
	scores, err := ScoreY4M(context.Background(), bytes.NewReader(ref), bytes.NewReader(dist), Color{})
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 3 || scores[0] != 100 || scores[2] != 100 || scores[1] >= 100 {
		t.Fatalf("scores %v, want 100, <100, 100", scores)
	}

	short := y4mStream(hdr, 2, frame)
	if _, err := ScoreY4M(context.Background(), bytes.NewReader(ref), bytes.NewReader(short), Color{}); !errors.Is(err, ErrFrameCount) {
		t.Errorf("frame count mismatch: %v", err)
	}
	other := y4mStream("YUV4MPEG2 W16 H18 C420jpeg", 3, frame)
	if _, err := ScoreY4M(context.Background(), bytes.NewReader(ref), bytes.NewReader(other), Color{}); !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("size mismatch: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ScoreY4M(ctx, bytes.NewReader(ref), bytes.NewReader(dist), Color{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func FuzzY4M(f *testing.F) {
	f.Add([]byte("YUV4MPEG2 W4 H2 C420p10\nFRAME\n0123456789abcdef0123456789ab"))
	f.Add([]byte("YUV4MPEG2 W2 H2 Cmono\nFRAME\nabcd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewY4MReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 4 {
			fr, err := r.ReadFrame()
			if err != nil {
				return
			}
			if fr.Header.Width*fr.Header.Height <= 1<<16 {
				fr.Image(Color{})
			}
		}
	})
}
