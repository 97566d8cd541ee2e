package av1job_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/tools"
)

// TestLibrary runs a job through the public API as a Go program would:
// pause and resume through the control socket (as another program
// would), stop, Load the stored options, continue to the end, and see
// every kind of event on the way.
func TestLibrary(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)
	out := filepath.Join(dir, "out.mkv")
	ctx := context.Background()

	var mu sync.Mutex
	seen := map[av1job.EventKind]int{}
	reached := make(chan struct{})
	var once sync.Once
	events := func(e av1job.Event) {
		mu.Lock()
		seen[e.Kind]++
		mu.Unlock()
		if e.Frames >= 30 {
			once.Do(func() { close(reached) })
		}
	}
	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.Keep, o.Events = av1job.SpeedOf(10), 2, true, events
	if slices.Contains(backendsUnderTest(t), "lib") {
		o.Backend = "lib"
	}
	jb := av1job.New(o)
	steer := make(chan error, 1)
	go func() {
		steer <- func() error {
			<-reached
			st, err := av1job.PauseJob(ctx, out)
			if err != nil {
				return err
			}
			if st.State != av1job.StatePaused || !jb.Paused() {
				return errors.New("PauseJob did not pause the job: " + st.State)
			}
			time.Sleep(300 * time.Millisecond)
			again, err := av1job.Status(ctx, out)
			if err != nil {
				return err
			}
			if again.FramesDone != st.FramesDone {
				return errors.New("frames went on while paused")
			}
			if _, err := av1job.ResumeJob(ctx, out); err != nil {
				return err
			}
			if _, err := av1job.StopJob(ctx, out); err != nil {
				return err
			}
			return nil
		}()
	}()
	if err := jb.Run(ctx); !errors.Is(err, av1job.ErrStopped) {
		t.Fatalf("Run after StopJob: %v", err)
	}
	if err := <-steer; err != nil {
		t.Fatal(err)
	}
	if err := av1job.WaitJob(ctx, out); err != nil {
		t.Fatal(err)
	}
	if _, err := av1job.PauseJob(ctx, out); !errors.Is(err, av1job.ErrNotRunning) {
		t.Fatalf("PauseJob on a stopped job: %v, want ErrNotRunning", err)
	}
	st, err := av1job.Status(ctx, out)
	if err != nil || st.State != av1job.StateStopped || st.FramesDone == 0 || st.FramesDone == st.FramesTotal {
		t.Fatalf("status after stop: %+v %v", st, err)
	}

	loaded, err := av1job.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Input != in || loaded.Output != out || loaded.Speed != av1job.SpeedOf(10) || loaded.Backend != o.Backend || loaded.Workers != 2 {
		t.Fatalf("Load returned %+v", loaded)
	}
	loaded.Events = events
	if err := av1job.New(loaded).Run(ctx); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, in, out, false)
	for _, k := range []av1job.EventKind{av1job.EventAnalyzing, av1job.EventPlanned, av1job.EventChunkStart, av1job.EventFrames,
		av1job.EventChunkDone, av1job.EventPaused, av1job.EventResumed, av1job.EventStopping, av1job.EventFinishing, av1job.EventDone} {
		if seen[k] == 0 {
			t.Errorf("no %s event", k)
		}
	}
}

// TestEventsSteer: an event handler may steer the job (here: Stop on the
// first chunk done) without deadlocking it; a subscriber that reads
// nothing until the end holds nobody up and still gets every lifecycle
// event, in order; Job.Status is what status --json prints.
func TestEventsSteer(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)
	out := filepath.Join(dir, "out.mkv")
	var jb *av1job.Job
	var once sync.Once
	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.MinSceneLen = av1job.SpeedOf(10), 1, 24
	o.Events = func(e av1job.Event) {
		if e.Kind == av1job.EventChunkDone {
			once.Do(func() {
				st := jb.Status()
				if st.State != av1job.StateRunning || st.ChunksDone != 1 {
					t.Errorf("Status in the handler: %+v", st)
				}
				jb.Stop()
			})
		}
	}
	jb = av1job.New(o)
	late, _ := jb.Subscribe()
	done := make(chan error, 1)
	go func() { done <- jb.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, av1job.ErrStopped) {
			t.Fatalf("Run: %v, want ErrStopped", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return after Stop from an event handler")
	}
	var kinds []av1job.EventKind
	for e := range late {
		kinds = append(kinds, e.Kind)
	}
	count := func(k av1job.EventKind) int {
		n := 0
		for _, x := range kinds {
			if x == k {
				n++
			}
		}
		return n
	}
	if count(av1job.EventPlanned) != 1 || count(av1job.EventStopping) != 1 || count(av1job.EventChunkDone) < 1 ||
		count(av1job.EventChunkStart) < count(av1job.EventChunkDone) {
		t.Errorf("the late subscriber got %v", kinds)
	}
	if kinds[0] != av1job.EventAnalyzing || kinds[len(kinds)-1] == av1job.EventPlanned {
		t.Errorf("events out of order: %v", kinds)
	}
	st := jb.Status()
	stored, err := av1job.Status(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != av1job.StateStopped || stored.State != st.State || stored.FramesRecorded != st.FramesRecorded ||
		stored.ChunksDone != st.ChunksDone || stored.ChunksTotal != st.ChunksTotal || stored.FramesTotal != st.FramesTotal {
		t.Errorf("Job.Status %+v, status from the job directory %+v", st, stored)
	}
}

// TestErrorsKeepCauses: a usage error still says what caused it.
func TestErrorsKeepCauses(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	noRav1e := pathWithoutRav1e(t)
	t.Setenv("PATH", noRav1e)
	err := av1job.Run(context.Background(), av1job.NewOptions(in, filepath.Join(dir, "out.mkv")))
	var miss *tools.MissingError
	if !av1job.IsUsage(err) || !errors.As(err, &miss) || miss.Name != "rav1e" {
		t.Fatalf("Run without rav1e: %v (%T)", err, err)
	}
}
