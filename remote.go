package av1job

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job/internal/segment"
)

// RemoteExecutor runs tasks on workers (Worker, `av1job worker`) over NATS
// JetStream. For each task it cuts the source's packets around the task's
// frames (package segment), puts them in the object store, and queues the
// task on its encoder version's work queue. The worker that takes it
// claims it first; the executor grants one claim at a time, and takes
// only the messages sent under the claim it granted, in order, so a
// result is never recorded twice. Units reach the StreamWriter as the
// worker's encoder makes them.
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

	mu    sync.Mutex
	tasks map[string]*remoteTask // by taskKey
	jobs  map[string][]*nats.Subscription
	stats RemoteStats
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
}

// Stats returns the counts so far.
func (x *RemoteExecutor) Stats() RemoteStats {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.stats
}

// remoteTask is a task in flight.
type remoteTask struct {
	t      Task
	mu     sync.Mutex
	owner  string // the granted claim, "" while none
	worker string
	heard  time.Time
	claims int
	paused bool
	done   bool // the executor has finished with it
}

func (x *RemoteExecutor) silence() time.Duration {
	if x.Silence > 0 {
		return x.Silence
	}
	return DefaultSilence
}

// Execute runs t on a worker; see Executor.
func (x *RemoteExecutor) Execute(ctx context.Context, t Task, out StreamWriter, steer Steer) (int, error) {
	if err := t.Validate(); err != nil {
		return t.Start, err
	}
	if err := x.watchJob(t.Job); err != nil {
		return t.Start, err
	}
	rt := &remoteTask{t: t}
	key := taskKey(t)
	x.mu.Lock()
	if x.tasks == nil {
		x.tasks = map[string]*remoteTask{}
	}
	x.tasks[key] = rt
	x.mu.Unlock()
	defer func() {
		rt.mu.Lock()
		rt.done = true
		rt.mu.Unlock()
		x.mu.Lock()
		delete(x.tasks, key)
		x.mu.Unlock()
	}()
	// The task's pause follows the job's: a paused job's workers freeze
	// their encoders, and no new claim is granted.
	defer steer.Attach(&remotePauser{x: x, rt: rt})()

	cons, err := x.JS.OrderedConsumer(ctx, unitsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{unitSubject(t)}})
	if err != nil {
		return t.Start, fmt.Errorf("cluster: %w", err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return t.Start, fmt.Errorf("cluster: %w", err)
	}
	defer msgs.Stop()
	defer x.purge(t)
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
			case <-ctx.Done():
				return
			}
		}
	}()

	kind := segment.Copy
	seg, err := x.send(ctx, t, kind, 0)
	if err != nil {
		return t.Start, err
	}
	defer func() { _ = x.deleteSegment(seg) }()

	tick := time.NewTicker(x.silence() / 4)
	defer tick.Stop()
	stopping := steer.Stopping()
	stopSent := false
	var claim string // the claim whose messages are being taken
	next, units := 0, 0
	for {
		select {
		case <-ctx.Done():
			return t.Start + units, ctx.Err()
		case <-stopping:
			stopping = nil
			rt.mu.Lock()
			owner := rt.owner
			rt.done = owner == "" // no claim granted from now on
			rt.mu.Unlock()
			if owner == "" {
				return t.Start, ErrStopped
			}
			stopSent = true
			go x.steerTask(ctx, t, "stop")
		case <-tick.C:
			rt.mu.Lock()
			silent := rt.owner != "" && time.Since(rt.heard) > x.silence() && !rt.paused
			worker := rt.worker
			if silent {
				rt.owner = ""
				if units > 0 {
					rt.done = true
				}
			}
			rt.mu.Unlock()
			if !silent {
				continue
			}
			x.mu.Lock()
			x.stats.Lost++
			x.mu.Unlock()
			if units > 0 {
				// What arrived is kept; the rest becomes a new chunk.
				return t.Start + units, nil
			}
			if stopSent {
				return t.Start, ErrStopped
			}
			_ = worker // JetStream delivers the task again after its ack wait
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
				var sh StreamHeader
				if err := json.Unmarshal(m.Data(), &sh); err != nil {
					return t.Start, fmt.Errorf("cluster: chunk %d: header: %w", t.Chunk, err)
				}
				if err := out.Header(sh); err != nil {
					return t.Start, err
				}
			case "unit":
				pts, err := strconv.ParseUint(h.Get(hdrPTS), 10, 64)
				if err != nil {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: unit without timestamp", t.Chunk)
				}
				if err := out.Unit(pts, m.Data()); err != nil {
					return t.Start + units, err
				}
				units++
				x.count(func(s *RemoteStats) { s.Units++; s.UnitBytes += int64(len(m.Data())) })
			case "end":
				var e endMsg
				if err := json.Unmarshal(m.Data(), &e); err != nil {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: end: %w", t.Chunk, err)
				}
				if e.End != units {
					return t.Start + units, fmt.Errorf("cluster: chunk %d: the worker ended at %d frames, %d units came", t.Chunk, e.End, units)
				}
				if units == 0 {
					return t.Start, ErrStopped
				}
				return t.Start + units, nil
			case "fail":
				var f failMsg
				_ = json.Unmarshal(m.Data(), &f)
				rt.mu.Lock()
				w := rt.worker
				rt.mu.Unlock()
				err := fmt.Errorf("worker %s: %s", w, f.Msg)
				switch {
				case f.Segment && kind == segment.Copy && units == 0:
					// The packets do not give the frames: send them
					// decoded, losslessly, and let the task be claimed
					// again.
					kind = segment.Lossless
					_ = x.deleteSegment(seg)
					rt.mu.Lock()
					rt.owner = ""
					rt.mu.Unlock()
					claim, next = "", 0
					if seg, err = x.send(ctx, t, kind, rt.claims); err != nil {
						return t.Start, err
					}
					continue
				case f.Permanent:
					return t.Start, &TaskError{Task: t, Msg: err.Error()}
				}
				return t.Start, err
			default:
				return t.Start + units, fmt.Errorf("cluster: chunk %d: message of kind %q", t.Chunk, kindOf)
			}
		}
	}
}

func (x *RemoteExecutor) count(f func(*RemoteStats)) {
	x.mu.Lock()
	f(&x.stats)
	x.mu.Unlock()
}

// send cuts t's segment, stores it, and queues the task.
func (x *RemoteExecutor) send(ctx context.Context, t Task, kind segment.Kind, gen int) (string, error) {
	tb, _ := new(big.Rat).SetString(t.Source.TimeBase)
	data, err := segment.Cut(ctx, segment.Range{Path: t.Source.Path, Stream: t.Source.Stream, TimeBase: tb, First: t.PTS[0], Last: t.PTS[len(t.PTS)-1]}, kind)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	name := taskKey(t) + "." + string(kind) + "." + strconv.Itoa(gen)
	store, err := x.JS.ObjectStore(ctx, segmentsBucket)
	if err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	if _, err := store.Put(ctx, jetstream.ObjectMeta{Name: name}, bytes.NewReader(data)); err != nil {
		return "", fmt.Errorf("cluster: segment of chunk %d: %w", t.Chunk, err)
	}
	b, err := json.Marshal(taskMsg{Task: t, Segment: segmentRef{Object: name, Kind: kind, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}})
	if err != nil {
		return name, err
	}
	if _, err := x.JS.PublishMsg(ctx, &nats.Msg{Subject: taskSubject(t.Encoder), Data: b, Header: nats.Header{nats.MsgIdHdr: []string{name}}}); err != nil {
		return name, fmt.Errorf("cluster: queue chunk %d: %w", t.Chunk, err)
	}
	x.count(func(s *RemoteStats) { s.Tasks++; s.SegmentBytes += int64(len(data)) })
	return name, nil
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

// purge drops t's unit messages once the executor is done with them.
func (x *RemoteExecutor) purge(t Task) {
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
			rt.owner = fmt.Sprintf("%s#%d#%d", req.Worker, req.Delivery, rt.claims)
			rt.worker, rt.heard = req.Worker, time.Now()
			resp.OK, resp.Claim = true, rt.owner
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
	ok := false
	if json.Unmarshal(m.Data, &b) == nil {
		if rt := x.lookup(job, b.Chunk, b.Attempt); rt != nil {
			rt.mu.Lock()
			if ok = rt.owner == b.Claim && !rt.done; ok {
				rt.heard = time.Now()
			}
			rt.mu.Unlock()
		}
	}
	resp, _ := json.Marshal(claimResp{OK: ok})
	_ = m.Respond(resp)
}

// steerTask sends op to the worker running t and waits for its answer.
func (x *RemoteExecutor) steerTask(ctx context.Context, t Task, op string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var resp claimResp
	if err := request(ctx, x.NC, ctlSubject(t), ctlReq{Op: op}, &resp); err != nil {
		return err
	}
	if !resp.OK {
		return errors.New(resp.Reason)
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
