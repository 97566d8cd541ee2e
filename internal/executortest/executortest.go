// Package executortest is the conformance suite of task.Executor: the
// contract package task documents, checked on real encodes of one tiny
// generated clip. Every executor runs it: package local's Executor, and
// package cluster's RemoteExecutor with a worker (as restic runs one
// suite against every backend and litestream one against every replica
// client). An executor that differs from the strictest reading of the
// contract for a reason of its own says so in Options.
package executortest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/steer"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/task"
)

// Options tell the suite where an executor legitimately differs.
type Options struct {
	// RunsOn is the name a task.Placed writer must be told; "" accepts
	// any name that is not empty.
	RunsOn string
	// Linger is how long the processes of a task whose context was
	// cancelled may outlive its Execute. A local executor's are reaped
	// before Execute returns (0); a remote worker learns that its task
	// is gone only from its next heartbeat's answer.
	Linger time.Duration
	// QueuesUnknownVersions says that a task for an encoder version the
	// executor cannot run waits for one that can instead of failing
	// with a *task.TaskError: a cluster's work queue holds it for a
	// worker with that version, which may join at any time.
	QueuesUnknownVersions bool
}

// Run checks the executors newExecutor makes (one per subtest) against
// the Executor contract. The subtests run one after another: the check
// for leftover processes counts every child of the test process, so no
// test that starts processes may run in parallel with Run. Under -short,
// or without ffmpeg, ffprobe, rav1e and dav1d, it skips.
func Run(t *testing.T, newExecutor func(t *testing.T) task.Executor, opt Options) {
	s := newSuite(t, newExecutor, opt)
	t.Run("Frames", s.testFrames)
	t.Run("RunsOn", s.testRunsOn)
	t.Run("Concurrent", s.testConcurrent)
	t.Run("Stop", s.testStop)
	t.Run("StopBeforeStart", s.testStopBeforeStart)
	t.Run("PauseResume", s.testPauseResume)
	t.Run("PausedAtStart", s.testPausedAtStart)
	t.Run("Cancel", func(t *testing.T) { s.testCancel(t, false) })
	t.Run("CancelPaused", func(t *testing.T) { s.testCancel(t, true) })
	t.Run("Invalid", s.testInvalid)
	t.Run("SourceChanged", s.testSourceChanged)
}

// testFrames: a task's stream is exactly its frames of the source, one
// keyframe at its start, and Execute returns its End.
func (s *suite) testFrames(t *testing.T) {
	for _, r := range []frameRange{head, tail} {
		ref := s.reference(t, r)
		if ref.err != nil || ref.end != r.end {
			t.Fatalf("frames [%d,%d): Execute returned (%d, %v), want (%d, nil)", r.start, r.end, ref.end, ref.err, r.end)
		}
		s.checkStream(t, ref.rec, r.start, r.end-r.start)
	}
}

// testRunsOn: a writer that is a task.Placed is told where its task
// runs, before the task's first unit (the reference encodes' writers
// are; the other subtests' are not).
func (s *suite) testRunsOn(t *testing.T) {
	ref := s.reference(t, head)
	if ref.err != nil {
		t.Fatal(ref.err)
	}
	out := ref.placed
	out.mu.Lock()
	defer out.mu.Unlock()
	switch {
	case len(out.told) == 0:
		t.Fatal("RunsOn was not called")
	case out.told[0] == "":
		t.Error("RunsOn was told an empty name")
	case s.opt.RunsOn != "" && out.told[0] != s.opt.RunsOn:
		t.Errorf("RunsOn(%q), want RunsOn(%q)", out.told[0], s.opt.RunsOn)
	}
	if out.unitsBefore > 0 {
		t.Errorf("RunsOn was called after %d units", out.unitsBefore)
	}
}

// testConcurrent: tasks run at once on one executor (a job runs several)
// each get their own stream, the same as when they run alone.
func (s *suite) testConcurrent(t *testing.T) {
	x := s.executor(t)
	var runs []*run
	var recs []*recorder
	for _, r := range []frameRange{tail, head} {
		rec := newRecorder()
		runs, recs = append(runs, s.start(t, x, x.task(r), rec, nil)), append(recs, rec)
	}
	for i, r := range []frameRange{tail, head} {
		if end, err := runs[i].wait(t); err != nil || end != r.end {
			t.Fatalf("frames [%d,%d): Execute returned (%d, %v)", r.start, r.end, end, err)
		}
		ref := s.reference(t, r)
		if ref.err != nil {
			t.Fatal(ref.err)
		}
		sameUnits(t, recs[i], ref.rec)
	}
}

// testStop: a stop in the middle of a task ends it at its current frame:
// Execute returns that frame and no error, and the stream holds exactly
// the frames before it. The stop comes while the task is paused, so that
// it lands before the last frame however fast the machine encodes.
func (s *suite) testStop(t *testing.T) {
	tk, rec, r := s.pausedAfterFirstUnit(t)
	r.ctl.Stop()
	end, err := r.wait(t)
	t.Logf("stopped at frame %d of [%d,%d)", end, tk.Start, tk.End)
	if err != nil || end <= tk.Start || end >= tk.End {
		t.Fatalf("Execute returned (%d, %v), want an end in (%d, %d) and no error", end, err, tk.Start, tk.End)
	}
	s.checkStream(t, rec, tk.Start, end-tk.Start)
}

// pausedAfterFirstUnit starts the tail task on a new executor and pauses
// it once its first unit has arrived.
func (s *suite) pausedAfterFirstUnit(t *testing.T) (task.Task, *recorder, *run) {
	t.Helper()
	x := s.executor(t)
	tk := x.task(tail)
	rec := newRecorder()
	r := s.start(t, x, tk, rec, nil)
	r.firstUnit(t, rec)
	if err := r.ctl.Pause(true); err != nil {
		t.Fatal(err)
	}
	return tk, rec, r
}

// testStopBeforeStart: a task stopped before its first frame returns
// t.Start and ErrStopped, with no unit.
func (s *suite) testStopBeforeStart(t *testing.T) {
	x := s.executor(t)
	tk := x.task(tail)
	rec := newRecorder()
	ctl := steer.New()
	ctl.Stop()
	end, err := s.start(t, x, tk, rec, ctl).wait(t)
	if !errors.Is(err, task.ErrStopped) || end != tk.Start {
		t.Fatalf("Execute returned (%d, %v), want (%d, ErrStopped)", end, err, tk.Start)
	}
	if n := rec.count(); n > 0 {
		t.Errorf("%d units from a task stopped before it started", n)
	}
}

// Pause checks: units sent before a pause arrive until none has come
// for settle (within settleMax: a remote executor's are on their way),
// then none may arrive for frozen.
const (
	settle    = 150 * time.Millisecond
	settleMax = 500 * time.Millisecond
	frozen    = 700 * time.Millisecond
)

// testPauseResume: once a pause returns, the task makes no progress;
// after the resume it ends as it would have, with the same bits as an
// unpaused encode.
func (s *suite) testPauseResume(t *testing.T) {
	ref := s.reference(t, tail)
	if ref.err != nil {
		t.Fatal(ref.err)
	}
	tk, rec, r := s.pausedAfterFirstUnit(t)
	s.checkFrozen(t, r, rec, frozen)
	if err := r.ctl.Resume(true); err != nil {
		t.Fatal(err)
	}
	if end, err := r.wait(t); err != nil || end != tk.End {
		t.Fatalf("Execute returned (%d, %v), want (%d, nil)", end, err, tk.End)
	}
	sameUnits(t, rec, ref.rec)
}

// testPausedAtStart: a task that starts while its job is paused does no
// work until the resume, then ends with the same bits as an unpaused
// encode. The executor has run a task before, as a job's has when a
// pause comes between two chunks: what it learnt then (an encoder's
// version, say) takes no process that the pause would freeze. The pause
// lasts twice as long as that task took to its first unit (a remote
// task's start takes a while: queue, claim, segment).
func (s *suite) testPausedAtStart(t *testing.T) {
	ref := s.reference(t, tail)
	if ref.err != nil {
		t.Fatal(ref.err)
	}
	x := s.executor(t)
	first := newRecorder()
	warm := s.start(t, x, x.task(head), first, nil)
	if end, err := warm.wait(t); err != nil || end != head.end {
		t.Fatalf("the first task: Execute returned (%d, %v), want (%d, nil)", end, err, head.end)
	}
	tk := x.task(tail)
	rec := newRecorder()
	ctl := steer.New()
	if err := ctl.Pause(true); err != nil {
		t.Fatal(err)
	}
	r := s.start(t, x, tk, rec, ctl)
	s.checkFrozen(t, r, rec, max(frozen, 2*first.firstUnitAt().Sub(warm.started)))
	if n := rec.count(); n > 0 {
		t.Errorf("%d units while the task was paused from its start", n)
	}
	if err := ctl.Resume(true); err != nil {
		t.Fatal(err)
	}
	if end, err := r.wait(t); err != nil || end != tk.End {
		t.Fatalf("Execute returned (%d, %v), want (%d, nil)", end, err, tk.End)
	}
	sameUnits(t, rec, ref.rec)
}

// checkFrozen checks that a paused task, once the units sent before the
// pause have come, neither ends nor sends a unit for d.
func (s *suite) checkFrozen(t *testing.T, r *run, rec *recorder, d time.Duration) {
	t.Helper()
	n := rec.count()
	for deadline := time.Now().Add(settleMax); ; n = rec.count() {
		time.Sleep(settle)
		if rec.count() == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("units still came %v after the pause", settleMax)
		}
	}
	time.Sleep(d)
	if r.ended() {
		t.Fatalf("the task ended while paused: Execute returned (%d, %v) with %d units", r.end, r.err, rec.count())
	}
	if m := rec.count(); m != n {
		t.Errorf("%d units came while the task was paused", m-n)
	}
}

// testCancel: a task whose context is cancelled (paused first when
// paused is set) returns promptly with an error, and leaves no process
// running (a remote one within Options.Linger).
func (s *suite) testCancel(t *testing.T, paused bool) {
	x := s.executor(t)
	tk := x.task(tail)
	rec := newRecorder()
	before := children(t)
	r := s.start(t, x, tk, rec, nil)
	r.firstUnit(t, rec)
	if paused {
		if err := r.ctl.Pause(true); err != nil {
			t.Fatal(err)
		}
	}
	r.cancel()
	start := time.Now()
	end, err := r.waitFor(t, cancelWithin)
	t.Logf("Execute returned %v after the cancellation: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || errors.Is(err, task.ErrStopped) {
		t.Errorf("Execute returned (%d, %v) for a cancelled task, want an error", end, err)
	}
	noNewChildren(t, before, s.opt.Linger)
}

// testInvalid: a task that cannot run as it is fails at once with a
// *task.TaskError (trying again cannot help), before any unit and
// without running what it names.
func (s *suite) testInvalid(t *testing.T) {
	dir := t.TempDir()
	evil := filepath.Join(dir, "evil.ivf")
	cases := []struct {
		name string
		edit func(*task.Task)
	}{
		{"empty range", func(t *task.Task) { t.End, t.PTS = t.Start, nil }},
		{"timestamps", func(t *task.Task) { t.PTS = t.PTS[:len(t.PTS)-1] }},
		{"unknown encoder", func(t *task.Task) { t.Encoder.Name = "x265" }},
		{"refused argument", func(t *task.Task) { t.Settings.Extra = []string{"--output", evil} }},
		{"filter", func(t *task.Task) { t.Source.Filter = "movie=" + evil }},
		{"encoder version", func(t *task.Task) { t.Encoder.Version = "0.0.1-conformance" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := s.executor(t)
			tk := x.task(head)
			c.edit(&tk)
			rec := newRecorder()
			r := s.start(t, x, tk, rec, nil)
			if c.name == "encoder version" && s.opt.QueuesUnknownVersions {
				s.checkQueued(t, r, rec)
				return
			}
			end, err := r.waitFor(t, cancelWithin)
			var te *task.TaskError
			if !errors.As(err, &te) || end != tk.Start {
				t.Errorf("Execute returned (%d, %v), want (%d, a *task.TaskError)", end, err, tk.Start)
			}
			if n := rec.count(); n > 0 {
				t.Errorf("%d units from an invalid task", n)
			}
		})
	}
	if _, err := os.Stat(evil); err == nil {
		t.Error("an invalid task wrote the file it named")
	}
}

// checkQueued checks that a task for an encoder version the executor
// does not have waits: no unit, no error, until its context ends.
func (s *suite) checkQueued(t *testing.T, r *run, rec *recorder) {
	t.Helper()
	time.Sleep(frozen)
	if r.ended() {
		t.Fatalf("Execute returned (%d, %v), want it to wait for a worker with the version", r.end, r.err)
	}
	r.cancel()
	if _, err := r.waitFor(t, cancelWithin); err == nil {
		t.Error("Execute returned no error for a task whose context was cancelled")
	}
	if n := rec.count(); n > 0 {
		t.Errorf("%d units from a task no worker can run", n)
	}
}

// testSourceChanged: a task whose source is not the file at its path
// any more (rewritten in place, replaced by one of another size, gone)
// fails with a *task.SourceChangedError, before any unit.
func (s *suite) testSourceChanged(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"rewritten", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"other size", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("more")); err != nil {
				t.Fatal(err)
			}
		}},
		{"gone", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := s.executor(t)
			tk := x.task(head)
			tk.Source.Path = s.copyClip(t, t.TempDir())
			c.change(t, tk.Source.Path)
			rec := newRecorder()
			end, err := s.start(t, x, tk, rec, nil).waitFor(t, cancelWithin)
			var sc *task.SourceChangedError
			if !errors.As(err, &sc) || end != tk.Start {
				t.Errorf("Execute returned (%d, %v), want (%d, a *task.SourceChangedError)", end, err, tk.Start)
			}
			if n := rec.count(); n > 0 {
				t.Errorf("%d units from a changed source", n)
			}
		})
	}
}

// SameBits runs one task with the named encoder and settings on an
// executor each of makers makes: frames 12-80 of the suite's clip, which
// start inside the source's first group of pictures and cross a cut. It
// checks each stream as the suite does (exactly those frames, one
// keyframe, at the start) and that every executor made the same bits as
// the first. Under -short, or without the programs, it skips.
func SameBits(t *testing.T, encoder string, settings task.EncoderOptions, makers ...func(t *testing.T) task.Executor) {
	t.Helper()
	enc, err := encode.Lookup(encoder)
	if err != nil {
		t.Fatal(err)
	}
	if err := tools.Check(enc.Programs()...); err != nil {
		t.Skip(err)
	}
	s := newSuite(t, nil, Options{})
	ver, err := enc.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.tmpl.Encoder = task.EncoderRef{Name: enc.Name(), Version: ver}
	s.tmpl.Settings = settings
	var first [][]byte
	for i, mk := range makers {
		s.newExecutor = mk
		x := s.executor(t)
		rec := newRecorder()
		end, err := s.start(t, x, x.task(tail), rec, nil).wait(t)
		if err != nil || end != tail.end {
			t.Fatalf("%s, executor %d: Execute returned (%d, %v), want (%d, nil)", encoder, i, end, err, tail.end)
		}
		s.checkStream(t, rec, tail.start, tail.end-tail.start)
		rec.mu.Lock()
		units := rec.units
		rec.mu.Unlock()
		if i == 0 {
			first = units
			continue
		}
		for k := range first {
			if !bytes.Equal(units[k], first[k]) {
				t.Fatalf("%s: unit %d: executor %d made %d bytes, executor 0 %d", encoder, k, i, len(units[k]), len(first[k]))
			}
		}
	}
}
