package av1job

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/procs"
)

// ErrStopped is returned by Run when the job was stopped on request
// (Job.Stop, or a signal the caller turned into Stop): everything encoded
// until then is recorded, and running the job again continues it.
var ErrStopped = errors.New("job stopped")

// freezeTimeout bounds how long Pause waits for every process to stop.
const freezeTimeout = 2 * time.Second

// controller holds a job's pause and stop state. Pausing freezes every
// process of the job (SIGSTOP through package procs) and holds back new
// work at the gates (wait); stopping makes the feed loops end their chunks
// at the current frame.
type controller struct {
	id     string // marks the job's processes (tools.WithJob)
	events func(Event)

	mu          sync.Mutex
	paused      bool
	user        bool // paused by request (not only by Ctrl+Z)
	pausedAt    time.Time
	pausedTotal time.Duration
	unpaused    chan struct{} // closed on resume
	sweeping    chan struct{} // closed when the pause's re-freezing sweeps have ended
	pausers     map[encode.Pauser]bool

	// pmu orders the Pause and Resume calls on pausers, which run outside
	// mu (a pauser's Pause waits for its encoder's current call, which may
	// be emitting an event).
	pmu sync.Mutex

	stopOnce sync.Once
	stopped  chan struct{}
}

func newController() *controller {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &controller{id: hex.EncodeToString(b), stopped: make(chan struct{})}
}

func (c *controller) emit(e Event) {
	c.mu.Lock()
	f := c.events
	c.mu.Unlock()
	if f != nil {
		f(e)
	}
}

func (c *controller) setEvents(f func(Event)) {
	c.mu.Lock()
	c.events = f
	c.mu.Unlock()
}

// pause freezes the job's processes; user says whether the user asked
// (and not a terminal stop, which resumes on its own).
func (c *controller) pause(user bool) error {
	if c.isStopped() {
		return errors.New("the job is stopping")
	}
	c.pmu.Lock()
	c.mu.Lock()
	if c.isStopped() {
		// stop's resume may have run since the check above.
		c.mu.Unlock()
		c.pmu.Unlock()
		return errors.New("the job is stopping")
	}
	if c.paused {
		c.user = c.user || user
		c.mu.Unlock()
		c.pmu.Unlock()
		return nil
	}
	c.paused, c.user, c.pausedAt = true, user, time.Now()
	c.unpaused = make(chan struct{})
	c.sweeping = make(chan struct{})
	ch, sweeping := c.unpaused, c.sweeping
	ps := c.pauserList()
	c.mu.Unlock()
	for _, p := range ps {
		p.Pause()
	}
	c.pmu.Unlock()
	err := procs.Freeze(c.id, freezeTimeout)
	// A process that passed a gate just before the pause may start after
	// the first sweep: sweep again for a while. resume waits for this
	// goroutine to end before it thaws, so a sweep never follows a thaw.
	go func() {
		defer close(sweeping)
		for i := 0; i < 20; i++ {
			select {
			case <-ch:
				return
			case <-time.After(50 * time.Millisecond):
				_ = procs.Freeze(c.id, 100*time.Millisecond)
			}
		}
	}()
	if user {
		c.emit(Event{Kind: EventPaused})
	}
	return err
}

// resume continues the job; user resumes only a user's pause (Ctrl+Z's
// continuation leaves a user's pause in place).
func (c *controller) resume(user bool) error {
	c.pmu.Lock()
	c.mu.Lock()
	if !c.paused || (c.user && !user) {
		c.mu.Unlock()
		c.pmu.Unlock()
		return nil
	}
	c.paused, c.user = false, false
	c.pausedTotal += time.Since(c.pausedAt)
	close(c.unpaused)
	sweeping := c.sweeping
	ps := c.pauserList()
	c.mu.Unlock()
	for _, p := range ps {
		p.Resume()
	}
	c.pmu.Unlock()
	<-sweeping
	err := procs.Thaw(c.id)
	c.emit(Event{Kind: EventResumed})
	return err
}

// attach makes p pause and resume with the job until the returned
// function detaches it; p starts paused if the job is paused.
func (c *controller) attach(p encode.Pauser) (detach func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pausers == nil {
		c.pausers = map[encode.Pauser]bool{}
	}
	c.pausers[p] = true
	if c.paused {
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
func (c *controller) pauserList() []encode.Pauser {
	ps := make([]encode.Pauser, 0, len(c.pausers))
	for p := range c.pausers {
		ps = append(ps, p)
	}
	return ps
}

// pauseState reports whether the job is paused by request, and since when.
func (c *controller) pauseState() (bool, time.Time, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := c.pausedTotal
	if c.paused {
		total += time.Since(c.pausedAt)
	}
	return c.paused && c.user, c.pausedAt, total
}

// stop makes the job stop at the current frames; a paused job is thawed
// so that its encoders can flush.
func (c *controller) stop() {
	c.stopOnce.Do(func() {
		close(c.stopped)
		c.emit(Event{Kind: EventStopping})
	})
	c.mu.Lock()
	c.user = false
	c.mu.Unlock()
	_ = c.resume(true)
}

func (c *controller) isStopped() bool {
	select {
	case <-c.stopped:
		return true
	default:
		return false
	}
}

// waitPause blocks while the job is paused (a stop ends the pause).
func (c *controller) waitPause(ctx context.Context) error { return c.gate(ctx, false) }

// wait is the gate before new work: it blocks while the job is paused and
// returns ErrStopped once the job is stopping.
func (c *controller) wait(ctx context.Context) error { return c.gate(ctx, true) }

func (c *controller) gate(ctx context.Context, stopEnds bool) error {
	var stopped <-chan struct{}
	if stopEnds {
		stopped = c.stopped
	}
	for {
		if stopEnds && c.isStopped() {
			return ErrStopped
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

// handle answers the control socket.
func (j *job) handle(cmd string) (any, error) {
	var err error
	switch cmd {
	case "pause":
		err = j.ctl.pause(true)
	case "resume":
		err = j.ctl.resume(true)
	case "stop":
		j.ctl.stop()
	case "status":
	default:
		return nil, errors.New("unknown command " + cmd)
	}
	return j.liveStatus(), err
}

// liveStatus is the state of this running job.
func (j *job) liveStatus() *StatusInfo {
	info := &StatusInfo{Job: j.dir, Output: j.o.Output, State: StateRunning, PID: os.Getpid(),
		FramesDone: int(j.framesDone.Load()), ChunksDone: int(j.chunksDone.Load()), ChunksTotal: int(j.chunksTotal.Load())}
	info.FramesTotal = int(j.framesTotal.Load())
	if paused, since, _ := j.ctl.pauseState(); paused {
		info.State, info.PausedSince = StatePaused, since
	}
	if j.ctl.isStopped() {
		info.State = StateStopping
	}
	return info
}

// Paused reports whether the job is paused by Pause.
func (jb *Job) Paused() bool {
	p, _, _ := jb.ctl.pauseState()
	return p
}

// Freeze freezes the job's processes like Pause, for a terminal stop
// (Ctrl+Z): Thaw undoes it but leaves a Pause in place.
func (jb *Job) Freeze() error { return jb.ctl.pause(false) }

// Thaw continues what Freeze froze, unless the job is paused by Pause.
func (jb *Job) Thaw() error { return jb.ctl.resume(false) }
