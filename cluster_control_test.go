package av1job_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/testclip"
)

// childStates returns the states (from /proc/PID/stat) of the child
// processes of pid.
func childStates(pid int) map[int]byte {
	out := map[int]byte{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid && f[0] != "Z" {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out[child] = f[0][0]
		}
	}
	return out
}

// TestClusterPause: a job whose chunks run on two worker processes gives
// the bits a local run gives; pausing it freezes the encoders of every
// worker that runs one of its tasks before Pause returns, and nothing
// advances while it is paused. The workers get the source's packets, not
// its frames.
func TestClusterPause(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot", "life", "testsrc"}, SegFrames: 72}
	in := clip(t, dir, "in.mkv", spec)
	local := filepath.Join(dir, "local.mkv")
	o := av1job.NewOptions(in, local)
	o.Speed, o.Workers = av1job.SpeedOf(10), 2
	if err := av1job.New(o).Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	c := newCluster(t)
	workers := []*workerProc{c.startWorker(t, "w1"), c.startWorker(t, "w2")}
	// No worker may be taken for lost here: that would split a chunk.
	ex := c.executor(10 * time.Second)
	defer ex.Close()
	out := filepath.Join(dir, "out.mkv")
	o = av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.Executor = av1job.SpeedOf(10), 2, ex
	var once sync.Once
	both := make(chan struct{})
	var mu sync.Mutex
	busy := map[int]bool{}
	o.Events = func(e av1job.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case av1job.EventFrames:
			busy[e.Chunk] = true
		case av1job.EventChunkDone:
			delete(busy, e.Chunk)
		}
		if len(busy) >= 2 {
			once.Do(func() { close(both) })
		}
	}
	jb := av1job.New(o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- jb.Run(ctx) }()
	select {
	case <-both:
	case err := <-done:
		t.Fatalf("the job ended before two tasks ran at once: %v", err)
	}
	start := time.Now()
	if err := jb.Pause(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	frozen := 0
	for _, w := range workers {
		for pid, st := range childStates(w.cmd.Process.Pid) {
			if st != 'T' {
				t.Errorf("child %d of a worker is in state %c after Pause returned", pid, st)
			}
			frozen++
		}
	}
	t.Logf("Pause froze %d processes on %d workers in %v", frozen, len(workers), took)
	if frozen == 0 {
		t.Error("no worker process was frozen")
	}
	// A commit past its last check when the pause came ends; then
	// nothing may change.
	time.Sleep(200 * time.Millisecond)
	before := jb.Status()
	time.Sleep(500 * time.Millisecond)
	if after := jb.Status(); after.FramesDone != before.FramesDone || after.ChunksDone != before.ChunksDone {
		t.Errorf("the job went on while paused: %+v, then %+v", before, after)
	}
	if err := jb.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sameFile(t, local, out)
	mustVerify(t, in, out, false)
	st := ex.Stats()
	fi, err := os.Stat(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tasks %d, segment bytes %d (source %d bytes: %.2f per byte), units %d (%d bytes), refused %d",
		st.Tasks, st.SegmentBytes, fi.Size(), float64(st.SegmentBytes)/float64(fi.Size()), st.Units, st.UnitBytes, st.Refused)
	if st.Units != int64(spec.Frames()) {
		t.Fatalf("stats %+v: want every one of %d frames from the workers", st, spec.Frames())
	}
}

// TestClusterStopAndDrain: a stop makes the workers end their tasks at
// the current frame and send everything back (0 frames lost), and so does
// SIGTERM to a worker, which then exits; the same job then finishes and
// passes verify.
func TestClusterStopAndDrain(t *testing.T) {
	needTools(t)
	t.Parallel()
	rng := newRand(t)
	dir := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot", "life"}, SegFrames: 96}
	in := clip(t, dir, "in.mkv", spec)
	env, counts := countingEnv(t, dir)
	c := newCluster(t)
	w1 := c.startWorkerEnv(t, "w1", env)
	c.startWorkerEnv(t, "w2", env)
	ex := c.executor(5 * time.Second)
	defer ex.Close()
	out := filepath.Join(dir, "out.mkv")
	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.Executor = av1job.SpeedOf(10), 2, ex

	// First run: a stop somewhere in the first chunks.
	var jb *av1job.Job
	o.Events, _ = faultAt(t, rng, 1, 2*spec.SegFrames, func() { jb.Stop() })
	jb = av1job.New(o)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := jb.Run(ctx); !errors.Is(err, av1job.ErrStopped) && err != nil {
		t.Fatalf("stopped run: %v", err)
	}
	stopped := framesFed(t, counts)

	// Second run: SIGTERM drains w1 in the middle of its task.
	o.Events, _ = faultAt(t, rng, 1, spec.SegFrames, func() { _ = w1.cmd.Process.Signal(syscall.SIGTERM) })
	if err := av1job.New(o).Run(ctx); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, in, out, false)
	fed := framesFed(t, counts)
	t.Logf("%d frames fed by the stop; %d in all for %d source frames; stats %+v", stopped, fed, spec.Frames(), ex.Stats())
	if fed != spec.Frames() {
		t.Errorf("%d frames fed to encoders for %d: a stop and a drain must lose none", fed, spec.Frames())
	}
	exited := make(chan error, 1)
	go func() { exited <- w1.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the drained worker exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the drained worker did not exit")
	}
	if !strings.Contains(w1.logged(), "draining") {
		t.Errorf("the worker did not say that it drains:\n%s", w1.logged())
	}
}
