package av1job_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/verify"
	"github.com/av1job/av1job/rav1e"
)

// binPath is the av1job binary built for the tests.
var binPath string

func TestMain(m *testing.M) {
	if os.Getenv("AV1JOB_FAKE_HANG") != "" {
		// A program that never answers (a probe stuck on a network
		// file, say): it runs until it is killed.
		select {}
	}
	if os.Getenv("AV1JOB_FAKE_RAV1E") != "" {
		fakeRav1e()
		return
	}
	if real := os.Getenv("AV1JOB_SLOW_PASS"); real != "" {
		slowPass(real)
		return
	}
	if real := os.Getenv("AV1JOB_PACED"); real != "" {
		pacedDecode(real)
		return
	}
	dir, err := os.MkdirTemp("", "av1job-test-")
	if err != nil {
		panic(err)
	}
	fixtures.dir = dir
	flag.Parse()
	if testing.Short() {
		// Every test that runs the binary calls needTools, which skips
		// it under -short.
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	binPath = filepath.Join(dir, "av1job")
	if out, err := exec.Command("go", "build", "-race", "-o", binPath, "./cmd/av1job").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build av1job: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeRav1e stands in for rav1e: it counts its runs in
// AV1JOB_FAKE_RAV1E_DIR and crashes on the runs AV1JOB_FAKE_RAV1E_FAIL
// names ("2,3" or "after:1"); other runs exec the real rav1e.
func fakeRav1e() {
	real := os.Getenv("AV1JOB_FAKE_RAV1E")
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		must(syscall.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ()))
	}
	if dir := os.Getenv("AV1JOB_COUNT_FRAMES"); dir != "" {
		countingRav1e(real, dir)
		return
	}
	dir := os.Getenv("AV1JOB_FAKE_RAV1E_DIR")
	n := 1
	for ; ; n++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("run-%d", n)), os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
			break
		}
	}
	fail := false
	spec := os.Getenv("AV1JOB_FAKE_RAV1E_FAIL")
	if after, ok := strings.CutPrefix(spec, "after:"); ok {
		k, _ := strconv.Atoi(after)
		fail = n > k
	} else {
		for _, s := range strings.Split(spec, ",") {
			if k, _ := strconv.Atoi(s); k == n {
				fail = true
			}
		}
	}
	if !fail {
		must(syscall.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ()))
	}
	buf := make([]byte, 1<<16)
	_, _ = os.Stdin.Read(buf)
	fmt.Fprintln(os.Stderr, "thread 'main' panicked at 'fake encoder crash', src/main.rs:1:1")
	os.Exit(101)
}

// pacedDecode stands in for ffmpeg: a chunk's decode (the command that
// writes Y4M) hands on at most AV1JOB_PACED_FPS frames a second, so that
// a clip of small frames keeps a job running long enough to pause and
// stop it, for a fraction of the encoding a clip of larger frames costs.
// The frames are the real ffmpeg's, unchanged; every other command is the
// real ffmpeg.
func pacedDecode(real string) {
	if !strings.Contains(strings.Join(os.Args, " "), "yuv4mpegpipe") {
		must(syscall.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ()))
	}
	fps, err := strconv.ParseFloat(os.Getenv("AV1JOB_PACED_FPS"), 64)
	if err != nil || fps <= 0 {
		fmt.Fprintln(os.Stderr, "pacedDecode: AV1JOB_PACED_FPS is not a rate")
		os.Exit(2)
	}
	cmd := exec.Command(real, os.Args[1:]...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	br := bufio.NewReaderSize(out, 1<<16)
	header, err := br.ReadString('\n')
	os.Stdout.WriteString(header)
	if err == nil {
		size := y4mFrameSize(header)
		frame := make([]byte, size)
		// A frame at most every period since the last: after a pause
		// the frames do not rush to catch up.
		period := time.Duration(float64(time.Second) / fps)
		var last time.Time
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				break
			}
			if _, err := io.ReadFull(br, frame); err != nil {
				break
			}
			if d := time.Until(last.Add(period)); d > 0 {
				time.Sleep(d)
			}
			last = time.Now()
			if _, err := os.Stdout.WriteString(line); err != nil {
				break
			}
			if _, err := os.Stdout.Write(frame); err != nil {
				break
			}
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	must(err)
	os.Exit(0)
}

// y4mFrameSize is the size of one picture of the Y4M stream whose header
// line is header (4:2:0 unless its C parameter says otherwise).
func y4mFrameSize(header string) int {
	var w, h int
	cw, ch, depth := 0, 0, 1 // the two chroma planes' size; 0 for 4:2:0
	sub := "420"
	for _, f := range strings.Fields(header) {
		switch f[0] {
		case 'W':
			w, _ = strconv.Atoi(f[1:])
		case 'H':
			h, _ = strconv.Atoi(f[1:])
		case 'C':
			sub = f[1:]
			if strings.Contains(f, "p10") || strings.Contains(f, "p12") || strings.Contains(f, "p16") {
				depth = 2
			}
		}
	}
	switch {
	case strings.HasPrefix(sub, "444"):
		cw, ch = w, h
	case strings.HasPrefix(sub, "422"):
		cw, ch = (w+1)/2, h
	case strings.HasPrefix(sub, "mono"):
	default:
		cw, ch = (w+1)/2, (h+1)/2
	}
	return (w*h + 2*cw*ch) * depth
}

// slowPass stands in for ffmpeg: the scene pass (the command that prints
// frame metadata) runs at about 50 frames of 160x90 a second, so that a
// test can act while it runs; every other command is the real ffmpeg.
func slowPass(real string) {
	if !strings.Contains(strings.Join(os.Args, " "), "metadata=mode=print") {
		must(syscall.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ()))
	}
	cmd := exec.Command(real, os.Args[1:]...)
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{os.NewFile(3, "pts"), os.NewFile(4, "packets")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	buf := make([]byte, 160*90/4) // a quarter of an analysis frame of 160x90 (or smaller)
	for {
		n, err := io.ReadFull(out, buf)
		os.Stdout.Write(buf[:n])
		if err != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	os.Exit(0)
}

// countingRav1e runs the real rav1e and counts the frames fed to it in
// dir/PID (rewritten after every frame, so that it survives SIGKILL).
func countingRav1e(real, dir string) {
	cmd := exec.Command(real, os.Args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	must(err)
	must(cmd.Start())
	f, err := os.Create(filepath.Join(dir, strconv.Itoa(os.Getpid())))
	must(err)
	r := bufio.NewReaderSize(os.Stdin, 1<<20)
	hdr, err := r.ReadBytes('\n')
	if err == nil {
		in.Write(hdr)
		size := y4mFrameSize(string(hdr))
		buf := make([]byte, size+6)
		for n := 1; ; n++ {
			if _, err := io.ReadFull(r, buf); err != nil {
				break
			}
			if _, err := in.Write(buf); err != nil {
				break
			}
			f.WriteAt([]byte(fmt.Sprintf("%10d\n", n)), 0)
		}
	}
	in.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	os.Exit(0)
}

// framesFed sums the counts the counting stand-in left in dir.
func framesFed(t *testing.T, dir string) int {
	t.Helper()
	es, _ := os.ReadDir(dir)
	total := 0
	for _, e := range es {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		total += n
	}
	return total
}

// standIn returns the environment that puts the test binary in place of
// rav1e (see fakeRav1e), plus extra variables that pick its behaviour.
func standIn(t *testing.T, extra ...string) []string {
	t.Helper()
	real, err := exec.LookPath("rav1e")
	if err != nil {
		t.Skip("rav1e not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"AV1JOB_RAV1E=" + self, "AV1JOB_FAKE_RAV1E=" + real}, extra...)
}

// newRand returns a random source for a test, seeded from AV1JOB_SEED when
// set, else from the clock; the seed is logged so that a failing run can
// be replayed: AV1JOB_SEED=N go test -run NAME.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("AV1JOB_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("AV1JOB_SEED=%s: %v", s, err)
		}
		seed = n
	}
	t.Logf("random seed %d (replay with AV1JOB_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed>>32|1))
}

// pathWithoutRav1e returns a PATH that has ffmpeg, ffprobe and dav1d but
// no rav1e program.
func pathWithoutRav1e(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"ffmpeg", "ffprobe", "dav1d"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed", tool)
		}
		must(os.Symlink(p, filepath.Join(dir, tool)))
	}
	return dir
}

// recordedOnce checks that the journal's done records cover each of the
// source's frames exactly once.
func recordedOnce(t *testing.T, jobDir string, frames int) {
	t.Helper()
	covered := make([]int, frames)
	for _, r := range readJournal(t, jobDir) {
		for f := r.Start; r.Type == "done" && f < r.End; f++ {
			covered[f]++
		}
	}
	for f, n := range covered {
		if n != 1 {
			t.Fatalf("frame %d recorded %d times", f, n)
		}
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// needTools skips a test that encodes (every test that runs the binary,
// ffmpeg or rav1e calls it) under -short, or where the tools are missing.
func needTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("encodes: skipped under -short")
	}
	for _, tool := range []string{"ffmpeg", "ffprobe", "rav1e"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (run scripts/install-deps.sh)", tool)
		}
	}
}

// fixtures are the clips and reference encodes made once per test run,
// in the run's directory, and shared by the tests that ask for the same.
var fixtures struct {
	dir string
	mu  sync.Mutex
	m   map[string]*fixture
}

// A fixture is one shared file, made by the first test that asks for it.
type fixture struct {
	once sync.Once
	path string
	err  error
}

// shared returns the run's file for key, made by build(path) the first
// time it is asked for; parallel callers of the same key wait for that one.
func shared(key, ext string, build func(path string) error) (string, error) {
	fixtures.mu.Lock()
	if fixtures.m == nil {
		fixtures.m = map[string]*fixture{}
	}
	f, ok := fixtures.m[key]
	if !ok {
		f = &fixture{path: filepath.Join(fixtures.dir, fmt.Sprintf("fixture-%d%s", len(fixtures.m), ext))}
		fixtures.m[key] = f
	}
	fixtures.mu.Unlock()
	f.once.Do(func() {
		f.err = fmt.Errorf("%s: not made: the test making it ended first", key)
		f.err = build(f.path)
	})
	return f.path, f.err
}

// copyFile copies src to a new file dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// clip puts a test clip of spec s in dir and returns its path. Each spec
// (and container) is made once per run and copied, so that a test may
// change its copy.
func clip(t *testing.T, dir, name string, s testclip.Spec) string {
	t.Helper()
	cached, err := sharedClip(s, filepath.Ext(name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	copyFile(t, cached, p)
	return p
}

// sharedClip returns the run's clip of spec s in container ext.
func sharedClip(s testclip.Spec, ext string) (string, error) {
	return shared(fmt.Sprintf("clip %#v %s", s, ext), ext, func(p string) error {
		return testclip.Make(context.Background(), s, p)
	})
}

// reference returns the output of an encode of a clip of spec s that is
// never paused, stopped or killed: av1job encode IN -o OUT.ext args...,
// made once per run for each spec, ext and args. Tests compare the output
// of interrupted runs with it.
func reference(t *testing.T, s testclip.Spec, ext string, args ...string) []byte {
	t.Helper()
	key := fmt.Sprintf("reference %#v %s %q", s, ext, args)
	p, err := shared(key, ext, func(p string) error {
		in, err := sharedClip(s, ".mkv")
		if err != nil {
			return err
		}
		if r := run(t, nil, append([]string{"encode", in, "-o", p}, args...)...); r.code != 0 {
			return fmt.Errorf("reference encode: exit %d: %s", r.code, r.stderr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) == 0 {
		t.Fatalf("reference encode: %d bytes: %v", len(b), err)
	}
	return b
}

// small is a 90-frame clip with three scenes, audio and subtitles.
var small = testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot", "smptehdbars"}, SegFrames: 30, Audio: true, Subtitles: true}

type result struct {
	code           int
	stdout, stderr string
}

// run runs av1job with args; env adds variables.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func mustVerify(t *testing.T, src, out string, videoOnly bool) {
	t.Helper()
	rep, err := verify.Run(context.Background(), src, out, verify.Options{VideoOnly: videoOnly})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("verify %s: %s", out, rep.Summary())
	}
}

// journalRecord is the part of a journal record the tests read.
type journalRecord struct {
	Type   string   `json:"type"`
	Chunk  int      `json:"chunk"`
	Start  int      `json:"start"`
	End    int      `json:"end"`
	SHA256 string   `json:"sha256"`
	Rest   int      `json:"rest"`
	Q      int      `json:"q"`     // target quality: the quantizer
	Score  *float64 `json:"score"` // and the score measured
}

// readJournal returns the journal's records; a torn last line is skipped.
func readJournal(t *testing.T, jobDir string) []journalRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(jobDir, "journal.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []journalRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, payload, ok := strings.Cut(sc.Text(), " ")
		var r journalRecord
		if ok && json.Unmarshal([]byte(payload), &r) == nil {
			recs = append(recs, r)
		}
	}
	return recs
}

// doneCounts counts the done records per chunk.
func doneCounts(recs []journalRecord) map[int]int {
	m := map[int]int{}
	for _, r := range recs {
		if r.Type == "done" {
			m[r.Chunk]++
		}
	}
	return m
}

var frameCountOnce sync.Mutex

// decodeFrames decodes path with dav1d (IVF) or ffmpeg and counts frames.
func decodeFrames(t *testing.T, path string) int {
	t.Helper()
	frameCountOnce.Lock()
	defer frameCountOnce.Unlock()
	if strings.HasSuffix(path, ".ivf") {
		if _, err := exec.LookPath("dav1d"); err == nil {
			out, err := exec.Command("dav1d", "-i", path, "-o", "/dev/null", "--muxer", "null").CombinedOutput()
			if err != nil {
				t.Fatalf("dav1d %s: %v: %s", path, err, out)
			}
			var n, m int
			s := string(out)
			i := strings.LastIndex(s, "Decoded ")
			if i < 0 {
				t.Fatalf("dav1d output: %s", out)
			}
			fmt.Sscanf(s[i:], "Decoded %d/%d frames", &n, &m)
			return n
		}
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// waitFor polls cond until it holds or d has passed. It polls every 5 ms
// at first and every 25 ms after a while: the encodes a test waits for
// share the machine with its polling.
func waitFor(t *testing.T, d time.Duration, cond func() bool) bool {
	t.Helper()
	end := time.Now().Add(d)
	every := 5 * time.Millisecond
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(every)
		every = min(every*3/2, 25*time.Millisecond)
	}
	return false
}

// backendsUnderTest are the encoder backends this build of av1job has.
func backendsUnderTest(t *testing.T) []string {
	t.Helper()
	if rav1e.Available() {
		return []string{"process", "lib"}
	}
	t.Log("built without librav1e: the lib backend is not tested")
	return []string{"process"}
}
