package rav1e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/av1job/av1job/internal/ivf"
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

// requireLib skips a test in a build without librav1e.
func requireLib(t testing.TB) {
	t.Helper()
	if !Available() {
		t.Skip("built without librav1e")
	}
}

// requireTool skips a test when a program is not installed.
func requireTool(t testing.TB, name string) {
	t.Helper()
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
	width, height int
	rateNum       int
	rateDen       int
	aspect        Rational // the A parameter, {0, 0} if absent
	colorspace    string   // the C parameter without its C, "" if absent
	frames        [][]byte
}

// readY4M parses a whole Y4M file.
func readY4M(t testing.TB, path string) *y4m {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "YUV4MPEG2 ") {
		t.Fatalf("%s: not a Y4M file", path)
	}
	y := &y4m{}
	for _, p := range strings.Fields(line)[1:] {
		switch p[0] {
		case 'W':
			y.width, _ = strconv.Atoi(p[1:])
		case 'H':
			y.height, _ = strconv.Atoi(p[1:])
		case 'F':
			n, d, _ := strings.Cut(p[1:], ":")
			y.rateNum, _ = strconv.Atoi(n)
			y.rateDen, _ = strconv.Atoi(d)
		case 'A':
			n, d, _ := strings.Cut(p[1:], ":")
			y.aspect.Num, _ = strconv.ParseUint(n, 10, 64)
			y.aspect.Den, _ = strconv.ParseUint(d, 10, 64)
		case 'C':
			y.colorspace = p[1:]
		}
	}
	cfg := y.config(t)
	size := cfg.FrameSize()
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF && line == "" {
			break
		}
		if err != nil || !strings.HasPrefix(line, "FRAME") {
			t.Fatalf("%s: frame %d: bad FRAME line %q: %v", path, len(y.frames), line, err)
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("%s: frame %d: %v", path, len(y.frames), err)
		}
		y.frames = append(y.frames, buf)
	}
	return y
}

// config returns the Config the rav1e program uses for this input with no
// options.
func (y *y4m) config(t testing.TB) Config {
	t.Helper()
	c := DefaultConfig(y.width, y.height)
	c.TimeBase = Rational{Num: uint64(y.rateDen), Den: uint64(y.rateNum)}
	c.SampleAspect = y.aspect
	var err error
	c.BitDepth, c.Chroma, c.ChromaPosition, err = Y4MColorspace(y.colorspace)
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
