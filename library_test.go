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
)

// TestLibrary runs a job through the public API as a Go program would:
// pause and resume through the control socket (as another program
// would), stop, Load the stored options, continue to the end, and see
// every kind of event on the way.
func TestLibrary(t *testing.T) {
	needTools(t)
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
	o.Speed, o.Workers, o.Keep, o.Events = 10, 2, true, events
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
	if loaded.Input != in || loaded.Output != out || loaded.Speed != 10 || loaded.Backend != o.Backend || loaded.Workers != 2 {
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
