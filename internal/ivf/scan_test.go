package ivf

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkCut scans b[:cut] and checks the result against the frame end
// offsets of the uncut file.
func checkCut(t *testing.T, b []byte, ends []int, cut int) {
	t.Helper()
	res, err := Scan(bytes.NewReader(b[:cut]))
	if cut < HeaderSize {
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut %d: Scan error %v, want ErrTruncated", cut, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("cut %d: %v", cut, err)
	}
	frames, size := 0, HeaderSize
	for frames < len(ends) && ends[frames] <= cut {
		size = ends[frames]
		frames++
	}
	if res.Frames != frames || res.ValidSize != int64(size) {
		t.Fatalf("cut %d: Frames %d ValidSize %d, want %d %d (Err %v)", cut, res.Frames, res.ValidSize, frames, size, res.Err)
	}
	if cut == size {
		if res.Err != nil {
			t.Fatalf("cut %d at a frame boundary: Err %v", cut, res.Err)
		}
	} else if !errors.Is(res.Err, ErrTruncated) {
		t.Fatalf("cut %d: Err %v, want ErrTruncated", cut, res.Err)
	}
}

// TestScanEveryCut cuts a small real encode at every byte offset.
func TestScanEveryCut(t *testing.T) {
	b := readFile(t, encode(t, clip{size: "96x64", from: 0, to: 24, rav1e: []string{"--quantizer", "150"}}))
	ends := frameEnds(t, b)
	if len(ends) != 24 {
		t.Fatalf("%d frames, want 24", len(ends))
	}
	for cut := 0; cut <= len(b); cut++ {
		checkCut(t, b, ends, cut)
	}
}

// TestScanDenseCuts cuts the larger sample at every offset near a frame
// boundary (where the frame header lives) and at a stride elsewhere.
func TestScanDenseCuts(t *testing.T) {
	b := readFile(t, encode(t, clip48))
	ends := frameEnds(t, b)
	cuts := map[int]bool{}
	for _, e := range append([]int{HeaderSize}, ends...) {
		for d := -20; d <= 20; d++ {
			if c := e + d; c >= 0 && c <= len(b) {
				cuts[c] = true
			}
		}
	}
	for c := 0; c <= len(b); c += 61 {
		cuts[c] = true
	}
	for c := range cuts {
		checkCut(t, b, ends, c)
	}
}

func TestScanTails(t *testing.T) {
	b := readFile(t, encode(t, clip48))
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func(n int) []byte {
		g := make([]byte, n)
		for i := range g {
			g[i] = byte(rng.Uint32())
		}
		return g
	}
	// A frame header announcing 100 bytes followed by 100 random ones.
	fakeFrame := append([]byte{100, 0, 0, 0, 48, 0, 0, 0, 0, 0, 0, 0}, garbage(100)...)
	tests := []struct {
		name string
		tail []byte
		want error // nil: no tail
	}{
		{"none", nil, nil},
		{"1 zero", make([]byte, 1), ErrTruncated},
		{"11 zeros", make([]byte, 11), ErrTruncated},
		{"12 zeros", make([]byte, 12), ErrCorrupt}, // an empty frame
		{"4096 zeros", make([]byte, 4096), ErrCorrupt},
		{"garbage frame", fakeFrame, ErrCorrupt},
		{"huge size", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, ErrCorrupt},
	}
	check := func(t *testing.T, tail []byte, want error) {
		t.Helper()
		res, err := Scan(bytes.NewReader(cat(b, tail)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Frames != 48 || res.ValidSize != int64(len(b)) {
			t.Fatalf("Frames %d ValidSize %d, want 48 %d (Err %v)", res.Frames, res.ValidSize, len(b), res.Err)
		}
		switch {
		case len(tail) == 0 && res.Err != nil:
			t.Fatalf("Err %v at a clean end", res.Err)
		case len(tail) > 0 && !errors.Is(res.Err, ErrTruncated) && !errors.Is(res.Err, ErrCorrupt):
			t.Fatalf("Err %v, want ErrTruncated or ErrCorrupt", res.Err)
		case want != nil && !errors.Is(res.Err, want):
			t.Fatalf("Err %v, want %v", res.Err, want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.tail, tt.want) })
	}
	t.Run("random", func(t *testing.T) {
		for range 300 {
			check(t, garbage(1+rng.IntN(3000)), nil)
		}
	})
}

func TestScanBadFrames(t *testing.T) {
	b := readFile(t, encode(t, clip48))
	ends := frameEnds(t, b)
	// Frame 10's first OBU header byte gets the forbidden bit.
	mid := bytes.Clone(b)
	mid[ends[9]+FrameHeaderSize] |= 0x80
	// Without frame 0 the stream starts with an inter frame.
	noKey := cat(b[:HeaderSize], b[ends[0]:])
	tests := []struct {
		name   string
		in     []byte
		frames int
		size   int
	}{
		{"corrupt obu in frame 10", mid, 10, ends[9]},
		{"first frame not a keyframe", noKey, 0, HeaderSize},
		{"header only", b[:HeaderSize], 0, HeaderSize},
		{"synthetic", synthStream(3), 3, len(synthStream(3))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Scan(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if res.Frames != tt.frames || res.ValidSize != int64(tt.size) {
				t.Fatalf("Frames %d ValidSize %d, want %d %d (Err %v)", res.Frames, res.ValidSize, tt.frames, tt.size, res.Err)
			}
			if (res.Err == nil) != (tt.size == len(tt.in)) {
				t.Fatalf("Err %v", res.Err)
			}
		})
	}
}

func TestScanFile(t *testing.T) {
	b := readFile(t, encode(t, clip48))
	dir := t.TempDir()
	torn := filepath.Join(dir, "torn.ivf")
	writeFile(t, torn, b[:len(b)-5])
	res, err := ScanFile(torn)
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 47 || !errors.Is(res.Err, ErrTruncated) || !strings.Contains(res.Err.Error(), torn) {
		t.Fatalf("ScanFile = %+v", res)
	}
	bad := filepath.Join(dir, "bad.ivf")
	writeFile(t, bad, []byte("not an ivf file at all, really, not at all"))
	if _, err := ScanFile(bad); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("ScanFile(bad) error %v", err)
	}
	if _, err := ScanFile(filepath.Join(dir, "missing.ivf")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ScanFile(missing) error %v", err)
	}
}

// TestSalvage damages copies of a real encode, salvages them and checks the
// result with ffmpeg and ffprobe.
func TestSalvage(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	b := readFile(t, encode(t, clip48))
	ends := frameEnds(t, b)
	tests := []struct {
		name   string
		in     []byte
		frames int
	}{
		{"intact", b, 48},
		{"torn payload of frame 20", b[:ends[20]-1], 20},
		{"torn payload of frame 0", b[:ends[0]-100], 0},
		{"torn frame header of frame 30", b[:ends[29]+5], 30},
		{"cut at frame boundary", b[:ends[35]], 36},
		{"zeros appended", cat(b, make([]byte, 777)), 48},
		{"garbage appended", cat(b, bytes.Repeat([]byte("garbage!"), 100)), 48},
		{"torn first frame header", b[:HeaderSize+3], 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.ivf")
			writeFile(t, path, tt.in)
			res, err := Salvage(path)
			if err != nil {
				t.Fatal(err)
			}
			got := readFile(t, path)
			if res.Frames != tt.frames || res.ValidSize != int64(len(got)) {
				t.Fatalf("Frames %d ValidSize %d file %d bytes, want %d frames", res.Frames, res.ValidSize, len(got), tt.frames)
			}
			if !bytes.Equal(got, tt.in[:len(got)]) {
				t.Fatal("salvaged file is not a prefix of the input")
			}
			again, err := ScanFile(path)
			if err != nil || again.Err != nil || again.Frames != tt.frames {
				t.Fatalf("rescan after salvage: %+v, %v", again, err)
			}
			if tt.frames == 0 {
				return // a header-only file is not something ffmpeg opens
			}
			ffmpegDecodes(t, path)
			if n := probeFrames(t, path); n != tt.frames {
				t.Fatalf("ffprobe counts %d frames, want %d", n, tt.frames)
			}
		})
	}
}

func TestSalvageRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, in := range [][]byte{nil, []byte("DKIF"), bytes.Repeat([]byte{'x'}, 100)} {
		path := filepath.Join(dir, "bad.ivf")
		writeFile(t, path, in)
		if _, err := Salvage(path); err == nil {
			t.Fatalf("Salvage accepted % x", in)
		}
		if got := readFile(t, path); !bytes.Equal(got, in) {
			t.Fatalf("Salvage changed a file with a bad header")
		}
	}
	if _, err := Salvage(filepath.Join(dir, "missing.ivf")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Salvage(missing) error %v", err)
	}
}
