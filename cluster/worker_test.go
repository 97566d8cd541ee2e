package cluster

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job/internal/broker"
	"github.com/av1job/av1job/internal/segment"
	"github.com/av1job/av1job/task"
)

// testNATS starts an embedded NATS JetStream server with a cluster's
// streams, and connects to it.
func testNATS(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	url, tokenFile := startBroker(t)
	nc, js := connect(t, url, tokenFile, "test")
	if err := Setup(context.Background(), js); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// startBroker starts an embedded NATS JetStream server for the test and
// returns its URL and token file.
func startBroker(t *testing.T) (url, tokenFile string) {
	t.Helper()
	dir := t.TempDir()
	tokenFile = filepath.Join(dir, "token")
	tok, err := broker.Token(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.Start(broker.Config{Dir: dir, Listen: "127.0.0.1:0", Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv.URL(), tokenFile
}

// connect dials the broker as name, until the test ends.
func connect(t *testing.T, url, tokenFile, name string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := Dial(url, tokenFile, "", name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// heldMsg is a delivered task message whose InProgress takes hold, and
// which counts the calls under way.
type heldMsg struct {
	jetstream.Msg // what a worker does not call
	data          []byte
	hold          time.Duration

	mu      sync.Mutex
	calls   int    // InProgress calls
	inside  int    // InProgress calls under way
	settled string // ack, nak, term
}

func (m *heldMsg) Data() []byte { return m.data }
func (m *heldMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{NumDelivered: 1}, nil
}

func (m *heldMsg) InProgress() error {
	m.mu.Lock()
	m.calls++
	m.inside++
	m.mu.Unlock()
	time.Sleep(m.hold)
	m.mu.Lock()
	m.inside--
	m.mu.Unlock()
	return nil
}

func (m *heldMsg) settle(how string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settled = how
	return nil
}
func (m *heldMsg) Ack() error                       { return m.settle("ack") }
func (m *heldMsg) Nak() error                       { return m.settle("nak") }
func (m *heldMsg) NakWithDelay(time.Duration) error { return m.settle("nak") }
func (m *heldMsg) Term() error                      { return m.settle("term") }

func (m *heldMsg) state() (calls, inside int, settled string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls, m.inside, m.settled
}

// TestHeartbeatEndsWithTask: when a worker's slot is done with a task,
// the task's heartbeat has ended, even one that was telling JetStream
// that the task is in progress at the moment the task failed; and no
// heartbeat of it comes later.
func TestHeartbeatEndsWithTask(t *testing.T) {
	nc, js := testNATS(t)
	// The coordinator grants the claim and answers every heartbeat.
	answer := func(v claimResp) nats.MsgHandler {
		return func(m *nats.Msg) {
			b, _ := json.Marshal(v)
			_ = m.Respond(b)
		}
	}
	for subj, v := range map[string]claimResp{claimSubject("j"): {OK: true, Claim: "c1"}, beatSubject("j"): {OK: true}} {
		sub, err := nc.Subscribe(subj, answer(v))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe() //nolint:errcheck
	}
	units, err := nc.SubscribeSync(unitSubject(task.Task{Job: "j", Chunk: 0, Attempt: 1}))
	if err != nil {
		t.Fatal(err)
	}
	// A task whose segment is not in the store: it fails at once.
	tm := taskMsg{
		Task: task.Task{Job: "j", Chunk: 0, Attempt: 1, Start: 0, End: 1, PTS: []int64{0},
			Source:   task.SourceRef{Path: "/src.mkv", Size: 1, Content: "x", Width: 16, Height: 16, PixFmt: "yuv420p", TimeBase: "1/24"},
			Encoder:  task.EncoderRef{Name: "rav1e", Version: "0.5.1"},
			Settings: task.EncoderOptions{Speed: 10, Quantizer: 100}},
		Segment: segmentRef{Object: "missing", Kind: segment.Copy, Size: 1, SHA256: strings.Repeat("0", 64)},
	}
	data, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	m := &heldMsg{data: data, hold: 300 * time.Millisecond}
	w := &Worker{NC: nc, JS: js, Name: "w", Dir: t.TempDir()}
	rt := newRunningTask()
	rt.recheck <- struct{}{} // the first heartbeat at once, while the segment is fetched
	const ackWait = 300 * time.Millisecond
	w.runMsg(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), m, rt, ackWait)

	calls, inside, settled := m.state()
	if inside != 0 {
		t.Fatalf("the slot went on while its task's heartbeat was still under way (%d InProgress calls running)", inside)
	}
	if calls == 0 {
		t.Fatal("no heartbeat was sent")
	}
	if settled != "ack" {
		t.Errorf("the task's message was settled with %q, want ack (its failure sent)", settled)
	}
	if msg, err := units.NextMsg(5 * time.Second); err != nil || msg.Header.Get(hdrKind) != "fail" || !strings.Contains(string(msg.Data), "missing") {
		t.Errorf("the task's unit stream got %v (%v), want its failure", msg, err)
	}
	time.Sleep(ackWait) // three heartbeat periods
	if later, _, _ := m.state(); later != calls {
		t.Errorf("%d heartbeats after the task ended", later-calls)
	}
}

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
