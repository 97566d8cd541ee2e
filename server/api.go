package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/av1job/av1job"
)

// JobInfo is a job as the API reports it: the fields of `av1job status
// --json` (state, frames_done, frames_total, chunks_done, chunks_total...)
// and its place in the queue. State is "queued" for a job waiting for its
// turn, else one of av1job's states.
type JobInfo struct {
	av1job.StatusInfo
	ID        string `json:"id"`
	Input     string `json:"input"`
	Paused    bool   `json:"paused"` // paused, or queued and held
	Encoder   string `json:"encoder"`
	Speed     int    `json:"speed"`
	Quantizer int    `json:"quantizer,omitempty"`
	Bitrate   int    `json:"bitrate,omitempty"`
	// TargetQuality and Metric: the score each chunk's quantizer is
	// searched for (Quantizer is then 0).
	TargetQuality float64   `json:"target_quality,omitempty"`
	Metric        string    `json:"metric,omitempty"`
	Audio         string    `json:"audio,omitempty"`   // the --audio option; "" for the default
	Workers       int       `json:"workers,omitempty"` // chunks at once (0: automatic)
	Extra         []string  `json:"extra,omitempty"`   // arguments passed to the encoder
	Submitted     time.Time `json:"submitted"`
	Started       time.Time `json:"started,omitzero"`
	Ended         time.Time `json:"ended,omitzero"`
	// FPS is the encoding rate over the last 20 s not paused; ETA the
	// seconds left at that rate (0 when unknown).
	FPS float64 `json:"fps"`
	ETA float64 `json:"eta_seconds"`
	// SizeBytes is the output's size so far: the recorded chunks and the
	// other streams' share of the same part of the source (estimated from
	// the source's, StatusInfo.OtherBytes).
	SizeBytes int64 `json:"size_bytes"`
	// EstimatedBytes is the output's size at the rate of the chunks
	// recorded so far, the other streams included (0 before the first).
	EstimatedBytes int64 `json:"estimated_bytes,omitempty"`
}

// Ended reports whether a job in state st has ended: nothing runs it and
// nothing will until it is resumed.
func Ended(st string) bool {
	return st == av1job.StateDone || st == av1job.StateFailed || st == av1job.StateStopped
}

// info reports e (s.mu held).
func (s *Server) info(e *entry) JobInfo {
	o := e.Options
	ji := JobInfo{StatusInfo: e.Last, ID: e.ID, Input: o.Input, Paused: e.Paused, Encoder: o.Encoder, Speed: o.Speed.Int(),
		Workers: o.Workers, Extra: o.Extra, Audio: o.Audio, Submitted: e.Submitted, Started: e.Started, Ended: e.Ended}
	switch {
	case o.TargetQuality > 0:
		ji.TargetQuality, ji.Metric = o.TargetQuality, o.Metric
		if ji.Metric == "" {
			ji.Metric = "ssimulacra2"
		}
	case o.Bitrate > 0:
		ji.Bitrate = o.Bitrate
	default:
		ji.Quantizer = o.Quantizer
	}
	if r := s.runs[e.ID]; r != nil {
		ji.StatusInfo = *r.jb.Status()
		ji.Paused = ji.State == av1job.StatePaused
		if ji.State == av1job.StateRunning {
			ji.FPS = r.rate.fps()
			if ji.FPS > 0 && ji.FramesTotal > ji.FramesDone {
				ji.ETA = float64(ji.FramesTotal-ji.FramesDone) / ji.FPS
			}
		}
	}
	ji.Job, ji.Output = o.JobDir, o.Output
	if s.runs[e.ID] == nil {
		ji.State, ji.PID = e.State, 0
		ji.Error = e.Error
	}
	ji.SizeBytes = ji.Bytes
	if ji.FramesRecorded > 0 && ji.FramesTotal > 0 {
		ji.SizeBytes += ji.OtherBytes * int64(min(ji.FramesRecorded, ji.FramesTotal)) / int64(ji.FramesTotal)
		ji.EstimatedBytes = ji.Bytes*int64(ji.FramesTotal)/int64(ji.FramesRecorded) + ji.OtherBytes
	}
	if ji.Summary != nil {
		ji.SizeBytes, ji.EstimatedBytes = ji.Summary.OutputBytes, ji.Summary.OutputBytes
	}
	return ji
}

// maxInFlight bounds a job's chunks in flight (its segments are cut and
// stored when its tasks are queued).
const maxInFlight = 256

// apiError is an error with its HTTP status and, for a bad job, the
// field of the job it is about.
type apiError struct {
	code  int
	msg   string
	field string
}

func (e *apiError) Error() string { return e.msg }

func errorf(code int, format string, a ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, a...)}
}

// handler adapts an API function: its value is the JSON answer, its error
// a JSON {"error": ...} with the error's status (400 unless told).
type handler func(r *http.Request) (any, error)

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, err := h(r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		code := http.StatusBadRequest
		var ae *apiError
		if errors.As(err, &ae) {
			code = ae.code
		}
		body := map[string]string{"error": err.Error()}
		if errors.As(err, &ae) && ae.field != "" {
			body["field"] = ae.field
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/api/jobs" {
		w.WriteHeader(http.StatusCreated)
	}
	_ = json.NewEncoder(w).Encode(v)
}

// httpServer returns the API:
//
//	GET    /api/jobs              the queue, in order
//	POST   /api/jobs              submit a job (av1job.Options as JSON; absolute paths)
//	GET    /api/jobs/{id}         one job
//	GET    /api/jobs/{id}/wait    the job once it has ended, or after ?timeout (default 30 s)
//	POST   /api/jobs/{id}/pause   pause (a queued job is held)
//	POST   /api/jobs/{id}/resume  resume a paused job, or queue a stopped or failed one again
//	POST   /api/jobs/{id}/stop    stop without losing work
//	DELETE /api/jobs/{id}         remove an ended or queued job (and its job directory; never its output)
//	POST   /api/pause, /api/resume   every job
//
// Any other request under /api/ is answered in JSON too: 405 with an
// Allow header when its path takes other methods, else 404.
func (s *Server) httpServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /api/jobs", handler(s.list))
	mux.Handle("POST /api/jobs", handler(s.submit))
	mux.Handle("GET /api/jobs/{id}", handler(s.get))
	mux.Handle("GET /api/jobs/{id}/wait", handler(s.wait))
	for _, op := range []string{"pause", "resume", "stop"} {
		mux.Handle("POST /api/jobs/{id}/"+op, handler(s.control(op)))
	}
	mux.Handle("DELETE /api/jobs/{id}", handler(s.remove))
	for _, op := range []string{"pause", "resume"} {
		mux.Handle("POST /api/"+op, handler(s.controlAll(op)))
	}
	mux.Handle("POST /api/jobs/{id}/move", handler(s.move))
	mux.Handle("GET /api/jobs/{id}/detail", handler(s.detailAPI))
	mux.Handle("GET /api/workers", handler(s.workersAPI))
	mux.Handle("GET /api/defaults", handler(s.defaults))
	mux.Handle("GET /api/media", handler(s.mediaRootsAPI))
	mux.Handle("GET /api/media/list", handler(s.mediaList))
	mux.Handle("GET /api/events", http.HandlerFunc(s.events))
	// Without it the page's "/" would take the rest, in plain text.
	mux.Handle("/api/", noRoute(mux))
	mux.Handle("/", s.page())
	return &http.Server{Handler: s.guard(mux), ReadHeaderTimeout: 10 * time.Second, ConnContext: s.connContext}
}

// ownerKey marks, in a connection's context, that its peer is the
// server's own user on this machine.
type ownerKey struct{}

// connContext notes in a connection's context whether it comes from the
// server's own user (s.owner).
func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	owner := s.owner
	if owner == nil {
		owner = ownConn
	}
	return context.WithValue(ctx, ownerKey{}, owner(c))
}

// ownConn reports whether c comes from a socket of this process's user
// on this machine's loopback.
func ownConn(c net.Conn) bool {
	if !loopback(c.RemoteAddr()) {
		return false
	}
	uid, ok := peerUID(c.LocalAddr(), c.RemoteAddr())
	return ok && uid == os.Geteuid()
}

// guard lets in the server's own user and the holders of its token, and
// refuses state-changing requests a browser could send from another site:
// they must be JSON, and an Origin, when sent, must be the server's own.
//
// A request is the owner's when its connection comes from loopback, from
// a socket of the user the server runs as (the kernel's socket table
// says whose), and it names a loopback host: a name that resolves to
// this machine from a web page (DNS rebinding) is not the owner's. Every
// other request needs the token (Authorization: Bearer) or the session
// cookie of the page's login; other users of the machine included.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(code int, msg string) {
			handler(func(*http.Request) (any, error) { return nil, errorf(code, "%s", msg) }).ServeHTTP(w, r)
		}
		owner, _ := r.Context().Value(ownerKey{}).(bool)
		token := s.authorized(r)
		if owner && !token && !loopbackHost(r.Host) {
			fail(http.StatusForbidden, "without the token this server answers requests for a loopback address only ("+r.Host+" is not one)")
			return
		}
		public := r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/")
		if !owner && !token && !public {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			fail(http.StatusUnauthorized, "this server asks for its token, DATA/token of the server's data directory (av1job --token-file FILE, or Authorization: Bearer TOKEN); only the user it runs as, on its machine, needs none")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			form := r.Method == http.MethodPost && r.URL.Path == "/login"
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" && !form {
				fail(http.StatusUnsupportedMediaType, "requests that change something must be application/json")
				return
			}
			if o := r.Header.Get("Origin"); o != "" {
				u, err := url.Parse(o)
				if err != nil || u.Host != r.Host {
					fail(http.StatusForbidden, "cross-site request refused")
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// methods are the methods noRoute looks for a path's routes with.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// noRoute answers a request under /api/ that none of mux's routes takes:
// 405 with the methods its path takes in Allow when there are any, else
// 404, each with a JSON error. (ServeMux would answer 405 itself only if
// no pattern matched the path, and "/api/" does.)
func noRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := r.WithContext(r.Context()) // a shallow copy
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		err := errorf(http.StatusNotFound, "no such request: %s %s", r.Method, r.URL.Path)
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			err = errorf(http.StatusMethodNotAllowed, "%s %s: this path takes %s", r.Method, r.URL.Path, strings.Join(allow, ", "))
		}
		handler(func(*http.Request) (any, error) { return nil, err }).ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a request's Host names this machine's
// loopback: localhost or a loopback address, with any port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) list(*http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobInfo, 0, len(s.q.Jobs))
	for _, e := range s.q.Jobs {
		out = append(out, s.info(e))
	}
	return out, nil
}

// find returns the job the request's {id} names (s.mu held).
func (s *Server) find(r *http.Request) (*entry, error) {
	id := r.PathValue("id")
	if e := s.lookup(id); e != nil {
		return e, nil
	}
	return nil, errorf(http.StatusNotFound, "no job %q in the queue", id)
}

func (s *Server) get(r *http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.find(r)
	if err != nil {
		return nil, err
	}
	return s.info(e), nil
}

// decodeBody reads r's body, at most limit bytes, into v: exactly one
// JSON value, with no field v lacks, and nothing after it but white space.
func decodeBody(r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value (a body is one JSON value)")
	}
	return nil
}

// submit queues a job after the checks `av1job encode` makes before it
// changes anything: a bad job is refused now, with nothing queued.
func (s *Server) submit(r *http.Request) (any, error) {
	// Fields left out keep the defaults of `av1job encode`; speed and
	// quantizer those of the encoder the job names.
	o := av1job.NewOptions("", "")
	o.Speed, o.Quantizer = av1job.Speed{}, 0
	if err := decodeBody(r, 1<<20, &o); err != nil {
		return nil, fmt.Errorf("submit: the job does not parse: %w", err)
	}
	for name, p := range map[string]string{"input": o.Input, "output": o.Output, "scenes": o.Scenes} {
		if p != "" && !filepath.IsAbs(p) {
			return nil, fmt.Errorf("submit: %s %q: must be an absolute path on the server's machine", name, p)
		}
	}
	if o.JobDir != "" {
		return nil, errors.New("submit: job_dir: the server keeps its jobs' directories itself")
	}
	if o.Workers > maxInFlight {
		return nil, fmt.Errorf("submit: workers %d: at most %d chunks of a job are in flight at once", o.Workers, maxInFlight)
	}
	if o.Input != "" && o.Output != "" {
		o.Input, o.Output = filepath.Clean(o.Input), filepath.Clean(o.Output)
	}
	key := outputKey(o.Output)
	s.mu.Lock()
	err := s.outputFree(o.Output, key)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// The checks see a job directory that does not exist yet, as the
	// job's will be.
	o.JobDir = filepath.Join(s.cfg.Data, "jobs", "new")
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	if err := av1job.Check(ctx, o); err != nil {
		return nil, &apiError{code: http.StatusBadRequest, msg: err.Error(), field: fieldOf(err.Error(), o)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, errorf(http.StatusServiceUnavailable, "the server is shutting down")
	}
	if err := s.outputFree(o.Output, key); err != nil {
		return nil, err // submitted twice at once
	}
	id := s.newID()
	o.JobDir = filepath.Join(s.cfg.Data, "jobs", id)
	e := &entry{ID: id, Options: o, State: StateQueued, Submitted: time.Now().UTC(), outputKey: key}
	s.q.Jobs = append(s.q.Jobs, e)
	if err := s.save(); err != nil {
		s.q.Jobs = s.q.Jobs[:len(s.q.Jobs)-1]
		return nil, errorf(http.StatusInternalServerError, "%v", err)
	}
	s.log.Info("job queued", "job", id, "input", o.Input, "output", o.Output)
	s.kick()
	return s.info(e), nil
}

// outputFree refuses an output out, whose outputKey is key, that a job of
// the queue that is not done or failed writes, under this name or through
// a symbolic link (s.mu held).
func (s *Server) outputFree(out, key string) error {
	if out == "" {
		return nil
	}
	for _, e := range s.q.Jobs {
		if e.State == av1job.StateDone || e.State == av1job.StateFailed {
			continue
		}
		switch {
		case e.Options.Output == out:
			return errorf(http.StatusConflict, "%s: job %s in the queue writes this output already", out, e.ID)
		case e.outputKey != "" && e.outputKey == key:
			return errorf(http.StatusConflict, "%s: job %s in the queue writes this file already, as %s", out, e.ID, e.Options.Output)
		}
	}
	return nil
}

// outputKey names the file the output path out is: its directory with
// symbolic links resolved, and its name as given (the file need not
// exist). A directory that does not resolve is taken as given.
func outputKey(out string) string {
	if out == "" {
		return ""
	}
	dir, name := filepath.Split(filepath.Clean(out))
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	return filepath.Join(dir, name)
}

// control returns the handler that applies op (see apply) to the job of
// the request's {id}.
func (s *Server) control(op string) handler {
	return func(r *http.Request) (any, error) {
		s.mu.Lock()
		e, err := s.find(r)
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if err := s.apply(e, op); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.info(e), nil
	}
}

// controlAll returns the handler that applies op, pause or resume, to
// every job that has not ended.
func (s *Server) controlAll(op string) handler {
	return func(*http.Request) (any, error) { return s.applyAll(op) }
}

// applyAll applies op to every job that has not ended, and returns them.
func (s *Server) applyAll(op string) ([]JobInfo, error) {
	s.mu.Lock()
	var todo []*entry
	for _, e := range s.q.Jobs {
		if !Ended(e.State) {
			todo = append(todo, e)
		}
	}
	s.mu.Unlock()
	for _, e := range todo {
		var ae *apiError
		if err := s.apply(e, op); err != nil && !(errors.As(err, &ae) && ae.code == http.StatusConflict) {
			return nil, err // a job that is stopping, or ended meanwhile, is left as it is
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []JobInfo{}
	for _, e := range todo {
		out = append(out, s.info(e))
	}
	return out, nil
}

// apply pauses, resumes or stops e and saves the queue. The queue's
// state changes under s.mu, in one step with reading whether the job
// runs (so the scheduler never starts a job being held); the job itself
// is steered without s.mu, since steering a cluster's workers waits for
// their answers.
func (s *Server) apply(e *entry, op string) error {
	s.mu.Lock()
	r := s.runs[e.ID]
	// A change the queue's file does not take is undone: the request
	// fails with nothing changed.
	was, wasStopped := *e, r != nil && r.stopped.Load()
	var err error
	switch op {
	case "pause":
		switch {
		case Ended(e.State):
			err = errorf(http.StatusConflict, "job %s is %s: nothing to pause", e.ID, e.State)
		case r != nil && r.jb.Status().State == av1job.StateStopping:
			err = errorf(http.StatusConflict, "job %s is stopping", e.ID)
		default:
			e.Paused = true
		}
	case "resume":
		switch {
		case e.State == av1job.StateDone:
			err = errorf(http.StatusConflict, "job %s is done", e.ID)
		default:
			e.Paused = false
			if r == nil && (e.State == av1job.StateStopped || e.State == av1job.StateFailed) {
				e.State, e.Error, e.Ended = StateQueued, "", time.Time{}
			}
			s.kick()
		}
	case "stop":
		switch {
		case r != nil:
			r.stopped.Store(true)
		case e.State == StateQueued:
			e.State, e.Ended = av1job.StateStopped, time.Now().UTC()
			s.ended.Broadcast()
		default:
			err = errorf(http.StatusConflict, "job %s is %s: nothing to stop", e.ID, e.State)
		}
	default:
		err = errorf(http.StatusNotFound, "no such request: %s", op)
	}
	if err == nil {
		if serr := s.save(); serr != nil {
			*e = was
			if r != nil {
				r.stopped.Store(wasStopped)
			}
			err = errorf(http.StatusInternalServerError, "%v", serr)
		}
	}
	s.mu.Unlock()
	if err != nil || r == nil {
		return err
	}
	switch op {
	case "pause":
		err = r.jb.Pause()
	case "resume":
		err = r.jb.Resume()
	case "stop":
		r.jb.Stop()
	}
	if err != nil {
		return errorf(http.StatusInternalServerError, "job %s: %v", e.ID, err)
	}
	return nil
}

// remove takes an ended or queued job out of the queue with its job
// directory; its output, if any, stays.
func (s *Server) remove(r *http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.find(r)
	if err != nil {
		return nil, err
	}
	if s.runs[e.ID] != nil {
		return nil, errorf(http.StatusConflict, "job %s is running: stop it first", e.ID)
	}
	info := s.info(e)
	old := s.q.Jobs
	for i, x := range s.q.Jobs {
		if x == e {
			s.q.Jobs = append(s.q.Jobs[:i:i], s.q.Jobs[i+1:]...)
			break
		}
	}
	if err := s.save(); err != nil {
		s.q.Jobs = old // still queued, its directory kept
		return nil, errorf(http.StatusInternalServerError, "%v", err)
	}
	s.ended.Broadcast() // its waiters answer now
	delete(s.histories, e.ID)
	_ = os.Remove(s.chunksPath(e))
	if err := os.RemoveAll(e.Options.JobDir); err != nil {
		s.log.Warn("could not remove a job directory", "job", e.ID, "dir", e.Options.JobDir, "err", err)
	}
	return info, nil
}

// wait answers once the job has ended, or at the timeout with the job as
// it is.
func (s *Server) wait(r *http.Request) (any, error) {
	timeout := 30 * time.Second
	if t := r.URL.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 || d > 10*time.Minute {
			return nil, fmt.Errorf("timeout %q: a duration up to 10m", t)
		}
		timeout = d
	}
	deadline := time.Now().Add(timeout)
	// Cond has no deadline: a timer wakes the waiters.
	tm := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		s.ended.Broadcast()
		s.mu.Unlock()
	})
	defer tm.Stop()
	stop := context.AfterFunc(r.Context(), func() {
		s.mu.Lock()
		s.ended.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		e, err := s.find(r)
		if err != nil {
			return nil, err
		}
		if (Ended(e.State) && s.runs[e.ID] == nil) || time.Now().After(deadline) || r.Context().Err() != nil {
			return s.info(e), nil
		}
		if s.closing {
			return nil, errorf(http.StatusServiceUnavailable, "the server is shutting down")
		}
		s.ended.Wait()
	}
}

// fieldOf names the job's field an error of the checks is about, from
// the flag or the file it names first; "" when it names neither.
func fieldOf(msg string, o av1job.Options) string {
	if strings.HasPrefix(msg, "encoder arguments ") {
		return "extra" // what the encoder said may name any flag
	}
	if strings.HasPrefix(msg, "--encoder: ") {
		return "encoder" // an unknown encoder
	}
	for _, f := range []struct{ flag, field string }{
		{"--speed", "speed"}, {"--quantizer", "quantizer"}, {"--bitrate", "bitrate"}, {"--workers", "workers"},
		{"--min-scene-len", "min_scene_len"}, {"--max-scene-len", "max_scene_len"}, {"--scene-threshold", "scene_threshold"},
		{"--backend", "backend"}, {"--target-quality", "target_quality"}, {"--quantizer-range", "target_quality"},
		{"--probes", "target_quality"}, {"--metric", "target_quality"}, {"--audio", "audio"},
		{"--film-grain", "extra"}, {"--photon-noise", "extra"},
	} {
		if strings.Contains(msg, f.flag+" ") || strings.Contains(msg, f.flag+":") {
			return f.field
		}
	}
	// The longer path first: an output named after its input starts
	// with the input's name.
	paths := [][2]string{{o.Input, "input"}, {o.Output, "output"}}
	if len(o.Output) > len(o.Input) {
		paths[0], paths[1] = paths[1], paths[0]
	}
	for _, p := range paths {
		if p[0] != "" && (strings.HasPrefix(msg, p[0]+":") || strings.HasPrefix(msg, strconv.Quote(p[0])+":")) {
			return p[1]
		}
	}
	switch {
	case strings.HasPrefix(msg, "no input"):
		return "input"
	case strings.HasPrefix(msg, "no output"):
		return "output"
	case strings.HasPrefix(msg, "--encoder"), strings.Contains(msg, "rav1e"):
		return "extra"
	}
	return ""
}
