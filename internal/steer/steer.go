// Package steer holds the pause and stop state of a job, or of one task a
// cluster worker runs: the Controller that Job.Pause, Resume and Stop act
// on, that the coordinator's gates wait on, and whose Steer every task's
// executor is given.
package steer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/av1job/av1job/internal/procs"
	"github.com/av1job/av1job/task"
)

// freezeTimeout bounds how long Pause waits for every process to stop.
const freezeTimeout = 2 * time.Second

// A Controller holds a job's pause and stop state. Pausing freezes every
// process of the job (its procs.Group: the processes are known from their
// start, so nothing is scanned or polled) and every attached in-process
// encoder, and holds back new work at the gates (wait); stopping makes the
// running tasks end at their current frame.
type Controller struct {
	group    *procs.Group
	OnChange func(Change) // told of every pause, resume and stop

	mu          sync.Mutex
	paused      bool
	user        bool // paused by request (not only by Ctrl+Z)
	pausedAt    time.Time
	pausedTotal time.Duration
	unpaused    chan struct{} // closed on resume
	pausers     map[task.Pauser]bool

	// pmu orders pause and resume as a whole: the pausers' Pause and
	// Resume run outside mu (a pauser's Pause waits for its encoder's
	// current call, which may be publishing an event).
	pmu sync.Mutex

	stopOnce sync.Once
	stopped  chan struct{} // closed by a stop
	haltOnce sync.Once
	halted   chan struct{} // closed by a stop or a failure: running tasks end at their current frame
}

func New() *Controller {
	return &Controller{group: procs.NewGroup(), stopped: make(chan struct{}), halted: make(chan struct{}), OnChange: func(Change) {}}
}

// Halt makes the running tasks end at their current frame and lets no
// new one start; a stop halts, and so does a chunk's permanent failure.
func (c *Controller) Halt() { c.haltOnce.Do(func() { close(c.halted) }) }

func (c *Controller) IsHalted() bool {
	select {
	case <-c.halted:
		return true
	default:
		return false
	}
}

// Pause freezes the job's processes and encoders; user says whether the
// user asked (and not a terminal stop, which resumes on its own). It
// returns once everything is halted; from then on the job uses no CPU.
// The pausers are asked all at once, so that pausers that take their time
// (a remote worker that does not answer) cost the slowest one's time, not
// the sum. A stop that comes meanwhile does not wait for them: Pause then
// freezes nothing and the stop's thaw follows it.
func (c *Controller) Pause(user bool) error {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.IsStopped() {
		return errStopping
	}
	c.mu.Lock()
	if c.paused {
		c.user = c.user || user
		c.mu.Unlock()
		return nil
	}
	c.paused, c.user, c.pausedAt = true, user, time.Now()
	c.unpaused = make(chan struct{})
	ps := c.pauserList()
	c.mu.Unlock()
	each(ps, task.Pauser.Pause)
	if c.IsStopped() {
		return errStopping
	}
	c.mu.Lock()
	resumed := !c.paused
	c.mu.Unlock()
	if resumed {
		// A resume came while the pausers answered: it thaws them once
		// this returns, and nothing is to be frozen.
		return nil
	}
	err := c.group.Freeze(freezeTimeout)
	if user {
		c.OnChange(Paused)
	}
	return err
}

// errStopping refuses a pause once the job is stopping.
var errStopping = errors.New("the job is stopping")

// each calls f on every pauser at once and returns when every call has.
func each(ps []task.Pauser, f func(task.Pauser)) {
	if len(ps) == 1 {
		f(ps[0])
		return
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { f(p) })
	}
	wg.Wait()
}

// Resume continues the job; user resumes only a user's pause (Ctrl+Z's
// continuation leaves a user's pause in place). The job counts as running
// at once, also while a pause is under way (a remote pauser waiting for a
// worker that does not answer): the status and the gates do not wait for
// it. Resume returns once the processes and pausers are thawed, after
// that pause.
func (c *Controller) Resume(user bool) error {
	c.mu.Lock()
	if !c.paused || (c.user && !user) {
		c.mu.Unlock()
		return nil
	}
	c.unpause()
	c.mu.Unlock()
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.mu.Lock()
	if c.paused {
		// Paused again meanwhile, after this resume: that pause stands.
		c.mu.Unlock()
		return nil
	}
	ps := c.pauserList()
	c.mu.Unlock()
	return c.thaw(ps)
}

// unpause marks the job running and returns the pausers to resume; c.mu
// is held.
func (c *Controller) unpause() []task.Pauser {
	c.paused, c.user = false, false
	c.pausedTotal += time.Since(c.pausedAt)
	close(c.unpaused)
	return c.pauserList()
}

// thaw continues the job's processes and resumes ps; c.pmu is held.
func (c *Controller) thaw(ps []task.Pauser) error {
	err := c.group.Thaw()
	each(ps, task.Pauser.Resume)
	c.OnChange(Resumed)
	return err
}

// Attach makes p pause and resume with the job until the returned
// function detaches it; p starts paused if the job is paused. A pause or
// resume under way finishes first (pmu), and p's Pause is called without
// c.mu held: a remote pauser's takes a round trip, and the job's status
// must not wait for it.
func (c *Controller) Attach(p task.Pauser) (detach func()) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.mu.Lock()
	if c.pausers == nil {
		c.pausers = map[task.Pauser]bool{}
	}
	c.pausers[p] = true
	paused := c.paused
	c.mu.Unlock()
	if paused {
		// p is new: no call of its encoder runs, so Pause returns at once.
		p.Pause()
	}
	return func() {
		c.mu.Lock()
		delete(c.pausers, p)
		c.mu.Unlock()
	}
}

// pauserList returns the attached pausers; c.mu is held.
func (c *Controller) pauserList() []task.Pauser {
	ps := make([]task.Pauser, 0, len(c.pausers))
	for p := range c.pausers {
		ps = append(ps, p)
	}
	return ps
}

// PauseState reports whether the job is paused by request, since when,
// and the time paused so far.
func (c *Controller) PauseState() (bool, time.Time, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := c.pausedTotal
	if c.paused {
		total += time.Since(c.pausedAt)
	}
	return c.paused && c.user, c.pausedAt, total
}

// Stop makes the job Stop at the current frames; a paused job is thawed
// so that its encoders can flush. Stop returns at once: the job counts as
// running again before it returns, and its processes and pausers are
// thawed then too, unless a pause or resume is under way (a remote
// pauser waiting for a worker that does not answer), in which case the
// thaw follows it in the background.
func (c *Controller) Stop() {
	first := false
	c.stopOnce.Do(func() {
		close(c.stopped)
		c.Halt()
		first = true
	})
	if first {
		c.OnChange(Stopping)
	}
	c.mu.Lock()
	if !c.paused {
		c.user = false
		c.mu.Unlock()
		return
	}
	ps := c.unpause()
	c.mu.Unlock()
	thaw := func() {
		defer c.pmu.Unlock()
		_ = c.thaw(ps)
	}
	// A pause under way holds pmu while its pausers answer; it freezes
	// nothing once it sees the stop.
	if c.pmu.TryLock() {
		thaw()
		return
	}
	go func() {
		c.pmu.Lock()
		thaw()
	}()
}

func (c *Controller) IsStopped() bool {
	select {
	case <-c.stopped:
		return true
	default:
		return false
	}
}

// WaitPause blocks while the job is paused (a stop ends the pause).
func (c *Controller) WaitPause(ctx context.Context) error { return c.gate(ctx, false) }

// Wait is the gate before new work: it blocks while the job is paused and
// returns ErrStopped once the job is stopping.
func (c *Controller) Wait(ctx context.Context) error { return c.gate(ctx, true) }

func (c *Controller) gate(ctx context.Context, stopEnds bool) error {
	var stopped <-chan struct{}
	if stopEnds {
		stopped = c.stopped
	}
	for {
		if stopEnds && c.IsStopped() {
			return task.ErrStopped
		}
		c.mu.Lock()
		if !c.paused {
			c.mu.Unlock()
			return nil
		}
		ch := c.unpaused
		c.mu.Unlock()
		select {
		case <-ch:
		case <-stopped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// view is the Steer a controller gives the executors of its tasks.
type view struct{ c *Controller }

func (s view) Stopping() <-chan struct{} { return s.c.halted }

func (s view) Attach(p task.Pauser) (detach func()) { return s.c.Attach(p) }

// A Change is what a controller tells OnChange.
type Change int

// Changes.
const (
	Paused   Change = iota + 1 // paused by request
	Resumed                    // running again
	Stopping                   // stopped: the tasks end at their current frame
)

// Stopped is closed by a stop.
func (c *Controller) Stopped() <-chan struct{} { return c.stopped }

// Halted is closed by a stop or a failure: the running tasks end at their
// current frame.
func (c *Controller) Halted() <-chan struct{} { return c.halted }

// CancelOn returns a copy of ctx that is also cancelled once done is
// closed: for work that a stop ends at once instead of at a frame, with
// done a Controller's Stopped or a Steer's Stopping. Calling cancel
// releases it, as for context.WithCancel.
func CancelOn(ctx context.Context, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Group is the process group whose processes a pause freezes.
func (c *Controller) Group() *procs.Group { return c.group }

// Steer returns the Steer of a task the controller steers.
func (c *Controller) Steer() task.Steer { return view{c} }
