package rav1e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/source"
)

// testDir holds the clips the tests generate, shared by all tests.
var testDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rav1e-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireLib skips a test in a build without librav1e, and under -short.
func requireLib(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("encodes with librav1e: skipped under -short")
	}
	if !Available() {
		t.Skip("built without librav1e")
	}
}

// requireTool skips a test when a program is not installed, and under
// -short.
func requireTool(t testing.TB, name string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs an external program: skipped under -short")
	}
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
}

var clipMu sync.Mutex

// clip returns the path of a Y4M clip made by ffmpeg with the given
// arguments (input and filter options; the output options follow), made
// once per name.
func clip(t testing.TB, name string, args ...string) string {
	t.Helper()
	requireTool(t, "ffmpeg")
	clipMu.Lock()
	defer clipMu.Unlock()
	path := filepath.Join(testDir, name+".y4m")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	full := append([]string{"-nostdin", "-loglevel", "error", "-y"}, args...)
	full = append(full, "-f", "yuv4mpegpipe", path)
	if out, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return path
}

// cutClip is 48 frames of 160x90 with a hard cut after frame 24.
func cutClip(t testing.TB, pixFmt string) string {
	return sizedCutClip(t, pixFmt, "160x90")
}

// sizedCutClip is 48 frames of the given size with a hard cut after
// frame 24.
func sizedCutClip(t testing.TB, pixFmt, size string) string {
	return clip(t, "cut-"+pixFmt+"-"+size,
		"-f", "lavfi", "-i", "testsrc2=s=160x90:r=24",
		"-f", "lavfi", "-i", "mandelbrot=s=160x90:r=24",
		"-filter_complex", "[0:v]trim=end_frame=24[a];[1:v]trim=end_frame=24,setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1,scale="+strings.Replace(size, "x", ":", 1)+"[v]",
		"-map", "[v]", "-frames:v", "48", "-pix_fmt", pixFmt, "-strict", "-1")
}

// A y4m is a parsed Y4M file.
type y4m struct {
	hdr    source.Header
	frames [][]byte
}

// readY4M parses a whole Y4M file with av1job's Y4M reader.
func readY4M(t testing.TB, path string) *y4m {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := source.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	y := &y4m{hdr: r.Header()}
	if size := y.config(t).FrameSize(); size != r.FrameSize() {
		t.Fatalf("%s: frame size %d, the binding's layout says %d", path, r.FrameSize(), size)
	}
	for {
		buf := make([]byte, r.FrameSize())
		err := r.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			return y
		}
		if err != nil {
			t.Fatalf("%s: frame %d: %v", path, len(y.frames), err)
		}
		y.frames = append(y.frames, buf)
	}
}

// config returns the Config the rav1e program uses for this input with no
// options.
func (y *y4m) config(t testing.TB) Config {
	t.Helper()
	c := DefaultConfig(y.hdr.Width, y.hdr.Height)
	c.TimeBase = Rational{Num: uint64(y.hdr.RateDen), Den: uint64(y.hdr.RateNum)}
	c.SampleAspect = Rational{Num: y.hdr.AspectNum, Den: y.hdr.AspectDen}
	var err error
	c.BitDepth, c.Chroma, c.ChromaPosition, err = Y4MColorspace(y.hdr.Colorspace)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parseIVF returns the frame payloads and timestamps of an IVF file,
// read with av1job's IVF reader.
func parseIVF(t testing.TB, b []byte) (frames [][]byte, pts []uint64) {
	t.Helper()
	r, err := ivf.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return frames, pts
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f.Data)
		pts = append(pts, f.PTS)
	}
}

// runCLI encodes a Y4M file with the rav1e program and returns the IVF
// frame payloads.
func runCLI(t testing.TB, in string, args ...string) [][]byte {
	t.Helper()
	requireTool(t, "rav1e")
	out := filepath.Join(t.TempDir(), "out.ivf")
	full := append([]string{in, "-o", out, "-y", "--quiet"}, args...)
	cmd := exec.Command("rav1e", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("rav1e %s: %v\n%s", strings.Join(full, " "), err, stderr.Bytes())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	frames, pts := parseIVF(t, b)
	for i, p := range pts {
		if p != uint64(i) {
			t.Fatalf("the program's IVF frame %d has timestamp %d", i, p)
		}
	}
	return frames
}

// encodeAll encodes frames with an Encoder in the push-pull loop and
// returns the packets.
func encodeAll(t testing.TB, cfg Config, frames [][]byte) []*Packet {
	t.Helper()
	enc, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var pkts []*Packet
	next := 0
	for {
		p, err := enc.ReceivePacket()
		switch {
		case err == nil:
			pkts = append(pkts, p)
		case err == ErrEncoded:
		case err == ErrNeedMoreData:
			if next == len(frames) {
				if err := enc.Flush(); err != nil {
					t.Fatalf("flush: %v", err)
				}
				continue
			}
			f, err := enc.NewFrame()
			if err != nil {
				t.Fatal(err)
			}
			if err := f.FillY4M(frames[next]); err != nil {
				t.Fatal(err)
			}
			if err := enc.SendFrame(f); err != nil {
				t.Fatalf("send frame %d: %v", next, err)
			}
			f.Close()
			next++
		case err == ErrLimitReached:
			return pkts
		default:
			t.Fatalf("receive packet: %v", err)
		}
	}
}

// frameTypes returns the packets' frame types as a string: K for a
// keyframe, - for the others.
func frameTypes(pkts []*Packet) string {
	var b strings.Builder
	for _, p := range pkts {
		if p.Type == KeyFrame {
			b.WriteByte('K')
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}
