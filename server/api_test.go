package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/testfs"
)

// newQueue returns a server with no NATS and no worker: enough for the
// API's checks and the queue's bookkeeping (no job starts). With auth its
// connections are never the owner's, so that every request needs the
// token; else this process, the server's own user, needs none.
func newQueue(t *testing.T, auth bool) (*Server, *httptest.Server) {
	t.Helper()
	return newQueueIn(t, t.TempDir(), auth)
}

// newQueueIn is newQueue on the data directory data.
func newQueueIn(t *testing.T, data string, auth bool) (*Server, *httptest.Server) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(data, "jobs"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := newServer(Config{Data: data, Jobs: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.token = "sesame"
	if auth {
		s.owner = func(net.Conn) bool { return false }
	}
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = s.httpServer()
	hs.Start()
	t.Cleanup(hs.Close)
	return s, hs
}

type call struct {
	method, path, body string
	header             map[string]string
}

func (c call) do(t *testing.T, hs *httptest.Server) (int, string) {
	t.Helper()
	resp, body := c.send(t, hs)
	return resp.StatusCode, body
}

// send makes the call and returns the response, its body read.
func (c call) send(t *testing.T, hs *httptest.Server) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, hs.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestGuard(t *testing.T) {
	_, hs := newQueue(t, true)
	for _, tc := range []struct {
		name string
		c    call
		code int
	}{
		{"no token", call{method: "GET", path: "/api/jobs"}, 401},
		{"wrong token", call{method: "GET", path: "/api/jobs", header: map[string]string{"Authorization": "Bearer open"}}, 401},
		{"token", call{method: "GET", path: "/api/jobs", header: map[string]string{"Authorization": "Bearer sesame"}}, 200},
		{"form post", call{method: "POST", path: "/api/pause", body: "a=b", header: map[string]string{"Authorization": "Bearer sesame", "Content-Type": "application/x-www-form-urlencoded"}}, 415},
		{"other site", call{method: "POST", path: "/api/pause", header: map[string]string{"Authorization": "Bearer sesame", "Origin": "http://evil.example"}}, 403},
		{"same site", call{method: "POST", path: "/api/pause", header: map[string]string{"Authorization": "Bearer sesame"}}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := tc.c.do(t, hs); code != tc.code {
				t.Errorf("%s %s: %d %s, want %d", tc.c.method, tc.c.path, code, body, tc.code)
			}
		})
	}
	// The server's own user needs no token on loopback, but a request
	// for another host name (a web page's, rebound to 127.0.0.1) is
	// refused.
	_, open := newQueue(t, false)
	for host, code := range map[string]int{"": 200, "localhost:8418": 200, "[::1]:8418": 200, "evil.example:8418": 403, "10.0.0.1": 403} {
		c := call{method: "GET", path: "/api/jobs"}
		req, _ := http.NewRequest(c.method, open.URL+c.path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, code)
		}
	}
}

// TestMethods: a request the API has no route for is answered in JSON,
// 405 with the methods its path takes in Allow, or 404 for a path it does
// not have; the page's routes do not take it.
func TestMethods(t *testing.T) {
	s, hs := newQueue(t, false)
	queued(t, s, 1)
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"PUT", "/api/jobs", 405, "GET, HEAD, POST"},
		{"DELETE", "/api/jobs", 405, "GET, HEAD, POST"},
		{"POST", "/api/jobs/1", 405, "GET, HEAD, DELETE"},
		{"PATCH", "/api/jobs/1", 405, "GET, HEAD, DELETE"},
		{"GET", "/api/jobs/1/pause", 405, "POST"},
		{"DELETE", "/api/jobs/1/stop", 405, "POST"},
		{"GET", "/api/jobs/1/move", 405, "POST"},
		{"POST", "/api/jobs/1/wait", 405, "GET, HEAD"},
		{"GET", "/api/pause", 405, "POST"},
		{"PUT", "/api/resume", 405, "POST"},
		{"DELETE", "/api/workers", 405, "GET, HEAD"},
		{"POST", "/api/events", 405, "GET, HEAD"},
		{"POST", "/api/media/list", 405, "GET, HEAD"},
		{"GET", "/api/nothing", 404, ""},
		{"POST", "/api/explode", 404, ""},
		{"GET", "/api/jobs/1/explode", 404, ""},
		{"POST", "/api/jobs/1/explode", 404, ""},
		{"GET", "/api/", 404, ""},
		{"GET", "/api/jobs/1/pause/more", 404, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := call{method: tc.method, path: tc.path}.send(t, hs)
			var e struct{ Error string }
			if resp.StatusCode != tc.code || resp.Header.Get("Allow") != tc.allow {
				t.Errorf("%d, Allow %q: %s; want %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"), body, tc.code, tc.allow)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("Content-Type %q, body %q: want a JSON error", ct, body)
			}
		})
	}
	// The routes still answer their own methods.
	for _, c := range []call{{method: "GET", path: "/api/jobs/1"}, {method: "POST", path: "/api/jobs/1/pause"}, {method: "POST", path: "/api/resume"}} {
		if code, body := c.do(t, hs); code != 200 {
			t.Errorf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
}

// TestClientSendsZero: a speed of 0 chosen (SpeedOf(0)) reaches the
// server as 0, not as "left out" (which takes encode's default); an
// unset speed or quantizer is left out, for the server's default.
func TestClientSendsZero(t *testing.T) {
	var got map[string]any
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = nil
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte(`{"id": "1"}`))
	}))
	defer hs.Close()
	submit := func(o av1job.Options) {
		t.Helper()
		if _, err := (&Client{URL: hs.URL}).Submit(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	o := av1job.NewOptions("/a.mkv", "/b.mkv")
	o.Speed, o.JobDir = av1job.SpeedOf(0), ""
	submit(o)
	if v, ok := got["speed"]; !ok || v != float64(0) {
		t.Errorf("speed sent as %v (present %v), want 0", v, ok)
	}
	submit(av1job.Options{Input: "/a.mkv", Output: "/b.mkv"})
	for _, f := range []string{"speed", "quantizer"} {
		if v, ok := got[f]; ok {
			t.Errorf("unset %s sent as %v, want it left out", f, v)
		}
	}
}

// clip makes a one-second video file; under -short it skips the test,
// which encodes it.
func clip(t *testing.T, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("encodes: skipped under -short")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	p := filepath.Join(dir, "in.mkv")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration=1", "-c:v", "ffv1", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return p
}

func job(in, out string) string {
	o := av1job.NewOptions(in, out)
	o.JobDir = ""
	b, _ := json.Marshal(o)
	return string(b)
}

// submitRig returns a queue of the server's own user, a one-second
// input and an output path beside it, for tests that submit real jobs.
func submitRig(t *testing.T) (s *Server, hs *httptest.Server, in, out string) {
	t.Helper()
	if _, err := exec.LookPath("rav1e"); err != nil {
		t.Skip("rav1e not installed")
	}
	s, hs = newQueue(t, false)
	dir := t.TempDir()
	return s, hs, clip(t, dir), filepath.Join(dir, "out.mkv")
}

func TestSubmitAndControl(t *testing.T) {
	s, hs, in, out := submitRig(t)
	dir := filepath.Dir(out)
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"not json", "{", 400, "does not parse"},
		{"unknown field", `{"input": "` + in + `", "colour": 1}`, 400, "unknown field"},
		{"relative input", job("in.mkv", out), 400, "absolute path"},
		{"job dir", `{"input": "` + in + `", "output": "` + out + `", "job_dir": "/tmp/x"}`, 400, "job_dir"},
		{"missing input", job(filepath.Join(dir, "none.mkv"), out), 400, "none.mkv: no such file"},
		{"output is input", job(in, in), 400, "same file as the input"},
		{"bad speed", strings.Replace(job(in, out), `"speed":6`, `"speed":11`, 1), 400, "speed"},
		{"written file", `{"input": "` + in + `", "output": "` + out + `", "extra": ["-o", "/tmp/evil.ivf"]}`, 400, "-o"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call{method: "POST", path: "/api/jobs", body: tc.body}.do(t, hs)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s: want %d and %q", code, body, tc.code, tc.want)
			}
		})
	}
	if len(s.q.Jobs) != 0 {
		t.Fatalf("refused jobs were queued: %+v", s.q.Jobs)
	}
	code, body := call{method: "POST", path: "/api/jobs", body: job(in, out)}.do(t, hs)
	if code != 201 {
		t.Fatalf("submit: %d %s", code, body)
	}
	var ji JobInfo
	if err := json.Unmarshal([]byte(body), &ji); err != nil {
		t.Fatal(err)
	}
	if ji.ID != "1" || ji.State != StateQueued || ji.Output != out || ji.Job != filepath.Join(s.cfg.Data, "jobs", "1") {
		t.Errorf("queued job: %+v", ji)
	}
	if code, body := (call{method: "POST", path: "/api/jobs", body: job(in, out)}).do(t, hs); code != 409 {
		t.Errorf("the same output again: %d %s, want 409", code, body)
	}

	// The queue is on disk, and comes back.
	b, err := os.ReadFile(filepath.Join(s.cfg.Data, "queue.json"))
	if err != nil || !strings.Contains(string(b), out) {
		t.Fatalf("queue.json: %v %s", err, b)
	}

	steps := []struct {
		c     call
		code  int
		state string
		held  bool
	}{
		{call{method: "POST", path: "/api/jobs/1/pause"}, 200, StateQueued, true},
		{call{method: "POST", path: "/api/jobs/1/resume"}, 200, StateQueued, false},
		{call{method: "POST", path: "/api/jobs/1/stop"}, 200, av1job.StateStopped, false},
		{call{method: "POST", path: "/api/jobs/1/stop"}, 409, "", false},
		{call{method: "POST", path: "/api/jobs/1/pause"}, 409, "", false},
		{call{method: "GET", path: "/api/jobs/1/wait"}, 200, av1job.StateStopped, false},
		{call{method: "POST", path: "/api/jobs/1/resume"}, 200, StateQueued, false},
		{call{method: "GET", path: "/api/jobs/1/wait?timeout=10ms"}, 200, StateQueued, false},
		{call{method: "GET", path: "/api/jobs/1/wait?timeout=forever"}, 400, "", false},
		{call{method: "POST", path: "/api/jobs/1/explode"}, 404, "", false},
		{call{method: "POST", path: "/api/jobs/2/pause"}, 404, "", false},
		{call{method: "DELETE", path: "/api/jobs/1"}, 200, StateQueued, false},
		{call{method: "GET", path: "/api/jobs/1"}, 404, "", false},
	}
	for _, st := range steps {
		code, body := st.c.do(t, hs)
		if code != st.code {
			t.Fatalf("%s %s: %d %s, want %d", st.c.method, st.c.path, code, body, st.code)
		}
		if st.state == "" {
			continue
		}
		var ji JobInfo
		if err := json.Unmarshal([]byte(body), &ji); err != nil {
			t.Fatal(err)
		}
		if ji.State != st.state || ji.Paused != st.held {
			t.Fatalf("%s %s: state %s paused %v, want %s %v", st.c.method, st.c.path, ji.State, ji.Paused, st.state, st.held)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output appeared")
	}
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"running is queued again", `{"version": 1, "next": 3, "jobs": [{"id": "1", "state": "running"}, {"id": "2", "state": "done"}]}`, ""},
		{"damaged", `{"version": 1, "jobs": [`, "damaged queue"},
		{"newer", `{"version": 2}`, "queue version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			if err := os.WriteFile(filepath.Join(data, "queue.json"), []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			s := &Server{cfg: Config{Data: data}}
			err := s.load()
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "queue.json") {
					t.Fatalf("load: %v, want an error naming queue.json and %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.q.Jobs[0].State != StateQueued || s.q.Jobs[1].State != av1job.StateDone || s.newID() != "3" {
				t.Errorf("loaded %+v", s.q)
			}
		})
	}
}

// TestLoadSpeeds: a queue written before every speed was recorded left a
// speed of 0 out, so a job without one is at speed 0; a job's speed
// survives a save and a load.
func TestLoadSpeeds(t *testing.T) {
	data := t.TempDir()
	file := `{"version": 1, "next": 3, "jobs": [{"id": "1", "state": "queued", "options": {"input": "/a.mkv"}},
		{"id": "2", "state": "queued", "options": {"input": "/b.mkv", "speed": 6}}]}`
	if err := os.WriteFile(filepath.Join(data, "queue.json"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{Data: data}}
	for round := range 2 {
		if err := s.load(); err != nil {
			t.Fatal(err)
		}
		for i, want := range []av1job.Speed{av1job.SpeedOf(0), av1job.SpeedOf(6)} {
			if got := s.q.Jobs[i].Options.Speed; got != want {
				t.Errorf("round %d: job %s: speed %v (set %v), want %v", round, s.q.Jobs[i].ID, got, !got.IsZero(), want)
			}
		}
		if err := s.save(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRate(t *testing.T) {
	var r rate
	now := time.Now()
	if r.fps() != 0 {
		t.Fatal("a rate with no samples")
	}
	r.samples = []sample{{now, 10}, {now.Add(time.Second), 20}}
	if r.fps() != 0 {
		t.Error("a rate from less than two seconds")
	}
	r.samples = append(r.samples, sample{now.Add(4 * time.Second), 130})
	if got := r.fps(); got != 30 {
		t.Errorf("fps %v, want 30", got)
	}
}

// TestOtherUser: another user of the machine is not the server's owner,
// on loopback too: without the token it can neither read the queue nor
// queue a job that reads the owner's private file, nor remove a job; with
// the token it can. The test binary, copied where that user can run it,
// makes the requests as user nobody (65534), over real loopback TCP, so
// that the kernel's socket table is what tells the users apart.
func TestOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	s, hs := newQueue(t, false)
	queued(t, s, 1)
	dir, err := os.MkdirTemp("", "av1job-client-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "client")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "private.mkv")
	if err := os.WriteFile(secret, []byte("not for others"), 0o600); err != nil {
		t.Fatal(err)
	}
	as := func(uid uint32, token, req string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "AV1JOB_TEST_REQUEST="+req, "AV1JOB_TEST_TOKEN="+token)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("client as %d: %v: %s", uid, err, out)
		}
		code, body, _ := strings.Cut(string(out), " ")
		n, err := strconv.Atoi(code)
		if err != nil {
			t.Fatalf("client as %d: %q", uid, out)
		}
		return n, body
	}
	sub := "POST " + hs.URL + "/api/jobs " + job(secret, "/tmp/x.mkv")
	for _, tc := range []struct {
		name  string
		uid   uint32
		token string
		req   string
		code  int
	}{
		{"owner reads", 0, "", "GET " + hs.URL + "/api/jobs", 200},
		{"other reads", 65534, "", "GET " + hs.URL + "/api/jobs", 401},
		{"other queues the owner's file", 65534, "", sub, 401},
		{"other removes a job", 65534, "", "DELETE " + hs.URL + "/api/jobs/1", 401},
		{"other pauses all", 65534, "", "POST " + hs.URL + "/api/pause {}", 401},
		{"other with a wrong token", 65534, "open", "GET " + hs.URL + "/api/jobs", 401},
		{"other with the token", 65534, "sesame", "GET " + hs.URL + "/api/jobs", 200},
	} {
		if code, body := as(tc.uid, tc.token, tc.req); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
		}
	}
	if order(s) != "1" {
		t.Errorf("queue %q after the other user's requests, want job 1 alone", order(s))
	}
}

func TestParseProcAddr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000:0016", "0.0.0.0:22"},
		{"00000000000000000000000001000000:20E2", "[::1]:8418"},
		{"0000000000000000FFFF00000100007F:20E2", "[::ffff:127.0.0.1]:8418"},
	} {
		got, err := parseProcAddr(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F:XYZ", "01007F:0016", "0100007F:10000"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q): no error", bad)
		}
	}
}

// TestSubmitRefused: a job `av1job encode` would refuse is refused when
// it is submitted, with the field it is about; nothing is queued and
// nothing is written.
func TestSubmitRefused(t *testing.T) {
	s, hs, in, out := submitRig(t)
	dir := filepath.Dir(out)
	extra := func(args ...string) string {
		o := av1job.NewOptions(in, out)
		o.JobDir, o.Extra = "", args
		b, _ := json.Marshal(o)
		return string(b)
	}
	for _, tc := range []struct {
		name, body, field, want string
	}{
		{"value the encoder refuses", extra("--tune", "Foo"), "extra", "'Foo' isn't a valid value"},
		{"value the encoder rejects as an argument", extra("--tiles", "-3"), "extra", "--tiles -3 refused by rav1e"},
		{"value the encoder panics on", extra("--tiles=-3"), "extra", "--tiles=-3 refused by rav1e"},
		{"unknown audio mode", `{"input": "` + in + `", "output": "` + out + `", "audio": "mp3"}`, "audio", "--audio mp3: use copy, opus, opus:KBPS or none"},
		{"NUL in the output", job(in, filepath.Join(dir, "out\x00.mkv")), "output", "NUL byte"},
		{"NUL in the input", job(in+"\x00", out), "input", "NUL byte"},
		{"a second value", job(in, out) + ` {"overwrite": true} garbage`, "", "data after the JSON value"},
		{"data after the value", job(in, out) + "\n]", "", "data after the JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call{method: "POST", path: "/api/jobs", body: tc.body}.do(t, hs)
			var got struct{ Error, Field string }
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%d %s: %v", code, body, err)
			}
			if code != 400 || got.Field != tc.field || !strings.Contains(got.Error, tc.want) {
				t.Errorf("%d %s: want 400, field %q and %q", code, body, tc.field, tc.want)
			}
		})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q.Jobs) != 0 {
		t.Errorf("refused jobs were queued: %+v", s.q.Jobs)
	}
	for _, d := range []string{dir, filepath.Join(s.cfg.Data, "jobs")} {
		if ents, _ := os.ReadDir(d); len(ents) > 1 || (len(ents) == 1 && ents[0].Name() != "in.mkv") {
			t.Errorf("%s: files appeared: %v", d, ents)
		}
	}
}

// TestOutputThroughLink: an output that is a queued job's through a
// symbolic link to its directory is refused like the same path, and still
// is once the queue is loaded again (the server restarted).
func TestOutputThroughLink(t *testing.T) {
	if _, err := exec.LookPath("rav1e"); err != nil {
		t.Skip("rav1e not installed")
	}
	s, hs := newQueue(t, false)
	dir := t.TempDir()
	in := clip(t, dir)
	real, alias := filepath.Join(dir, "out"), filepath.Join(dir, "alias")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("out", alias); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		name, out string
		reload    bool // load queue.json again first
		code      int
	}{
		{"a job", filepath.Join(real, "a.mkv"), false, 201},
		{"its output through the link", filepath.Join(alias, "a.mkv"), false, 409},
		{"a job through the link", filepath.Join(alias, "b.mkv"), false, 201},
		{"its output by the real path", filepath.Join(real, "b.mkv"), false, 409},
		{"through the link after a restart", filepath.Join(alias, "a.mkv"), true, 409},
		{"by the real path after a restart", filepath.Join(real, "b.mkv"), true, 409},
		{"another file through the link", filepath.Join(alias, "c.mkv"), false, 201},
	} {
		if st.reload {
			s.mu.Lock()
			s.q = queueFile{} // as a restarted server has it
			err := s.load()
			s.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
		}
		if code, body := (call{method: "POST", path: "/api/jobs", body: job(in, st.out)}).do(t, hs); code != st.code {
			t.Errorf("%s: %d %s, want %d", st.name, code, body, st.code)
		}
	}
}

// TestQueueDiskFull: on a full disk queue.json keeps its last state, and
// a pause, stop or removal it cannot record fails with one line naming
// queue.json and the full disk, with nothing changed in memory either (a
// pause the queue shows is a pause the file has); once space is freed
// the same request succeeds.
func TestQueueDiskFull(t *testing.T) {
	data := testfs.Tmpfs(t, filepath.Join(t.TempDir(), "data"), "size=1m")
	s, hs := newQueueIn(t, data, false)
	s.mu.Lock()
	o := av1job.NewOptions("/media/in.mkv", "/media/out.mkv")
	o.JobDir = filepath.Join(data, "jobs", "1")
	s.q.Jobs = append(s.q.Jobs, &entry{ID: s.newID(), Options: o, State: StateQueued, Submitted: time.Now().UTC()})
	err := s.save()
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	queue := filepath.Join(data, "queue.json")
	before, err := os.ReadFile(queue)
	if err != nil {
		t.Fatal(err)
	}
	fill := filepath.Join(data, "fill")
	testfs.Fill(t, fill)
	for _, c := range []call{
		{method: "POST", path: "/api/jobs/1/pause"},
		{method: "POST", path: "/api/jobs/1/stop"},
		{method: "DELETE", path: "/api/jobs/1"},
	} {
		code, body := c.do(t, hs)
		if code != 500 || !strings.Contains(body, queue+": the disk is full") || strings.Count(body, "\n") > 1 {
			t.Errorf("%s %s on a full disk: %d %s; want 500 naming %s and the full disk", c.method, c.path, code, body, queue)
		}
		code, body = call{method: "GET", path: "/api/jobs/1"}.do(t, hs)
		var ji JobInfo
		if code != 200 || json.Unmarshal([]byte(body), &ji) != nil || ji.State != StateQueued || ji.Paused {
			t.Errorf("after %s %s failed: %d %s; want the job queued as it was", c.method, c.path, code, body)
		}
	}
	if b, err := os.ReadFile(queue); err != nil || string(b) != string(before) {
		t.Errorf("queue.json on a full disk: %v\n%s\nwant\n%s", err, b, before)
	}
	if es, _ := os.ReadDir(data); len(es) != 3 { // queue.json, jobs, fill
		t.Errorf("left in the data directory: %v", es)
	}

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if code, body := (call{method: "POST", path: "/api/jobs/1/pause"}).do(t, hs); code != 200 {
		t.Fatalf("pause after space was freed: %d %s", code, body)
	}
	if b, err := os.ReadFile(queue); err != nil || !strings.Contains(string(b), `"paused": true`) {
		t.Errorf("queue.json after the pause: %v %s", err, b)
	}
}

// TestInfoSizes: a job's size so far and its estimate count the other
// streams' share (estimated from the source's), and a finished job shows
// what it made, as `encode` ends with.
func TestInfoSizes(t *testing.T) {
	s := &Server{runs: map[string]*run{}}
	sum := &av1job.Summary{Output: "/o.webm", OutputBytes: 1 << 20, SourceBytes: 600 << 10, VideoBytes: 900 << 10, Seconds: 10, Frames: 240, Chunks: 4}
	for _, tc := range []struct {
		name           string
		last           av1job.StatusInfo
		size, estimate int64
		summary        bool
	}{
		{"half done", av1job.StatusInfo{FramesRecorded: 120, FramesTotal: 240, Bytes: 1000, OtherBytes: 400}, 1200, 2400, false},
		{"video only", av1job.StatusInfo{FramesRecorded: 60, FramesTotal: 240, Bytes: 1000}, 1000, 4000, false},
		{"done", av1job.StatusInfo{FramesRecorded: 240, FramesTotal: 240, Bytes: 900 << 10, OtherBytes: 100 << 10, Summary: sum}, 1 << 20, 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ji := s.info(&entry{ID: "1", State: av1job.StateDone, Last: tc.last})
			if ji.SizeBytes != tc.size || ji.EstimatedBytes != tc.estimate || (ji.Summary != nil) != tc.summary {
				t.Errorf("size %d estimate %d summary %v, want %d, %d, %v", ji.SizeBytes, ji.EstimatedBytes, ji.Summary, tc.size, tc.estimate, tc.summary)
			}
			b, _ := json.Marshal(ji)
			if tc.summary && !strings.Contains(string(b), `"summary":{"output":"/o.webm","output_bytes":1048576,"source_bytes":614400`) {
				t.Errorf("JSON %s lacks the summary", b)
			}
		})
	}
}
