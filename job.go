package av1job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/av1job/av1job/internal/claim"
	"github.com/av1job/av1job/internal/control"
	"github.com/av1job/av1job/internal/coord"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/steer"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/internal/verify"
	"github.com/av1job/av1job/local"
	"github.com/av1job/av1job/task"
)

// A Job encodes one input to one output. It can be paused, resumed and
// stopped, and its state read, from other goroutines while Run runs (from
// an event handler too). A Job runs once.
type Job struct {
	o   Options
	ctl *steer.Controller
	bus *bus

	mu     sync.Mutex // guards what follows
	state  string     // StatusInfo.State once Run has ended; "" before
	dir    jobdir.Dir
	total  int // the source's frames as the container promises, before planning
	coord  *coord.Coordinator
	errMsg string
	// started is when Run began; other the estimated bytes of the
	// output's streams besides the video; summary what the job made, once
	// its output is in place.
	started time.Time
	other   int64
	summary *Summary
}

// New returns a job for o; nothing happens until Run. When o.Events is set
// it is subscribed to every event.
func New(o Options) *Job {
	o.defaults()
	jb := &Job{o: o, ctl: steer.New(), bus: newBus(), dir: jobdir.At(o.JobDir)}
	jb.ctl.OnChange = func(ch steer.Change) { jb.publish(Event{Kind: changeKinds[ch]}) }
	if o.Events != nil {
		jb.bus.subscribe(o.Events)
	}
	return jb
}

// Subscribe returns a channel that receives the job's events of the given
// kinds (every kind when none are given) in order, and a function that
// ends the subscription. The channel is closed when the subscription ends,
// or after the last event once Run has returned. A reader that falls
// behind holds up nobody, Run included: its progress events are
// coalesced, and no other event is dropped. A reader that stops reading
// before the channel is closed must call the function.
func (jb *Job) Subscribe(kinds ...EventKind) (<-chan Event, func()) {
	ch := make(chan Event, 64)
	stop := make(chan struct{})
	s, cancel := jb.bus.subscribeDetached(func(e Event) {
		select {
		case ch <- e:
		case <-stop:
		}
	}, kinds...)
	go func() {
		<-s.done
		close(ch)
	}()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			close(stop)
			cancel()
		})
	}
}

// publish stamps e with the time and the job's counts and hands it to the
// subscribers; it never blocks.
func (jb *Job) publish(e Event) {
	e.Time = time.Now()
	jb.mu.Lock()
	c, total, other := jb.coord, jb.total, jb.other
	jb.mu.Unlock()
	if c != nil {
		e.setCounts(c.Counts())
	} else {
		e.FramesTotal = total
	}
	e.OtherBytes = other
	_, _, e.Paused = jb.ctl.PauseState()
	jb.bus.publish(e)
}

func (jb *Job) warn(format string, a ...any) {
	jb.publish(Event{Kind: EventWarning, Msg: fmt.Sprintf(format, a...)})
}

// Pause freezes every process of the job (SIGSTOP), halts its in-process
// encoders between two librav1e calls, and holds back new chunks until
// Resume. The encoders keep their state in memory; from the moment Pause
// returns the job uses no CPU, and its output is the same as if it had
// never paused.
func (jb *Job) Pause() error { return jb.ctl.Pause(true) }

// Resume continues a paused job.
func (jb *Job) Resume() error { return jb.ctl.Resume(true) }

// Stop ends the job without losing work: every chunk in flight stops at
// its current frame, the encoder flushes what it was given, the encoded
// part is recorded and the rest becomes a new chunk; a job still probing
// or detecting scenes stops at once. Run then returns ErrStopped. Stop
// returns at once.
func (jb *Job) Stop() { jb.ctl.Stop() }

// Paused reports whether the job is paused by Pause.
func (jb *Job) Paused() bool {
	p, _, _ := jb.ctl.PauseState()
	return p
}

// Freeze freezes the job's processes like Pause, for a terminal stop
// (Ctrl+Z): Thaw undoes it but leaves a Pause in place.
func (jb *Job) Freeze() error { return jb.ctl.Pause(false) }

// Thaw continues what Freeze froze, unless the job is paused by Pause.
func (jb *Job) Thaw() error { return jb.ctl.Resume(false) }

// Status returns the job's state, the same as `av1job status --json`
// prints for it.
func (jb *Job) Status() *StatusInfo {
	jb.mu.Lock()
	info := &StatusInfo{Job: jb.dir.Path(), Output: jb.o.Output, State: jb.state, PID: os.Getpid(), FramesTotal: jb.total, Error: jb.errMsg,
		OtherBytes: jb.other, Summary: jb.summary}
	c := jb.coord
	jb.mu.Unlock()
	if c != nil {
		coordStatus(c, info)
	}
	if info.State != "" {
		info.PID = 0
		return info
	}
	info.State = StateRunning
	if paused, since, _ := jb.ctl.PauseState(); paused {
		info.State, info.PausedSince = StatePaused, since
	}
	if jb.ctl.IsStopped() {
		info.State = StateStopping
	}
	return info
}

// handle answers the control socket.
func (jb *Job) handle(cmd string) (any, error) {
	var err error
	switch cmd {
	case "pause":
		err = jb.ctl.Pause(true)
	case "resume":
		err = jb.ctl.Resume(true)
	case "stop":
		jb.ctl.Stop()
	case "status":
	default:
		return nil, errors.New("unknown command " + cmd)
	}
	return jb.Status(), err
}

// Run encodes o.Input to o.Output with a new Job; see Job.Run.
func Run(ctx context.Context, o Options) error { return New(o).Run(ctx) }

// Run encodes the job's input to its output, resuming the job in its job
// directory if there is one with the same fingerprint. It returns a
// *UsageError for bad options or inputs (nothing is changed on disk then),
// ErrStopped after Stop, ctx's error when cancelled (work in flight is
// salvaged by the next run), or the error that failed the job. Every event
// has been delivered when Run returns.
func (jb *Job) Run(ctx context.Context) error {
	err := jb.run(ctx)
	var store *task.StoreError // says where, and what next, itself
	if errors.Is(err, syscall.ENOSPC) && !strings.Contains(err.Error(), "the disk is full") && !errors.As(err, &store) {
		err = fmt.Errorf("the disk is full (%w); free some space and run the same command (finished chunks are kept)", err)
	}
	state := StateDone
	switch {
	case errors.Is(err, ErrStopped), errors.Is(err, context.Canceled):
		state = StateStopped
	case err != nil:
		state = StateFailed
	}
	jb.mu.Lock()
	jb.state = state
	if err != nil && state == StateFailed {
		jb.errMsg = err.Error()
	}
	jb.mu.Unlock()
	jb.bus.close()
	return err
}

// run takes the job from its options to its output: check, claim the
// output, probe, prepare, make or adopt the job directory (lock, control
// socket), load the plan (loadPlan) and encode, the one pipeline of a new
// and a resumed job.
func (jb *Job) run(ctx context.Context) error {
	o := jb.o
	jb.mu.Lock()
	jb.started = time.Now()
	jb.mu.Unlock()
	enc, err := o.check(jb.dir)
	if err != nil {
		return err
	}
	if o.Dir == "" {
		// Load resolves the stored relative paths against it.
		o.Dir, _ = os.Getwd()
	}
	ctx = tools.WithGroup(ctx, jb.ctl.Group())
	// Stop works at every stage: until the chunks run, it cancels what
	// runs (probing, hashing, scene detection).
	sctx, cancel := steer.CancelOn(ctx, jb.ctl.Stopped())
	defer cancel()
	stopped := func(err error) error {
		if err != nil && jb.ctl.IsStopped() && ctx.Err() == nil {
			return ErrStopped
		}
		return err
	}

	cl, err := claim.Take(o.Output, jb.dir.Path())
	if err != nil {
		return classify(err)
	}
	defer cl.Release()
	src, err := probe.Probe(sctx, o.Input)
	if err != nil {
		return stopped(classify(err))
	}
	jb.mu.Lock()
	jb.total = src.Video.ExpectedFrames()
	jb.mu.Unlock()
	p, err := prepare(sctx, &o, src, enc, jb.dir)
	if err != nil {
		return stopped(classify(err))
	}
	if p.finished {
		return jb.alreadyDone(&o, p)
	}
	if pl, err := o.streams(src); err == nil {
		jb.mu.Lock()
		jb.other = otherBytes(src, pl, 0)
		jb.mu.Unlock()
	}

	// fresh: this run made the job directory (or adopted an empty one),
	// and takes it back if the job fails before it is planned.
	d, fresh, err := jobdir.Create(jb.dir.Path())
	if err != nil {
		return classify(err)
	}
	lock, err := d.Lock()
	if err != nil {
		if fresh {
			_ = d.Remove()
		}
		return classify(err)
	}
	defer lock.Release() //nolint:errcheck // released on exit in any case
	sock, addr := d.Control()
	srv, err := control.Listen(sock, addr, jb.handle)
	if err != nil {
		if fresh {
			_ = d.Remove()
		}
		return err
	}
	defer srv.Close()

	st, err := jb.loadPlan(sctx, &o, p, fresh)
	if err == nil {
		err = jb.encode(ctx, sctx, &o, p, st)
	}
	if err != nil && fresh {
		if _, serr := os.Stat(jb.dir.State()); serr != nil && !jb.dir.HasParts() {
			// Nothing was planned, and no part was left to salvage:
			// leave no job directory behind.
			srv.Close()
			_ = d.Remove()
		}
	}
	return stopped(classify(err))
}

// encode is a job's one pipeline, whether it is new or resumed: it makes
// the job's coordinator, gives it the plan, salvages what earlier runs
// left, runs the chunks and finishes the output.
//
//	coord.NewPlanning ──▶ plan: st, set at once (setPlan); or, st nil, made by
//	                      the scene pass while the first chunks run (makePlan)
//	                  ──▶ Prepare: checks and salvage, unless chunks run already
//	                  ──▶ EventPlanned ──▶ Run ──▶ finish
//
// ctx is the run's; sctx is also cancelled by a stop, which ends the scene
// pass at once but lets the chunks in flight flush. A failure once the
// plan is set is recorded in the journal (Coordinator.Failed).
func (jb *Job) encode(ctx, sctx context.Context, o *Options, p *prepared, st *jobdir.State) error {
	planned := st != nil
	c := coord.NewPlanning(jb.dir, jb.ctl, p.task(st), p.src.Video.ExpectedFrames())
	c.Emit = jb.fromCoord
	c.Decode = verify.DecodeIVF
	c.Recoverer, _ = o.Executor.(Recoverer)
	defer c.CloseJournal()
	if planned {
		if err := jb.setPlan(c, st); err != nil {
			return err
		}
		// The scene pass's packet sizes, kept in the job directory, give
		// the other streams' share as on the run that planned the job.
		if sf, err := loadScenes(jb.dir.Scenes()); err == nil {
			jb.estimateOther(o, p, sf.Bytes)
		}
	}
	jb.mu.Lock()
	jb.coord = c
	jb.mu.Unlock()

	var chunks chunkRun
	if !planned {
		if err := jb.makePlan(ctx, sctx, o, p, c, &chunks); err != nil {
			return err
		}
	}
	if !chunks.started() {
		if err := c.Prepare(ctx); err != nil {
			return err
		}
	}
	jb.publish(Event{Kind: EventPlanned})
	if planned {
		jb.warnStreams(o, p) // a new job's were said before its scene pass
	}
	if !chunks.started() {
		if jb.ctl.IsStopped() {
			return ErrStopped
		}
		if todo := c.Pending(); len(todo) > 0 {
			ex, w := executor(o, p, len(todo))
			chunks.start(ctx, c, ex, w)
		}
	}
	if err := chunks.wait(); err != nil {
		return c.Failed(ctx, err)
	}
	if err := jb.finish(ctx, o, p, c); err != nil {
		return c.Failed(ctx, err)
	}
	return nil
}

// setPlan makes st the plan of c, with the job's journal, and removes
// planning.json: from now on the plan is final. (A planned job may find
// planning.json left by a kill between writing job.json and removing it.)
func (jb *Job) setPlan(c *coord.Coordinator, st *jobdir.State) error {
	j, recs, err := jb.dir.OpenJournal(func(d journal.Dropped) {
		jb.warn("%s: ignored a damaged journal record at byte %d (%s)", jb.dir.Journal(), d.Offset, d.Reason)
	})
	if err != nil {
		return err
	}
	c.SetPlan(st, j, recs)
	if err := jb.dir.DonePlanning(); err != nil {
		// job.json is written and wins over planning.json: harmless.
		jb.warn("%v", err)
	}
	return nil
}

// A chunkRun is the coordinator's Run in the background: started while
// the plan is being made (makePlan), or once the plan is set and what
// earlier runs left is salvaged.
type chunkRun struct{ done chan error }

func (r *chunkRun) start(ctx context.Context, c *coord.Coordinator, ex Executor, workers int) {
	r.done = make(chan error, 1)
	go func() { r.done <- c.Run(ctx, ex, workers) }()
}

func (r *chunkRun) started() bool { return r.done != nil }

// wait returns what Run returned once it has; nil when it never started.
func (r *chunkRun) wait() error {
	if r.done == nil {
		return nil
	}
	return <-r.done
}

// alreadyDone ends a job whose output a previous run put in place (and
// recorded) but that ended before it could say so: the output stays, the
// job is recorded finished and its directory removed unless Keep.
func (jb *Job) alreadyDone(o *Options, p *prepared) error {
	lock, err := jb.dir.Lock()
	if err != nil {
		return classify(err)
	}
	defer lock.Release() //nolint:errcheck // released on exit in any case
	if !p.recordedFinish {
		j, _, err := jb.dir.OpenJournal(nil)
		if err != nil {
			return err
		}
		err = j.Append(jobdir.Record{Type: jobdir.RecFinished})
		j.Close()
		if err != nil {
			return err
		}
	}
	jb.mu.Lock()
	jb.total = p.st.Frames
	jb.mu.Unlock()
	jb.publish(Event{Kind: EventDone, Msg: "already done: " + o.Output + " is this job's finished output"})
	if !o.Keep {
		if err := jb.dir.Remove(); err != nil {
			jb.warn("could not remove the job directory: %v", err)
		}
	}
	return nil
}

// warnStreams says what the output's container cannot carry: before the
// hours of encoding, not after.
func (jb *Job) warnStreams(o *Options, p *prepared) {
	pl, _ := o.streams(p.src) // checked by prepare
	for _, w := range pl.Warnings {
		jb.warn("%s: %s", p.src.Path, w)
	}
}

// executor returns what runs the job's tasks, and how many at once.
func executor(o *Options, p *prepared, pending int) (Executor, int) {
	if o.Executor != nil {
		if o.Workers > 0 {
			return o.Executor, o.Workers
		}
		return o.Executor, remoteInFlight
	}
	w := local.Workers(o.Workers, p.enc, p.src, p.layout, pending)
	return &LocalExecutor{Threads: max(1, runtime.NumCPU()/w)}, w
}

// coordStatus sets info's counts from the job's coordinator: the ledger's,
// and the frames of the chunks in flight.
func coordStatus(c *coord.Coordinator, info *StatusInfo) {
	n := c.Counts()
	if !c.WithLedger(info.fromLedger) {
		info.FramesTotal, info.ChunksTotal = n.FramesTotal, n.ChunksTotal
	}
	info.FramesDone = n.Frames
}
