package av1job_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/av1job/av1job"
)

// settingsExecutor keeps the encoder settings of the first task it is
// given and fails it for good: the job ends there.
type settingsExecutor struct {
	mu  sync.Mutex
	got *av1job.EncoderOptions
}

func (x *settingsExecutor) Execute(_ context.Context, t av1job.Task, _ av1job.StreamWriter, _ av1job.Steer) (int, error) {
	x.mu.Lock()
	if x.got == nil {
		s := t.Settings
		x.got = &s
	}
	x.mu.Unlock()
	return t.Start, &av1job.TaskError{Task: t, Msg: "settings seen"}
}

// TestOptionsThroughRun: options written as a library user writes them
// reach the tasks with the documented defaults for what they leave out,
// and a speed of 0 chosen with SpeedOf reaches them as 0; the job
// directory records the speed, so Load gives it back.
func TestOptionsThroughRun(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	for _, tc := range []struct {
		name     string
		o        av1job.Options
		speed, q int
	}{
		{"zero", av1job.Options{}, 6, 100},
		{"speed 0", av1job.Options{Speed: av1job.SpeedOf(0)}, 0, 100},
		{"quantizer", av1job.Options{Quantizer: 80}, 6, 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &settingsExecutor{}
			o := tc.o
			o.Input, o.Output, o.Workers, o.Executor = in, filepath.Join(t.TempDir(), "out.mkv"), 1, x
			err := av1job.New(o).Run(context.Background())
			var te *av1job.TaskError
			if !errors.As(err, &te) {
				t.Fatalf("Run: %v, want the executor's *TaskError", err)
			}
			if x.got == nil || x.got.Speed != tc.speed || x.got.Quantizer != tc.q {
				t.Fatalf("task settings %+v, want speed %d, quantizer %d", x.got, tc.speed, tc.q)
			}
			loaded, err := av1job.Load(o.Output)
			if err != nil {
				t.Fatal(err)
			}
			if loaded.Speed != av1job.SpeedOf(tc.speed) || loaded.Quantizer != tc.q {
				t.Errorf("Load: speed %v, quantizer %d; want %d, %d", loaded.Speed, loaded.Quantizer, tc.speed, tc.q)
			}
		})
	}
}
