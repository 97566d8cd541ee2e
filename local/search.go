package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/quality"
	"github.com/av1job/av1job/task"
)

// probeFrames is about how many frames of a probe are scored: every k-th
// frame of a longer chunk (the probe encodes them all). k is odd: rav1e
// gives the frames of a group of eight different quantizers by their
// place in it, so an even k would score only the better ones (scoring
// every second frame measured 75.1 where all frames score 69.9).
const probeFrames = 60

// probeStep returns k for a chunk of n frames.
func probeStep(n int) int {
	k := max(1, (n+probeFrames-1)/probeFrames)
	if k%2 == 0 {
		k++
	}
	return k
}

// search runs t's probe encodes until its target's search decides, each
// reported to out when it is a QualityRecorder, and returns the quantizer.
// A stop ends it with ErrStopped; the probes finished are kept.
func (x *Executor) search(ctx context.Context, enc encode.Encoder, t task.Task, out task.StreamWriter, steer task.Steer) (int, error) {
	tq := *t.Target
	tq.Known = append([]task.Probe(nil), tq.Known...)
	rec, _ := out.(task.QualityRecorder)
	every := probeStep(t.End - t.Start)
	if tq.Stat != quality.StatMean {
		// The worst frames must be among those scored.
		every = 1
	}
	for {
		next, q := tq.Next()
		if next == 0 {
			return q, nil
		}
		s, err := t.EncodeSettings()
		if err != nil {
			return 0, &task.TaskError{Task: t, Msg: err.Error(), Err: err}
		}
		s.Quantizer, s.Threads = next, x.Threads
		if tq.ProbeSpeed > 0 {
			s.Speed = tq.ProbeSpeed
		}
		size, scores, err := x.measure(ctx, enc, t, s, steer, every)
		if err != nil {
			return 0, err
		}
		p := task.Probe{Quantizer: next, Score: quality.Stat(scores, tq.Stat), Size: size}
		if rec != nil {
			if err := rec.Probe(p); err != nil {
				return 0, err
			}
		}
		tq.Known = append(tq.Known, p)
	}
}

// measure encodes t's frames with s to a temporary file and scores them
// (every k-th frame) against the source. It returns the stream's size.
func (x *Executor) measure(ctx context.Context, enc encode.Encoder, t task.Task, s encode.Settings, steer task.Steer, every int) (int64, []float64, error) {
	f, err := tempFile()
	if err != nil {
		return 0, nil, fmt.Errorf("probe: %w", err)
	}
	defer f.Close()
	w := &ivfFile{f: f}
	fed, err := x.encodeFrames(ctx, enc, t, s, w, steer)
	if err == nil && fed < t.End-t.Start {
		err = task.ErrStopped // a probe of part of the chunk says nothing
	}
	if err != nil {
		return 0, nil, err
	}
	scores, err := x.score(ctx, t, f, fed, steer, every)
	return w.size, scores, err
}

// namedTempFile returns a new file in the temporary directory whose name
// is removed at once.
func namedTempFile() (*os.File, error) {
	f, err := os.CreateTemp("", "av1job-*.ivf")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// score scores the IVF file dist (read through its descriptor), frames
// [t.Start, t.Start+n) of t encoded, against the source's frames, every
// k-th frame. The scoring pauses with the job, between frames.
func (x *Executor) score(ctx context.Context, t task.Task, dist *os.File, n int, steer task.Steer, every int) ([]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rt := t
	rt.End, rt.PTS = t.Start+n, t.PTS[:n]
	src, err := openSource(ctx, rt)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	pr, pw := io.Pipe()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		hdr := src.Header()
		buf := make([]byte, src.FrameSize())
		_, err := fmt.Fprintf(pw, "%s\n", hdr.Raw)
		for i := 0; err == nil && i < n; i++ {
			if err = src.ReadFrame(buf); err == nil {
				if _, err = io.WriteString(pw, "FRAME\n"); err == nil {
					_, err = pw.Write(buf)
				}
			}
		}
		pw.CloseWithError(err)
	}()
	g := newGate()
	detach := steer.Attach(g)
	color := quality.Color(t.Settings.Matrix, t.Settings.FullRange)
	scores, err := quality.ScoreIVF(ctx, t.Target.Metric, pr, dist, color, quality.ScoreOptions{Every: every, Hold: g.hold})
	g.end()
	detach()
	// The feeder ends before the source is closed (deferred): ffmpeg is
	// cancelled, the pipe closed.
	cancel()
	pr.CloseWithError(io.ErrClosedPipe)
	<-fed
	if err == nil && len(scores) != (n+every-1)/every {
		err = fmt.Errorf("%d scores for %d frames scored every %d", len(scores), n, every)
	}
	if err != nil {
		return nil, fmt.Errorf("quality: chunk %d: %w", t.Chunk, err)
	}
	return scores, nil
}

// gate is the Pauser of a task's scoring: Pause waits for the frame being
// scored and holds the next one until Resume.
type gate struct {
	mu                   sync.Mutex
	cond                 *sync.Cond
	paused, busy, closed bool
}

func newGate() *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// hold is called before each frame is scored.
func (g *gate) hold() {
	g.mu.Lock()
	g.busy = false
	g.cond.Broadcast()
	for g.paused && !g.closed {
		g.cond.Wait()
	}
	g.busy = true
	g.mu.Unlock()
}

// end reports that scoring is over: nothing waits for it any more.
func (g *gate) end() {
	g.mu.Lock()
	g.closed, g.busy = true, false
	g.cond.Broadcast()
	g.mu.Unlock()
}

// Pause returns once no frame is being scored.
func (g *gate) Pause() {
	g.mu.Lock()
	g.paused = true
	for g.busy && !g.closed {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

func (g *gate) Resume() {
	g.mu.Lock()
	g.paused = false
	g.cond.Broadcast()
	g.mu.Unlock()
}

// ivfFile is a StreamWriter that writes an IVF file.
type ivfFile struct {
	f    *os.File
	w    *ivf.Writer
	size int64
}

func (v *ivfFile) Write(b []byte) (int, error) {
	n, err := v.f.Write(b)
	v.size += int64(n)
	return n, err
}

func (v *ivfFile) Header(h task.StreamHeader) error {
	w, err := ivf.NewWriter(v, ivf.AV1Header(h.Width, h.Height, h.RateNum, h.RateDen))
	v.w = w
	return err
}

func (v *ivfFile) Unit(pts uint64, data []byte) error {
	if v.w == nil {
		return fmt.Errorf("encoder output: a temporal unit before the stream header")
	}
	return v.w.WriteFrame(pts, data)
}

// tee is a StreamWriter that writes to two.
type tee struct{ a, b task.StreamWriter }

func (t tee) Header(h task.StreamHeader) error {
	if err := t.a.Header(h); err != nil {
		return err
	}
	return t.b.Header(h)
}

func (t tee) Unit(pts uint64, data []byte) error {
	if err := t.a.Unit(pts, data); err != nil {
		return err
	}
	return t.b.Unit(pts, data)
}
