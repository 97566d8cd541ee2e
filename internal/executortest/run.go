package executortest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/procs"
	"github.com/av1job/av1job/internal/steer"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/internal/verify"
	"github.com/av1job/av1job/task"
)

// Bounds on the executor's answers. taskTimeout is a safety net (a task
// of the suite takes a second or two); cancelWithin is what "promptly"
// means for a cancelled context, below the 5 s a process that ignores
// SIGTERM is given before it is killed.
const (
	taskTimeout  = 2 * time.Minute
	cancelWithin = 4 * time.Second
)

// A recorder is the StreamWriter the suite hands an executor: it keeps
// what it is given and notes every breach of StreamWriter's contract (a
// second header, a unit before the header, a timestamp out of turn).
type recorder struct {
	mu      sync.Mutex
	headers []task.StreamHeader
	units   [][]byte
	faults  []string

	first     chan struct{} // closed at the first unit
	firstOnce sync.Once
	firstAt   time.Time
}

func newRecorder() *recorder { return &recorder{first: make(chan struct{})} }

func (r *recorder) Header(h task.StreamHeader) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.units) > 0 {
		r.faults = append(r.faults, fmt.Sprintf("a header after %d units", len(r.units)))
	}
	r.headers = append(r.headers, h)
	return nil
}

func (r *recorder) Unit(pts uint64, data []byte) error {
	r.mu.Lock()
	if len(r.headers) == 0 {
		r.faults = append(r.faults, fmt.Sprintf("unit %d before the header", len(r.units)))
	}
	if pts != uint64(len(r.units)) {
		r.faults = append(r.faults, fmt.Sprintf("unit %d has timestamp %d", len(r.units), pts))
	}
	r.units = append(r.units, bytes.Clone(data))
	r.mu.Unlock()
	r.firstOnce.Do(func() {
		r.mu.Lock()
		r.firstAt = time.Now()
		r.mu.Unlock()
		close(r.first)
	})
	return nil
}

// firstUnitAt returns when the first unit came (zero before).
func (r *recorder) firstUnitAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstAt
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.units)
}

// placed is a recorder that is also a task.Placed: it keeps what it is
// told, and how many units it held when it was first told.
type placed struct {
	*recorder
	told        []string
	unitsBefore int
}

func (p *placed) RunsOn(worker string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.told) == 0 {
		p.unitsBefore = len(p.units)
	}
	p.told = append(p.told, worker)
}

// A run is one Execute, steered as a job steers its tasks: by its own
// controller, whose process group its context carries.
type run struct {
	started time.Time
	ctl     *steer.Controller
	cancel  context.CancelFunc
	done    chan struct{}
	end     int
	err     error
}

// start calls x.Execute(t) in its own goroutine, steered by ctl (a new
// controller when nil).
func (s *suite) start(tt *testing.T, x task.Executor, t task.Task, out task.StreamWriter, ctl *steer.Controller) *run {
	tt.Helper()
	if ctl == nil {
		ctl = steer.New()
	}
	ctx, cancel := context.WithCancel(tools.WithGroup(context.Background(), ctl.Group()))
	r := &run{started: time.Now(), ctl: ctl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.end, r.err = x.Execute(ctx, t, out, ctl.Steer())
	}()
	tt.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(taskTimeout):
			tt.Errorf("Execute of chunk %d did not return after its context was cancelled", t.Chunk)
		}
	})
	return r
}

// wait returns what Execute returned; it fails the test if that takes
// longer than taskTimeout.
func (r *run) wait(t *testing.T) (int, error) {
	t.Helper()
	return r.waitFor(t, taskTimeout)
}

func (r *run) waitFor(t *testing.T, d time.Duration) (int, error) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-r.done:
		return r.end, r.err
	case <-timer.C:
		t.Fatalf("Execute has not returned after %v", d)
		return 0, nil
	}
}

func (r *run) ended() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// firstUnit waits for rec's first unit; it fails the test if Execute
// returns first.
func (r *run) firstUnit(t *testing.T, rec *recorder) {
	t.Helper()
	select {
	case <-rec.first:
	case <-r.done:
		t.Fatalf("Execute returned (%d, %v) before any unit", r.end, r.err)
	case <-time.After(taskTimeout):
		t.Fatal("no unit")
	}
}

// checkStream checks that rec holds frames [start, start+n) of the
// source as a StreamWriter must have them: one header of the source's
// size, then n temporal units with timestamps 0 to n-1, each valid, the
// first a keyframe with a sequence header and no other a keyframe; that
// dav1d decodes them to n frames; and that those are the source's frames
// of the range, in order (package verify: alignment and PSNR against
// the frames picked by number).
func (s *suite) checkStream(t *testing.T, rec *recorder, start, n int) {
	t.Helper()
	rec.mu.Lock()
	faults, headers, units := rec.faults, rec.headers, rec.units
	rec.mu.Unlock()
	for _, f := range faults {
		t.Errorf("stream: %s", f)
	}
	if len(headers) != 1 {
		t.Fatalf("stream: %d headers, want 1", len(headers))
	}
	h, src := headers[0], s.tmpl.Source
	if h.Width != src.Width || h.Height != src.Height || h.RateNum == 0 || h.RateDen == 0 {
		t.Errorf("stream: header %+v for a %dx%d source", h, src.Width, src.Height)
	}
	if len(units) != n {
		t.Fatalf("stream: %d units for %d frames", len(units), n)
	}
	for i, u := range units {
		if err := ivf.ValidTU(u); err != nil {
			t.Fatalf("stream: unit %d: %v", i, err)
		}
		if key := ivf.IsKeyframe(u); key != (i == 0) {
			t.Errorf("stream: unit %d is a keyframe: %v; want one keyframe, the first unit", i, key)
		}
	}
	if ivf.SequenceHeader(units[0]) == nil {
		t.Error("stream: no sequence header in the first unit")
	}
	path := writeIVF(t, h, units)
	ctx := context.Background()
	if got, err := verify.DecodeIVF(ctx, path); err != nil || got != n {
		t.Fatalf("stream: dav1d decodes %d frames (%v), want %d", got, err, n)
	}
	frames, err := s.sourceFrames(frameRange{start, start + n})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(ctx, frames, path, verify.Options{VideoOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("stream: not frames [%d,%d) of the source: %s", start, start+n, strings.Join(rep.Problems, "; "))
	}
}

// sameUnits checks that got holds the units of want, byte for byte.
func sameUnits(t *testing.T, got, want *recorder) {
	t.Helper()
	got.mu.Lock()
	defer got.mu.Unlock()
	want.mu.Lock()
	defer want.mu.Unlock()
	if len(got.units) != len(want.units) {
		t.Fatalf("%d units, the unpaused encode has %d", len(got.units), len(want.units))
	}
	for i := range got.units {
		if !bytes.Equal(got.units[i], want.units[i]) {
			t.Fatalf("unit %d differs from the unpaused encode's (%d and %d bytes)", i, len(got.units[i]), len(want.units[i]))
		}
	}
}

// writeIVF writes units as an IVF file and returns its path.
func writeIVF(t *testing.T, h task.StreamHeader, units [][]byte) string {
	t.Helper()
	var b bytes.Buffer
	w, err := ivf.NewWriter(&b, ivf.Header{FourCC: [4]byte{'A', 'V', '0', '1'}, Width: uint16(h.Width), Height: uint16(h.Height),
		RateNum: h.RateNum, RateDen: h.RateDen, Frames: uint32(len(units))})
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range units {
		if err := w.WriteFrame(uint64(i), u); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "stream.ivf")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// children returns the PIDs of this process's live children.
func children(t *testing.T) map[int]bool {
	t.Helper()
	cs, err := procs.Children()
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]bool{}
	for _, c := range cs {
		m[c.PID] = true
	}
	return m
}

// noNewChildren checks that within d every child of this process that
// is not in before has ended, and names those that have not.
func noNewChildren(t *testing.T, before map[int]bool, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var left []string
		for pid := range children(t) {
			if !before[pid] {
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
				left = append(left, fmt.Sprintf("%s (%d)", strings.TrimSpace(string(comm)), pid))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left running %v after Execute returned: %s", d, strings.Join(left, ", "))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
