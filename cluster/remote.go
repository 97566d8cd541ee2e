package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
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

// remoteTask is a task in flight.
type remoteTask struct {
	t        task.Task
	out      task.StreamWriter
	mu       sync.Mutex
	owner    string // the granted claim, "" while none
	worker   string
	heard    time.Time
	claims   int
	nonce    string // the executor's: claims of another run never match
	paused   bool
	stopping bool
	done     bool // the executor has finished with it
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
	if x.lossless[t.Job+"."+strconv.Itoa(t.Chunk)] {
		kind = segment.Lossless
	}
	x.mu.Unlock()
	// Cleanup runs in this order: no claim is granted from the moment
	// Execute ends; then what the task left in JetStream goes.
	var seg string
	var published []uint64
	done := make(chan struct{})
	defer func() {
		rt.mu.Lock()
		rt.done = true
		rt.mu.Unlock()
		x.mu.Lock()
		delete(x.tasks, key)
		x.mu.Unlock()
		close(done)
		x.cleanup(t, seg, published)
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

	ref, err := x.put(ctx, t, kind)
	seg = ref.Object
	if err != nil {
		return t.Start, err
	}
	gen := 0
	seq, err := x.publish(ctx, t, ref, gen)
	if err != nil {
		return t.Start, err
	}
	published = append(published, seq)

	tick := time.NewTicker(x.silence() / 4)
	defer tick.Stop()
	stopping := steer.Stopping()
	stopSent := false
	headerSent := false
	var claim string // the claim whose messages are being taken
	next, units := 0, 0
	// requeue offers the task again under a new message: its worker was
	// lost or failed before sending a unit.
	requeue := func() error {
		rt.mu.Lock()
		rt.owner = ""
		rt.mu.Unlock()
		claim, next = "", 0
		gen++
		seq, err := x.publish(ctx, t, ref, gen)
		if err != nil {
			return err
		}
		published = append(published, seq)
		return nil
	}
	// settle ends the task with what arrived once its worker is gone:
	// what arrived is kept and the rest becomes a new chunk; with nothing,
	// a stopped task ends stopped, and any other goes to another worker
	// (done is false).
	settle := func() (end int, done bool, err error) {
		switch {
		case units > 0:
			return t.Start + units, true, nil
		case stopSent:
			return t.Start, true, task.ErrStopped
		}
		if err := requeue(); err != nil {
			return t.Start, true, err
		}
		return t.Start, false, nil
	}
	for {
		select {
		case <-ctx.Done():
			return t.Start + units, ctx.Err()
		case <-stopping:
			stopping = nil
			rt.mu.Lock()
			owner := rt.owner
			rt.stopping = true
			rt.done = owner == "" // no claim granted from now on
			rt.mu.Unlock()
			if owner == "" {
				return t.Start, task.ErrStopped
			}
			stopSent = true
			go func() {
				// A stop that does not arrive is caught up by the
				// heartbeat's answer, which carries Stop.
				if err := x.steerTask(ctx, t, "stop"); err != nil {
					x.count(func(s *RemoteStats) { s.StopsUnanswered++ })
				}
			}()
		case <-tick.C:
			if err := x.storeFailed(); err != nil {
				// Nothing more can be sent or received: the task
				// ends with what arrived, like a lost worker's.
				rt.mu.Lock()
				rt.owner, rt.done = "", true
				rt.mu.Unlock()
				if units > 0 {
					return t.Start + units, nil
				}
				return t.Start, err
			}
			rt.mu.Lock()
			silent := rt.owner != "" && time.Since(rt.heard) > x.silence() && !rt.paused
			if silent {
				rt.owner = ""
				if units > 0 || stopSent {
					rt.done = true
				}
			}
			rt.mu.Unlock()
			if !silent {
				continue
			}
			x.count(func(s *RemoteStats) { s.Lost++ })
			if end, done, err := settle(); done {
				return end, err
			}
		case m, ok := <-in:
			if !ok {
				return t.Start + units, fmt.Errorf("cluster: the result stream of chunk %d ended", t.Chunk)
			}
			h := m.Headers()
			c, kindOf := h.Get(hdrClaim), h.Get(hdrKind)
			seq, serr := strconv.Atoi(h.Get(hdrSeq))
			rt.mu.Lock()
			owner := rt.owner
			if c == owner && owner != "" {
				rt.heard = time.Now()
			}
			rt.mu.Unlock()
			if c != owner || owner == "" || serr != nil || seq != next {
				if c == claim && seq < next {
					continue // sent again: taken already
				}
				x.count(func(s *RemoteStats) { s.Refused++ })
				continue
			}
			if claim != c {
				if units > 0 {
					// Another worker's units cannot follow these.
					x.count(func(s *RemoteStats) { s.Refused++ })
					continue
				}
				claim = c
			}
			next++
			switch kindOf {
			case "header":
				var sh task.StreamHeader
				if err := json.Unmarshal(m.Data(), &sh); err != nil {
					return t.Start, fmt.Errorf("cluster: chunk %d: header from %s: %w", t.Chunk, c, err)
				}
				if headerSent {
					continue // a second worker's: the stream is the same
				}
				if err := out.Header(sh); err != nil {
					return t.Start, err
				}
				headerSent = true
			case "unit":
				pts, err := strconv.ParseUint(h.Get(hdrPTS), 10, 64)
				if err != nil {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: unit %d from %s: timestamp: %w", t.Chunk, seq, c, err)
				}
				if err := out.Unit(pts, m.Data()); err != nil {
					return t.Start + units, err
				}
				units++
				x.count(func(s *RemoteStats) { s.Units++; s.UnitBytes += int64(len(m.Data())) })
			case "probe":
				var p task.Probe
				if err := json.Unmarshal(m.Data(), &p); err != nil {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: probe from %s: %w", t.Chunk, c, err)
				}
				if rec, ok := out.(task.QualityRecorder); ok && t.Target != nil {
					if err := rec.Probe(p); err != nil {
						return t.Start + units, err
					}
					// Offered again, the task goes on from this probe.
					tq := *t.Target
					tq.Known = append(slices.Clone(tq.Known), p)
					t.Target = &tq
				}
			case "quality":
				var q qualityMsg
				if err := json.Unmarshal(m.Data(), &q); err != nil {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: quality from %s: %w", t.Chunk, c, err)
				}
				if rec, ok := out.(task.QualityRecorder); ok && t.Target != nil {
					score := math.NaN()
					if q.Score != nil {
						score = *q.Score
					}
					rec.Quality(q.Q, score)
				}
			case "end":
				var e endMsg
				if err := json.Unmarshal(m.Data(), &e); err != nil {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: end from %s: %w", t.Chunk, c, err)
				}
				if e.End != units {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: %s ended at %d frames, %d units came", t.Chunk, c, e.End, units)
				}
				// (A worker drained before its first frame: another
				// takes the task.)
				if end, done, err := settle(); done {
					return end, err
				}
			case "fail":
				var f failMsg
				if err := json.Unmarshal(m.Data(), &f); err != nil {
					f.Msg = fmt.Sprintf("a failure that does not parse (%v)", err)
				}
				err := fmt.Errorf("chunk %d on worker %s: %s", t.Chunk, c, f.Msg)
				switch {
				case f.Segment && kind == segment.Copy:
					// The packets do not give the frames: from now on
					// the chunk's frames go losslessly coded.
					x.mu.Lock()
					x.lossless[t.Job+"."+strconv.Itoa(t.Chunk)] = true
					x.mu.Unlock()
					if units > 0 {
						return t.Start, err // the next attempt sends them so
					}
					kind = segment.Lossless
					_ = x.deleteSegment(ref.Object)
					if ref, err = x.put(ctx, t, kind); err != nil {
						seg = ""
						return t.Start, err
					}
					seg = ref.Object
					if err := requeue(); err != nil {
						return t.Start, err
					}
					continue
				case f.Permanent:
					return t.Start, &task.TaskError{Task: t, Msg: err.Error(), Err: err}
				}
				return t.Start, err
			default:
				return t.Start + units, fmt.Errorf("cluster: chunk %d: message of kind %q from %s", t.Chunk, kindOf, c)
			}
		}
	}
}

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
			rt.worker, rt.heard = req.Worker, time.Now()
			resp.OK, resp.Claim = true, rt.owner
			if p, ok := rt.out.(task.Placed); ok {
				p.RunsOn(req.Worker)
			}
		}
		rt.mu.Unlock()
	}
	b, _ := json.Marshal(resp)
	_ = m.Respond(b)
}

// answerBeat notes that a worker is alive, and tells it to drop a task it
// no longer owns.
func (x *RemoteExecutor) answerBeat(job string, m *nats.Msg) {
	var b beat
	var r claimResp
	if json.Unmarshal(m.Data, &b) == nil {
		if rt := x.lookup(job, b.Chunk, b.Attempt); rt != nil {
			rt.mu.Lock()
			if r.OK = rt.owner == b.Claim && !rt.done; r.OK {
				rt.heard = time.Now()
				// The state the task should be in: a worker that missed
				// a pause, resume or stop catches up.
				r.Paused, r.Stop = rt.paused, rt.stopping
			}
			rt.mu.Unlock()
		}
	}
	resp, _ := json.Marshal(r)
	_ = m.Respond(resp)
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
