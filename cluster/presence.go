package cluster

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/av1job/av1job/task"
)

// AnnounceEvery is how often a worker announces itself (WorkerInfo); a
// worker unheard for three times as long is lost.
const AnnounceEvery = 2 * time.Second

// Worker states in WorkerInfo.
const (
	WorkerIdle     = "idle"     // no task
	WorkerWorking  = "working"  // running tasks
	WorkerPaused   = "paused"   // every task it runs is paused
	WorkerDraining = "draining" // finishing its tasks, taking no more
	WorkerGone     = "gone"     // it has ended (its last word)
	WorkerLost     = "lost"     // unheard: reported by a watcher, never by a worker
)

// WorkerInfo is what a worker tells the cluster about itself every
// AnnounceEvery: who it is, what it offers and what it runs.
type WorkerInfo struct {
	Name     string            `json:"name"`
	Host     string            `json:"host"`
	Cores    int               `json:"cores"`
	Slots    int               `json:"slots"`
	Encoders []task.EncoderRef `json:"encoders"`
	State    string            `json:"state"`
	Tasks    []WorkerTask      `json:"tasks"`
	// Frames is how many frames it has encoded and sent since it started;
	// a watcher derives its rate from two announcements.
	Frames int64     `json:"frames"`
	Time   time.Time `json:"time"`
}

// WorkerTask is a task a worker runs.
type WorkerTask struct {
	Job    string `json:"job"` // the task's job name (Task.Job)
	Chunk  int    `json:"chunk"`
	Frames int    `json:"frames"` // sent so far
	Paused bool   `json:"paused,omitempty"`
}

// WatchWorkers calls fn with every worker announcement heard on nc until
// the returned function is called.
func WatchWorkers(nc *nats.Conn, fn func(WorkerInfo)) (stop func(), err error) {
	sub, err := nc.Subscribe(workersSubject, func(m *nats.Msg) {
		var wi WorkerInfo
		if json.Unmarshal(m.Data, &wi) == nil && wi.Name != "" {
			fn(wi)
		}
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// presence announces a worker. It owns the announcement's fixed part and
// whether the worker drains; what the worker runs and has sent it asks
// the worker (state) each time.
type presence struct {
	info     WorkerInfo // the fixed part
	state    func() (tasks []WorkerTask, frames int64)
	draining atomic.Bool
}

// snapshot is the announcement as things stand.
func (p *presence) snapshot() WorkerInfo {
	wi := p.info
	wi.Time = time.Now().UTC()
	wi.Tasks, wi.Frames = p.state()
	if wi.Tasks == nil {
		wi.Tasks = []WorkerTask{}
	}
	paused := 0
	for _, t := range wi.Tasks {
		if t.Paused {
			paused++
		}
	}
	switch {
	case p.draining.Load():
		wi.State = WorkerDraining
	case len(wi.Tasks) == 0:
		wi.State = WorkerIdle
	case paused == len(wi.Tasks):
		wi.State = WorkerPaused
	default:
		wi.State = WorkerWorking
	}
	return wi
}

// announce publishes the worker's presence every AnnounceEvery until ctx
// ends, then once more with state gone.
func (p *presence) announce(ctx context.Context, nc *nats.Conn, done <-chan struct{}) {
	send := func(wi WorkerInfo) {
		if b, err := json.Marshal(wi); err == nil {
			_ = nc.Publish(workersSubject, b)
		}
	}
	tick := time.NewTicker(AnnounceEvery)
	defer tick.Stop()
	stopping := ctx.Done()
	for {
		send(p.snapshot())
		select {
		case <-tick.C:
		case <-stopping:
			p.draining.Store(true)
			stopping = nil
		case <-done:
			wi := p.snapshot()
			wi.State = WorkerGone
			send(wi)
			_ = nc.Flush()
			return
		}
	}
}

func newPresence(name string, slots int, encs []task.EncoderRef, state func() ([]WorkerTask, int64)) *presence {
	host, _ := os.Hostname()
	return &presence{info: WorkerInfo{Name: name, Host: host, Cores: runtime.NumCPU(), Slots: slots, Encoders: encs}, state: state}
}
