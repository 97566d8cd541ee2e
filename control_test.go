package av1job_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/testclip"
)

// medium is a clip long enough to pause and stop in the middle of: at
// 160x90 rav1e is 2.7 times as fast as at 320x180, so it has more frames
// rather than more pixels.
var medium = testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: testclip.DefaultSegments, SegFrames: 72}

// mediumSmall is a shorter medium, for jobs that need not be caught
// running (it may end before a stop sent after its first frames arrives).
var mediumSmall = testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: testclip.DefaultSegments, SegFrames: 48}

// started is an encode running in the background.
type started struct {
	cmd    *exec.Cmd
	exited chan error
	stderr *strings.Builder
}

func startEncode(t *testing.T, args ...string) *started {
	t.Helper()
	return startEncodeEnv(t, nil, args...)
}

// startEncodeEnv is startEncode with the variables env added.
func startEncodeEnv(t *testing.T, env []string, args ...string) *started {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	s := &started{cmd: cmd, exited: make(chan error, 1), stderr: &strings.Builder{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = exec.Command("pkill", "-KILL", "-s", strconv.Itoa(cmd.Process.Pid)).Run()
	})
	return s
}

// code waits for the encode to end and returns its exit code.
func (s *started) code(t *testing.T) int {
	t.Helper()
	select {
	case err := <-s.exited:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(3 * time.Minute):
		t.Fatal("encode did not end")
	}
	return -1
}

type liveStatus struct {
	State       string    `json:"state"`
	FramesDone  int       `json:"frames_done"`
	FramesTotal int       `json:"frames_total"`
	PID         int       `json:"pid"`
	PausedSince time.Time `json:"paused_since"`
}

// status runs status --json for job. A job not there (exit 2) gives the
// zero state; output that is not a status fails the test.
func status(t *testing.T, job string) liveStatus {
	t.Helper()
	var st liveStatus
	r := run(t, nil, "status", job, "--json")
	if r.code != 0 {
		return st // no job yet (or any more): State is ""
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.State == "" {
		t.Fatalf("status --json printed %q: %v", r.stdout, err)
	}
	return st
}

// peek asks for the status of job in-process (av1job.Status, what the
// status command prints), for loops that poll: each status command is a
// process start that competes with the encode it waits for. Tests check
// the status command itself with status.
func peek(t *testing.T, job string) liveStatus {
	t.Helper()
	si, err := av1job.Status(context.Background(), job)
	if err != nil {
		return liveStatus{} // no job yet (or any more)
	}
	return liveStatus{State: si.State, FramesDone: si.FramesDone, FramesTotal: si.FramesTotal, PID: si.PID, PausedSince: si.PausedSince}
}

// waitFrames waits until the job has encoded at least n frames.
func waitFrames(t *testing.T, job string, n int) liveStatus {
	t.Helper()
	var st liveStatus
	if !waitFor(t, 60*time.Second, func() bool { st = peek(t, job); return st.FramesDone >= n }) {
		t.Fatalf("job never reached %d frames: %+v", n, st)
	}
	return st
}

// childCPU sums the CPU ticks of pid's children and reports their states.
func childCPU(pid int) (ticks int, states string) {
	matches, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 || f[1] != strconv.Itoa(pid) || f[0] == "Z" {
			continue
		}
		u, _ := strconv.Atoi(f[11])
		k, _ := strconv.Atoi(f[12])
		ticks += u + k
		states += f[0]
	}
	return ticks, states
}

// pauseClip is long enough to pause a job three times: each pause comes
// 20 to 50 frames after the last one took hold, and the job must still
// run when each comes, though a pause command on a busy machine lags the
// encode. Its chunks are decoded at 30 frames a second at most (paced),
// so that the job runs for 10 s or more whatever the machine's speed.
var pauseClip = testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: testclip.DefaultSegments, SegFrames: 96}

// paced returns the environment in which av1job's chunk decodes hand on
// at most fps frames a second each (see pacedDecode).
func paced(t *testing.T, fps int) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	return []string{"AV1JOB_FFMPEG=" + self, "AV1JOB_PACED=" + ffmpeg, "AV1JOB_PACED_FPS=" + strconv.Itoa(fps)}
}

// pauseReference is an encode of pauseClip never interrupted, for
// TestPauseResume. With --tune Psnr both backends give
// the same bits (TestLibBackend): one reference, made by the rav1e
// program, serves both.
func pauseReference(t *testing.T) []byte {
	t.Helper()
	return reference(t, pauseClip, ".ivf", "--speed", "10", "--workers", "2", "--backend", "process", "--", "--tune", "Psnr")
}

// TestPauseResume pauses and resumes a running job several times: while
// paused every process is stopped and uses no CPU, status says paused,
// and the output is byte-identical to a run never paused. The process
// backend's job is also suspended with Ctrl+Z (SIGTSTP) and continued
// with fg (SIGCONT) first: av1job and its children stop and continue
// together.
func TestPauseResume(t *testing.T) {
	needTools(t)
	t.Parallel()
	for _, backend := range backendsUnderTest(t) {
		t.Run(backend, func(t *testing.T) { testPauseResume(t, backend) })
	}
}

func testPauseResume(t *testing.T, backend string) {
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", pauseClip)
	ref := pauseReference(t)
	out := filepath.Join(dir, "out.ivf")
	enc := startEncodeEnv(t, paced(t, 30), "encode", in, "-o", out, "--speed", "10", "--workers", "2", "--backend", backend, "--", "--tune", "Psnr")
	pid := enc.cmd.Process.Pid
	rng := newRand(t)
	at := 0 // frames done when the last pause took hold
	if backend == "process" {
		// Ctrl+Z and fg first, while the job surely runs.
		waitFrames(t, out, 10)
		suspend(t, pid)
	}
	for i := 0; i < 3; i++ {
		before := waitFrames(t, out, at+20+rng.IntN(30))
		r := run(t, nil, "pause", out)
		// From the moment pause returns, neither av1job nor its children
		// may use CPU: nothing is re-frozen or polled afterwards.
		own0 := ownCPU(pid)
		t0, states := childCPU(pid)
		time.Sleep(time.Second)
		own1 := ownCPU(pid)
		t1, _ := childCPU(pid)
		t.Logf("pause %d at %+v: %s", i, before, strings.TrimSpace(r.stdout))
		if r.code != 0 {
			t.Fatalf("pause: %s", r.stderr)
		}
		if (backend == "process" && states == "") || strings.Trim(states, "T") != "" {
			t.Errorf("child states while paused: %q", states)
		}
		if t1-t0 > 1 {
			t.Errorf("paused processes used %d CPU ticks in the second after pause returned", t1-t0)
		}
		if d := own1 - own0; d > 2 {
			t.Errorf("av1job used %d CPU ticks in the second after pause returned", d)
		}
		st := status(t, out)
		if st.State != "paused" || st.PausedSince.IsZero() {
			t.Errorf("status while paused: %+v", st)
		}
		time.Sleep(300 * time.Millisecond)
		if got := status(t, out).FramesDone; got != st.FramesDone {
			t.Errorf("frames went on while paused: %d -> %d", st.FramesDone, got)
		}
		at = st.FramesDone
		if r := run(t, nil, "resume", out); r.code != 0 || !strings.Contains(r.stdout, "resumed") {
			t.Fatalf("resume: %d %s %s", r.code, r.stdout, r.stderr)
		}
	}
	if c := enc.code(t); c != 0 {
		t.Fatalf("exit %d: %s", c, enc.stderr)
	}
	if b, _ := os.ReadFile(out); string(ref) != string(b) {
		t.Fatal("paused run's output differs from the unpaused run's (of the rav1e program)")
	}
}

// suspend sends SIGTSTP (Ctrl+Z) and, once av1job and all its children
// have stopped, SIGCONT (fg): they stop and continue together, and the
// caller checks that the output is unchanged.
func suspend(t *testing.T, pid int) {
	t.Helper()
	_ = syscall.Kill(pid, syscall.SIGTSTP)
	if !waitFor(t, 5*time.Second, func() bool {
		_, states := childCPU(pid)
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || len(s) < i+3 {
			return false // gone
		}
		self := strings.Fields(s[i+2:])[0]
		return self == "T" && states != "" && strings.Trim(states, "T") == ""
	}) {
		t.Fatal("av1job and its children did not all stop on SIGTSTP")
	}
	time.Sleep(300 * time.Millisecond)
	_ = syscall.Kill(pid, syscall.SIGCONT)
}

// ownCPU returns the CPU ticks pid has used itself.
func ownCPU(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return u + k
}

// TestStop stops a running job (with the stop command, SIGTERM, and
// while paused), one after another on the same job, resuming it after
// each: nothing that was encoded is lost, and in the end the journal's
// chunks cover every frame exactly once and the output passes verify.
func TestStop(t *testing.T) {
	needTools(t)
	t.Parallel()
	// SIGINT takes the same path as SIGTERM (signals in cmd/av1job).
	hows := map[string][]string{
		"process": {"stop command", "SIGTERM", "stop while paused"},
		"lib":     {"stop command", "stop while paused"},
	}
	for _, backend := range backendsUnderTest(t) {
		t.Run(backend, func(t *testing.T) { testStop(t, backend, hows[backend]) })
	}
}

func testStop(t *testing.T, backend string, hows []string) {
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)
	out := filepath.Join(dir, "out.mkv")
	args := []string{"encode", in, "-o", out, "--speed", "10", "--workers", "2", "--keep", "--backend", backend}
	for k, how := range hows {
		enc := startEncode(t, args...)
		// Stops at 30, 70 and 110 of the clip's 432 frames: status lags
		// the encode by up to 70 frames on a busy machine, and the job
		// must still run when the stop comes.
		// The process itself reports the frames (a status read from the
		// job directory before it starts could send the signal before
		// av1job has set up its handlers).
		var st liveStatus
		if !waitFor(t, 60*time.Second, func() bool {
			st = peek(t, out)
			return st.State == "running" && st.PID == enc.cmd.Process.Pid && st.FramesDone >= 30+40*k
		}) {
			t.Fatalf("%s: the job never ran past %d frames: %+v", how, 30+40*k, st)
		}
		switch how {
		case "stop command":
			if r := run(t, nil, "stop", out); r.code != 0 {
				t.Fatalf("%s: stop: %s", how, r.stderr)
			}
		case "SIGINT":
			_ = enc.cmd.Process.Signal(syscall.SIGINT)
		case "SIGTERM":
			_ = enc.cmd.Process.Signal(syscall.SIGTERM)
		case "stop while paused":
			run(t, nil, "pause", out)
			st = status(t, out)
			if r := run(t, nil, "stop", out); r.code != 0 {
				t.Fatalf("%s: stop: %s", how, r.stderr)
			}
		}
		if c := enc.code(t); c != 3 {
			t.Fatalf("%s: exit %d, want 3: %s", how, c, enc.stderr)
		}
		if !strings.Contains(enc.stderr.String(), "av1job resume "+out) {
			t.Errorf("%s: no resume command in: %s", how, enc.stderr)
		}
		recorded := 0
		for _, r := range readJournal(t, out+".av1job") {
			if r.Type == "done" {
				recorded += r.End - r.Start
			}
		}
		// Every frame encoded before the stop was asked for is recorded.
		if recorded < st.FramesDone {
			t.Errorf("%s: stop lost work: %d frames encoded before the stop, %d recorded", how, st.FramesDone, recorded)
		}
		if parts, _ := filepath.Glob(filepath.Join(out+".av1job", "chunks", "*.part")); len(parts) > 0 {
			t.Errorf("%s: partial chunk files left: %v", how, parts)
		}
		t.Logf("%s at %d frames: %d recorded", how, st.FramesDone, recorded)
		args = []string{"resume", out}
	}
	r := run(t, nil, "resume", out, "--quiet")
	if r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	recordedOnce(t, out+".av1job", medium.Frames())
	mustVerify(t, in, out, false)
}

// TestDetach starts a job in the background, controls it, and waits for
// it to finish.
func TestDetach(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)
	out := filepath.Join(dir, "out.mkv")
	r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--detach")
	if r.code != 0 || !strings.Contains(r.stdout, "running in the background") {
		t.Fatalf("detach: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	t.Cleanup(func() { run(t, nil, "stop", out) })
	st := status(t, out)
	if st.State != "running" && st.State != "done" {
		t.Errorf("status after detach: %+v", st)
	}
	if r := run(t, nil, "pause", out); r.code != 0 {
		t.Errorf("pause: %s", r.stderr)
	}
	if r := run(t, nil, "resume", out); r.code != 0 {
		t.Errorf("resume: %s", r.stderr)
	}
	if !waitFor(t, 2*time.Minute, func() bool { return peek(t, out).State == "done" }) {
		t.Fatalf("detached job did not finish: %+v", status(t, out))
	}
	mustVerify(t, in, out, false)
	// A bad detached start reports its error.
	r = run(t, nil, "encode", filepath.Join(dir, "missing.mkv"), "-o", filepath.Join(dir, "x.mkv"), "--detach")
	if r.code != 2 || !strings.Contains(r.stderr, "missing.mkv") {
		t.Errorf("bad detached start: exit %d: %s", r.code, r.stderr)
	}
}

// TestPowerCut kills the job, then damages what a power cut could: the
// partial chunk files are cut at random offsets or get zeros or garbage
// appended, and the journal's last record is torn. The job resumes and
// the output passes verify.
func TestPowerCut(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)
	out := filepath.Join(dir, "out.mkv")
	job := out + ".av1job"
	rng := newRand(t)
	salvaged, finished := false, false
	for round := 0; round < 4 && !finished; round++ {
		enc := startEncode(t, "encode", in, "-o", out, "--speed", "10", "--workers", "2", "--keep")
		select {
		case err := <-enc.exited:
			// The job ended before the cut: nothing left to resume.
			if err != nil {
				t.Fatalf("round %d: %v: %s", round, err, enc.stderr)
			}
			finished = true
			continue
		case <-time.After(time.Duration(1200+rng.IntN(1500)) * time.Millisecond):
		}
		_ = exec.Command("pkill", "-KILL", "-s", strconv.Itoa(enc.cmd.Process.Pid)).Run()
		<-enc.exited
		parts, _ := filepath.Glob(filepath.Join(job, "chunks", "*.part"))
		for i, p := range parts {
			b, _ := os.ReadFile(p)
			switch i % 3 {
			case 0:
				b = b[:rng.IntN(len(b)+1)]
			case 1:
				b = append(b, make([]byte, 1+rng.IntN(5000))...)
			case 2:
				g := make([]byte, 1+rng.IntN(5000))
				for k := range g {
					g[k] = byte(rng.Uint32())
				}
				b = append(b, g...)
			}
			os.WriteFile(p, b, 0o644)
		}
		// The record being written when the power went is torn; a record
		// followed by the output's rename was durable before it, so once
		// the output exists nothing is torn.
		if _, err := os.Stat(out); err != nil {
			if jb, err := os.ReadFile(filepath.Join(job, "journal.log")); err == nil && len(jb) > 10 {
				os.WriteFile(filepath.Join(job, "journal.log"), jb[:len(jb)-1-rng.IntN(10)], 0o644)
			}
		}
	}

	if !finished {
		r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--workers", "2", "--keep")
		if r.code != 0 {
			t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
		}
		salvaged = strings.Contains(r.stderr, "kept") || salvaged
	}
	t.Logf("salvage message in the last run: %v", salvaged)
	mustVerify(t, in, out, false)
}

// TestPauseKey drives av1job on a pseudo-terminal (util-linux script): the
// p key pauses the job and pressing it again resumes it.
func TestPauseKey(t *testing.T) {
	needTools(t)
	t.Parallel()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script (util-linux) not installed")
	}
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)
	out := filepath.Join(dir, "out.ivf")
	cmd := exec.Command("script", "-qfec", binPath+" encode "+in+" -o "+out+" --speed 10", "/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	keys, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var screen strings.Builder
	cmd.Stdout = &screen
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("pkill", "-KILL", "-s", strconv.Itoa(cmd.Process.Pid)).Run() })
	waitFrames(t, out, 10)
	keys.Write([]byte("p"))
	if !waitFor(t, 10*time.Second, func() bool { return peek(t, out).State == "paused" }) {
		t.Fatalf("p did not pause: %+v", status(t, out))
	}
	keys.Write([]byte("p"))
	if !waitFor(t, 10*time.Second, func() bool { return peek(t, out).State == "running" }) {
		t.Fatalf("p did not resume: %+v", status(t, out))
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, screen.String())
	}
	if !strings.Contains(screen.String(), "press p to pause") {
		t.Errorf("no key hint on the terminal: %q", screen.String())
	}
	mustVerify(t, in, out, true)
}
