// Package local runs tasks on this machine: its Executor reads a task's
// frames with ffmpeg, feeds them to the encoder (a rav1e, SvtAv1EncApp or aomenc process, or
// librav1e) and writes the encoder's temporal units to the task's
// StreamWriter; a target-quality task first searches for its quantizer
// with probe encodes scored against the source (search.go). Workers and
// AutoWorkers say how many tasks run at once.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"sync"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/guard"
	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/quality"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/steer"
	"github.com/av1job/av1job/task"
)

// Executor runs tasks on this machine: ffmpeg reads the task's frames
// from the source as Y4M, the executor passes them to the encoder one
// frame at a time (counting frames in), and the encoder's temporal units go
// to the StreamWriter (counted out).
//
//	ffmpeg ──y4m──▶ feed loop ──▶ encoder (a program per chunk, or librav1e) ──IVF units──▶ StreamWriter
//
// Every frame's timestamp is checked against the task before it reaches
// the encoder (package source). Shutdown order: the feed loop ends after
// the task's last frame, on a stop, or on an error; ffmpeg is reaped; then
// the encoder's input is closed and the executor waits for its last unit.
type Executor struct {
	// Threads is the encoder threads per task; 0 lets the encoder choose.
	Threads int

	mu       sync.Mutex
	versions map[string]string // encoder name -> version
	src      guard.Source
}

// Execute runs t; see Executor. The file at t's source path must be t's
// source (its size and content hash) before the task starts, and the same
// file, unchanged, when it ends: else the task fails with a
// *SourceChangedError and nothing it made counts (a task reads its source
// more than once: each probe of a target-quality search, a reader's
// retry).
func (x *Executor) Execute(ctx context.Context, t task.Task, out task.StreamWriter, steer task.Steer) (int, error) {
	if err := t.Validate(); err != nil {
		return t.Start, err
	}
	enc, err := x.encoder(ctx, t)
	if err != nil {
		return t.Start, err
	}
	end := t.Start
	err = x.src.Read(t.Source.Path, t.Source.Size, t.Source.Content, func() (err error) {
		end, err = x.execute(ctx, enc, t, out, steer)
		return err
	})
	if err != nil {
		return t.Start, err
	}
	return end, nil
}

// execute runs t with enc once its source is checked.
func (x *Executor) execute(ctx context.Context, enc encode.Encoder, t task.Task, out task.StreamWriter, sr task.Steer) (int, error) {
	if p, ok := out.(task.Placed); ok {
		p.RunsOn(thisMachine())
	}
	var (
		q    int
		dist *ivfFile
		err  error
	)
	rec, _ := out.(task.QualityRecorder)
	if t.Target != nil {
		// The search's probes first, then the chunk at the quantizer it
		// decides, written to out and to a file to be scored.
		if q, err = x.search(ctx, enc, t, out, sr); err != nil {
			return t.Start, err
		}
		t.Settings.Quantizer = q
		f, err := tempFile()
		if err != nil {
			return t.Start, fmt.Errorf("quality: %w", err)
		}
		defer f.Close()
		dist = &ivfFile{f: f}
		out = tee{out, dist}
	}
	s, err := t.EncodeSettings()
	if err != nil {
		return t.Start, &task.TaskError{Task: t, Msg: err.Error(), Err: err}
	}
	s.Threads = x.Threads
	fed, err := x.encodeFrames(ctx, enc, t, s, out, sr)
	if err != nil {
		return t.Start, err
	}
	if t.Target != nil {
		score := math.NaN()
		if fed == len(t.PTS) {
			// Measured on the stream written, every frame (a stopped
			// task's is left to verify: scoring would hold the stop up).
			// A stop ends the scoring, not the task: the chunk is kept
			// without a score.
			sctx, cancel := steer.CancelOn(ctx, sr.Stopping())
			scores, err := x.score(sctx, t, dist.f, fed, sr, 1)
			stopped := sctx.Err() != nil && ctx.Err() == nil
			cancel()
			switch {
			case err != nil && !stopped:
				return t.Start, err
			case err == nil:
				score = quality.Stat(scores, t.Target.Stat)
			}
		}
		if rec != nil {
			rec.Quality(q, score)
		}
	}
	return t.Start + fed, nil
}

// openSource starts reading t's frames from its source.
func openSource(ctx context.Context, t task.Task) (*source.Frames, error) {
	tb, _ := new(big.Rat).SetString(t.Source.TimeBase)
	rng := source.Range{Path: t.Source.Path, Stream: t.Source.Stream, PixFmt: t.Source.PixFmt, Filter: t.Source.Filter,
		PTS: t.PTS, TimeBase: tb, Base: t.Start, First: t.Source.FirstPTS, Start: 0, End: len(t.PTS)}
	return source.Open(ctx, rng)
}

// encodeFrames encodes t's frames with s to out, and returns how many it
// fed the encoder: all of them, or fewer after a stop (ErrStopped when
// none). Every unit out gets is counted against the frames fed.
func (x *Executor) encodeFrames(ctx context.Context, enc encode.Encoder, t task.Task, s encode.Settings, out task.StreamWriter, steer task.Steer) (int, error) {
	src, err := openSource(ctx, t)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	sink := &unitCounter{out: out}
	sess, err := enc.Start(ctx, src.Header(), s, sink)
	if err != nil {
		return 0, err
	}
	// An in-process encoder pauses by not being called; a process is
	// frozen with the job's other processes (the context's group).
	if p, ok := sess.(encode.Pauser); ok {
		defer steer.Attach(p)()
	}
	buf := make([]byte, src.FrameSize())
	fed := 0
	stopping := steer.Stopping()
feed:
	for fed < len(t.PTS) {
		select {
		case <-stopping:
			break feed
		default:
		}
		err := src.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("source: ended after %d of %d frames: %w", fed, len(t.PTS), source.ErrShort)
		}
		if err == nil {
			err = sess.WriteFrame(buf)
		}
		if err != nil {
			sess.Abort()
			return 0, err
		}
		fed++
	}
	if fed == 0 {
		sess.Abort()
		return 0, task.ErrStopped
	}
	if err := src.Close(); err != nil {
		sess.Abort()
		return 0, err
	}
	// After a stop the task ends at frame fed: the encoder flushes what
	// it was given.
	if err := sess.Close(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if sink.units != fed {
		return 0, fmt.Errorf("encoder: %d temporal units out for %d frames in", sink.units, fed)
	}
	return fed, nil
}

// encoder returns t's encoder, checking that this machine has the version
// the task names.
func (x *Executor) encoder(ctx context.Context, t task.Task) (encode.Encoder, error) {
	enc, err := encode.Lookup(t.Encoder.Name)
	if err != nil {
		return nil, &task.TaskError{Task: t, Msg: err.Error(), Err: err}
	}
	x.mu.Lock()
	ver, ok := x.versions[enc.Name()]
	x.mu.Unlock()
	if !ok {
		if ver, err = enc.Version(ctx); err != nil {
			return nil, fmt.Errorf("encoder version: %w", err)
		}
		x.mu.Lock()
		if x.versions == nil {
			x.versions = map[string]string{}
		}
		x.versions[enc.Name()] = ver
		x.mu.Unlock()
	}
	if ver != t.Encoder.Version {
		return nil, &task.TaskError{Task: t, Msg: fmt.Sprintf("needs %s %s, this machine has %s", enc.Name(), t.Encoder.Version, ver)}
	}
	return enc, nil
}

// unitCounter passes an encoder's output to a StreamWriter, counting the
// temporal units.
type unitCounter struct {
	out   task.StreamWriter
	units int
}

func (u *unitCounter) Header(h ivf.Header) error {
	return u.out.Header(task.StreamHeader{Width: int(h.Width), Height: int(h.Height), RateNum: h.RateNum, RateDen: h.RateDen})
}

func (u *unitCounter) Frame(f ivf.Frame) error {
	if err := u.out.Unit(f.PTS, f.Data); err != nil {
		return err
	}
	u.units++
	return nil
}

// thisMachine names this machine where a chunk says where it ran.
func thisMachine() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "this machine"
}
