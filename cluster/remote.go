package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job/internal/guard"
	"github.com/av1job/av1job/internal/segment"
	"github.com/av1job/av1job/task"
)

// RemoteExecutor runs tasks on workers (Worker, `av1job worker`) over NATS
// JetStream. For each task it cuts the source's packets around the task's
// frames (package segment), from the task's source only (see put), puts
// them in the object store, and queues the task on its encoder version's
// work queue. The worker that takes it claims it first; the executor
// grants one claim at a time, and takes only the messages sent under the
// claim it granted, in order, so a result is never recorded twice. Units
// reach the StreamWriter as the worker's encoder makes them.
//
// A worker unheard for Silence loses its task: with units received, the
// task ends there (the coordinator commits them and plans the rest as a
// new chunk, as after a stop); with none, the task waits for JetStream to
// deliver it again to the next worker that asks.
type RemoteExecutor struct {
	NC *nats.Conn
	JS jetstream.JetStream
	// Silence is how long a worker running a task may go unheard;
	// 0 means DefaultSilence.
	Silence time.Duration
	// Store, when set, reports on the NATS server's JetStream store (the
	// embedded server's knows its directory). The executor asks it before
	// it puts a segment, after a put or a publish fails, and while a task
	// runs: a store that takes no writes (a full disk) fails the job at
	// once with what Store says, instead of the chunks' acknowledgements
	// timing out attempt after attempt.
	Store StoreChecker

	mu       sync.Mutex
	nonce    string                 // tells this executor's messages from those of earlier runs
	tasks    map[string]*remoteTask // by taskKey
	lossless map[string]bool        // job.chunk whose packets did not give its frames
	jobs     map[string][]*nats.Subscription
	sent     map[string]map[int][]task.SentStream // by job and chunk: what an earlier run's tasks sent (Recover)
	stats    RemoteStats
	src      guard.Source // segments are cut from the tasks' sources only
}

// A StoreChecker reports on a NATS server's JetStream store. Its errors
// name the store's directory and the problem; a full disk wraps
// syscall.ENOSPC.
type StoreChecker interface {
	// WriteError returns an error when the store failed a write and so
	// takes no more, nil while it takes writes.
	WriteError() error
	// Room returns an error when the store cannot take n more bytes
	// (WriteError's, or too little free space), nil otherwise.
	Room(n int64) error
}

// room returns a permanent error when x.Store says the store cannot take
// n more bytes.
func (x *RemoteExecutor) room(n int64) error {
	if x.Store == nil {
		return nil
	}
	if err := x.Store.Room(n); err != nil {
		return &task.StoreError{Err: err}
	}
	return nil
}

// storeFailed returns a permanent error when x.Store says the store
// failed a write.
func (x *RemoteExecutor) storeFailed() error {
	if x.Store == nil {
		return nil
	}
	if err := x.Store.WriteError(); err != nil {
		return &task.StoreError{Err: err}
	}
	return nil
}

// DefaultSilence is how long a worker may go unheard by default.
const DefaultSilence = 10 * time.Second

// RemoteStats count what a RemoteExecutor sent and received.
type RemoteStats struct {
	Tasks        int   // tasks queued (a segment sent again counts again)
	SegmentBytes int64 // bytes of source segments sent
	Units        int64 // units received and taken
	UnitBytes    int64
	Refused      int64 // messages refused: another claim's, out of order
	Lost         int   // tasks taken back from a silent worker
	// StopsUnanswered counts stop requests no worker answered: the
	// worker's next heartbeat answer tells it to stop instead.
	StopsUnanswered int
}

// Stats returns the counts so far.
func (x *RemoteExecutor) Stats() RemoteStats {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.stats
}

// remoteTask is a task in flight: its claim, which the answers to claims
// and heartbeats (NATS callbacks), the job's pause (remotePauser) and the
// task's receiver (Execute's loop) share under mu. The rest of the task's
// receive state is the receiver's alone.
type remoteTask struct {
	t        task.Task
	out      task.StreamWriter
	mu       sync.Mutex
	owner    string // the granted claim, "" while none
	worker   string // the owner's name
	heard    time.Time
	claims   int
	nonce    string // the executor's: claims of another run never match
	paused   bool
	stopping bool
	done     bool // no claim is granted any more: the task ended, or ends with what arrived
}

func (x *RemoteExecutor) silence() time.Duration {
	if x.Silence > 0 {
		return x.Silence
	}
	return DefaultSilence
}

// Execute runs t on a worker; see Executor.
func (x *RemoteExecutor) Execute(ctx context.Context, t task.Task, out task.StreamWriter, steer task.Steer) (int, error) {
	if err := t.Validate(); err != nil {
		return t.Start, err
	}
	// A task stopped before it starts is offered to no worker: one that
	// claimed it at once could encode frames before the stop reached it.
	select {
	case <-steer.Stopping():
		return t.Start, task.ErrStopped
	default:
	}
	if err := x.watchJob(t.Job); err != nil {
		return t.Start, err
	}
	rt := &remoteTask{t: t, out: out}
	key := taskKey(t)
	x.mu.Lock()
	if x.tasks == nil {
		x.tasks = map[string]*remoteTask{}
		x.lossless = map[string]bool{}
		var b [6]byte
		_, _ = rand.Read(b[:])
		x.nonce = hex.EncodeToString(b[:])
	}
	x.tasks[key] = rt
	rt.nonce = x.nonce
	kind := segment.Copy
	if x.lossless[losslessKey(t)] {
		kind = segment.Lossless
	}
	x.mu.Unlock()
	q := &jsQueue{x: x, ctx: ctx}
	// Cleanup runs in this order: no claim is granted from the moment
	// Execute ends; then what the task left in JetStream goes.
	done := make(chan struct{})
	defer func() {
		rt.mu.Lock()
		rt.done = true
		rt.mu.Unlock()
		x.mu.Lock()
		delete(x.tasks, key)
		x.mu.Unlock()
		close(done)
		x.cleanup(t, q.ref.Object, q.published)
	}()
	// The task's pause follows the job's: a paused job's workers freeze
	// their encoders, and no new claim is granted.
	defer steer.Attach(&remotePauser{x: x, rt: rt})()

	// Units an earlier run left on the subject are of no claim this run
	// grants; they go first.
	x.purge(t)
	cons, err := x.JS.OrderedConsumer(ctx, unitsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{unitSubject(t)}})
	if err != nil {
		return t.Start, fmt.Errorf("cluster: chunk %d: %w", t.Chunk, err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return t.Start, fmt.Errorf("cluster: chunk %d: %w", t.Chunk, err)
	}
	defer msgs.Stop()
	in := make(chan jetstream.Msg)
	go func() {
		defer close(in)
		for {
			m, err := msgs.Next()
			if err != nil {
				return
			}
			select {
			case in <- m:
			case <-done:
				return
			}
		}
	}()

	if err := q.recut(t, kind); err != nil {
		return t.Start, err
	}
	if err := q.offer(t); err != nil {
		return t.Start, err
	}
	// From here on the loop only takes messages and events and hands them
	// to the receiver, which holds the task's state.
	r := &receiver{t: t, out: out, rt: rt, q: q, silence: x.silence(), kind: kind}
	tick := time.NewTicker(x.silence() / 4)
	defer tick.Stop()
	stopping := steer.Stopping()
	for {
		var v verdict
		select {
		case <-ctx.Done():
			v = r.onCancel(ctx.Err())
		case <-stopping:
			stopping = nil
			v = r.onStop()
		case <-tick.C:
			v = r.onTick(time.Now())
		case m, ok := <-in:
			if !ok {
				v = r.onClosed()
			} else {
				v = r.receive(decodeUnitMsg(m.Headers(), m.Data()), time.Now())
			}
		}
		if v.ended {
			return v.end, v.err
		}
	}
}

// losslessKey names t's chunk in RemoteExecutor.lossless.
func losslessKey(t task.Task) string { return t.Job + "." + strconv.Itoa(t.Chunk) }

// jsQueue is a task's taskQueue: its segment in the object store and its
// messages on the work queue, what the executor removes once the task
// ends.
type jsQueue struct {
	x         *RemoteExecutor
	ctx       context.Context
	ref       segmentRef // the segment cut last; its Object is "" while none is stored
	gen       int        // the number of messages queued: each has its own ID
	published []uint64   // their sequences in the stream
}

func (q *jsQueue) offer(t task.Task) error {
	gen := q.gen
	q.gen++
	seq, err := q.x.publish(q.ctx, t, q.ref, gen)
	if err != nil {
		return err
	}
	q.published = append(q.published, seq)
	return nil
}

func (q *jsQueue) recut(t task.Task, k segment.Kind) error {
	_ = q.x.deleteSegment(q.ref.Object)
	var err error
	q.ref, err = q.x.put(q.ctx, t, k)
	return err
}

func (q *jsQueue) markLossless(t task.Task) {
	q.x.mu.Lock()
	q.x.lossless[losslessKey(t)] = true
	q.x.mu.Unlock()
}

func (q *jsQueue) stop(t task.Task) {
	go func() {
		if err := q.x.steerTask(q.ctx, t, "stop"); err != nil {
			q.x.count(func(s *RemoteStats) { s.StopsUnanswered++ })
		}
	}()
}

func (q *jsQueue) storeFailed() error { return q.x.storeFailed() }

func (q *jsQueue) count(f func(*RemoteStats)) { q.x.count(f) }

func (x *RemoteExecutor) count(f func(*RemoteStats)) {
	x.mu.Lock()
	f(&x.stats)
	x.mu.Unlock()
}

// put cuts t's segment of kind k and stores it. The segment is cut from
// t's source only: the file at its path must be the task's source before
// the cut and the same file, unchanged, after it (a *SourceChangedError
// otherwise). The worker cannot tell; it checks the segment against the
// size and hash the task's message gives.
func (x *RemoteExecutor) put(ctx context.Context, t task.Task, k segment.Kind) (segmentRef, error) {
	tb, _ := new(big.Rat).SetString(t.Source.TimeBase)
	var data []byte
	err := x.src.Read(t.Source.Path, t.Source.Size, t.Source.Content, func() (err error) {
		data, err = segment.Cut(ctx, segment.Range{Path: t.Source.Path, Stream: t.Source.Stream, TimeBase: tb, First: t.PTS[0], Last: t.PTS[len(t.PTS)-1]}, k)
		return err
	})
	if err != nil {
		return segmentRef{}, err
	}
	sum := sha256.Sum256(data)
	x.mu.Lock()
	name := x.nonce + "." + taskKey(t) + "." + string(k)
	x.mu.Unlock()
	if err := x.room(int64(len(data))); err != nil {
		return segmentRef{}, fmt.Errorf("cluster: segment of chunk %d: %w", t.Chunk, err)
	}
	store, err := x.JS.ObjectStore(ctx, segmentsBucket)
	if err != nil {
		return segmentRef{}, fmt.Errorf("cluster: %w", err)
	}
	if _, err := store.Put(ctx, jetstream.ObjectMeta{Name: name}, bytes.NewReader(data)); err != nil {
		// A store that failed the write does not answer: the put
		// times out. The store says why.
		if serr := x.room(int64(len(data))); serr != nil {
			err = serr
		}
		return segmentRef{}, fmt.Errorf("cluster: segment of chunk %d: %w", t.Chunk, err)
	}
	x.count(func(s *RemoteStats) { s.SegmentBytes += int64(len(data)) })
	return segmentRef{Object: name, Kind: k, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// publish queues t with its segment; gen tells the messages of one task
// apart. It returns the message's sequence in the stream.
func (x *RemoteExecutor) publish(ctx context.Context, t task.Task, ref segmentRef, gen int) (uint64, error) {
	b, err := json.Marshal(taskMsg{Task: t, Segment: ref})
	if err != nil {
		return 0, err
	}
	id := ref.Object + "." + strconv.Itoa(gen)
	ack, err := x.JS.PublishMsg(ctx, &nats.Msg{Subject: taskSubject(t.Encoder), Data: b, Header: nats.Header{nats.MsgIdHdr: []string{id}}})
	if err != nil {
		if serr := x.room(int64(len(b))); serr != nil {
			err = serr
		}
		return 0, fmt.Errorf("cluster: queue chunk %d: %w", t.Chunk, err)
	}
	if ack.Duplicate {
		return 0, fmt.Errorf("cluster: queue chunk %d: message %s was queued already", t.Chunk, id)
	}
	x.count(func(s *RemoteStats) { s.Tasks++ })
	return ack.Sequence, nil
}

func (x *RemoteExecutor) deleteSegment(name string) error {
	if name == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	store, err := x.JS.ObjectStore(ctx, segmentsBucket)
	if err != nil {
		return err
	}
	return store.Delete(ctx, name)
}

// cleanup removes what a finished task left: its queued messages (taken
// or not), its segment, its units.
func (x *RemoteExecutor) cleanup(t task.Task, seg string, published []uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := x.JS.Stream(ctx, tasksStream); err == nil {
		for _, seq := range published {
			_ = s.DeleteMsg(ctx, seq) // gone already when a worker took it
		}
	}
	_ = x.deleteSegment(seg)
	x.purge(t)
}

// purge drops t's unit messages.
func (x *RemoteExecutor) purge(t task.Task) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := x.JS.Stream(ctx, unitsStream); err == nil {
		_ = s.Purge(ctx, jetstream.WithPurgeSubject(unitSubject(t)))
	}
}

// watchJob answers the claims and heartbeats of job's workers.
func (x *RemoteExecutor) watchJob(job string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.jobs[job]; ok {
		return nil
	}
	claims, err := x.NC.Subscribe(claimSubject(job), func(m *nats.Msg) { x.answerClaim(job, m) })
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	beats, err := x.NC.Subscribe(beatSubject(job), func(m *nats.Msg) { x.answerBeat(job, m) })
	if err != nil {
		_ = claims.Unsubscribe()
		return fmt.Errorf("cluster: %w", err)
	}
	if x.jobs == nil {
		x.jobs = map[string][]*nats.Subscription{}
	}
	x.jobs[job] = []*nats.Subscription{claims, beats}
	return nil
}

// Close stops answering workers.
func (x *RemoteExecutor) Close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, subs := range x.jobs {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}
	x.jobs = nil
}

func (x *RemoteExecutor) lookup(job string, chunk, attempt int) *remoteTask {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.tasks[job+"."+strconv.Itoa(chunk)+"."+strconv.Itoa(attempt)]
}

// answerClaim grants a claim to a task that is in flight and has no
// worker that was heard from lately.
func (x *RemoteExecutor) answerClaim(job string, m *nats.Msg) {
	var req claimReq
	resp := claimResp{}
	if err := json.Unmarshal(m.Data, &req); err != nil {
		resp.Reason = "bad claim: " + err.Error()
	} else if rt := x.lookup(job, req.Chunk, req.Attempt); rt == nil {
		resp.Reason = "the task is not wanted any more"
	} else {
		resp = rt.grant(req, time.Now())
	}
	b, _ := json.Marshal(resp)
	_ = m.Respond(b)
}

// grant answers a worker's claim on rt: the claim is granted when the
// task is wanted, owned by no worker and not paused. It names the worker,
// the executor's nonce, the delivery and the claim's number, so that no
// two claims are the same. The task's StreamWriter learns where it runs.
func (rt *remoteTask) grant(req claimReq, now time.Time) claimResp {
	var resp claimResp
	rt.mu.Lock()
	switch {
	case rt.done:
		resp.Reason = "the task is not wanted any more"
	case rt.owner != "":
		resp.Reason = "the task runs on " + rt.worker
	case rt.paused:
		resp.Reason, resp.Retry = "the job is paused", true
	default:
		rt.claims++
		rt.owner = fmt.Sprintf("%s#%s#%d#%d", req.Worker, rt.nonce, req.Delivery, rt.claims)
		rt.worker, rt.heard = req.Worker, now
		resp.OK, resp.Claim = true, rt.owner
	}
	rt.mu.Unlock()
	// Told before the answer goes, so before any unit can come.
	if p, ok := rt.out.(task.Placed); ok && resp.OK {
		p.RunsOn(req.Worker)
	}
	return resp
}

// answerBeat notes that a worker is alive, and tells it to drop a task it
// no longer owns.
func (x *RemoteExecutor) answerBeat(job string, m *nats.Msg) {
	var b beat
	var r claimResp
	if json.Unmarshal(m.Data, &b) == nil {
		if rt := x.lookup(job, b.Chunk, b.Attempt); rt != nil {
			r = rt.beat(b, time.Now())
		}
	}
	resp, _ := json.Marshal(r)
	_ = m.Respond(resp)
}

// beat answers a heartbeat for rt: OK while the claim it is sent under
// owns the task, with the state the task should be in, so that a worker
// that missed a pause, resume or stop catches up.
func (rt *remoteTask) beat(b beat, now time.Time) claimResp {
	var r claimResp
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if r.OK = rt.owner == b.Claim && !rt.done; r.OK {
		rt.heard = now
		r.Paused, r.Stop = rt.paused, rt.stopping
	}
	return r
}

// steerTask sends op to the worker running t and waits for its answer.
func (x *RemoteExecutor) steerTask(ctx context.Context, t task.Task, op string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var resp claimResp
	if err := request(ctx, x.NC, ctlSubject(t), ctlReq{Op: op}, &resp); err != nil {
		return fmt.Errorf("cluster: %s chunk %d: %w", op, t.Chunk, err)
	}
	if !resp.OK {
		return fmt.Errorf("cluster: %s chunk %d: %s", op, t.Chunk, resp.Reason)
	}
	return nil
}

// remotePauser pauses a task's worker with the job.
type remotePauser struct {
	x  *RemoteExecutor
	rt *remoteTask
}

func (p *remotePauser) set(paused bool) bool {
	p.rt.mu.Lock()
	defer p.rt.mu.Unlock()
	p.rt.paused = paused
	p.rt.heard = time.Now() // a paused worker's silence is not counted against it
	return p.rt.owner != ""
}

func (p *remotePauser) Pause() {
	if p.set(true) {
		_ = p.x.steerTask(context.Background(), p.rt.t, "pause")
	}
}

func (p *remotePauser) Resume() {
	if p.set(false) {
		_ = p.x.steerTask(context.Background(), p.rt.t, "resume")
	}
}

// recoverQuiet is how long a job's unit stream must stay quiet before
// Recover takes it as complete: a worker whose connection comes back
// sends what its encoders made while it was down (its retries wait 2 s
// at most). recoverMax bounds the wait.
const (
	recoverQuiet = 3 * time.Second
	recoverMax   = 20 * time.Second
)

// Recover returns the streams the tasks of the chunk sent in an earlier
// run; see Recoverer. A stream is the messages of one claim on one
// subject, taken in order from the header on and cut at the first gap.
// The first call for a job reads what the job's tasks sent (all chunks),
// once the stream is quiet; later calls answer from that.
func (x *RemoteExecutor) Recover(ctx context.Context, job string, chunk int) ([]task.SentStream, error) {
	x.mu.Lock()
	sent, ok := x.sent[job]
	x.mu.Unlock()
	if !ok {
		var err error
		sent, err = x.readSent(ctx, job)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		// A failure is kept too: salvage asks once per job, not once
		// per chunk.
		x.mu.Lock()
		if x.sent == nil {
			x.sent = map[string]map[int][]task.SentStream{}
		}
		x.sent[job] = sent
		x.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return sent[chunk], nil
}

// readSent reads the streams the job's tasks sent, by chunk.
func (x *RemoteExecutor) readSent(ctx context.Context, job string) (map[int][]task.SentStream, error) {
	prefix := unitPrefix(job)
	cons, err := x.JS.OrderedConsumer(ctx, unitsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{prefix + ">"}})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	type group struct {
		chunk  int
		next   int // the sequence number expected; -1: unusable
		header bool
		st     task.SentStream
	}
	groups := map[string]*group{}
	var order []string
	start, last := time.Now(), time.Now()
	seen := false
	for time.Since(start) < recoverMax {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			h := m.Headers()
			seq, err := strconv.Atoi(h.Get(hdrSeq))
			// av1job.unit.JOB.CHUNK.ATTEMPT
			f := strings.Split(strings.TrimPrefix(m.Subject(), prefix), ".")
			if err != nil || len(f) != 2 {
				continue
			}
			chunk, err := strconv.Atoi(f[0])
			if err != nil {
				continue
			}
			key := m.Subject() + " " + h.Get(hdrClaim)
			g := groups[key]
			if g == nil {
				g = &group{chunk: chunk}
				groups[key] = g
				order = append(order, key)
			}
			if seq != g.next {
				continue // sent again, or after a gap: not taken
			}
			switch h.Get(hdrKind) {
			case "header":
				// (A target-quality task's probes come before it.)
				if g.header || json.Unmarshal(m.Data(), &g.st.Header) != nil {
					g.next = -1
					continue
				}
				g.header = true
			case "unit":
				if !g.header {
					continue
				}
				g.st.Units = append(g.st.Units, m.Data())
			}
			g.next++
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if got > 0 {
			seen, last = true, time.Now()
			continue
		}
		// Nothing sent at all: no task was in flight.
		if !seen || time.Since(last) >= recoverQuiet {
			break
		}
	}
	out := map[int][]task.SentStream{}
	for _, k := range order {
		if g := groups[k]; g.header && len(g.st.Units) > 0 {
			out[g.chunk] = append(out[g.chunk], g.st)
		}
	}
	return out, nil
}
