package av1job_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/ivf"
)

// TestLibBackend encodes in-process with librav1e: the output passes
// verify, equals the rav1e program's bit for bit with --tune Psnr,
// survives SIGKILLs at random points, and a job does not resume with the
// other backend.
func TestLibBackend(t *testing.T) {
	needTools(t)
	t.Parallel()
	if !slices.Contains(backendsUnderTest(t), "lib") {
		t.Skip("built without librav1e")
	}
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)

	t.Run("same bits as the program", func(t *testing.T) {
		var outs [][]byte
		for _, b := range []string{"process", "lib"} {
			out := filepath.Join(dir, b+".ivf")
			if r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--backend", b, "--", "--tune", "Psnr"); r.code != 0 {
				t.Fatalf("%s: exit %d: %s", b, r.code, r.stderr)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, data)
		}
		if len(outs[0]) == 0 || string(outs[0]) != string(outs[1]) {
			t.Fatalf("outputs differ: %d and %d bytes", len(outs[0]), len(outs[1]))
		}
	})

	t.Run("other backend refused", func(t *testing.T) {
		// The lib backend needs no rav1e program.
		noRav1e := pathWithoutRav1e(t)
		out := filepath.Join(dir, "refused.mkv")
		r := run(t, []string{"PATH=" + noRav1e}, "encode", in, "-o", out, "--speed", "10", "--backend", "lib", "--keep")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		mustVerify(t, in, out, false)
		os.Remove(out)
		r = run(t, nil, "encode", in, "-o", out, "--speed", "10")
		if r.code != 2 || !strings.Contains(r.stderr, "encoder: librav1e") || !strings.Contains(r.stderr, "--restart") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("argument without a librav1e equivalent", func(t *testing.T) {
		out := filepath.Join(dir, "bad.mkv")
		r := run(t, nil, "encode", in, "-o", out, "--backend", "lib", "--", "--mastering-display", "x")
		if r.code != 2 || !strings.Contains(r.stderr, "--mastering-display") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(out + ".av1job"); err == nil {
			t.Error("a refused run left a job directory")
		}
	})

	t.Run("kill and resume", func(t *testing.T) {
		out := filepath.Join(dir, "killed.mkv")
		jobDir := out + ".av1job"
		long := clip(t, dir, "long.mkv", medium)
		args := []string{"encode", long, "-o", out, "--speed", "10", "--workers", "2", "--backend", "lib", "--keep"}
		rng := newRand(t)
		finished, kills := false, 0
		for !finished && kills < 4 {
			cmd := exec.Command(binPath, args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("run %d: %v", kills, err)
				}
				finished = true
				continue
			case <-time.After(time.Duration(300+rng.IntN(1500)) * time.Millisecond):
			}
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			kills++
			for id, n := range doneCounts(readJournal(t, jobDir)) {
				if n > 1 {
					t.Fatalf("chunk %d recorded done %d times", id, n)
				}
			}
		}
		t.Logf("killed %d times", kills)
		if !finished {
			if r := run(t, nil, args...); r.code != 0 {
				t.Fatalf("final run: exit %d: %s", r.code, r.stderr)
			}
		}
		recordedOnce(t, jobDir, medium.Frames())
		mustVerify(t, long, out, false)
	})
}

// TestSalvageAfterKill pins salvage with real encoders: the job is killed
// (SIGKILL, the whole process group) once a chunk's part file holds at
// least 12 complete frames; the next run must keep at least those frames,
// record them as the head of a split chunk, and encode only the rest.
func TestSalvageAfterKill(t *testing.T) {
	needTools(t)
	t.Parallel()
	for _, backend := range backendsUnderTest(t) {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			in := clip(t, dir, "in.mkv", mediumSmall)
			out := filepath.Join(dir, "out.mkv")
			job := out + ".av1job"
			args := []string{"encode", in, "-o", out, "--speed", "10", "--workers", "1", "--keep", "--backend", backend, "--min-scene-len", "48"}
			enc := startEncode(t, args...)
			var part string
			var held int
			if !waitFor(t, 60*time.Second, func() bool {
				parts, _ := filepath.Glob(filepath.Join(job, "chunks", "*.part"))
				for _, p := range parts {
					if res, err := ivf.ScanFile(p); err == nil && res.Frames >= 12 {
						part, held = p, res.Frames
						return true
					}
				}
				return false
			}) {
				t.Fatal("no part file reached 12 frames")
			}
			_ = syscall.Kill(-enc.cmd.Process.Pid, syscall.SIGKILL)
			<-enc.exited
			id, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(part), ".ivf.part"))
			r := run(t, nil, args...)
			if r.code != 0 || !strings.Contains(r.stderr, "kept") {
				t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
			}
			var head *journalRecord
			recs := readJournal(t, job)
			for i, x := range recs {
				if x.Type == "done" && x.Chunk == id && head == nil {
					head = &recs[i]
				}
			}
			if head == nil || head.End-head.Start < held {
				t.Fatalf("chunk %d: %d frames were in its part file, the journal's first record for it is %+v", id, held, head)
			}
			recordedOnce(t, job, mediumSmall.Frames())
			mustVerify(t, in, out, false)
		})
	}
}

// TestKillWhilePlanning: a job killed or stopped while its plan is still
// being made (its first chunks already encoding) keeps what they wrote:
// the next run plans the same chunks and salvages their part files.
func TestKillWhilePlanning(t *testing.T) {
	needTools(t)
	t.Parallel() // mostly waiting (a slowed scene pass, silences, restarts)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) { stopWhilePlanning(t, sig, nil) })
	}
	// Another plan's parts belong to other chunks: never salvaged.
	t.Run("restarted with other settings", func(t *testing.T) {
		stopWhilePlanning(t, syscall.SIGKILL, []string{"--restart", "--quantizer", "120"})
	})
}

// stopWhilePlanning interrupts a job with sig while it plans, then runs it
// again with extra arguments added.
func stopWhilePlanning(t *testing.T, sig syscall.Signal, again []string) {
	dir := t.TempDir()
	long := medium
	long.Width, long.Height, long.SegFrames = 160, 90, 60
	in := clip(t, dir, "in.mkv", long)
	out := filepath.Join(dir, "out.mkv")
	job := out + ".av1job"
	args := []string{"encode", in, "-o", out, "--speed", "10", "--workers", "1", "--keep", "--min-scene-len", "12"}
	self, err := os.Executable()
	must(err)
	ffmpeg, err := exec.LookPath("ffmpeg")
	must(err)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "AV1JOB_FFMPEG="+self, "AV1JOB_SLOW_PASS="+ffmpeg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	must(cmd.Start())
	t.Cleanup(func() { _ = exec.Command("pkill", "-KILL", "-s", strconv.Itoa(cmd.Process.Pid)).Run() })
	var held int
	if !waitFor(t, 60*time.Second, func() bool {
		parts, _ := filepath.Glob(filepath.Join(job, "chunks", "*.part"))
		for _, p := range parts {
			if res, err := ivf.ScanFile(p); err == nil && res.Frames >= 5 {
				held = res.Frames
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no part file reached 5 frames: %s", stderr.String())
	}
	if sig == syscall.SIGKILL {
		_ = syscall.Kill(-cmd.Process.Pid, sig)
		_ = cmd.Wait()
	} else {
		// A stop ends the pass at once: the run must not wait for it.
		_ = cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(stderr.String(), "run the same command to resume") {
				t.Fatalf("stop while planning: %v: %s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("a stop while planning did not end the run in 30 s: %s", stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(job, "job.json")); err == nil {
		t.Fatal("the plan was written before the kill: the pass was not slow enough to test this")
	}
	if _, err := os.Stat(filepath.Join(job, "planning.json")); err != nil {
		t.Fatalf("no record of the plan being made: %v", err)
	}
	r := run(t, nil, append(args, again...)...)
	if again != nil {
		if r.code != 0 || strings.Contains(r.stderr, "kept") {
			t.Fatalf("run with %v: exit %d: %s", again, r.code, r.stderr)
		}
		recordedOnce(t, job, long.Frames())
		mustVerify(t, in, out, false)
		return
	}
	if r.code != 0 || !strings.Contains(r.stderr, "kept") {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	kept := 0
	for _, x := range readJournal(t, job) {
		if x.Type == "done" && x.Start == 0 {
			kept = x.End - x.Start
			break
		}
	}
	if kept < held {
		t.Errorf("%d frames were in the part file, the first record keeps %d", held, kept)
	}
	recordedOnce(t, job, long.Frames())
	mustVerify(t, in, out, false)
}
