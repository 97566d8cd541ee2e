// Package coord is a job's coordinator: the only writer of the job's
// journal and ledger, it makes the chunks' tasks, gives each attempt a
// part file (part.go), commits results through one path, and salvages
// what a crash left (salvage.go). It reports Events and Counts; package
// av1job turns them into the job's events and status.
package coord

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/ledger"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/steer"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/task"
)

// attempts is how many times a chunk is tried before the job fails.
const attempts = 4

// A Coordinator runs one job's chunks and is the only writer of the job's
// state: the journal, the ledger and the events, and every count reported
// is derived from them. Chunk work leaves it as Tasks for an Executor and
// comes back through commit, the one path by which anything becomes done:
// results of tasks, parts of stopped tasks, and what salvage keeps of a
// crash.
//
//	pending chunks ──task──▶ Executor ──units──▶ partWriter (NNNNN.ivf.part)
//	                                                   │
//	commit: fits the ledger? ─▶ durable ─▶ decodes to its frames? ─▶ rename ─▶ journal ─▶ ledger ─▶ event
type Coordinator struct {
	dir  jobdir.Dir
	ctl  *steer.Controller
	Emit func(Event) // reports an event; the counts are Counts'
	tmpl task.Task   // the job's part of every task
	// Decode counts the frames an independent decoder gets from an IVF
	// file (verify.DecodeIVF); a test may count them otherwise.
	Decode func(ctx context.Context, path string) (int, error)
	// Recoverer, when set, gives back units an earlier run's tasks sent
	// that its part files lack (salvage).
	Recoverer task.Recoverer

	commitMu sync.Mutex    // orders commits: check, rename, append, apply
	ready    chan struct{} // closed once the plan is final (or has failed): commits wait for it
	queued   chan struct{} // signalled when chunks are queued or planning ends

	mu       sync.Mutex // guards what follows; never held across I/O
	st       *jobdir.State
	journal  *jobdir.Journal
	led      *ledger.Ledger
	planning bool         // chunks are still being planned (the scene pass runs)
	workers  int          // tasks at once (run's)
	active   int          // chunks being run (runChunk), retries included
	planErr  error        // the plan failed: the results waiting for it are void
	pts      []int64      // while planning: the final frames' timestamps
	planned  int          // while planning: chunks planned so far
	expected int          // while planning: the frames the container promises
	queue    []plan.Chunk // chunks not started yet
	running  map[int]*attempt
	resumed  int            // frames recorded before this run
	failures map[int]string // why a chunk's last attempt failed
	failure  error
	// A target-quality job's probes by chunk, and the chunk each chunk
	// made by a split was split from (see known).
	probes map[int][]task.Probe
	parent map[int]int
}

// An attempt is a task in flight and the part file its stream goes to.
type attempt struct {
	task task.Task
	part *partWriter
}

// New returns the coordinator of a planned job: its plan st,
// its journal and the journal's records.
func New(dir jobdir.Dir, st *jobdir.State, j *jobdir.Journal, recs []jobdir.Record, ctl *steer.Controller, tmpl task.Task) *Coordinator {
	c := &Coordinator{dir: dir, ctl: ctl, tmpl: tmpl, Emit: func(Event) {}, ready: make(chan struct{}), queued: make(chan struct{}, 1),
		running: map[int]*attempt{}}
	c.SetPlan(st, j, recs)
	return c
}

// NewPlanning returns the coordinator of a job whose plan is not set yet:
// chunks planned while it runs are queued by AddChunks, and its results
// wait for SetPlan. The job (package av1job) makes every coordinator so,
// and gives a planned job's its plan at once; Prepare then queues the
// chunks left to do.
func NewPlanning(dir jobdir.Dir, ctl *steer.Controller, tmpl task.Task, expected int) *Coordinator {
	return &Coordinator{dir: dir, ctl: ctl, tmpl: tmpl, Emit: func(Event) {}, ready: make(chan struct{}), queued: make(chan struct{}, 1),
		running: map[int]*attempt{}, planning: true, expected: expected}
}

// AddChunks queues chunks planned while the scene pass runs; pts are the
// timestamps of the frames final so far (at least up to their ends).
func (c *Coordinator) AddChunks(chunks []plan.Chunk, pts []int64) {
	c.mu.Lock()
	c.pts = pts
	c.queue = append(c.queue, chunks...)
	c.planned += len(chunks)
	c.mu.Unlock()
	c.signal()
}

// SetPlan makes the plan final: the job's state, its journal and its
// records (replayed into the ledger). Commits may then proceed.
func (c *Coordinator) SetPlan(st *jobdir.State, j *jobdir.Journal, recs []jobdir.Record) {
	c.mu.Lock()
	led := replay(st.Chunks, recs, c.note)
	c.st, c.journal, c.led = st, j, led
	if !c.planning {
		c.queue = led.Pending()
	}
	c.planning, c.pts = false, nil
	c.mu.Unlock()
	close(c.ready)
	c.signal()
}

// FailPlan ends a plan that cannot be made: the job halts, and the results
// of the tasks it ran are void.
func (c *Coordinator) FailPlan(err error) {
	c.mu.Lock()
	c.planErr, c.planning, c.queue = err, false, nil
	c.mu.Unlock()
	c.ctl.Halt()
	close(c.ready)
	c.signal()
}

func (c *Coordinator) signal() {
	select {
	case c.queued <- struct{}{}:
	default:
	}
}

// warn reports a warning.
func (c *Coordinator) warn(format string, a ...any) {
	c.Emit(Event{Kind: KindWarning, Msg: fmt.Sprintf(format, a...)})
}

// Prepare readies the job directory for a run: chunk files that fail their
// record's check are dropped, what a crash left of unfinished chunks is
// salvaged, and files the journal does not vouch for are removed.
func (c *Coordinator) Prepare(ctx context.Context) error {
	c.mu.Lock()
	done := c.led.DoneRecords()
	c.mu.Unlock()
	for _, r := range done {
		if err := checkChunkFile(c.dir.Chunk(r.Chunk), r); err != nil {
			c.mu.Lock()
			c.led.Forget(r.Chunk)
			c.mu.Unlock()
			// Remove it, or salvage would take the damaged file back.
			_ = os.Remove(c.dir.Chunk(r.Chunk))
			c.warn("chunk %d will be encoded again: %v", r.Chunk, err)
		}
	}
	if err := journal.SyncDir(c.dir.Chunks()); err != nil {
		return err
	}
	if err := c.salvage(ctx); err != nil {
		return err
	}
	c.removeStale()
	c.mu.Lock()
	c.resumed = c.led.Frames()
	c.queue = c.led.Pending() // checks and salvage changed what is left
	c.mu.Unlock()
	return nil
}

// removeStale deletes chunk files that the journal does not vouch for.
func (c *Coordinator) removeStale() {
	entries, _ := os.ReadDir(c.dir.Chunks())
	for _, e := range entries {
		id, part, ok := jobdir.ChunkID(e.Name())
		if !ok {
			continue // not av1job's
		}
		c.mu.Lock()
		_, done := c.led.Done(id)
		c.mu.Unlock()
		if !done || part {
			_ = os.Remove(filepath.Join(c.dir.Chunks(), e.Name()))
		}
	}
}

// Pending returns the chunks not started yet, in the order to start them.
func (c *Coordinator) Pending() []plan.Chunk {
	c.mu.Lock()
	defer c.mu.Unlock()
	return plan.CostliestFirst(c.queue)
}

// next takes the chunk to start now: of the queued chunks the one that
// goes first (the most expensive). Without one, wait says whether one may
// still come: chunks are still being planned, or a chunk being run may
// end short (its worker was lost) and leave its rest to queue. Nothing
// starts once the job halts.
func (c *Coordinator) next() (ch plan.Chunk, ok, wait bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctl.IsHalted() {
		return plan.Chunk{}, false, false
	}
	// While chunks are still being planned, a chunk starts once there is
	// a choice of more than one per worker, so that the most expensive of
	// the first ones goes first (the pass runs far ahead of the encoders:
	// the wait is short). Starting the first chunk planned at once would
	// save about 0.2 s on a long source, but could leave a short source's
	// costliest scene to start last.
	if len(c.queue) > 0 && (!c.planning || len(c.queue) > c.workers) {
		best := 0
		for i, ch := range c.queue {
			if plan.Before(ch, c.queue[best]) {
				best = i
			}
		}
		ch := c.queue[best]
		c.queue = append(c.queue[:best], c.queue[best+1:]...)
		return ch, true, false
	}
	return plan.Chunk{}, false, c.planning || c.active > 0
}

// complete reports whether every chunk is done.
func (c *Coordinator) complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.led.Complete()
}

// Files returns the chunk Files in source order.
func (c *Coordinator) Files() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var paths []string
	for _, ch := range c.led.Chunks() {
		paths = append(paths, c.dir.Chunk(ch.ID))
	}
	return paths
}

// task returns the task of one attempt at chunk ch.
func (c *Coordinator) task(ch plan.Chunk, n int) task.Task {
	t := c.tmpl
	t.Chunk, t.Attempt, t.Start, t.End = ch.ID, n, ch.Start, ch.End
	c.mu.Lock()
	pts := c.pts
	if c.st != nil {
		pts = c.st.PTS
	}
	c.mu.Unlock()
	t.PTS = pts[ch.Start:ch.End:ch.End]
	t.Source.FirstPTS = pts[0]
	if t.Target != nil {
		tq := *t.Target
		tq.Known = c.known(ch.ID)
		t.Target = &tq
	}
	return t
}

// note keeps what a record says of a target-quality search: a probe, or
// the chunk a split made. c.mu is held.
func (c *Coordinator) note(r jobdir.Record) {
	if p, ok := probeOf(r); ok {
		if c.probes == nil {
			c.probes = map[int][]task.Probe{}
		}
		c.probes[r.Chunk] = append(c.probes[r.Chunk], p)
		return
	}
	switch {
	case r.Type == jobdir.RecDone && r.Rest != 0:
		if c.parent == nil {
			c.parent = map[int]int{}
		}
		c.parent[r.Rest] = r.Chunk
	}
}

// known returns the probes chunk id's search goes on from: those of the
// first of the chunk and the chunks it was split from whose probes decide
// (so that the rest of a chunk is encoded at the chunk's quantizer), else
// the chunk's own.
func (c *Coordinator) known(id int) []task.Probe {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tmpl.Target == nil {
		return nil
	}
	tq := *c.tmpl.Target
	for cur, seen := id, map[int]bool{}; !seen[cur]; {
		seen[cur] = true
		if tq.Known = c.probes[cur]; len(tq.Known) > 0 {
			if _, _, _, ok := tq.Decide(); ok {
				return slices.Clone(tq.Known)
			}
		}
		p, ok := c.parent[cur]
		if !ok {
			break
		}
		cur = p
	}
	return slices.Clone(c.probes[id])
}

// decided returns the quantizer chunk id's probes decide, 0 when they do
// not.
func (c *Coordinator) decided(id int) int {
	if c.tmpl.Target == nil {
		return 0
	}
	tq := *c.tmpl.Target
	tq.Known = c.known(id)
	if q, _, _, ok := tq.Decide(); ok {
		return q
	}
	return 0
}

// probe keeps a probe of task t: journaled, then carried by the chunk's
// later tasks. A probe of another attempt, of frames that are no longer
// the chunk's, or outside the search's range is refused; one of a
// quantizer probed already is not kept twice.
func (c *Coordinator) probe(t task.Task, p task.Probe) error {
	if t.Target == nil || c.tmpl.Target == nil {
		return fmt.Errorf("%w: a probe of chunk %d, which has no target", errResult, t.Chunk)
	}
	if err := c.tmpl.Target.CheckProbe(p); err != nil {
		return fmt.Errorf("%w: chunk %d: %v", errResult, t.Chunk, err)
	}
	score := p.Score
	rec := jobdir.Record{Type: jobdir.RecProbe, Chunk: t.Chunk, Start: t.Start, End: t.End, Q: p.Quantizer, Score: &score, Size: p.Size}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	a, running := c.running[t.Chunk]
	var ch plan.Chunk
	ok := c.led != nil
	if ok {
		ch, ok = c.led.Chunk(t.Chunk)
	}
	j := c.journal
	dup := slices.ContainsFunc(c.probes[t.Chunk], func(k task.Probe) bool { return k.Quantizer == p.Quantizer })
	c.mu.Unlock()
	switch {
	case !running || a.task.Attempt != t.Attempt:
		return fmt.Errorf("%w: a probe of attempt %d of chunk %d, which is not running", errResult, t.Attempt, t.Chunk)
	case !ok || j == nil || ch.Start != t.Start || ch.End != t.End:
		return fmt.Errorf("%w: a probe of frames [%d,%d), which are not chunk %d's", errResult, t.Start, t.End, t.Chunk)
	case dup:
		return nil
	}
	if err := j.Append(rec); err != nil {
		return &stateError{err}
	}
	c.mu.Lock()
	c.note(rec)
	c.mu.Unlock()
	c.Emit(Event{Kind: KindFrames, Chunk: t.Chunk})
	return nil
}

// Run encodes the chunks with ex, workers at a time, trying each up to
// attempts times: the queued chunks, the most expensive first, and while
// the plan is being made those planned meanwhile. A stop or a chunk's
// permanent failure halts the job: no task starts, and those running end
// at their current frame and are committed. Run returns ErrStopped after a
// stop, the failure after one, ctx's error when cancelled.
func (c *Coordinator) Run(ctx context.Context, ex task.Executor, workers int) error {
	c.mu.Lock()
	c.workers = workers
	c.mu.Unlock()
	var wg sync.WaitGroup
	free := make(chan struct{}, max(1, workers))
	for {
		select {
		case free <- struct{}{}:
		case <-c.ctl.Halted():
		case <-ctx.Done():
		}
		if c.ctl.IsHalted() || ctx.Err() != nil {
			break
		}
		ch, ok, wait := c.next()
		if !ok {
			// The slot goes back while nothing can start: a chunk's
			// retry may need it.
			<-free
			if !wait {
				break
			}
			select {
			case <-c.queued:
			case <-c.ctl.Halted():
			case <-ctx.Done():
			}
			continue
		}
		wg.Add(1)
		c.mu.Lock()
		c.active++
		c.mu.Unlock()
		go func() {
			defer wg.Done()
			defer func() {
				c.mu.Lock()
				c.active--
				c.mu.Unlock()
				c.signal()
			}()
			s := &slot{free: free, held: true}
			defer s.release()
			c.runChunk(ctx, ex, ch, s)
		}()
	}
	wg.Wait()
	c.mu.Lock()
	failure, planErr := c.failure, c.planErr
	c.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case planErr != nil:
		return planErr
	case failure != nil:
		return failure
	case c.ctl.IsStopped():
		return task.ErrStopped
	}
	return nil
}

// fail records the job's failure (the first one counts) and halts it.
func (c *Coordinator) fail(err error) {
	c.mu.Lock()
	if c.failure == nil {
		c.failure = err
	}
	c.mu.Unlock()
	c.ctl.Halt()
}

// A slot is a worker's place among the tasks that run at once. A task
// whose result waits for the plan gives it up (so that another task
// starts), and takes one again to retry.
type slot struct {
	free chan struct{}
	held bool
}

func (s *slot) release() {
	if s.held {
		<-s.free
		s.held = false
	}
}

// acquire takes a slot; false if the job halts or ctx ends first.
func (s *slot) acquire(ctx context.Context, halted <-chan struct{}) bool {
	if s.held {
		return true
	}
	select {
	case s.free <- struct{}{}:
		s.held = true
		return true
	case <-halted:
	case <-ctx.Done():
	}
	return false
}

// runChunk runs chunk ch until it is committed, the job halts, or it has
// failed attempts times. s is the worker's slot.
func (c *Coordinator) runChunk(ctx context.Context, ex task.Executor, ch plan.Chunk, s *slot) {
	var last error
	for n := 1; n <= attempts; n++ {
		if !s.acquire(ctx, c.ctl.Halted()) {
			return
		}
		if err := c.ctl.Wait(ctx); err != nil || c.ctl.IsHalted() {
			return
		}
		err := c.attempt(ctx, ex, c.task(ch, n), s)
		switch {
		case err == nil, errors.Is(err, errDuplicate):
			return
		case ctx.Err() != nil, errors.Is(err, task.ErrStopped):
			return
		case permanent(err):
			c.fail(fmt.Errorf("%s: %w", ch, err))
			return
		}
		last = err
		c.noteFailure(ch.ID, err)
		if n < attempts && !c.ctl.IsHalted() {
			c.Emit(Event{Kind: KindRetry, Chunk: ch.ID, Err: err})
		}
	}
	if !c.ctl.IsHalted() {
		c.fail(fmt.Errorf("%s failed %d times, giving up (finished chunks are kept; run the same command to resume): %w", ch, attempts, last))
	}
}

// attempt runs one task and commits its result. A result made while the
// plan is still being made gives up the slot s while it waits for it.
func (c *Coordinator) attempt(ctx context.Context, ex task.Executor, t task.Task, s *slot) error {
	a := &attempt{task: t, part: &partWriter{path: c.dir.Part(t.Chunk), width: c.tmpl.Source.Width, height: c.tmpl.Source.Height, begun: time.Now(), score: math.NaN()}}
	if t.Target != nil {
		a.part.onProbe = func(p task.Probe) error { return c.probe(t, p) }
	}
	var units int
	a.part.onUnit = func() {
		if units++; units%8 == 0 {
			c.Emit(Event{Kind: KindFrames, Chunk: t.Chunk})
		}
	}
	c.mu.Lock()
	if _, busy := c.running[t.Chunk]; busy {
		c.mu.Unlock()
		return fmt.Errorf("chunk %d is already running", t.Chunk)
	}
	c.running[t.Chunk] = a
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.running, t.Chunk)
		c.mu.Unlock()
	}()
	if t.Target != nil {
		// Probes are journaled as they are made: a target-quality task
		// waits for the plan (and the journal) to be final.
		select {
		case <-c.ready:
		case <-c.ctl.Halted():
			return task.ErrStopped
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.Emit(Event{Kind: KindChunkStart, Chunk: t.Chunk})
	end, err := ex.Execute(ctx, t, a.part, c.ctl.Steer())
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled, not failed: what was written stays for the
			// next run's salvage.
			a.part.keep()
		} else {
			a.part.discard()
		}
		return err
	}
	res, err := c.result(a, end)
	if err == nil {
		select {
		case <-c.ready:
		default:
			s.release()
		}
		err = c.commit(ctx, res)
	}
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, task.ErrStopped):
		// Stopped before its plan was written: the part, durable by
		// now, stays for the next run's salvage.
		a.part.keep()
	default:
		// Not committed (refused, or failed a check): the part goes; a
		// committed chunk's file has its final name by now.
		a.part.discard()
	}
	return err
}

// result makes the part file of a finished attempt durable and describes
// it.
func (c *Coordinator) result(a *attempt, end int) (task.Result, error) {
	t := a.task
	res := task.Result{Job: t.Job, Chunk: t.Chunk, Attempt: t.Attempt, Start: t.Start, End: end, File: a.part.path}
	if end <= t.Start || end > t.End {
		return res, fmt.Errorf("executor: the stream ends at frame %d, outside [%d,%d]", end, t.Start+1, t.End)
	}
	if units, _ := a.part.progress(); units != res.Frames() {
		return res, fmt.Errorf("encoder: %d temporal units for frames [%d,%d)", units, res.Start, res.End)
	}
	var err error
	res.Size, res.SHA256, err = a.part.finish()
	res.Worker, res.Took = a.part.placement()
	if q, score := a.part.quality(); q > 0 {
		res.Quantizer = q
		if !math.IsNaN(score) {
			res.Score, res.Scored = score, true
		}
	} else if t.Target != nil {
		// Not reported (a remote worker lost before it said): the
		// quantizer is the one the probes decide.
		res.Quantizer = c.decided(t.Chunk)
	}
	return res, err
}

// errDuplicate: the chunk of a result is done already.
var errDuplicate = fmt.Errorf("%w: the chunk is done already", errResult)

// commit records a result: the one path by which a chunk becomes done.
// A result that does not fit (another job's, a chunk already done or no
// longer in the plan, an attempt other than the one running) is refused
// before anything is checked or changed, and its file is left alone. An
// accepted result's file must decode to its frames with an independent
// decoder; it is then renamed into place, recorded in the journal (fsync)
// and applied to the ledger, in that order. A result that ends short of
// its chunk splits it: the rest becomes a new chunk.
func (c *Coordinator) commit(ctx context.Context, res task.Result) error {
	// A result made while the plan was still being made waits for it.
	select {
	case <-c.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := c.fits(res); err != nil {
		return err
	}
	// An independent decoder must get every frame back.
	if err := c.ctl.WaitPause(ctx); err != nil {
		return err
	}
	n, err := c.Decode(ctx, res.File)
	if err == nil && n != res.Frames() {
		err = fmt.Errorf("chunk file decodes to %d frames, want %d", n, res.Frames())
	}
	if err != nil {
		return err
	}

	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	if err := c.fits(res); err != nil {
		return err
	}
	rec := jobdir.Record{Type: jobdir.RecDone, Chunk: res.Chunk, Start: res.Start, End: res.End, Size: res.Size, SHA256: res.SHA256,
		Worker: res.Worker, Secs: math.Round(res.Took.Seconds()*1000) / 1000, Salvaged: res.Attempt == 0, Q: res.Quantizer}
	if res.Scored {
		score := res.Score
		rec.Score = &score
	}
	c.mu.Lock()
	ch, _ := c.led.Chunk(res.Chunk)
	if res.End < ch.End {
		rec.Rest = c.led.NextID()
	}
	c.mu.Unlock()
	if rec.Rest != 0 {
		// No file may stand under the new chunk's name before the record
		// that creates the chunk: a stale one would later pass for it.
		_ = os.Remove(c.dir.Chunk(rec.Rest))
		_ = os.Remove(c.dir.Part(rec.Rest))
	}
	final := c.dir.Chunk(res.Chunk)
	if res.File != final {
		if err := os.Rename(res.File, final); err != nil {
			return fmt.Errorf("chunk file: %w", err)
		}
	}
	if err := journal.SyncDir(c.dir.Chunks()); err != nil {
		return &stateError{err}
	}
	if err := c.journal.Append(rec); err != nil {
		return &stateError{err}
	}
	c.mu.Lock()
	err = c.led.Apply(rec)
	if err == nil {
		c.note(rec)
		// Its frames count in the ledger now, no longer in flight.
		delete(c.running, res.Chunk)
		// A task that ended short without a stop (its worker was lost)
		// leaves the rest to run now.
		if rest, ok := c.led.Chunk(rec.Rest); ok && rec.Rest != 0 && !c.ctl.IsHalted() {
			c.queue = append(c.queue, rest)
		}
	}
	c.mu.Unlock()
	c.signal()
	if err != nil {
		return fmt.Errorf("journal: record for chunk %d does not fit the plan: %w", res.Chunk, err)
	}
	c.Emit(Event{Kind: KindChunkDone, Chunk: res.Chunk})
	return nil
}

// fits returns why res cannot be committed, or nil.
func (c *Coordinator) fits(res task.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.planErr != nil {
		return c.planErr
	}
	if res.Job != c.tmpl.Job {
		return fmt.Errorf("%w: it is for job %s, this is job %s", errResult, res.Job, c.tmpl.Job)
	}
	if _, done := c.led.Done(res.Chunk); done {
		return errDuplicate
	}
	if err := c.led.Check(res.Chunk, res.Start, res.End); err != nil {
		return fmt.Errorf("%w: %v", errResult, err)
	}
	a, running := c.running[res.Chunk]
	switch {
	case res.Attempt == 0 && running:
		return fmt.Errorf("%w: chunk %d is being encoded", errResult, res.Chunk)
	case res.Attempt != 0 && (!running || a.task.Attempt != res.Attempt):
		return fmt.Errorf("%w: attempt %d of chunk %d is not the one running", errResult, res.Attempt, res.Chunk)
	}
	return nil
}

// AppendRecord writes a record that is not a chunk's (the output's
// identity, the end of the job, a failure).
func (c *Coordinator) AppendRecord(r jobdir.Record) error {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	j := c.journal
	c.mu.Unlock()
	if j == nil {
		return nil // never planned: there is no job to record anything of
	}
	if err := j.Append(r); err != nil {
		return &stateError{err}
	}
	return nil
}

// errResult reports a result the coordinator refuses: a duplicate, a late
// answer to an older attempt, frames that no longer fit the plan.
var errResult = errors.New("result refused")

// Counts returns the job's counts, from the ledger and the chunks in
// flight.
func (c *Coordinator) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n Counts
	if c.led != nil {
		n.FramesTotal = c.st.Frames
		n.Chunks, n.ChunksTotal = c.led.ChunksDone(), c.led.ChunksTotal()
		n.Frames, n.Bytes = c.led.Frames(), c.led.Bytes()
	} else {
		n.FramesTotal, n.ChunksTotal = c.expected, c.planned
	}
	for _, a := range c.running {
		u, s := a.part.progress()
		n.Frames, n.Bytes = n.Frames+u, n.Bytes+s
	}
	n.Resumed = c.resumed
	return n
}

// WithLedger calls fn with the plan and the ledger under the coordinator's
// lock, and reports whether it did: not while the plan is being made.
func (c *Coordinator) WithLedger(fn func(*jobdir.State, *ledger.Ledger)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.led == nil {
		return false
	}
	fn(c.st, c.led)
	return true
}

// Frames is the number of frames in the plan.
func (c *Coordinator) Frames() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Frames
}

// CloseJournal closes the journal; nothing is recorded after it.
func (c *Coordinator) CloseJournal() {
	c.mu.Lock()
	j := c.journal
	c.mu.Unlock()
	if j != nil {
		j.Close()
	}
}

// A Kind says what a coordinator's event reports.
type Kind int

// The coordinator's events.
const (
	KindChunkStart Kind = iota + 1 // a chunk's task started
	KindFrames                     // a chunk's task wrote units or made a probe
	KindChunkDone                  // a chunk was recorded done
	KindRetry                      // a chunk's attempt failed and the chunk is tried again; Err says why
	KindWarning                    // something the user should know; Msg
)

// A Event is something a coordinator reports; the job's counts at the
// time are its Counts.
type Event struct {
	Kind  Kind
	Chunk int // the chunk's ID, for chunk events
	Msg   string
	Err   error // for KindRetry
}

// Counts are a job's counts as its coordinator derives them from the
// ledger and the chunks in flight.
type Counts struct {
	FramesTotal int   // frames in the source: the plan's, or the container's promise while planning
	ChunksTotal int   // chunks in the plan, splits included (planned so far, while planning)
	Chunks      int   // chunks recorded done
	Frames      int   // frames encoded: recorded, and written by the chunks in flight
	Bytes       int64 // bytes of the recorded chunks' files and of those in flight
	Resumed     int   // frames that were recorded before this run started
}

// A stateError is a failure to write the job's own state (its journal,
// its directory): the journal refuses every append after a failed one, so
// trying a chunk again cannot help.
type stateError struct{ err error }

func (e *stateError) Error() string { return e.err.Error() }

func (e *stateError) Unwrap() error { return e.err }

// permanent reports errors that trying a chunk again cannot fix: a full
// disk, a read-only file system, no permission, a missing program, a task
// that is not valid, the job's state that cannot be written, a source
// that is not the job's any more, a NATS store that takes no writes.
func permanent(err error) bool {
	var (
		miss    *tools.MissingError
		bad     *task.TaskError
		state   *stateError
		changed *task.SourceChangedError
		store   *task.StoreError
	)
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EDQUOT) || errors.As(err, &miss) || errors.As(err, &bad) || errors.As(err, &state) ||
		errors.As(err, &changed) || errors.As(err, &store)
}

// Failed records the job's failure err in the journal, so that status
// says why, and returns it. A stop or a cancellation is no failure, and a
// journal that Failed itself takes no more records.
func (c *Coordinator) Failed(ctx context.Context, err error) error {
	var state *stateError
	if ctx.Err() != nil || errors.Is(err, task.ErrStopped) || errors.As(err, &state) {
		return err
	}
	if aerr := c.AppendRecord(jobdir.Record{Type: jobdir.RecFailed, Error: err.Error()}); aerr != nil {
		// One line: what failed the job, then why it is not recorded.
		return fmt.Errorf("%w (and the failure could not be recorded: %v)", err, aerr)
	}
	return err
}
