package executortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/task"
)

// clipSpec is the suite's one source: two scenes of 40 frames at
// 160x90, H.264 with B-frames and a keyframe every 48 frames, so that a
// task may start inside a group of pictures and span a cut.
var clipSpec = testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot"}, SegFrames: 40}

// The suite's frame ranges. head is a short first chunk; tail starts
// inside the source's first group of pictures, crosses the cut and runs
// to the end: long enough that a stop or a pause after its first unit
// lands well before its last frame.
var (
	head = frameRange{0, 12}
	tail = frameRange{12, 80}
)

type frameRange struct{ start, end int }

// A suite is one run of the conformance suite against one kind of
// executor: the clip, the tasks' shared part, and what is made once and
// shared by its subtests (the unpaused encodes the others are compared
// with, the source's frames of a range as Y4M).
type suite struct {
	newExecutor func(t *testing.T) task.Executor
	opt         Options
	dir         string
	clip        string
	tmpl        task.Task
	pts         []int64
	jobs        atomic.Int64 // the last job ID given to an executor
	chunks      atomic.Int64 // the last chunk ID given to a task

	mu     sync.Mutex
	refs   map[frameRange]*reference
	frames map[frameRange]*sourceFrames
}

// newSuite makes the clip and the tasks' template; it skips the test
// under -short or without the programs the encodes need.
func newSuite(t *testing.T, newExecutor func(t *testing.T) task.Executor, opt Options) *suite {
	t.Helper()
	if testing.Short() {
		t.Skip("encodes: skipped under -short")
	}
	if err := tools.Check(tools.FFmpeg, tools.FFprobe, tools.Rav1e, tools.Dav1d); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	s := &suite{newExecutor: newExecutor, opt: opt, dir: t.TempDir(), refs: map[frameRange]*reference{}, frames: map[frameRange]*sourceFrames{}}
	s.clip = filepath.Join(s.dir, "clip.mkv")
	if err := testclip.Make(ctx, clipSpec, s.clip); err != nil {
		t.Fatal(err)
	}
	src, err := probe.Probe(ctx, s.clip)
	if err != nil {
		t.Fatal(err)
	}
	// The frames' timestamps as a job has them: from its scene pass.
	a, err := scene.Analyze(ctx, src, scene.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Frames != clipSpec.Frames() {
		t.Fatalf("the clip has %d frames, want %d", a.Frames, clipSpec.Frames())
	}
	s.pts = a.PTS
	id, err := plan.SourceIdentity(s.clip)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := encode.Lookup("rav1e")
	if err != nil {
		t.Fatal(err)
	}
	ver, err := enc.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := probe.LayoutFor(src.Video)
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.tmpl = task.Task{
		Job: "conformance-" + hex.EncodeToString(b[:]),
		Source: task.SourceRef{Path: s.clip, Size: id.Size, Content: id.Sample, Stream: src.Video.Index,
			Width: src.Video.Width, Height: src.Video.Height, PixFmt: l.PixFmt, Filter: l.Filter,
			TimeBase: src.Video.TimeBase.RatString(), FirstPTS: a.PTS[0]},
		Encoder:  task.EncoderRef{Name: enc.Name(), Version: ver},
		Settings: task.EncoderOptions{Speed: 10, Quantizer: 100},
	}
	return s
}

// An executor is one the suite made, with the job its tasks belong to:
// each executor has a job of its own, as each job's coordinator has its
// own executor (two remote executors of one job would both answer its
// workers' claims).
type executor struct {
	task.Executor
	s   *suite
	job string
}

// executor returns a new executor of the kind under test.
func (s *suite) executor(t *testing.T) *executor {
	return &executor{Executor: s.newExecutor(t), s: s, job: s.tmpl.Job + "-" + strconv.Itoa(int(s.jobs.Add(1)))}
}

// task returns the task of frames r of e's job, under a chunk ID no
// other task of the suite has.
func (e *executor) task(r frameRange) task.Task {
	s := e.s
	t := s.tmpl
	t.Job = e.job
	t.Chunk, t.Attempt = int(s.chunks.Add(1)), 1
	t.Start, t.End = r.start, r.end
	t.PTS = s.pts[r.start:r.end:r.end]
	return t
}

// A reference is an unpaused, unstopped encode of a range: what an
// interrupted one must equal. Its writer is a task.Placed (the other
// runs' are not).
type reference struct {
	once   sync.Once
	rec    *recorder
	placed *placed
	end    int
	err    error
}

// reference returns the encode of r by an executor of the suite, run
// once and shared by the subtests that ask for it.
func (s *suite) reference(t *testing.T, r frameRange) *reference {
	t.Helper()
	s.mu.Lock()
	ref := s.refs[r]
	if ref == nil {
		ref = &reference{}
		s.refs[r] = ref
	}
	s.mu.Unlock()
	ref.once.Do(func() {
		ref.err = fmt.Errorf("frames [%d,%d): the subtest encoding them ended first", r.start, r.end)
		ref.rec = newRecorder()
		ref.placed = &placed{recorder: ref.rec}
		x := s.executor(t)
		ref.end, ref.err = s.start(t, x, x.task(r), ref.placed, nil).wait(t)
	})
	return ref
}

// sourceFrames is a range of the clip's frames as Y4M, the picture an
// encode of it is compared with.
type sourceFrames struct {
	once sync.Once
	path string
	err  error
}

// sourceFrames returns the clip's frames r as a Y4M file, made once. The
// frames are picked by number, independently of the tasks' timestamps.
func (s *suite) sourceFrames(r frameRange) (string, error) {
	s.mu.Lock()
	f := s.frames[r]
	if f == nil {
		f = &sourceFrames{path: filepath.Join(s.dir, "frames-"+strconv.Itoa(r.start)+"-"+strconv.Itoa(r.end)+".y4m")}
		s.frames[r] = f
	}
	s.mu.Unlock()
	f.once.Do(func() {
		sel := fmt.Sprintf("select=between(n\\,%d\\,%d)", r.start, r.end-1)
		_, f.err = tools.Output(context.Background(), tools.FFmpeg, "-nostdin", "-v", "error", "-i", "file:"+s.clip,
			"-vf", sel, "-fps_mode", "passthrough", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-y", f.path)
	})
	return f.path, f.err
}

// copyClip copies the clip to a new file in dir and returns its path.
func (s *suite) copyClip(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(s.clip)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "source.mkv")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
