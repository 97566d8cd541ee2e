package cluster

import (
	"testing"
	"time"

	"github.com/av1job/av1job/task"
)

// blockingPauser is an in-process encoder whose Pause waits for release.
type blockingPauser struct {
	entered chan struct{}
	release chan struct{}
}

func (p *blockingPauser) Pause()  { close(p.entered); <-p.release }
func (p *blockingPauser) Resume() {}

// TestFreezeHoldsNoLock: while a lost connection freezes a worker's tasks
// (a freeze can take seconds), the worker's task set is free: a slot can
// start or end a task, and the worker can say what it runs.
func TestFreezeHoldsNoLock(t *testing.T) {
	var s taskSet
	slow := newRunningTask()
	s.add(slow)
	p := &blockingPauser{entered: make(chan struct{}), release: make(chan struct{})}
	defer slow.ctl.Steer().Attach(p)()
	froze := make(chan int, 1)
	go func() { froze <- s.freeze() }()
	<-p.entered

	free := make(chan []WorkerTask, 1)
	go func() {
		other := newRunningTask()
		other.cur.Store(&current{t: task.Task{Job: "j", Chunk: 7}, pub: &unitPublisher{}})
		s.add(other)
		s.recheck()
		ts := s.announced()
		s.remove(other)
		free <- ts
	}()
	select {
	case ts := <-free:
		if len(ts) != 1 || ts[0].Chunk != 7 {
			t.Errorf("announced %+v while a task froze, want chunk 7", ts)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the task set stayed locked while a task froze")
	}
	close(p.release)
	if n := <-froze; n != 1 || !slow.down.Load() {
		t.Errorf("froze %d tasks (down: %v), want 1, marked down", n, slow.down.Load())
	}
	if l := s.drain(); len(l) != 1 || l[0] != slow {
		t.Errorf("the set holds %d tasks after the freeze, want the frozen one", len(l))
	}
	if s.add(newRunningTask()) {
		t.Error("a draining worker's set took a new task")
	}
}

// TestPresenceSnapshot: a worker's announcement says what the worker
// reports it runs, and its state follows from it.
func TestPresenceSnapshot(t *testing.T) {
	for _, tc := range []struct {
		tasks    []WorkerTask
		draining bool
		want     string
	}{
		{tasks: nil, want: WorkerIdle},
		{tasks: []WorkerTask{{Job: "j", Chunk: 1}, {Job: "j", Chunk: 2, Paused: true}}, want: WorkerWorking},
		{tasks: []WorkerTask{{Job: "j", Chunk: 1, Paused: true}}, want: WorkerPaused},
		{tasks: []WorkerTask{{Job: "j", Chunk: 1}}, draining: true, want: WorkerDraining},
	} {
		p := newPresence("w", 2, nil, func() ([]WorkerTask, int64) { return tc.tasks, 42 })
		p.draining.Store(tc.draining)
		wi := p.snapshot()
		if wi.State != tc.want || wi.Frames != 42 || len(wi.Tasks) != len(tc.tasks) || wi.Tasks == nil {
			t.Errorf("tasks %+v, draining %v: announced %+v, want state %s, frames 42, the tasks", tc.tasks, tc.draining, wi, tc.want)
		}
	}
}
