package ivf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	chunkA = clip{size: "160x90", from: 0, to: 24}
	chunkB = clip{size: "160x90", from: 24, to: 48}
)

// frameHashes returns the per-frame MD5s ffmpeg computes when decoding
// path, without timestamps.
func frameHashes(t *testing.T, path string) []string {
	t.Helper()
	var hashes []string
	for _, line := range strings.Split(run(t, "ffmpeg", "-v", "error", "-i", path, "-f", "framemd5", "-"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		hashes = append(hashes, strings.TrimSpace(f[len(f)-1]))
	}
	return hashes
}

var dav1dDecoded = regexp.MustCompile(`Decoded (\d+)/`)

// dav1dFrames returns how many frames dav1d decodes from path.
func dav1dFrames(t *testing.T, path string) int {
	t.Helper()
	needTools(t, "dav1d")
	out, err := runCombined("dav1d", "-i", path, "-o", "/dev/null", "--muxer", "null")
	if err != nil {
		t.Fatalf("dav1d %s: %v\n%s", path, err, out)
	}
	m := dav1dDecoded.FindAllStringSubmatch(out, -1)
	if m == nil {
		t.Fatalf("dav1d %s: no frame count in %q", path, out)
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

func TestConcat(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	a, b := encode(t, chunkA), encode(t, chunkB)
	out := filepath.Join(t.TempDir(), "out.ivf")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Concat(f, []string{a, b})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if n != 48 {
		t.Fatalf("Concat wrote %d frames, want 48", n)
	}

	h, frames := readAll(t, out)
	if h.Frames != 48 || h.Width != 160 || h.Height != 90 || h.RateNum != 24 || h.RateDen != 1 {
		t.Errorf("output header %+v", h)
	}
	_, fa := readAll(t, a)
	_, fb := readAll(t, b)
	in := append(fa, fb...)
	for i, fr := range frames {
		if fr.PTS != uint64(i) {
			t.Errorf("frame %d: pts %d", i, fr.PTS)
		}
		if !bytes.Equal(fr.Data, in[i].Data) {
			t.Errorf("frame %d: payload differs from the input's", i)
		}
	}
	if res, err := ScanFile(out); err != nil || res.Err != nil || res.Frames != 48 {
		t.Errorf("ScanFile(out) = %+v, %v", res, err)
	}

	ffmpegDecodes(t, out)
	if got := probeFrames(t, out); got != 48 {
		t.Errorf("ffprobe counts %d frames, want 48", got)
	}
	if got := dav1dFrames(t, out); got != 48 {
		t.Errorf("dav1d decodes %d frames, want 48", got)
	}
	// The joined stream decodes to exactly the chunks' pictures.
	want := append(frameHashes(t, a), frameHashes(t, b)...)
	if got := frameHashes(t, out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("decoded pictures differ from the chunks'")
	}
}

func TestConcatSingleAndRepeated(t *testing.T) {
	a := encode(t, chunkA)
	var buf bytes.Buffer
	n, err := Concat(&buf, []string{a, a, a})
	if err != nil || n != 72 {
		t.Fatalf("Concat = %d, %v", n, err)
	}
	res, err := Scan(bytes.NewReader(buf.Bytes()))
	if err != nil || res.Err != nil || res.Frames != 72 || res.Header.Frames != 72 {
		t.Fatalf("Scan = %+v, %v", res, err)
	}
}

func TestConcatRejects(t *testing.T) {
	a, b := encode(t, chunkA), encode(t, chunkB)
	bb := readFile(t, b)
	ends := frameEnds(t, bb)
	dir := t.TempDir()
	mk := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, data)
		return p
	}
	withHeader := func(f func(h *Header)) []byte {
		h, err := ParseHeader(bb)
		if err != nil {
			t.Fatal(err)
		}
		f(&h)
		return cat(h.Marshal(), bb[HeaderSize:])
	}
	corrupt := bytes.Clone(bb)
	corrupt[ends[5]+FrameHeaderSize] = 0xff

	tests := []struct {
		name  string
		paths func() []string
		bad   string // substring the error must contain ("" to skip)
		is    error  // error the result must wrap (nil to skip)
	}{
		{name: "different size", bad: "frame size",
			paths: func() []string {
				return []string{a, encode(t, clip{size: "128x72", from: 24, to: 48})}
			}},
		{name: "different sequence header", bad: "sequence header",
			paths: func() []string {
				return []string{a, encode(t, clip{size: "160x90", from: 24, to: 48, rav1e: []string{"--range", "full"}})}
			}},
		{name: "torn tail", is: ErrTruncated,
			paths: func() []string { return []string{a, mk("torn.ivf", bb[:len(bb)-3])} }},
		{name: "torn tail of first", is: ErrTruncated,
			paths: func() []string { return []string{mk("torn0.ivf", bb[:len(bb)-3]), a} }},
		{name: "garbage tail", is: ErrCorrupt,
			paths: func() []string { return []string{a, mk("garbage.ivf", cat(bb, make([]byte, 40)))} }},
		{name: "corrupt frame", is: ErrCorrupt,
			paths: func() []string { return []string{a, mk("corrupt.ivf", corrupt)} }},
		{name: "no keyframe first", bad: "keyframe",
			paths: func() []string { return []string{a, mk("nokey.ivf", cat(bb[:HeaderSize], bb[ends[0]:]))} }},
		{name: "no frames", bad: "no frames",
			paths: func() []string { return []string{a, mk("empty.ivf", bb[:HeaderSize])} }},
		{name: "different rate", bad: "rate",
			paths: func() []string { return []string{a, mk("rate.ivf", withHeader(func(h *Header) { h.RateNum = 25 }))} }},
		{name: "different fourcc", bad: "fourcc",
			paths: func() []string {
				return []string{a, mk("vp9.ivf", withHeader(func(h *Header) { h.FourCC = [4]byte{'V', 'P', '9', '0'} }))}
			}},
		{name: "bad header", is: ErrCorrupt,
			paths: func() []string { return []string{a, mk("riff.ivf", cat([]byte("RIFF"), bb[4:]))} }},
		{name: "missing file", is: os.ErrNotExist,
			paths: func() []string { return []string{a, filepath.Join(dir, "missing.ivf")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := tt.paths()
			var buf bytes.Buffer
			n, err := Concat(&buf, paths)
			if err == nil {
				t.Fatalf("Concat accepted %v", paths)
			}
			t.Logf("error: %v", err)
			badPath := paths[1]
			if tt.name == "torn tail of first" {
				badPath = paths[0]
			}
			if !strings.Contains(err.Error(), badPath) {
				t.Errorf("error %q does not name %s", err, badPath)
			}
			if !strings.HasPrefix(err.Error(), "ivf: ") {
				t.Errorf("error %q lacks the ivf: prefix", err)
			}
			if tt.bad != "" && !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("error %q does not mention %q", err, tt.bad)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
			if n != 0 || buf.Len() != 0 {
				t.Errorf("Concat wrote %d frames, %d bytes before failing", n, buf.Len())
			}
		})
	}
	if _, err := Concat(&bytes.Buffer{}, nil); err == nil {
		t.Error("Concat accepted no inputs")
	}
}
