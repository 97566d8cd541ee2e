// Package server runs av1job's queue: jobs submitted over its HTTP API run
// one after another (or a few side by side), their chunks spread over the
// workers of a NATS JetStream cluster, and the queue survives a restart.
//
// A server owns a data directory: the queue (queue.json, replaced
// atomically), each job's directory (jobs/ID: journal, chunks), the
// embedded NATS server's store (nats/) and the cluster's token (token,
// mode 0600). Every job runs through av1job.Job with a RemoteExecutor, so
// chunks run on whichever worker takes them: the server's own (Config.
// Workers) or `av1job worker` processes on other machines. The workers'
// slots are the one limit on encoders, shared by every job.
//
// What a restart keeps: a job that was running when the server stopped or
// died is queued again first, and its journal gives back every chunk it
// recorded (a kill loses what the encoders held, as for `av1job encode`).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sys/unix"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/cluster"
	"github.com/av1job/av1job/internal/broker"
	"github.com/av1job/av1job/internal/journal"
)

// Config says how to run a server.
type Config struct {
	// Data holds all of the server's state; it is made if missing.
	Data string
	// HTTP is the API's address; "" is DefaultHTTP. On an address that
	// is not loopback every request must carry the token.
	HTTP string
	// NATSListen is where the embedded NATS server listens ("" is
	// broker.DefaultListen); NATSURL, when set, is an external NATS
	// server used instead, reached with the token in TokenFile.
	NATSListen, NATSURL string
	// TokenFile holds the cluster's token; "" is Data/token, made when
	// missing.
	TokenFile string
	// TLSCert and TLSKey make the embedded NATS server speak TLS; TLSCA
	// is the CA the server's own connections trust (default TLSCert).
	TLSCert, TLSKey, TLSCA string
	// Workers is how many chunks the server's own worker encodes at once:
	// -1 one per core, 0 none (remote workers only).
	Workers int
	// Jobs is how many jobs run at once (their chunks share the workers);
	// 0 is 2, so that the next job's scene pass overlaps the end of the
	// one before.
	Jobs int
	// AckWait is how long a silent worker keeps a task (0: the default).
	AckWait time.Duration
	// Silence is how long a worker running a task may go unheard before
	// its task is taken back (0: cluster.DefaultSilence).
	Silence time.Duration
	// Media are the folders the web page's file browser shows; it never
	// leaves them.
	Media []string
	Log   *slog.Logger
}

// DefaultHTTP is the API's address unless told.
const DefaultHTTP = "127.0.0.1:8418"

// Queue states of a job beyond av1job's: a job waiting for its turn.
const StateQueued = "queued"

// entry is a job in the queue, as queue.json keeps it.
type entry struct {
	ID        string         `json:"id"`
	Options   av1job.Options `json:"options"`
	State     string         `json:"state"` // queued, running, stopped, done, failed
	Paused    bool           `json:"paused,omitempty"`
	Error     string         `json:"error,omitempty"`
	Submitted time.Time      `json:"submitted"`
	Started   time.Time      `json:"started,omitzero"`
	Ended     time.Time      `json:"ended,omitzero"`
	// Last is the job's status when it last stopped running.
	Last av1job.StatusInfo `json:"last"`

	// outputKey is outputKey(Options.Output), the file the job writes;
	// set when the job is submitted or the queue loaded, so that no path
	// is resolved with s.mu held.
	outputKey string
}

// UnmarshalJSON reads an entry of queue.json. A queue written before
// Options recorded every speed left a speed of 0 out: such a job was
// submitted at speed 0.
func (e *entry) UnmarshalJSON(b []byte) error {
	type plain entry
	p := plain{Options: av1job.Options{Speed: av1job.SpeedOf(0)}}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = entry(p)
	return nil
}

// queueFile is queue.json.
type queueFile struct {
	Version int      `json:"version"`
	Next    int      `json:"next"` // the next job's ID
	Jobs    []*entry `json:"jobs"`
}

// A Server is a running queue; see Run.
type Server struct {
	cfg   Config
	log   *slog.Logger
	token string
	// broker is the embedded NATS server, nil with an external one.
	broker *broker.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	http   net.Listener
	// owner reports whether a connection comes from the server's own
	// user (nil: ownConn).
	owner func(net.Conn) bool
	// closers undo Open, in reverse order, when Serve ends.
	closers []func()

	media    []mediaRoot
	quit     chan struct{} // closed when the server stops: live streams end
	workers  *registry
	sessions sessions

	mu        sync.Mutex
	q         queueFile
	runs      map[string]*run
	histories map[string]*history
	closing   bool
	wake      chan struct{}
	ended     *sync.Cond // broadcast when a job ends
}

// newServer returns a server with its bookkeeping made, nothing started.
func newServer(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Log, runs: map[string]*run{}, histories: map[string]*history{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), workers: newRegistry()}
	s.ended = sync.NewCond(&s.mu)
	return s
}

// run is a job the server runs now.
type run struct {
	jb      *av1job.Job
	ex      *cluster.RemoteExecutor
	done    chan struct{}
	rate    rate
	stopped atomic.Bool // stopped on request: it stays stopped whatever ends the server
}

// Open checks cfg, takes the data directory (one server per directory),
// starts the embedded NATS server and binds the API's address; Serve then
// runs the queue. On error nothing is left running.
func Open(cfg Config) (s *Server, err error) {
	if cfg.Data == "" {
		return nil, errors.New("server: no data directory (--data)")
	}
	if cfg.Workers < -1 {
		return nil, fmt.Errorf("server: --workers %d: must be 0 (none), a number, or left out (one per core)", cfg.Workers)
	}
	if cfg.Jobs < 0 {
		return nil, fmt.Errorf("server: --jobs %d: must be 1 or more", cfg.Jobs)
	}
	if cfg.Jobs == 0 {
		cfg.Jobs = 2
	}
	if cfg.Workers == -1 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.HTTP == "" {
		cfg.HTTP = DefaultHTTP
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	abs, err := filepath.Abs(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	cfg.Data = abs
	if err := os.MkdirAll(filepath.Join(cfg.Data, "jobs"), 0o700); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	s = newServer(cfg)
	if s.media, err = mediaRoots(cfg.Media); err != nil {
		return nil, err
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	lock, err := journal.Acquire(cfg.Data)
	if err != nil {
		var le *journal.LockedError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("server: %s: another server uses this data directory (pid %d)", cfg.Data, le.PID)
		}
		return nil, fmt.Errorf("server: %w", err)
	}
	undo = append(undo, func() { _ = lock.Release() })
	if err := s.load(); err != nil {
		return nil, err
	}
	tokenFile := cfg.TokenFile
	if tokenFile == "" {
		tokenFile = filepath.Join(cfg.Data, "token")
	}
	if cfg.NATSURL == "" {
		s.token, err = broker.Token(tokenFile)
	} else {
		s.token, err = broker.ReadToken(tokenFile)
	}
	if err != nil {
		return nil, fmt.Errorf("server: token: %w", err)
	}
	url := cfg.NATSURL
	if url == "" {
		b, err := broker.Start(broker.Config{Dir: filepath.Join(cfg.Data, "nats"), Listen: cfg.NATSListen, Token: s.token, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey})
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		undo = append(undo, b.Shutdown)
		url = b.URL()
		s.broker = b
	}
	ca := cfg.TLSCA
	if ca == "" {
		ca = cfg.TLSCert
	}
	s.nc, err = cluster.Dial(url, tokenFile, ca, "av1job server")
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	undo = append(undo, s.nc.Close)
	stopWatch, err := cluster.WatchWorkers(s.nc, s.workers.heard)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	undo = append(undo, stopWatch)
	if s.js, err = jetstream.New(s.nc); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cluster.Setup(ctx, s.js); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.http, err = net.Listen("tcp", cfg.HTTP); err != nil {
		return nil, fmt.Errorf("server: --http %s: %w", cfg.HTTP, err)
	}
	undo = append(undo, func() { _ = s.http.Close() })
	s.cfg.NATSURL = url
	s.closers = undo
	return s, nil
}

func (s *Server) closeAll() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// HTTPAddr is the API's address (useful with port 0).
func (s *Server) HTTPAddr() string { return s.http.Addr().String() }

// NATSURL is the NATS server's address, for workers.
func (s *Server) NATSURL() string { return s.cfg.NATSURL }

// loopback reports whether a is a loopback address.
func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Serve runs the queue, the API and the server's own worker until ctx
// ends, then stops the running jobs without losing work (they are queued
// again when the server starts next), drains the worker and closes
// everything Open started.
func (s *Server) Serve(ctx context.Context) error {
	defer s.closeAll()
	hs := s.httpServer()
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(s.http) }()

	wctx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan error, 1)
	if s.cfg.Workers > 0 {
		w := &cluster.Worker{NC: s.nc, JS: s.js, Name: "server", Slots: s.cfg.Workers, Threads: 1,
			AckWait: s.cfg.AckWait, Dir: filepath.Join(s.cfg.Data, "work"), Log: s.log}
		go func() { workerDone <- w.Run(wctx) }()
	} else {
		workerDone <- nil
	}
	// Jobs outlive ctx long enough to stop with their work recorded.
	jctx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	s.log.Info("serving", "http", s.HTTPAddr(), "nats", s.cfg.NATSURL, "data", s.cfg.Data, "workers", s.cfg.Workers, "jobs", s.cfg.Jobs)
	var err error
loop:
	for {
		s.schedule(jctx)
		select {
		case <-ctx.Done():
			break loop
		case err = <-httpErr:
			break loop
		case werr := <-workerDone:
			if werr != nil {
				err = fmt.Errorf("server: its worker: %w", werr)
				break loop
			}
			workerDone = nil
		case <-s.wake:
		}
	}
	s.log.Info("stopping: running jobs record their work and continue at the next start")
	close(s.quit)
	s.shutdown(cancelJobs)
	stopWorker()
	if workerDone != nil {
		<-workerDone
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	return err
}

// shutdown stops the running jobs, keeping them queued, and waits for
// them (cancelling them after a minute: the next start salvages what was
// in flight).
func (s *Server) shutdown(cancel context.CancelFunc) {
	s.mu.Lock()
	s.closing = true
	s.ended.Broadcast() // API waiters answer that the server is going
	for _, r := range s.runs {
		r.jb.Stop()
	}
	timer := time.AfterFunc(time.Minute, cancel)
	defer timer.Stop()
	for len(s.runs) > 0 {
		s.ended.Wait()
	}
	s.mu.Unlock()
}

// load reads queue.json; a job that was running is queued again.
func (s *Server) load() error {
	b, err := os.ReadFile(s.queuePath())
	if errors.Is(err, os.ErrNotExist) {
		s.q = queueFile{Version: 1, Next: 1}
		return nil
	}
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := json.Unmarshal(b, &s.q); err != nil {
		return fmt.Errorf("server: %s: damaged queue (%v); move it away to start with an empty queue", s.queuePath(), err)
	}
	if s.q.Version != 1 {
		return fmt.Errorf("server: %s: queue version %d; this av1job reads version 1", s.queuePath(), s.q.Version)
	}
	for _, e := range s.q.Jobs {
		if e.State == av1job.StateRunning {
			e.State = StateQueued
		}
		e.outputKey = outputKey(e.Options.Output)
	}
	return nil
}

func (s *Server) queuePath() string { return filepath.Join(s.cfg.Data, "queue.json") }

// save writes the queue (s.mu held): a new file, fsynced, renamed over
// the old one. On error queue.json is left as it was: the caller undoes
// its change, or keeps it in memory to be written with the next.
func (s *Server) save() error {
	b, err := json.MarshalIndent(&s.q, "", "  ")
	if err != nil {
		return err
	}
	if err := journal.WriteFileAtomic(s.queuePath(), append(b, '\n'), 0o600); err != nil {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			err = fmt.Errorf("server: %s: the disk is full (%d bytes free); the file keeps the queue as it was: %w", s.queuePath(), freeBytes(s.cfg.Data), err)
		} else {
			err = fmt.Errorf("server: %s: %w", s.queuePath(), err)
		}
		s.log.Error("could not save the queue", "err", err)
		return err
	}
	return nil
}

// freeBytes returns the bytes free on dir's file system, -1 when not
// known.
func freeBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * st.Bsize
}

func (s *Server) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// schedule starts queued jobs, in queue order, while fewer than Jobs run.
// Before it starts one it mends the embedded NATS server's store if that
// failed a write (a full disk) and has room again.
func (s *Server) schedule(ctx context.Context) {
	if s.startable() {
		s.mendStore(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	for _, e := range s.q.Jobs {
		if len(s.runs) >= s.cfg.Jobs {
			return
		}
		if e.State != StateQueued || e.Paused {
			continue
		}
		s.start(ctx, e)
	}
}

// startable reports whether schedule would start a job now.
func (s *Server) startable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.runs) >= s.cfg.Jobs {
		return false
	}
	for _, e := range s.q.Jobs {
		if e.State == StateQueued && !e.Paused {
			return true
		}
	}
	return false
}

// mendStore restarts the embedded NATS server's JetStream when its store
// failed a write and there is room again (broker.Server.Mend), and makes
// the cluster's streams again if one is missing. A store whose disk is
// still full is left as it is: the job's first segment fails it at once,
// naming the directory.
func (s *Server) mendStore(ctx context.Context) {
	if s.broker == nil {
		return
	}
	mended, err := s.broker.Mend()
	if err != nil {
		s.log.Error("NATS store takes no writes", "err", err)
	}
	if !mended {
		return
	}
	s.log.Info("NATS store restarted after a failed write", "dir", filepath.Join(s.cfg.Data, "nats"))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cluster.Setup(ctx, s.js); err != nil {
		s.log.Error("NATS store restarted: streams", "err", err)
	}
}

// start runs e (s.mu held).
func (s *Server) start(ctx context.Context, e *entry) {
	o := e.Options
	ex := &cluster.RemoteExecutor{NC: s.nc, JS: s.js, Silence: s.cfg.Silence}
	if s.broker != nil {
		ex.Store = s.broker
	}
	o.Executor = ex
	log := s.log.With("job", e.ID)
	h := s.hist(e.ID)
	h.mu.Lock()
	h.chunks = nil
	h.mu.Unlock()
	h.add("info", "started: %s to %s", o.Input, o.Output)
	o.Events = func(ev av1job.Event) {
		h.logEvent(ev)
		switch ev.Kind {
		case av1job.EventWarning:
			log.Warn(ev.Msg)
		case av1job.EventPlanned:
			log.Info("planned", "frames", ev.FramesTotal, "chunks", ev.ChunksTotal)
		}
	}
	r := &run{jb: av1job.New(o), ex: ex, done: make(chan struct{})}
	s.runs[e.ID] = r
	e.State, e.Error = av1job.StateRunning, ""
	if e.Started.IsZero() {
		e.Started = time.Now().UTC()
	}
	_ = s.save()
	s.log.Info("job started", "job", e.ID, "input", o.Input, "output", o.Output)
	go r.rate.sample(r.jb, r.done, h)
	go func() {
		err := r.jb.Run(ctx)
		ex.Close()
		s.finished(e, r, err)
	}()
}

// finished records how e's run ended.
func (s *Server) finished(e *entry, r *run, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(r.done)
	delete(s.runs, e.ID)
	e.Last = *r.jb.Status()
	var ue *av1job.UsageError
	switch {
	case s.closing && !r.stopped.Load() && (errors.Is(err, av1job.ErrStopped) || errors.Is(err, context.Canceled)):
		e.State = StateQueued // the next start continues it
	case errors.Is(err, av1job.ErrStopped):
		e.State, e.Ended = av1job.StateStopped, time.Now().UTC()
	case err == nil:
		e.State, e.Ended, e.Paused = av1job.StateDone, time.Now().UTC(), false
	case errors.As(err, &ue):
		e.State, e.Error, e.Ended = av1job.StateFailed, err.Error(), time.Now().UTC()
	default:
		e.State, e.Error, e.Ended = av1job.StateFailed, err.Error(), time.Now().UTC()
	}
	if e.State != StateQueued {
		e.Last.State = e.State
	}
	h := s.hist(e.ID)
	cs := r.jb.Chunks()
	h.mu.Lock()
	h.chunks = cs
	h.mu.Unlock()
	s.keepChunks(e, cs)
	if e.State == av1job.StateFailed {
		h.add("error", "failed: %s", e.Error)
	} else {
		h.add("info", "ended: %s", e.State)
	}
	if err := s.save(); err != nil {
		// The job ended all the same: its state is written with the
		// queue's next change (until then a restart queues it again).
		h.add("error", "%v", err)
	}
	s.log.Info("job ended", "job", e.ID, "state", e.State, "err", err)
	s.ended.Broadcast()
	s.kick()
}

// rate measures a running job's frames per second over the last 20
// seconds it was not paused.
type rate struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	t      time.Time
	frames int
}

const rateWindow = 20 * time.Second

func (r *rate) sample(jb *av1job.Job, done <-chan struct{}, h *history) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			st := jb.Status()
			r.mu.Lock()
			if st.State != av1job.StateRunning {
				r.samples = r.samples[:0] // paused time is no encoding time
			} else {
				r.samples = append(r.samples, sample{now, st.FramesDone})
				for len(r.samples) > 1 && now.Sub(r.samples[0].t) > rateWindow {
					r.samples = r.samples[1:]
				}
			}
			r.mu.Unlock()
			if f := r.fps(); st.State == av1job.StateRunning && f > 0 {
				h.point(now, f)
			}
		}
	}
}

// fps is the rate, 0 until two seconds were measured.
func (r *rate) fps() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) < 2 {
		return 0
	}
	a, b := r.samples[0], r.samples[len(r.samples)-1]
	dt := b.t.Sub(a.t).Seconds()
	if dt < 2 || b.frames < a.frames {
		return 0
	}
	return float64(b.frames-a.frames) / dt
}

// lookup returns the entry with this ID (s.mu held).
func (s *Server) lookup(id string) *entry {
	for _, e := range s.q.Jobs {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// newID returns the next job's ID (s.mu held).
func (s *Server) newID() string {
	id := strconv.Itoa(s.q.Next)
	s.q.Next++
	return id
}
