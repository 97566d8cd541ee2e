package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/steer"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/local"
	"github.com/av1job/av1job/task"
)

// A Worker takes tasks from a cluster's work queue and runs them on this
// machine (local.Executor), streaming each temporal unit back as the
// encoder makes it. It takes only tasks for the encoder versions this
// machine has, checks every task before it runs anything (Task.Validate,
// the segment's size and hash), and runs a task only once the coordinator
// has granted its claim. While it runs a task it tells JetStream that it
// is working on it (InProgress) and the coordinator that it is alive; a
// coordinator that answers that the task went to another worker makes it
// drop the task.
//
// Cancelling Run's context drains the worker: it takes no new task, and
// the running ones end at their current frame, flush, and are sent back.
type Worker struct {
	NC   *nats.Conn
	JS   jetstream.JetStream
	Name string // in claims and logs; default: the host name and PID
	// Slots is how many tasks run at once (default 1).
	Slots int
	// Threads is the encoder threads per task; 0 lets the encoder choose.
	Threads int
	// AckWait is how long a task stays with a worker that stopped
	// telling that it is working on it (default DefaultAckWait).
	AckWait time.Duration
	// Dir holds the segments of running tasks, made if missing (default: the system's
	// temporary directory).
	Dir string
	// Encoders names the encoders offered (default: every registered
	// encoder this machine can run).
	Encoders []string
	Log      *slog.Logger

	ex      local.Executor
	frames  atomic.Int64 // frames sent since it started, for its announcements
	running taskSet      // the tasks its slots run
}

// DefaultAckWait is the default bound on how long a silent worker keeps a
// task.
const DefaultAckWait = 30 * time.Second

// beatEvery is how often a worker reports each running task.
const beatEvery = time.Second

// orphanAfter is how long a task frozen by a lost connection waits for
// its coordinator before the worker drops it.
const orphanAfter = 30 * time.Second

// A runningTask is a task one of a worker's slots runs, from its
// delivery to its end: its steering, its view of the worker's connection,
// and, once it is claimed, what the worker announces of it.
type runningTask struct {
	ctl     *steer.Controller
	down    atomic.Bool             // frozen because the connection went down
	recheck chan struct{}           // the connection is back: ask the coordinator now
	cur     atomic.Pointer[current] // set while the task is claimed
}

func newRunningTask() *runningTask {
	return &runningTask{ctl: steer.New(), recheck: make(chan struct{}, 1)}
}

// current is a claimed task: the claim it runs under and the publisher
// of its stream.
type current struct {
	t     task.Task
	claim string
	pub   *unitPublisher
}

// A taskSet is the tasks a worker's slots run. Its lock guards the set
// alone: it is held to change or copy the set, never while a task is
// frozen, thawed, stopped or asked about, which can take seconds.
type taskSet struct {
	mu       sync.Mutex
	tasks    map[*runningTask]struct{}
	draining bool
}

// add adds rt, unless the worker drains; it reports whether it did.
func (s *taskSet) add(rt *runningTask) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	if s.tasks == nil {
		s.tasks = map[*runningTask]struct{}{}
	}
	s.tasks[rt] = struct{}{}
	return true
}

func (s *taskSet) remove(rt *runningTask) {
	s.mu.Lock()
	delete(s.tasks, rt)
	s.mu.Unlock()
}

// list returns the tasks running.
func (s *taskSet) list() []*runningTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := make([]*runningTask, 0, len(s.tasks))
	for rt := range s.tasks {
		l = append(l, rt)
	}
	return l
}

// drain makes add refuse every task from now on, and returns the tasks
// running.
func (s *taskSet) drain() []*runningTask {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	return s.list()
}

// freeze stops the encoders of every running task, while the connection
// is down, and returns how many tasks there are.
func (s *taskSet) freeze() int {
	l := s.list()
	for _, rt := range l {
		// Marked even when a process would not freeze in time: the thaw
		// after the heartbeat must undo what was done. Marked after the
		// pause, so that a heartbeat answered meanwhile does not thaw it.
		_ = rt.ctl.Pause(false)
		rt.down.Store(true)
	}
	return len(l)
}

// recheck makes every running task's heartbeat ask the coordinator now.
func (s *taskSet) recheck() {
	for _, rt := range s.list() {
		select {
		case rt.recheck <- struct{}{}:
		default:
		}
	}
}

// announced returns what the worker announces of its claimed tasks.
func (s *taskSet) announced() []WorkerTask {
	var ts []WorkerTask
	for _, rt := range s.list() {
		cur := rt.cur.Load()
		if cur == nil {
			continue
		}
		p, _, _ := rt.ctl.PauseState()
		ts = append(ts, WorkerTask{Job: cur.t.Job, Chunk: cur.t.Chunk, Frames: cur.pub.units(), Paused: p})
	}
	return ts
}

func (w *Worker) logger() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (w *Worker) name() string {
	if w.Name != "" {
		return w.Name
	}
	h, _ := os.Hostname()
	return h + "-" + strconv.Itoa(os.Getpid())
}

// Run takes and runs tasks until ctx is cancelled, then drains.
func (w *Worker) Run(ctx context.Context) error {
	ackWait := w.AckWait
	if ackWait <= 0 {
		ackWait = DefaultAckWait
	}
	w.ex.Threads = w.Threads
	log := w.logger().With("worker", w.name())
	if w.Dir != "" {
		if err := os.MkdirAll(w.Dir, 0o700); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
	}
	if n, b, err := sweepSegments(w.Dir); err != nil {
		log.Warn("segments left by killed workers", "err", err)
	} else if n > 0 {
		log.Info("removed segments left by killed workers", "files", n, "bytes", b)
	}
	if err := Setup(ctx, w.JS); err != nil {
		return err
	}
	names := w.Encoders
	if len(names) == 0 {
		names = encode.Names()
	}
	var consumers []jetstream.Consumer
	var offered []task.EncoderRef
	for _, n := range names {
		enc, err := encode.Lookup(n)
		if err != nil {
			return err
		}
		ver, err := enc.Version(ctx)
		if err != nil {
			log.Info("encoder not offered", "encoder", n, "reason", err)
			continue
		}
		ref := task.EncoderRef{Name: n, Version: ver}
		c, err := consumerFor(ctx, w.JS, ref, ackWait)
		if err != nil {
			return err
		}
		log.Info("taking tasks", "encoder", n, "version", ver, "subject", taskSubject(ref))
		consumers = append(consumers, c)
		offered = append(offered, ref)
	}
	if len(consumers) == 0 {
		return errors.New("worker: no encoder runs on this machine")
	}
	// Tasks run under their own context: a drain lets them end at their
	// current frame and send what they made.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	var wg sync.WaitGroup
	slots := max(1, w.Slots)
	pr := newPresence(w.name(), slots, offered, func() ([]WorkerTask, int64) {
		return w.running.announced(), w.frames.Load()
	})
	announced := make(chan struct{})
	stopAnnounce := make(chan struct{})
	go func() {
		defer close(announced)
		pr.announce(ctx, w.NC, stopAnnounce)
	}()
	defer func() {
		close(stopAnnounce)
		<-announced
	}()
	// While the connection is down the encoders are frozen: what they
	// would make could not be sent, and a coordinator that is gone for
	// good (a server killed) would have it encoded again elsewhere. Once
	// the connection is back, what they made is sent and a heartbeat
	// asks at once whether the task is still this worker's: only then
	// are they thawed.
	onDown, onUp := w.NC.Opts.DisconnectedErrCB, w.NC.Opts.ReconnectedCB
	w.NC.SetDisconnectErrHandler(func(nc *nats.Conn, err error) {
		if n := w.running.freeze(); n > 0 {
			log.Warn("connection lost; encoders frozen until it is back", "tasks", n, "err", err)
		}
		if onDown != nil {
			onDown(nc, err)
		}
	})
	w.NC.SetReconnectHandler(func(nc *nats.Conn) {
		w.running.recheck()
		log.Info("connection back", "url", nc.ConnectedUrlRedacted())
		if onUp != nil {
			onUp(nc)
		}
	})
	defer w.NC.SetDisconnectErrHandler(onDown)
	defer w.NC.SetReconnectHandler(onUp)
	for i := range slots {
		wg.Go(func() {
			for k := i; ctx.Err() == nil; k++ {
				batch, err := consumers[k%len(consumers)].Fetch(1, jetstream.FetchMaxWait(time.Second))
				if err != nil {
					if ctx.Err() == nil {
						log.Warn("fetch", "err", err)
						sleep(ctx, time.Second)
					}
					continue
				}
				for m := range batch.Messages() {
					if ctx.Err() != nil {
						_ = m.Nak() // draining: another worker takes it
						continue
					}
					rt := newRunningTask()
					if !w.running.add(rt) {
						_ = m.Nak() // draining since the check above
						continue
					}
					w.runMsg(runCtx, log, m, rt, ackWait)
					w.running.remove(rt)
				}
			}
		})
	}
	<-ctx.Done()
	for _, rt := range w.running.drain() {
		rt.ctl.Stop()
	}
	log.Info("draining")
	wg.Wait()
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runMsg runs one delivered task.
func (w *Worker) runMsg(ctx context.Context, log *slog.Logger, m jetstream.Msg, rt *runningTask, ackWait time.Duration) {
	tm, err := decodeTaskMsg(m.Data())
	if err != nil {
		log.Error("task refused", "err", err)
		_ = m.Term()
		return
	}
	t := tm.Task
	log = log.With("job", t.Job, "chunk", t.Chunk, "attempt", t.Attempt, "frames", fmt.Sprintf("[%d,%d)", t.Start, t.End))
	var delivered uint64
	if md, err := m.Metadata(); err == nil {
		delivered = md.NumDelivered
	}
	var cr claimResp
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = request(cctx, w.NC, claimSubject(t.Job), claimReq{Chunk: t.Chunk, Attempt: t.Attempt, Worker: w.name(), Delivery: delivered}, &cr)
	cancel()
	switch {
	case err != nil:
		log.Warn("claim not answered; the task goes back", "err", err)
		_ = m.NakWithDelay(2 * time.Second)
		return
	case cr.Retry:
		_ = m.NakWithDelay(time.Second)
		return
	case !cr.OK:
		log.Info("task dropped", "reason", cr.Reason)
		_ = m.Term()
		return
	}
	log.Info("task claimed", "segment", tm.Segment.Kind, "bytes", tm.Segment.Size)
	pub := &unitPublisher{js: w.JS, subj: unitSubject(t), claim: cr.Claim, total: &w.frames}
	cur := &current{t: t, claim: cr.Claim, pub: pub}
	rt.cur.Store(cur)
	defer rt.cur.Store(nil)
	end, err := w.runTask(ctx, log, m, tm.Segment, rt, cur, ackWait)
	var report error
	switch {
	case errors.Is(err, errDropped):
		log.Info("task dropped: the coordinator gave it to another worker")
		_ = m.Term()
		return
	case err == nil || errors.Is(err, task.ErrStopped):
		report = pub.send("end", endMsg{End: end}, nil)
	default:
		// Only a fault of the task itself is permanent: a problem of
		// this machine (a full disk, a missing program, a segment file
		// that changed under the task) is not the task's, and another
		// worker may run it.
		var te *task.TaskError
		f := failMsg{Msg: err.Error(), Segment: errors.Is(err, source.ErrShort) || errors.Is(err, source.ErrMisplaced), Permanent: errors.As(err, &te)}
		log.Error("task failed", "err", err)
		report = pub.send("fail", f, nil)
	}
	if report != nil {
		// The coordinator may not have it all: the task goes back.
		log.Warn("result not sent", "err", report)
		_ = m.Nak()
		return
	}
	log.Info("task done", "frames", end)
	_ = m.Ack()
}

// errDropped: the coordinator gave the task to another worker.
var errDropped = errors.New("task dropped")

// runTask fetches the task's segment and encodes it, returning the number
// of frames encoded. Its heartbeat has ended when it returns.
func (w *Worker) runTask(ctx context.Context, log *slog.Logger, m jetstream.Msg, seg segmentRef, rt *runningTask, cur *current, ackWait time.Duration) (int, error) {
	t, ctl, pub := cur.t, rt.ctl, cur.pub
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Steering and heartbeats start with the claim, before the segment
	// is fetched: a pause or a stop is never missed, and a long fetch is
	// not taken for silence.
	sub, err := w.NC.Subscribe(ctlSubject(t), func(msg *nats.Msg) {
		var req ctlReq
		resp := claimResp{OK: true}
		if err := json.Unmarshal(msg.Data, &req); err != nil {
			resp = claimResp{Reason: err.Error()}
		} else if err := steerOp(ctl, req.Op); err != nil {
			resp = claimResp{Reason: err.Error()}
		}
		b, _ := json.Marshal(resp)
		_ = msg.Respond(b)
	})
	if err != nil {
		return 0, err
	}
	defer sub.Unsubscribe() //nolint:errcheck // the connection may be gone
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		w.heartbeat(tctx, cancel, log, m, rt, cur, min(beatEvery, ackWait/3))
	}()
	// The heartbeat ends before the task does: nothing steers the task,
	// or asks about it, once its slot has gone on.
	defer func() {
		cancel(nil)
		<-beating
	}()

	path, release, err := w.fetchSegment(tctx, seg)
	if err != nil {
		return 0, err
	}
	defer release()
	id, err := plan.SourceIdentity(path)
	if err != nil {
		return 0, err
	}
	// Every process of the task (the segment's probe too) is in its
	// group, so that a pause freezes it.
	gctx := tools.WithGroup(tctx, ctl.Group())
	lt, err := segmentTask(gctx, t, path)
	if err != nil {
		return 0, err
	}
	// The task's own identity is its source's, which is not here: the
	// segment stands for it. That the segment was cut from the task's
	// source is the coordinator's to make sure of (RemoteExecutor.put)
	// before it names the segment's size and hash in the task's message;
	// fetchSegment held the segment to those. What the local executor
	// checks from here on is that the segment file stays as fetched.
	lt.Source.Size, lt.Source.Content = id.Size, id.Sample
	end, err := w.ex.Execute(gctx, lt, pub, ctl.Steer())
	if c := context.Cause(tctx); errors.Is(c, errDropped) {
		return 0, errDropped
	}
	if err == nil {
		err = pub.err()
	}
	return end, err
}

// heartbeat tells, every period until ctx ends and at once when the
// connection comes back, JetStream that the task is being worked on (so
// it is not delivered again) and the coordinator that its worker is
// alive. The coordinator's answer may say that the task is no longer this
// worker's (then it is halted and drop is called with errDropped), or
// that it should be paused or stopped (a request that was lost). A task
// frozen by a lost connection is thawed once the coordinator answers, and
// dropped when it has not for orphanAfter.
func (w *Worker) heartbeat(ctx context.Context, drop context.CancelCauseFunc, log *slog.Logger, m jetstream.Msg, rt *runningTask, cur *current, period time.Duration) {
	t, ctl, pub := cur.t, rt.ctl, cur.pub
	tick := time.NewTicker(period)
	defer tick.Stop()
	heard := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-rt.recheck:
		}
		_ = m.InProgress()
		var resp claimResp
		bctx, bcancel := context.WithTimeout(ctx, beatEvery)
		err := request(bctx, w.NC, beatSubject(t.Job), beat{Chunk: t.Chunk, Attempt: t.Attempt, Claim: cur.claim, Frames: pub.units()}, &resp)
		bcancel()
		switch {
		case err != nil:
			if rt.down.Load() && time.Since(heard) > orphanAfter {
				log.Warn("coordinator unreachable; task dropped", "for", time.Since(heard).Round(time.Second))
				ctl.Halt()
				drop(errDropped)
				return
			}
			continue
		case !resp.OK:
			log.Info("coordinator took the task back", "units_sent", pub.units())
			ctl.Halt()
			drop(errDropped)
			return
		}
		heard = time.Now()
		switch {
		case resp.Stop:
			ctl.Stop()
		case resp.Paused:
			_ = ctl.Pause(true)
		default:
			if p, _, _ := ctl.PauseState(); p {
				_ = ctl.Resume(true)
			}
		}
		if rt.down.Swap(false) {
			_ = ctl.Resume(false) // leaves a pause the coordinator asked for
		}
	}
}

// steerOp applies a coordinator's request to a running task.
func steerOp(ctl *steer.Controller, op string) error {
	switch op {
	case "pause":
		return ctl.Pause(true)
	case "resume":
		return ctl.Resume(true)
	case "stop":
		ctl.Stop()
		return nil
	}
	return fmt.Errorf("unknown op %q", op)
}

// segmentPattern names the segment files of running tasks in a worker's
// directory.
const segmentPattern = "av1job-segment-*.nut"

// fetchSegment copies a segment from the object store into a file,
// checking its size and hash. The file holds a shared flock(2) until
// release, which removes it: a worker killed meanwhile leaves the file
// unlocked, and sweepSegments removes it at the next start of a worker on
// the same directory.
func (w *Worker) fetchSegment(ctx context.Context, s segmentRef) (path string, release func(), err error) {
	store, err := w.JS.ObjectStore(ctx, segmentsBucket)
	if err != nil {
		return "", nil, fmt.Errorf("segment: %w", err)
	}
	r, err := store.Get(ctx, s.Object)
	if err != nil {
		return "", nil, fmt.Errorf("segment %s: %w", s.Object, err)
	}
	defer r.Close()
	f, err := os.CreateTemp(w.Dir, segmentPattern)
	if err != nil {
		return "", nil, fmt.Errorf("segment: %w", err)
	}
	release = func() {
		os.Remove(f.Name()) // before the lock goes, so a sweep never sees it unlocked
		f.Close()
	}
	if err := journal.Flock(f, syscall.LOCK_SH); err != nil {
		release()
		return "", nil, fmt.Errorf("segment: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, s.Size+1))
	if err == nil && (n != s.Size || hex.EncodeToString(h.Sum(nil)) != s.SHA256) {
		err = fmt.Errorf("segment %s: %d bytes that do not match the task's %d bytes and hash", s.Object, n, s.Size)
	}
	if err != nil {
		release()
		return "", nil, err
	}
	return filepath.Clean(f.Name()), release, nil
}

// sweepAge is how old a segment file must be before sweepSegments may
// take it: a worker creates a segment and locks it a moment later.
const sweepAge = time.Minute

// sweepSegments removes from dir the segment files that no running
// worker holds: those of workers that were killed during a task. A file
// whose shared lock is held, or that was written in the last sweepAge, is
// left. It returns the number removed and their bytes.
func sweepSegments(dir string) (n int, bytes int64, err error) {
	if dir == "" {
		dir = os.TempDir()
	}
	names, err := filepath.Glob(filepath.Join(dir, segmentPattern))
	if err != nil {
		return 0, 0, err
	}
	for _, name := range names {
		fi, err := os.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < sweepAge {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		if journal.Flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil && os.Remove(name) == nil {
			n, bytes = n+1, bytes+fi.Size()
		}
		f.Close()
	}
	return n, bytes, nil
}

// unitPublisher is a StreamWriter that sends a task's output to its unit
// stream, each message under the task's claim with the next sequence
// number.
type unitPublisher struct {
	js    jetstream.JetStream
	subj  string
	claim string
	total *atomic.Int64 // the worker's count of units sent, when set

	n atomic.Int64 // units sent; read by the heartbeat without waiting for a send

	mu   sync.Mutex
	seq  int
	fail error
}

func (p *unitPublisher) Header(h task.StreamHeader) error { return p.send("header", h, nil) }

func (p *unitPublisher) Unit(pts uint64, data []byte) error {
	if err := p.send("unit", nil, &unitData{pts, data}); err != nil {
		return err
	}
	p.n.Add(1)
	if p.total != nil {
		p.total.Add(1)
	}
	return nil
}

// Probe sends a target-quality probe; see QualityRecorder. It returns
// once JetStream keeps it; the coordinator journals it as it reads it.
func (p *unitPublisher) Probe(pr task.Probe) error { return p.send("probe", pr, nil) }

// Quality sends the quantizer and score of the stream; see
// QualityRecorder.
func (p *unitPublisher) Quality(q int, score float64) {
	m := qualityMsg{Q: q}
	if !math.IsNaN(score) {
		m.Score = &score
	}
	_ = p.send("quality", m, nil) // a failed send fails the task's next one
}

type unitData struct {
	pts  uint64
	data []byte
}

func (p *unitPublisher) units() int { return int(p.n.Load()) }

func (p *unitPublisher) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fail
}

// send publishes one message and waits for JetStream to store it; a
// message sent again after a lost acknowledgement is dropped by its ID.
func (p *unitPublisher) send(kind string, v any, u *unitData) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	msg := &nats.Msg{Subject: p.subj, Header: nats.Header{}}
	msg.Header.Set(hdrKind, kind)
	msg.Header.Set(hdrClaim, p.claim)
	msg.Header.Set(hdrSeq, strconv.Itoa(p.seq))
	// IDs are unique per task and claim: JetStream drops a message sent
	// again (after a lost acknowledgement) by its ID.
	msg.Header.Set(nats.MsgIdHdr, p.subj+"/"+p.claim+"/"+strconv.Itoa(p.seq))
	if u != nil {
		msg.Header.Set(hdrPTS, strconv.FormatUint(u.pts, 10))
		msg.Data = u.data
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		msg.Data = b
	}
	var err error
	for try := 0; try < 5; try++ {
		// Short: a server that died holds the next try back no longer.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = p.js.PublishMsg(ctx, msg)
		cancel()
		if err == nil {
			p.seq++
			return nil
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	p.fail = fmt.Errorf("cluster: send %s: %w", kind, err)
	return p.fail
}

// segmentTask returns the task that reads t's frames from its segment at
// path. The segment holds the task's frames with their timestamps; it is
// read from its start, and the frames are picked as in the source. Its
// container (NUT) may count time in finer units than the source's stream
// (a whole fraction of them): the timestamps are scaled by that whole
// factor, so they stay exact. A segment of another time base is refused
// (source.ErrMisplaced: the coordinator then sends the frames another way).
func segmentTask(ctx context.Context, t task.Task, path string) (task.Task, error) {
	src, err := probe.Probe(ctx, path)
	if err != nil {
		return t, fmt.Errorf("segment: %w", err)
	}
	tb, _ := new(big.Rat).SetString(t.Source.TimeBase)
	f := new(big.Rat).Quo(tb, src.Video.TimeBase)
	if !f.IsInt() || !f.Num().IsInt64() || f.Sign() <= 0 {
		return t, fmt.Errorf("%w: segment time base %s is not a whole fraction of the source's %s", source.ErrMisplaced, src.Video.TimeBase.RatString(), tb.RatString())
	}
	k := f.Num().Int64()
	lt := t
	lt.Start, lt.End = 0, len(t.PTS)
	lt.PTS = make([]int64, len(t.PTS))
	for i, p := range t.PTS {
		if (p > 0 && p > math.MaxInt64/k) || (p < 0 && p < math.MinInt64/k) {
			return t, fmt.Errorf("%w: timestamp %d overflows at time base %s", source.ErrMisplaced, p, src.Video.TimeBase.RatString())
		}
		lt.PTS[i] = p * k
	}
	lt.Source.Path, lt.Source.Stream = path, src.Video.Index
	lt.Source.TimeBase, lt.Source.FirstPTS = src.Video.TimeBase.RatString(), lt.PTS[0]
	return lt, nil
}
