package coord

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/task"
)

// syncEvery bounds what a power cut can take of a chunk being written:
// the part file is fsynced this often.
const syncEvery = 2 * time.Second

// A partWriter writes one task's stream to the chunk's part file in the
// job directory, checking and counting as it goes: the coordinator gives
// one to each task it runs, and commits the file when the task is done.
type partWriter struct {
	path          string // the part file
	width, height int    // the source's size, which the stream must have
	onUnit        func() // called after each temporal unit is written
	// onProbe keeps a target-quality probe (QualityRecorder); nil when
	// the job has no target.
	onProbe func(task.Probe) error
	begun   time.Time

	mu       sync.Mutex // guards what progress reads
	worker   string     // where the task runs, when the executor says (RunsOn)
	started  time.Time  // when it started running there
	ended    time.Time  // when the stream was complete
	f        *os.File
	h        hash.Hash
	w        *ivf.Writer
	size     int64
	units    int
	lastSync time.Time
	q        int     // the quantizer a target-quality task chose
	score    float64 // and its score, NaN when not measured
	probing  int     // probes made by the task so far
}

func (p *partWriter) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.h.Write(b[:n])
	p.mu.Lock()
	p.size += int64(n)
	p.mu.Unlock()
	return n, err
}

// Header creates the part file with the stream's IVF header.
func (p *partWriter) Header(h task.StreamHeader) error {
	if h.Width != p.width || h.Height != p.height {
		return fmt.Errorf("encoder output is %dx%d, source is %dx%d", h.Width, h.Height, p.width, p.height)
	}
	if p.f != nil {
		return errors.New("encoder output: a second stream header")
	}
	f, err := os.OpenFile(p.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("chunk file: %w", err)
	}
	// The name must survive a power cut too, or the synced data is lost.
	if err := journal.SyncDir(filepath.Dir(p.path)); err != nil {
		f.Close()
		return err
	}
	p.f, p.h, p.lastSync = f, sha256.New(), time.Now()
	w, err := ivf.NewWriter(p, ivf.AV1Header(h.Width, h.Height, h.RateNum, h.RateDen))
	if err != nil {
		return fmt.Errorf("chunk file: %w", err)
	}
	p.w = w
	return nil
}

// Unit writes one temporal unit.
func (p *partWriter) Unit(pts uint64, data []byte) error {
	if p.w == nil {
		return errors.New("encoder output: a temporal unit before the stream header")
	}
	if pts != uint64(p.units) {
		return fmt.Errorf("encoder output: temporal unit %d has timestamp %d", p.units, pts)
	}
	if p.units == 0 && !ivf.IsKeyframe(data) {
		return errors.New("encoder output: the first temporal unit is not a keyframe with a sequence header")
	}
	if err := p.w.WriteFrame(pts, data); err != nil {
		return fmt.Errorf("chunk file: %w", err)
	}
	p.mu.Lock()
	p.units++
	p.mu.Unlock()
	if time.Since(p.lastSync) >= syncEvery {
		if err := p.f.Sync(); err != nil {
			return fmt.Errorf("chunk file: sync: %w", err)
		}
		p.lastSync = time.Now()
	}
	if p.onUnit != nil {
		p.onUnit()
	}
	return nil
}

// RunsOn tells the part where its task runs: a worker's name (a part is
// a task.Placed). An executor that places tasks calls it when the task
// starts there; the time counts from then.
func (p *partWriter) RunsOn(worker string) {
	p.mu.Lock()
	p.worker, p.started = worker, time.Now()
	p.mu.Unlock()
}

// Probe keeps a target-quality probe; see QualityRecorder.
func (p *partWriter) Probe(pr task.Probe) error {
	if p.onProbe == nil {
		return errors.New("quality: a probe for a task without a target")
	}
	if err := p.onProbe(pr); err != nil {
		return err
	}
	p.mu.Lock()
	p.probing++
	p.mu.Unlock()
	return nil
}

// Quality keeps the chosen quantizer and the stream's score; see
// QualityRecorder.
func (p *partWriter) Quality(q int, score float64) {
	p.mu.Lock()
	p.q, p.score = q, score
	p.mu.Unlock()
}

// quality returns the quantizer and score reported (0 when none).
func (p *partWriter) quality() (q int, score float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.q, p.score
}

// placement returns where the task runs and how long it has run (until
// its stream was complete, once it is).
func (p *partWriter) placement() (worker string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start, end := p.started, p.ended
	if start.IsZero() {
		start = p.begun
	}
	if end.IsZero() {
		end = time.Now()
	}
	if start.IsZero() {
		return p.worker, 0
	}
	return p.worker, end.Sub(start)
}

// progress returns the units and bytes written so far.
func (p *partWriter) progress() (units int, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.units, p.size
}

// finish makes the part file durable and closes it, and returns its size
// and SHA-256.
func (p *partWriter) finish() (int64, string, error) {
	if p.f == nil {
		return 0, "", errors.New("encoder wrote no output")
	}
	if err := p.f.Sync(); err != nil {
		return 0, "", fmt.Errorf("chunk file: sync %s: %w", p.path, err)
	}
	if err := p.f.Close(); err != nil {
		return 0, "", fmt.Errorf("chunk file: close %s: %w", p.path, err)
	}
	p.f = nil
	p.mu.Lock()
	p.ended = time.Now()
	p.mu.Unlock()
	return p.size, hex.EncodeToString(p.h.Sum(nil)), nil
}

// keep closes the part file as it is, for salvage by a later run.
func (p *partWriter) keep() {
	if p.f != nil {
		_ = p.f.Sync()
		_ = p.f.Close()
		p.f = nil
	}
}

// discard closes and removes a part file that will not be committed.
func (p *partWriter) discard() {
	if p.f != nil {
		_ = p.f.Close()
		p.f = nil
	}
	_ = os.Remove(p.path)
}
