package ivf

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Encoded sample files are shared by the tests of one run: encoding is the
// slow part, and several tests need the same clips.
var (
	sampleDir  string
	sampleMu   sync.Mutex
	sampleMemo = map[string]string{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ivf-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sampleDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needTools skips t unless every named program is in PATH, and under
// -short.
func needTools(t testing.TB, names ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs external programs: skipped under -short")
	}
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not in PATH", n)
		}
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// clip describes a test clip: testsrc2 at size for frames [from, to) at
// 24 fps, encoded by rav1e at speed 10 without scene detection, with
// keyint (0, meaning only the first frame is a keyframe, if empty) and
// extra arguments.
type clip struct {
	size     string
	from, to int
	keyint   string
	rav1e    []string
}

// encode returns the path of the rav1e IVF encoding of c, shared between
// tests (callers must not modify it; copy it first).
func encode(t testing.TB, c clip) string {
	t.Helper()
	needTools(t, "ffmpeg", "rav1e")
	if c.keyint == "" {
		c.keyint = "0"
	}
	key := fmt.Sprintf("%s_%d_%d_%s_%s", c.size, c.from, c.to, c.keyint, strings.Join(c.rav1e, "_"))
	sampleMu.Lock()
	defer sampleMu.Unlock()
	if p, ok := sampleMemo[key]; ok {
		return p
	}
	base := filepath.Join(sampleDir, strconv.Itoa(len(sampleMemo)))
	y4m, out := base+".y4m", base+".ivf"
	run(t, "ffmpeg", "-v", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=s=%s:r=24:d=%d", c.size, (c.to+23)/24+1),
		"-vf", fmt.Sprintf("trim=start_frame=%d:end_frame=%d,setpts=PTS-STARTPTS", c.from, c.to),
		"-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-y", y4m)
	args := append([]string{y4m, "-o", out, "--speed", "10", "--no-scene-detection", "--keyint", c.keyint, "-y"}, c.rav1e...)
	run(t, "rav1e", args...)
	os.Remove(y4m)
	sampleMemo[key] = out
	return out
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// frameEnds returns the end offset of every frame of a well-formed IVF
// image, parsed independently of the package's Reader.
func frameEnds(t testing.TB, b []byte) []int {
	t.Helper()
	var ends []int
	for off := HeaderSize; off < len(b); {
		if off+FrameHeaderSize > len(b) {
			t.Fatalf("sample torn at %d", off)
		}
		n := int(b[off]) | int(b[off+1])<<8 | int(b[off+2])<<16 | int(b[off+3])<<24
		off += FrameHeaderSize + n
		if off > len(b) {
			t.Fatalf("sample torn at %d", off)
		}
		ends = append(ends, off)
	}
	return ends
}

// probeFrames returns the number of frames ffprobe decodes from path.
func probeFrames(t testing.TB, path string) int {
	t.Helper()
	needTools(t, "ffprobe")
	out := strings.TrimSpace(run(t, "ffprobe", "-v", "error", "-count_frames",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path))
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("ffprobe %s: unexpected output %q", path, out)
	}
	return n
}

// ffmpegDecodes fails t unless ffmpeg decodes path without complaint.
func ffmpegDecodes(t testing.TB, path string) {
	t.Helper()
	out := run(t, "ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "null", "-")
	if out != "" {
		t.Fatalf("ffmpeg %s: %s", path, out)
	}
}

// Hand-built OBUs for synthetic temporal units.
var (
	obuTD = []byte{0x12, 0x00}
	// A sequence header with seq_profile 0, still_picture 0,
	// reduced_still_picture_header 0 (only the first bits matter here).
	obuSeq = []byte{0x0a, 0x03, 0x00, 0x00, 0x00}
	// The same with reduced_still_picture_header 1.
	obuSeqReduced = []byte{0x0a, 0x03, 0x18, 0x00, 0x00}
	// OBU_FRAME with show_existing_frame 0, KEY_FRAME, show_frame 1.
	obuKey = []byte{0x32, 0x02, 0x10, 0x00}
	// OBU_FRAME, KEY_FRAME, show_frame 0.
	obuHiddenKey = []byte{0x32, 0x02, 0x00, 0x00}
	// OBU_FRAME, INTER_FRAME, show_frame 1.
	obuInter = []byte{0x32, 0x02, 0x30, 0x00}
	// OBU_FRAME_HEADER with show_existing_frame 1.
	obuShowExisting = []byte{0x1a, 0x01, 0x80}
	// OBU_FRAME_HEADER, KEY_FRAME, show_frame 1, then a tile group.
	obuKeyHdr  = []byte{0x1a, 0x01, 0x10}
	obuTiles   = []byte{0x22, 0x02, 0xaa, 0xbb}
	obuPadding = []byte{0x7a, 0x01, 0x00}
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// synthStream builds an IVF image holding a keyframe TU followed by n-1
// inter TUs.
func synthStream(n int) []byte {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{FourCC: [4]byte{'A', 'V', '0', '1'}, Width: 16, Height: 16, RateNum: 24, RateDen: 1})
	for i := 0; i < n; i++ {
		if i == 0 {
			w.WriteFrame(0, cat(obuTD, obuSeq, obuKey))
		} else {
			w.WriteFrame(uint64(i), cat(obuTD, obuInter))
		}
	}
	return buf.Bytes()
}

// runCombined runs a program and returns its combined output.
func runCombined(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
