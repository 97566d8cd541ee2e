package server

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/av1job/av1job"
)

// The page: plain files, no build step.
//
//go:embed web
var webFiles embed.FS

// sessionLife is how long a login lasts.
const sessionLife = 30 * 24 * time.Hour

// sessions are the page's logins: random IDs the server keeps, each with
// its expiry. They live in memory: a restarted server asks again.
type sessions struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (ss *sessions) add() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]time.Time{}
	}
	now := time.Now()
	for k, exp := range ss.m {
		if now.After(exp) {
			delete(ss.m, k)
		}
	}
	ss.m[id] = now.Add(sessionLife)
	return id
}

func (ss *sessions) valid(id string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	exp, ok := ss.m[id]
	return ok && time.Now().Before(exp)
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// cookieName is the session cookie's name: browsers share cookies between
// the ports of a host, so it names the port.
func (s *Server) cookieName() string {
	if s.http == nil {
		return "av1job_session"
	}
	_, port, _ := net.SplitHostPort(s.HTTPAddr())
	return "av1job_session_" + port
}

// authorized reports whether r carries the token (a header, for API
// clients) or a live session cookie of the page.
func (s *Server) authorized(r *http.Request) bool {
	if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
	}
	if c, err := r.Cookie(s.cookieName()); err == nil {
		return s.sessions.valid(c.Value)
	}
	return false
}

// pageHeaders keeps the page to its own scripts and styles, and out of
// frames.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// page serves the page's files: / is the page, /login its login form,
// /static/ the rest.
func (s *Server) page() http.Handler {
	sub, _ := fs.Sub(webFiles, "web")
	static := http.StripPrefix("/static/", http.FileServerFS(sub))
	file := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			pageHeaders(w)
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFileFS(w, r, sub, name)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	}))
	mux.Handle("GET /{$}", file("index.html"))
	mux.Handle("GET /login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(sub, "login.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if r.URL.Query().Get("bad") == "" {
			b = bytes.Replace(b, []byte(`<p class="field-error bad-token">That token is not this server's.</p>`), nil, 1)
		}
		pageHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	}))
	mux.Handle("POST /login", http.HandlerFunc(s.login))
	mux.Handle("POST /logout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(s.cookieName()); err == nil {
			s.sessions.remove(c.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		w.WriteHeader(http.StatusNoContent)
	}))
	return mux
}

// login checks the token of the login form and sets the session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	tok := strings.TrimSpace(r.PostFormValue("token"))
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		time.Sleep(time.Second) // guessing stays slow
		http.Redirect(w, r, "/login?bad=1", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.sessions.add(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLife.Seconds()), Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// events streams the queue (event "jobs") and the workers ("workers")
// as server-sent events, or with ?job=ID that job's page ("job", a
// JobDetail; "gone" once it is no longer in the queue). Each is sent when
// it has changed, at most once a second; the stream ends when the server
// stops, and the page's EventSource comes back by itself.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	job := r.URL.Query().Get("job")
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	last := map[string]string{}
	send := func(name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil || last[name] == string(b) {
			return err
		}
		last[name] = string(b)
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	quiet := 0
	for {
		var err error
		s.mu.Lock()
		if job == "" {
			jobs := make([]JobInfo, 0, len(s.q.Jobs))
			for _, e := range s.q.Jobs {
				jobs = append(jobs, s.info(e))
			}
			workers := s.workerList()
			s.mu.Unlock()
			err = send("jobs", jobs)
			if err == nil {
				err = send("workers", workers)
			}
		} else if e := s.lookup(job); e != nil {
			d := s.detail(e)
			s.mu.Unlock()
			err = send("job", d)
		} else {
			s.mu.Unlock()
			err = send("gone", map[string]string{"id": job})
		}
		if quiet++; quiet >= 15 {
			_, err = fmt.Fprint(w, ": ping\n\n")
			quiet = 0
		}
		if err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		case <-tick.C:
		}
	}
}

func (s *Server) detailAPI(r *http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.find(r)
	if err != nil {
		return nil, err
	}
	return s.detail(e), nil
}

func (s *Server) workersAPI(*http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workerList(), nil
}

// defaults answers the options a job gets for the fields it leaves out
// (with rav1e, the default encoder), and every encoder's speed and
// quantizer scales with their defaults ("encoders").
func (s *Server) defaults(*http.Request) (any, error) {
	return struct {
		av1job.Options
		Encoders []av1job.EncoderInfo `json:"encoders"`
	}{av1job.NewOptions("", ""), av1job.Encoders()}, nil
}

// move moves a job up (by < 0) or down the queue: {"by": -1}. Jobs start
// in queue order.
func (s *Server) move(r *http.Request) (any, error) {
	var req struct {
		By int `json:"by"`
	}
	if err := decodeBody(r, 4096, &req); err != nil {
		return nil, fmt.Errorf("move: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.find(r)
	if err != nil {
		return nil, err
	}
	from := 0
	for i, x := range s.q.Jobs {
		if x == e {
			from = i
		}
	}
	by := min(max(req.By, -len(s.q.Jobs)), len(s.q.Jobs))
	to := min(max(from+by, 0), len(s.q.Jobs)-1)
	if to != from {
		jobs := append(s.q.Jobs[:from:from], s.q.Jobs[from+1:]...)
		jobs = append(jobs[:to], append([]*entry{e}, jobs[to:]...)...)
		old := s.q.Jobs
		s.q.Jobs = jobs
		if err := s.save(); err != nil {
			s.q.Jobs = old
			return nil, errorf(http.StatusInternalServerError, "%v", err)
		}
		s.kick()
	}
	out := make([]JobInfo, 0, len(s.q.Jobs))
	for _, x := range s.q.Jobs {
		out = append(out, s.info(x))
	}
	return out, nil
}
