package av1job_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/testclip"
)

// hookedExecutor runs tasks with Executor, calling before and after (when
// set) around the n-th task it is given, counting from 1, on the task's
// own goroutine: a test changes things at a chosen point of the job.
type hookedExecutor struct {
	av1job.Executor
	before, after func(ctx context.Context, n int)
	calls         atomic.Int32
}

func (h *hookedExecutor) Execute(ctx context.Context, t av1job.Task, out av1job.StreamWriter, steer av1job.Steer) (int, error) {
	n := int(h.calls.Add(1))
	if h.before != nil {
		h.before(ctx, n)
	}
	end, err := h.Executor.Execute(ctx, t, out, steer)
	if h.after != nil {
		h.after(ctx, n)
	}
	return end, err
}

// replaceByRename puts a copy of src at dst the way people replace a file:
// cp src dst.tmp && mv dst.tmp dst.
func replaceByRename(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// wantSourceChanged checks that err is the job's failure for a source
// replaced at in, on one line, and that no output was written.
func wantSourceChanged(t *testing.T, err error, in, out string) {
	t.Helper()
	var sc *av1job.SourceChangedError
	if !errors.As(err, &sc) || sc.Path != in {
		t.Fatalf("want a *SourceChangedError for %s, got %v", in, err)
	}
	if msg := err.Error(); !strings.Contains(msg, in+" is not the job's source any more (") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s", msg, in)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*av1job-*")); len(left) > 0 {
		t.Errorf("temporary output left: %q", left)
	}
}

// TestClusterSourceSwapped: the source of a job whose chunks run on a
// remote worker is replaced (by a rename, as cp and mv do) once two
// chunks are committed; the next chunk's segment is not cut from the
// other file. The job fails at once, without retrying, saying that the
// file is not its source any more, and writes no output.
func TestClusterSourceSwapped(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot"}, SegFrames: 48, Audio: true}
	in := clip(t, dir, "in.mkv", spec)
	spec.Segments = []string{"smptehdbars", "life"}
	other := clip(t, dir, "other.mkv", spec)

	c := newCluster(t)
	c.startWorker(t, "w")
	ex := c.executor(0)
	defer ex.Close()
	out := filepath.Join(dir, "out.mkv")
	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.MaxSceneLen = av1job.SpeedOf(10), 1, 1
	twoDone := make(chan struct{})
	var done, retries atomic.Int32
	o.Events = func(e av1job.Event) {
		switch e.Kind {
		case av1job.EventChunkDone:
			if done.Add(1) == 2 {
				close(twoDone)
			}
		case av1job.EventRetry:
			retries.Add(1)
		}
	}
	var swapped atomic.Bool
	o.Executor = &hookedExecutor{Executor: ex, before: func(ctx context.Context, n int) {
		if n != 3 {
			return
		}
		select {
		case <-twoDone:
		case <-ctx.Done():
			return
		}
		if err := replaceByRename(other, in); err != nil {
			t.Error(err)
		}
		swapped.Store(true)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := av1job.New(o).Run(ctx)
	if !swapped.Load() {
		t.Fatalf("the job ended before its third chunk (%v)", err)
	}
	wantSourceChanged(t, err, in, out)
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was written")
	}
	if n := retries.Load(); n > 0 {
		t.Errorf("the chunk was retried %d times", n)
	}
	t.Logf("%d chunks done; %v", done.Load(), err)
}

// TestSourceSwappedBeforeFinish: a job's source replaced after its last
// chunk is encoded, before the output is muxed, fails the job: the output
// never takes another file's audio and subtitles, and an existing output
// (to be overwritten) is left as it was.
func TestSourceSwappedBeforeFinish(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2"}, SegFrames: 24, Audio: true, Subtitles: true}
	in := clip(t, dir, "in.mkv", spec)
	spec.Segments = []string{"mandelbrot"}
	other := clip(t, dir, "other.mkv", spec)
	out := filepath.Join(dir, "out.mkv")
	const earlier = "an earlier output"
	if err := os.WriteFile(out, []byte(earlier), 0o644); err != nil {
		t.Fatal(err)
	}

	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.Overwrite = av1job.SpeedOf(10), 1, true
	// One chunk: once its task has ended, only the mux reads the source.
	o.Executor = &hookedExecutor{Executor: &av1job.LocalExecutor{}, after: func(context.Context, int) {
		if err := replaceByRename(other, in); err != nil {
			t.Error(err)
		}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := av1job.New(o).Run(ctx)
	wantSourceChanged(t, err, in, out)
	if b, err := os.ReadFile(out); err != nil || string(b) != earlier {
		t.Errorf("the existing output was changed (%q, %v)", b, err)
	}
}
