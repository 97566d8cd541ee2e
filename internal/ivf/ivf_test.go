package ivf

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// rav1eHeader is the header rav1e 0.5.1 wrote for a 160x90 24 fps clip.
var rav1eHeader = []byte{
	'D', 'K', 'I', 'F', 0x00, 0x00, 0x20, 0x00, 'A', 'V', '0', '1', 0xa0, 0x00, 0x5a, 0x00,
	0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
}

func TestHeaderGolden(t *testing.T) {
	h, err := ParseHeader(rav1eHeader)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{FourCC: [4]byte{'A', 'V', '0', '1'}, Width: 160, Height: 90, RateNum: 24, RateDen: 1}
	if h != want {
		t.Fatalf("ParseHeader = %+v, want %+v", h, want)
	}
	if got := h.Marshal(); !bytes.Equal(got, rav1eHeader) {
		t.Fatalf("Marshal = % x\nwant      % x", got, rav1eHeader)
	}
}

// TestAV1Header: the header built for a stream is byte for byte the one
// the rav1e program wrote for it.
func TestAV1Header(t *testing.T) {
	if got := AV1Header(160, 90, 24, 1).Marshal(); !bytes.Equal(got, rav1eHeader) {
		t.Fatalf("AV1Header(160, 90, 24, 1) = % x\nwant                       % x", got, rav1eHeader)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{},
		{FourCC: [4]byte{'A', 'V', '0', '1'}, Width: 1920, Height: 1080, RateNum: 30000, RateDen: 1001, Frames: 12345},
		{FourCC: [4]byte{'V', 'P', '9', '0'}, Width: 65535, Height: 65535, RateNum: 1<<32 - 1, RateDen: 1<<32 - 1, Frames: 1<<32 - 1},
	} {
		b := h.Marshal()
		if len(b) != HeaderSize {
			t.Fatalf("Marshal length %d", len(b))
		}
		got, err := ParseHeader(b)
		if err != nil || got != h {
			t.Errorf("ParseHeader(Marshal(%+v)) = %+v, %v", h, got, err)
		}
	}
}

func TestParseHeaderErrors(t *testing.T) {
	mod := func(f func(b []byte)) []byte {
		b := bytes.Clone(rav1eHeader)
		f(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short", rav1eHeader[:31], ErrTruncated},
		{"bad signature", mod(func(b []byte) { b[0] = 'X' }), ErrCorrupt},
		{"lowercase signature", mod(func(b []byte) { copy(b, "dkif") }), ErrCorrupt},
		{"riff", mod(func(b []byte) { copy(b, "RIFF") }), ErrCorrupt},
		{"version 1", mod(func(b []byte) { b[4] = 1 }), ErrCorrupt},
		{"header length 64", mod(func(b []byte) { b[6] = 64 }), ErrCorrupt},
		{"header length 0", mod(func(b []byte) { b[6] = 0 }), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHeader(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseHeader error %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "ivf: ") {
				t.Errorf("error %q lacks the ivf: prefix", err)
			}
			_, err = NewReader(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewReader error %v, want %v", err, tt.want)
			}
			if _, err := Scan(bytes.NewReader(tt.in)); !errors.Is(err, tt.want) {
				t.Fatalf("Scan error %v, want %v", err, tt.want)
			}
		})
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func TestWriterReaderRoundTrip(t *testing.T) {
	h := Header{FourCC: [4]byte{'A', 'V', '0', '1'}, Width: 320, Height: 240, RateNum: 25, RateDen: 1, Frames: 5}
	frames := []Frame{
		{PTS: 0, Data: []byte{1, 2, 3}},
		{PTS: 1, Data: []byte{}},
		{PTS: 1 << 40, Data: bytes.Repeat([]byte{0xab}, 70000)},
		{PTS: 3, Data: []byte{0}},
		{PTS: 1<<64 - 1, Data: bytes.Repeat([]byte{7}, (1<<20)+5)}, // above the reader's step size
	}
	var buf countingWriter
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		before := buf.writes
		if err := w.WriteFrame(f.PTS, f.Data); err != nil {
			t.Fatal(err)
		}
		if buf.writes != before+1 {
			t.Fatalf("frame %d took %d writes, want 1", i, buf.writes-before)
		}
		if w.Frames() != i+1 {
			t.Fatalf("Frames() = %d, want %d", w.Frames(), i+1)
		}
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header() != h {
		t.Fatalf("Header() = %+v, want %+v", r.Header(), h)
	}
	for i, want := range frames {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.PTS != want.PTS || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("frame %d: got pts %d len %d, want pts %d len %d", i, got.PTS, len(got.Data), want.PTS, len(want.Data))
		}
	}
	for range 2 {
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next at end = %v, want io.EOF", err)
		}
	}
}

// TestReaderCuts cuts a written stream at every offset: Next must return
// the complete frames, then io.EOF exactly at frame boundaries and
// ErrTruncated elsewhere.
func TestReaderCuts(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{})
	sizes := []int{5, 0, 17, 1}
	ends := []int{HeaderSize}
	for i, n := range sizes {
		w.WriteFrame(uint64(i), bytes.Repeat([]byte{byte(i)}, n))
		ends = append(ends, buf.Len())
	}
	full := buf.Bytes()
	for cut := HeaderSize; cut <= len(full); cut++ {
		r, err := NewReader(bytes.NewReader(full[:cut]))
		if err != nil {
			t.Fatal(err)
		}
		complete := 0
		for complete < len(sizes) && ends[complete+1] <= cut {
			complete++
		}
		for i := 0; i < complete; i++ {
			if _, err := r.Next(); err != nil {
				t.Fatalf("cut %d frame %d: %v", cut, i, err)
			}
		}
		_, err = r.Next()
		if cut == ends[complete] {
			if err != io.EOF {
				t.Fatalf("cut %d at boundary: %v, want io.EOF", cut, err)
			}
		} else if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut %d: %v, want ErrTruncated", cut, err)
		}
		if _, err2 := r.Next(); err2 != err {
			t.Fatalf("cut %d: error not sticky: %v then %v", cut, err, err2)
		}
	}
}

func TestReaderAbsurdSizes(t *testing.T) {
	tests := []struct {
		name string
		size uint32
		want error
	}{
		{"over 256 MiB", 256<<20 + 1, ErrCorrupt},
		{"max uint32", 1<<32 - 1, ErrCorrupt},
		// Allowed but missing: must be reported as truncated without
		// allocating the claimed size up front.
		{"256 MiB missing", 256 << 20, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append(Header{}.Marshal(), byte(tt.size), byte(tt.size>>8), byte(tt.size>>16), byte(tt.size>>24), 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3)
			r, err := NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := r.Next(); !errors.Is(err, tt.want) {
				t.Fatalf("Next = %v, want %v", err, tt.want)
			}
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
				t.Errorf("Next allocated %d bytes for a 15-byte frame", n)
			}
		})
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(&failWriter{}, Header{}); err == nil {
		t.Fatal("NewWriter on a failing writer succeeded")
	}
	w, err := NewWriter(&failWriter{after: 2}, Header{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(0, []byte{1}); err != nil {
		t.Fatal(err)
	}
	err1 := w.WriteFrame(1, []byte{1})
	if err1 == nil {
		t.Fatal("write to a failing writer succeeded")
	}
	if err2 := w.WriteFrame(2, nil); err2 != err1 {
		t.Fatalf("error not sticky: %v then %v", err1, err2)
	}
	if w.Frames() != 1 {
		t.Fatalf("Frames() = %d, want 1", w.Frames())
	}
	w, _ = NewWriter(io.Discard, Header{})
	if err := w.WriteFrame(0, make([]byte, 256<<20+1)); err == nil {
		t.Fatal("oversized frame accepted")
	}
}
