package coord

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/ledger"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/steer"
	"github.com/av1job/av1job/task"
)

// The coordinator's rules, run with a fake Executor: no ffmpeg, no
// encoder, no decoder. The fake writes synthetic temporal units (a key
// frame with a sequence header, then inter frames) and the coordinator's
// independent decoder is replaced by a count of the file's units.

var (
	keyTU   = []byte{0x0A, 0x01, 0x00, 0x32, 0x01, 0x10} // sequence header, then a shown KEY_FRAME
	interTU = []byte{0x32, 0x01, 0x30}                   // a shown INTER_FRAME
)

// countUnits stands in for dav1d: it counts the IVF file's frames.
func countUnits(_ context.Context, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := ivf.NewReader(f)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			if strings.Contains(err.Error(), "EOF") {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

// fakeExec is an Executor that writes synthetic units. Hooks decide what
// each call does.
type fakeExec struct {
	// before runs first; an error fails the task before it writes.
	before func(t task.Task) error
	// unit runs after each unit is written; an error fails the task.
	unit func(t task.Task, n int) error

	mu    sync.Mutex
	calls []task.Task
}

func (f *fakeExec) Execute(ctx context.Context, t task.Task, out task.StreamWriter, s task.Steer) (int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, t)
	f.mu.Unlock()
	if f.before != nil {
		if err := f.before(t); err != nil {
			return t.Start, err
		}
	}
	if err := out.Header(task.StreamHeader{Width: 16, Height: 16, RateNum: 24, RateDen: 1}); err != nil {
		return t.Start, err
	}
	for i := range t.End - t.Start {
		select {
		case <-s.Stopping():
			if i == 0 {
				return t.Start, task.ErrStopped
			}
			return t.Start + i, nil
		case <-ctx.Done():
			return t.Start, ctx.Err()
		default:
		}
		tu := interTU
		if i == 0 {
			tu = keyTU
		}
		if err := out.Unit(uint64(i), tu); err != nil {
			return t.Start, err
		}
		if f.unit != nil {
			if err := f.unit(t, i+1); err != nil {
				return t.Start, err
			}
		}
	}
	return t.End, nil
}

func (f *fakeExec) attempts(chunk int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.calls {
		if t.Chunk == chunk {
			n++
		}
	}
	return n
}

// rig is a coordinator over a plan of chunks, with its events recorded.
type rig struct {
	c      *Coordinator
	dir    jobdir.Dir
	mu     sync.Mutex
	events []event
}

// rigState makes a job directory and the state of a job of frames frames
// (timestamps 0, 1, ...), without chunks and not yet written.
func rigState(t *testing.T, frames int) (jobdir.Dir, *jobdir.State) {
	t.Helper()
	d, _, err := jobdir.Create(filepath.Join(t.TempDir(), "job"))
	if err != nil {
		t.Fatal(err)
	}
	pts := make([]int64, frames)
	for i := range pts {
		pts[i] = int64(i)
	}
	return d, &jobdir.State{Version: jobdir.StateVersion, ID: "job1", Frames: frames, PTS: pts, TimeBase: "1/24"}
}

// newRig plans frames frames cut at bounds.
func newRig(t *testing.T, bounds []int, frames int) *rig {
	t.Helper()
	d, st := rigState(t, frames)
	st.Chunks = plan.Chunks(bounds, frames)
	if err := d.WriteState(st); err != nil {
		t.Fatal(err)
	}
	return openRig(t, d)
}

// openRig opens the job in d as a run would: journal replayed.
func openRig(t *testing.T, d jobdir.Dir) *rig {
	t.Helper()
	st, err := d.ReadState()
	if err != nil {
		t.Fatal(err)
	}
	j, recs, err := d.OpenJournal(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	tmpl := task.Task{Job: st.ID, Source: task.SourceRef{Path: "in.mkv", Size: 1, Content: "x", Width: 16, Height: 16, PixFmt: "yuv420p", TimeBase: "1/24"},
		Encoder: task.EncoderRef{Name: "rav1e", Version: "0.5.1"}, Settings: task.EncoderOptions{Speed: 10, Quantizer: 100}}
	r := &rig{dir: d}
	r.c = New(d, st, j, recs, steer.New(), tmpl)
	r.c.Decode = countUnits
	r.c.Emit = func(e Event) { r.add(event{Event: e}) }
	r.c.ctl.OnChange = func(ch steer.Change) { r.add(event{Change: ch}) }
	return r
}

// An event is what a rig records: an event of the coordinator's or a
// change of its controller's, and the counts at the time.
type event struct {
	Event
	Counts
	Change steer.Change
}

func (r *rig) add(e event) {
	e.Counts = r.c.Counts()
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *rig) kinds(k Kind) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func (r *rig) changes(ch steer.Change) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.Change == ch {
			out = append(out, e)
		}
	}
	return out
}

// records returns the journal's done records.
func (r *rig) records(t *testing.T) []jobdir.Record {
	t.Helper()
	recs, err := r.dir.ReadJournal()
	if err != nil {
		t.Fatal(err)
	}
	var done []jobdir.Record
	for _, x := range recs {
		if x.Type == jobdir.RecDone {
			done = append(done, x)
		}
	}
	return done
}

// checkTiles checks that the journal's records, replayed, tile the frames
// the coordinator recorded, each frame once, and agree with its ledger.
func (r *rig) checkTiles(t *testing.T) {
	t.Helper()
	recs, _ := r.dir.ReadJournal()
	led := ledger.Replay(r.c.st.Chunks, recs)
	covered := make([]int, r.c.st.Frames)
	for _, x := range led.DoneRecords() {
		for f := x.Start; f < x.End; f++ {
			covered[f]++
		}
		if err := checkChunkFile(r.dir.Chunk(x.Chunk), x); err != nil {
			t.Errorf("chunk %d: %v", x.Chunk, err)
		}
	}
	for f, n := range covered {
		if n > 1 {
			t.Fatalf("frame %d recorded %d times", f, n)
		}
	}
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if led.Frames() != r.c.led.Frames() || led.ChunksDone() != r.c.led.ChunksDone() || led.ChunksTotal() != r.c.led.ChunksTotal() {
		t.Errorf("journal replays to %d frames %d/%d chunks, the coordinator has %d %d/%d",
			led.Frames(), led.ChunksDone(), led.ChunksTotal(), r.c.led.Frames(), r.c.led.ChunksDone(), r.c.led.ChunksTotal())
	}
}

func TestCoordinatorRuns(t *testing.T) {
	r := newRig(t, []int{0, 10, 30, 35}, 50)
	if err := r.c.Run(context.Background(), &fakeExec{}, 2); err != nil {
		t.Fatal(err)
	}
	if !r.c.complete() {
		t.Fatal("not every chunk done")
	}
	if got := len(r.records(t)); got != 4 {
		t.Errorf("%d done records, want 4", got)
	}
	r.checkTiles(t)
	// Every chunk started before it was done; the last event counts all.
	started := map[int]bool{}
	for _, e := range r.events {
		switch e.Kind {
		case KindChunkStart:
			started[e.Chunk] = true
		case KindChunkDone:
			if !started[e.Chunk] {
				t.Errorf("chunk %d done before it started", e.Chunk)
			}
		}
	}
	done := r.kinds(KindChunkDone)
	if last := done[len(done)-1]; last.Frames != 50 || last.Chunks != 4 || last.ChunksTotal != 4 || last.FramesTotal != 50 {
		t.Errorf("last event counts %+v", last)
	}
}

// TestCoordinatorOrder: the longest chunks start first, so that the last
// ones to finish are short.
func TestCoordinatorOrder(t *testing.T) {
	r := newRig(t, []int{0, 10, 30, 35}, 50)
	var order []int
	for _, c := range r.c.Pending() {
		order = append(order, c.ID)
	}
	if fmt.Sprint(order) != "[1 3 0 2]" {
		t.Errorf("order %v, want [1 3 0 2]", order)
	}
	ex := &fakeExec{}
	if err := r.c.Run(context.Background(), ex, 1); err != nil {
		t.Fatal(err)
	}
	order = nil
	for _, task := range ex.calls {
		order = append(order, task.Chunk)
	}
	if fmt.Sprint(order) != "[1 3 0 2]" {
		t.Errorf("one worker ran %v, want [1 3 0 2]", order)
	}
}

func TestCoordinatorRetries(t *testing.T) {
	transient := errors.New("encoder crashed")
	cases := []struct {
		name      string
		failures  int // of chunk 1's attempts
		err       error
		wantErr   string
		attempts  int
		retries   int
		recorded1 bool
	}{
		{"one failure", 1, transient, "", 2, 1, true},
		{"three failures", 3, transient, "", 4, 3, true},
		{"gives up after four", 4, transient, "failed 4 times", 4, 3, false},
		{"a full disk is not retried", 1, fmt.Errorf("chunk file: %w", syscall.ENOSPC), "no space left", 1, 0, false},
		{"a bad task is not retried", 1, &task.TaskError{Msg: "source changed"}, "source changed", 1, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, []int{0, 20}, 30)
			ex := &fakeExec{before: func(task task.Task) error {
				if task.Chunk == 1 && task.Attempt <= tc.failures {
					return tc.err
				}
				return nil
			}}
			err := r.c.Run(context.Background(), ex, 1)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("run: %v, want %q", err, tc.wantErr)
			}
			if tc.err != transient && !errors.Is(err, tc.err) && !permanent(err) {
				t.Errorf("the cause is lost: %v", err)
			}
			if got := ex.attempts(1); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			if got := len(r.kinds(KindRetry)); got != tc.retries {
				t.Errorf("%d retry events, want %d", got, tc.retries)
			}
			_, done := r.c.led.Done(1)
			if done != tc.recorded1 {
				t.Errorf("chunk 1 done: %v", done)
			}
			// Attempts are numbered, and each one's task names its own.
			for i, task := range ex.calls {
				if task.Chunk == 1 && task.Attempt < 1 {
					t.Errorf("call %d: attempt %d", i, task.Attempt)
				}
			}
			r.checkTiles(t)
		})
	}
}

// TestCoordinatorFailureHalts: a chunk's permanent failure ends the job,
// but the chunks in flight end at their current frame and are recorded,
// as a stop would; nothing else starts.
func TestCoordinatorFailureHalts(t *testing.T) {
	r := newRig(t, []int{0, 40, 60, 80}, 100)
	at10 := make(chan struct{})
	ex := &fakeExec{
		before: func(task task.Task) error {
			if task.Chunk == 1 {
				<-at10 // fail once chunk 0 is under way
				return fmt.Errorf("write: %w", syscall.ENOSPC)
			}
			return nil
		},
		unit: func(task task.Task, n int) error {
			if task.Chunk == 0 && n == 10 {
				close(at10)
				<-r.c.ctl.Halted() // hold chunk 0 until chunk 1's failure has halted the job
			}
			return nil
		},
	}
	err := r.c.Run(context.Background(), ex, 2)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("run: %v", err)
	}
	recs := r.records(t)
	if len(recs) != 1 || recs[0].Chunk != 0 || recs[0].End < 10 || recs[0].End >= 40 || recs[0].Rest != 4 {
		t.Fatalf("records %+v, want chunk 0 split after frame 10 with the rest as chunk 4", recs)
	}
	if ex.attempts(2) != 0 || ex.attempts(3) != 0 {
		t.Errorf("chunks started after the failure: %v", ex.calls)
	}
	r.checkTiles(t)
}

// TestCoordinatorStop: a stop ends the running tasks at their current
// frame; each part is recorded, the rest becomes a new chunk, and a later
// run encodes exactly what is left.
func TestCoordinatorStop(t *testing.T) {
	r := newRig(t, []int{0, 40}, 80)
	var once sync.Once
	ex := &fakeExec{unit: func(task task.Task, n int) error {
		if n == 15 {
			once.Do(r.c.ctl.Stop)
		}
		return nil
	}}
	if err := r.c.Run(context.Background(), ex, 2); !errors.Is(err, task.ErrStopped) {
		t.Fatalf("run: %v, want ErrStopped", err)
	}
	if len(r.changes(steer.Stopping)) != 1 {
		t.Error("no stopping event")
	}
	recs := r.records(t)
	if len(recs) == 0 {
		t.Fatal("the stop recorded nothing")
	}
	longest := 0
	for _, x := range recs {
		if x.Rest == 0 {
			t.Errorf("record %+v: a stopped chunk keeps what it encoded and names its rest", x)
		}
		longest = max(longest, x.End-x.Start)
	}
	if longest < 15 {
		t.Errorf("records %+v: the chunk that asked for the stop had 15 frames", recs)
	}
	r.checkTiles(t)

	// The next run takes the job from the journal and encodes the rest.
	r.c.journal.Close()
	r2 := openRig(t, r.dir)
	if err := r2.c.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	ex2 := &fakeExec{}
	if err := r2.c.Run(context.Background(), ex2, 2); err != nil {
		t.Fatal(err)
	}
	encoded := 0
	for _, task := range ex2.calls {
		encoded += task.End - task.Start
	}
	r2.c.mu.Lock()
	resumed := r2.c.resumed
	r2.c.mu.Unlock()
	if !r2.c.complete() || encoded+resumed != 80 {
		t.Errorf("resumed at %d frames, encoded %d more, of 80", resumed, encoded)
	}
	r2.checkTiles(t)
}

// TestCoordinatorCancel: a cancelled job (a second Ctrl+C, a library
// caller's context) leaves its part files for the next run to salvage.
func TestCoordinatorCancel(t *testing.T) {
	r := newRig(t, []int{0, 40}, 80)
	ctx, cancel := context.WithCancel(context.Background())
	ex := &fakeExec{unit: func(task task.Task, n int) error {
		if task.Chunk == 0 && n == 12 {
			cancel()
			<-ctx.Done()
		}
		return nil
	}}
	if err := r.c.Run(ctx, ex, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if units, err := countUnits(context.Background(), r.dir.Part(0)); err != nil || units < 12 {
		t.Fatalf("part file after cancel: %d units, %v", units, err)
	}
	r.c.journal.Close()
	r2 := openRig(t, r.dir)
	if err := r2.c.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if recs := r2.records(t); len(recs) != 1 || recs[0].End-recs[0].Start < 12 {
		t.Errorf("the next run salvaged %+v", recs)
	}
}

// TestCoordinatorRefusesResults: a result is committed once; a duplicate
// delivery, a late answer to an older attempt, another job's result or
// one for frames no longer in the plan is refused and recorded nowhere.
func TestCoordinatorRefusesResults(t *testing.T) {
	r := newRig(t, []int{0, 10}, 20)
	ctx := context.Background()
	// A result as a worker would return it: frames in a part file.
	result := func(chunk, attempt, start, end int) task.Result {
		t.Helper()
		p := &partWriter{path: r.dir.Part(chunk), width: 16, height: 16}
		if err := p.Header(task.StreamHeader{Width: 16, Height: 16, RateNum: 24, RateDen: 1}); err != nil {
			t.Fatal(err)
		}
		for i := range end - start {
			tu := interTU
			if i == 0 {
				tu = keyTU
			}
			if err := p.Unit(uint64(i), tu); err != nil {
				t.Fatal(err)
			}
		}
		size, sum, err := p.finish()
		if err != nil {
			t.Fatal(err)
		}
		return task.Result{Job: "job1", Chunk: chunk, Attempt: attempt, Start: start, End: end, Size: size, SHA256: sum, File: p.path}
	}
	// Attempt 2 of chunk 0 is the one running.
	r.c.running[0] = &attempt{task: task.Task{Job: "job1", Chunk: 0, Attempt: 2, Start: 0, End: 10}, part: &partWriter{}}
	cases := []struct {
		name string
		res  task.Result
		want error
	}{
		{"another job's", func() task.Result { x := result(0, 2, 0, 10); x.Job = "job2"; return x }(), errResult},
		{"an older attempt's", result(0, 1, 0, 10), errResult},
		{"frames outside the chunk", result(0, 2, 0, 12), errResult},
		{"a chunk not in the plan", result(7, 1, 0, 10), errResult},
		{"the running attempt's", result(0, 2, 0, 10), nil},
		{"the same again", result(0, 2, 0, 10), errDuplicate},
		{"salvage of a done chunk", result(0, 0, 0, 10), errDuplicate},
	}
	for _, tc := range cases {
		err := r.c.commit(ctx, tc.res)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if recs := r.records(t); len(recs) != 1 || recs[0].Chunk != 0 {
		t.Errorf("records %+v, want chunk 0 once", recs)
	}
	r.checkTiles(t)
}

// fakePauser records an in-process encoder's pauses.
type fakePauser struct {
	mu     sync.Mutex
	paused bool
	n      int
}

func (p *fakePauser) Pause()  { p.mu.Lock(); p.paused = true; p.n++; p.mu.Unlock() }
func (p *fakePauser) Resume() { p.mu.Lock(); p.paused = false; p.mu.Unlock() }

// TestCoordinatorPause: a pause halts the attached in-process encoders
// and lets no task start until resume.
func TestCoordinatorPause(t *testing.T) {
	r := newRig(t, []int{0, 30, 40}, 50)
	fp := &fakePauser{}
	paused := make(chan struct{})
	resumed := make(chan struct{})
	var startedWhilePaused []int
	var mu sync.Mutex
	isPaused := false
	ex := &fakeExec{}
	ex.before = func(task task.Task) error {
		mu.Lock()
		if isPaused {
			startedWhilePaused = append(startedWhilePaused, task.Chunk)
		}
		mu.Unlock()
		return nil
	}
	ex.unit = func(task task.Task, n int) error {
		if task.Chunk == 0 && n == 1 {
			detach := r.c.ctl.Steer().Attach(fp)
			defer detach()
			if err := r.c.ctl.Pause(true); err != nil {
				return err
			}
			mu.Lock()
			isPaused = true
			mu.Unlock()
			close(paused)
			<-resumed
		}
		return nil
	}
	go func() {
		<-paused
		time.Sleep(100 * time.Millisecond)
		fp.mu.Lock()
		stillPaused := fp.paused
		fp.mu.Unlock()
		if !stillPaused {
			t.Error("the attached encoder was not paused")
		}
		mu.Lock()
		isPaused = false
		mu.Unlock()
		if err := r.c.ctl.Resume(true); err != nil {
			t.Error(err)
		}
		close(resumed)
	}()
	if err := r.c.Run(context.Background(), ex, 1); err != nil {
		t.Fatal(err)
	}
	if len(startedWhilePaused) > 0 {
		t.Errorf("chunks %v started while paused", startedWhilePaused)
	}
	if fp.n != 1 || fp.paused {
		t.Errorf("pauser paused %d times, paused now %v", fp.n, fp.paused)
	}
	if len(r.changes(steer.Paused)) != 1 || len(r.changes(steer.Resumed)) != 1 {
		t.Errorf("pause events %d, resume events %d", len(r.changes(steer.Paused)), len(r.changes(steer.Resumed)))
	}
	r.checkTiles(t)
}

// TestCoordinatorSalvage: a part file a crash left (complete units, then a
// torn one) is kept up to its last complete unit and recorded as a split;
// one the decoder does not accept is dropped; a finished but unrecorded
// chunk file is checked the same way.
func TestCoordinatorSalvage(t *testing.T) {
	r := newRig(t, []int{0, 20, 40}, 60)
	write := func(path string, units int, tail []byte) {
		p := &partWriter{path: path, width: 16, height: 16}
		if err := p.Header(task.StreamHeader{Width: 16, Height: 16, RateNum: 24, RateDen: 1}); err != nil {
			t.Fatal(err)
		}
		for i := range units {
			tu := interTU
			if i == 0 {
				tu = keyTU
			}
			if err := p.Unit(uint64(i), tu); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := p.finish(); err != nil {
			t.Fatal(err)
		}
		f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		f.Write(tail)
		f.Close()
	}
	write(r.dir.Part(0), 12, []byte{0x0c, 0, 0, 0, 7, 0}) // a torn unit header
	write(r.dir.Chunk(1), 20, nil)                        // renamed, never recorded
	write(r.dir.Part(2), 5, nil)
	r.c.Decode = func(ctx context.Context, path string) (int, error) {
		if strings.HasSuffix(path, "00002.ivf.part") {
			return 0, errors.New("decoder: no data decoded")
		}
		return countUnits(ctx, path)
	}
	if err := r.c.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[int][2]int{}
	for _, x := range r.records(t) {
		got[x.Chunk] = [2]int{x.Start, x.End}
	}
	want := map[int][2]int{0: {0, 12}, 1: {20, 40}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("salvaged %v, want %v", got, want)
	}
	if _, err := os.Stat(r.dir.Part(2)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a part the decoder refused was kept")
	}
	if w := r.kinds(KindWarning); len(w) == 0 || !strings.Contains(w[len(w)-1].Msg, "kept 32 frames") {
		t.Errorf("warnings %+v", w)
	}
	r.checkTiles(t)
	if pending := r.c.Pending(); len(pending) != 2 {
		t.Errorf("pending %v, want chunk 2 and the rest of chunk 0", pending)
	}
}

// planningRig is a coordinator whose chunks are planned while it runs.
func planningRig(t *testing.T, frames int) (*rig, *jobdir.State) {
	t.Helper()
	d, st := rigState(t, frames)
	tmpl := task.Task{Job: "job1", Source: task.SourceRef{Path: "in.mkv", Size: 1, Content: "x", Width: 16, Height: 16, PixFmt: "yuv420p", TimeBase: "1/24"},
		Encoder: task.EncoderRef{Name: "rav1e", Version: "0.5.1"}, Settings: task.EncoderOptions{Speed: 10, Quantizer: 100}}
	r := &rig{dir: d}
	r.c = NewPlanning(d, steer.New(), tmpl, frames)
	r.c.Decode = countUnits
	r.c.Emit = func(e Event) { r.add(event{Event: e}) }
	r.c.ctl.OnChange = func(ch steer.Change) { r.add(event{Change: ch}) }
	return r, st
}

// TestCoordinatorPlanning: chunks start as they are planned, once there
// is a choice, the most expensive of those queued first; their results
// wait for the plan, without holding a worker, and are then committed.
func TestCoordinatorPlanning(t *testing.T) {
	r, st := planningRig(t, 100)
	chunks := []plan.Chunk{{ID: 0, Start: 0, End: 30, Cost: 1}, {ID: 1, Start: 30, End: 50, Cost: 9}, {ID: 2, Start: 50, End: 100, Cost: 3}}
	ran := make(chan int, 10)
	ex := &fakeExec{before: func(task task.Task) error { ran <- task.Chunk; return nil }}
	done := make(chan error, 1)
	go func() { done <- r.c.Run(context.Background(), ex, 1) }()
	// One chunk known: the worker waits for a choice.
	r.c.AddChunks(chunks[:1], st.PTS[:40])
	select {
	case got := <-ran:
		t.Fatalf("chunk %d started with nothing to choose from", got)
	case <-time.After(100 * time.Millisecond):
	}
	r.c.AddChunks(chunks[1:], st.PTS)
	select {
	case err := <-done:
		t.Fatalf("run ended before the plan: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if recs := r.records(t); len(recs) != 0 {
		t.Fatalf("committed before the plan was written: %+v", recs)
	}
	// A result waiting for the plan gives up its worker: the next chunk
	// runs meanwhile (the last one waits for a choice).
	started := func() int {
		ex.mu.Lock()
		defer ex.mu.Unlock()
		return len(ex.calls)
	}
	for deadline := time.Now().Add(10 * time.Second); started() < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := started(); n != 2 {
		t.Errorf("%d tasks started before the plan was written, want 2", n)
	}
	if recs := r.records(t); len(recs) != 0 {
		t.Fatalf("committed before the plan was written: %+v", recs)
	}
	st.Chunks = chunks
	if err := r.dir.WriteState(st); err != nil {
		t.Fatal(err)
	}
	j, recs, err := r.dir.OpenJournal(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r.c.SetPlan(st, j, recs)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	order := []int{<-ran, <-ran, <-ran}
	if fmt.Sprint(order) != "[1 2 0]" {
		t.Errorf("ran %v: want the most expensive first, [1 2 0]", order)
	}
	if !r.c.complete() {
		t.Error("not every chunk done")
	}
	r.checkTiles(t)
}

// TestCoordinatorPlanFails: when the plan cannot be made (a damaged
// source found at the end of the pass), the job halts and nothing that
// was encoded meanwhile is recorded.
func TestCoordinatorPlanFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		parts bool // the parts stay for the next run's salvage
	}{
		{"damaged source", errors.New("in.mkv: truncated"), false},
		{"stopped", task.ErrStopped, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, st := planningRig(t, 60)
			started := make(chan struct{})
			var once sync.Once
			ex := &fakeExec{unit: func(task task.Task, n int) error {
				once.Do(func() { close(started) })
				return nil
			}}
			done := make(chan error, 1)
			go func() { done <- r.c.Run(context.Background(), ex, 2) }()
			r.c.AddChunks([]plan.Chunk{{ID: 0, Start: 0, End: 20}, {ID: 1, Start: 20, End: 40}, {ID: 2, Start: 40, End: 60}}, st.PTS)
			<-started
			r.c.FailPlan(tc.err)
			if err := <-done; !errors.Is(err, tc.err) {
				t.Fatalf("run: %v", err)
			}
			if len(r.kinds(KindChunkDone)) != 0 {
				t.Error("a chunk was done without a plan")
			}
			parts, _ := filepath.Glob(filepath.Join(r.dir.Chunks(), "*"))
			switch {
			case tc.parts && len(parts) == 0:
				t.Error("no part file was kept")
			case !tc.parts && len(parts) != 0:
				t.Errorf("files left: %v", parts)
			}
			for _, p := range parts {
				if !strings.HasSuffix(p, ".part") {
					t.Errorf("%s: not a part file", p)
				}
			}
		})
	}
}
