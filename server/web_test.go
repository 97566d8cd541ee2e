package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/cluster"
)

// TestMediaBrowser: the file browser lists a --media folder and never
// leaves it: not by "..", an absolute path, or a symbolic link pointing
// out (such links are left out of listings too); names come back as they
// are.
func TestMediaBrowser(t *testing.T) {
	s, hs := newQueue(t, false)
	dir := t.TempDir()
	root, outside := filepath.Join(dir, "media"), filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(root, "sub", "deeper"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	xss := `<img src=x onerror=alert(1)>.mkv`
	for _, f := range []string{filepath.Join(root, "sub", xss), filepath.Join(root, ".hidden.mkv"), filepath.Join(outside, "secret.mkv")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"escape": outside, "escape.mkv": filepath.Join(outside, "secret.mkv"), "inside": filepath.Join(root, "sub")} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if s.media, err = mediaRoots([]string{root}); err != nil {
		t.Fatal(err)
	}
	if _, err := mediaRoots([]string{filepath.Join(root, "sub", xss)}); err == nil {
		t.Error("a file as --media: no error")
	}
	for _, tc := range []struct {
		path  string
		code  int
		names []string
	}{
		{"", 200, []string{"inside", "sub"}},
		{"sub", 200, []string{"deeper", xss}},
		{"inside", 200, []string{"deeper", xss}},
		{"sub/deeper", 200, nil},
		{"../", 403, nil},
		{"sub/../../outside", 403, nil},
		{"..", 403, nil},
		{"/etc", 403, nil},
		{filepath.Join(dir, "outside"), 403, nil},
		{"escape", 403, nil},
		{"escape/", 403, nil},
		{"none", 404, nil},
	} {
		code, body := call{method: "GET", path: "/api/media/list?root=0&path=" + url.QueryEscape(tc.path)}.do(t, hs)
		if code != tc.code {
			t.Errorf("%q: %d %s, want %d", tc.path, code, body, tc.code)
			continue
		}
		if code != 200 {
			if !strings.Contains(body, `"error"`) {
				t.Errorf("%q: %s: want an error", tc.path, body)
			}
			continue
		}
		var l Listing
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range l.Entries {
			names = append(names, e.Name)
			if !within(root, e.Path) {
				t.Errorf("%q: entry path %s is outside the root", tc.path, e.Path)
			}
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.names) {
			t.Errorf("%q lists %q, want %q", tc.path, names, tc.names)
		}
	}
	// A media folder of / lists the machine's root.
	if s.media, err = mediaRoots([]string{"/"}); err != nil {
		t.Fatal(err)
	}
	if code, body := (call{method: "GET", path: "/api/media/list?root=0&path=tmp"}).do(t, hs); code != 200 || !strings.Contains(body, `"entries":[{`) {
		t.Errorf("--media /: /tmp lists as %d %s", code, body)
	}
	if code, _ := (call{method: "GET", path: "/api/media/list?root=3"}).do(t, hs); code != 404 {
		t.Errorf("root 3 of 1: %d, want 404", code)
	}
}

// TestLogin: off loopback the page asks for the token with a form, which
// sets an HttpOnly, SameSite=Strict cookie that is not the token; the
// cookie opens the API but not to form posts or other sites.
func TestLogin(t *testing.T) {
	_, hs := newQueue(t, true)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, c *http.Cookie) *http.Response {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		if c != nil {
			req.AddCookie(c)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("the page without login: %d to %q, want 303 to /login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get("/static/app.js", nil); r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("the page's script: %d, CSP %q", r.StatusCode, r.Header.Get("Content-Security-Policy"))
	}
	login := func(token string) *http.Response {
		resp, err := noRedirect.PostForm(hs.URL+"/login", url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := login("guess"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?bad=1" || len(r.Cookies()) != 0 {
		t.Errorf("a wrong token: %d to %q, cookies %v", r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}
	r := login("sesame")
	if len(r.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	c := r.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value == "sesame" || c.Value == "" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not the token", c)
	}
	if r := get("/", c); r.StatusCode != 200 {
		t.Errorf("the page after login: %d", r.StatusCode)
	}
	cookie := c.Name + "=" + c.Value
	for _, tc := range []struct {
		name string
		c    call
		code int
	}{
		{"cookie", call{method: "GET", path: "/api/jobs", header: map[string]string{"Cookie": cookie}}, 200},
		{"wrong cookie", call{method: "GET", path: "/api/jobs", header: map[string]string{"Cookie": c.Name + "=00"}}, 401},
		{"cookie, form post", call{method: "POST", path: "/api/pause", body: "a=b", header: map[string]string{"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}}, 415},
		{"cookie, other site", call{method: "POST", path: "/api/pause", header: map[string]string{"Cookie": cookie, "Origin": "http://evil.example"}}, 403},
		{"cookie, JSON", call{method: "POST", path: "/api/pause", header: map[string]string{"Cookie": cookie}}, 200},
		{"login from another site", call{method: "POST", path: "/login", body: "token=sesame", header: map[string]string{"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}}, 403},
		{"logout", call{method: "POST", path: "/logout", header: map[string]string{"Cookie": cookie}}, 204},
		{"cookie after logout", call{method: "GET", path: "/api/jobs", header: map[string]string{"Cookie": cookie}}, 401},
	} {
		if code, body := tc.c.do(t, hs); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
		}
	}
	if login("sesame").Cookies()[0].Value == c.Value {
		t.Error("two logins got the same session")
	}
}

// queued adds n queued jobs to s's queue (no job runs: newQueue has no
// scheduler).
func queued(t *testing.T, s *Server, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		id := s.newID()
		o := av1job.NewOptions("/in"+id+".mkv", "/out"+id+".mkv")
		o.JobDir = filepath.Join(s.cfg.Data, "jobs", id)
		s.q.Jobs = append(s.q.Jobs, &entry{ID: id, Options: o, State: StateQueued, Submitted: time.Now()})
	}
}

func order(s *Server) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, e := range s.q.Jobs {
		ids = append(ids, e.ID)
	}
	return strings.Join(ids, ",")
}

// TestMove: a job moves up and down the queue, within its ends, and the
// order is saved.
func TestMove(t *testing.T) {
	s, hs := newQueue(t, false)
	queued(t, s, 4)
	for _, tc := range []struct {
		id, body string
		code     int
		want     string
	}{
		{"3", `{"by": -1}`, 200, "1,3,2,4"},
		{"3", `{"by": -5}`, 200, "3,1,2,4"},
		{"1", `{"by": 9}`, 200, "3,2,4,1"},
		{"4", `{"by": 0}`, 200, "3,2,4,1"},
		{"4", `{"to": 0}`, 400, "3,2,4,1"},
		{"3", `{"by": 9223372036854775807}`, 200, "2,4,1,3"},
		{"3", `{"by": -9223372036854775808}`, 200, "3,2,4,1"},
		{"9", `{"by": 1}`, 404, "3,2,4,1"},
		{"2", `{"by": -1} {"by": 1}`, 400, "3,2,4,1"},
		{"2", `{"by": -1} x`, 400, "3,2,4,1"},
		{"1", "{\"by\": -1}\n\t ", 200, "3,2,1,4"}, // white space after the value is no data
		{"1", `{"by": 1} `, 200, "3,2,4,1"},
	} {
		code, body := call{method: "POST", path: "/api/jobs/" + tc.id + "/move", body: tc.body}.do(t, hs)
		if code != tc.code || order(s) != tc.want {
			t.Errorf("move %s %s: %d %s, order %s; want %d and %s", tc.id, tc.body, code, body, order(s), tc.code, tc.want)
		}
	}
	b, err := os.ReadFile(s.queuePath())
	if err != nil {
		t.Fatal(err)
	}
	var q queueFile
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if len(q.Jobs) != 4 || q.Jobs[0].ID != "3" || q.Jobs[3].ID != "1" {
		t.Errorf("queue.json after moves: %+v", q.Jobs)
	}
}

// TestEvents: the event stream sends the queue and the workers at once,
// then the queue again when it changes; a job's stream sends its detail,
// and "gone" for a job not in the queue.
func TestEvents(t *testing.T) {
	s, hs := newQueue(t, false)
	queued(t, s, 1)
	s.workers.heard(cluster.WorkerInfo{Name: "w1", Host: "h", Cores: 4, Slots: 2, State: cluster.WorkerIdle, Time: time.Now()})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream := func(path string) *bufio.Scanner {
		req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("%s: Content-Type %q", path, ct)
		}
		return bufio.NewScanner(resp.Body)
	}
	// next returns the next event's name and data.
	next := func(sc *bufio.Scanner) (string, string) {
		var name string
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				return name, d
			}
		}
		t.Fatalf("the stream ended: %v", sc.Err())
		return "", ""
	}
	sc := stream("/api/events")
	got := map[string]string{}
	for len(got) < 2 {
		n, d := next(sc)
		got[n] = d
	}
	if !strings.Contains(got["jobs"], `"id":"1"`) || !strings.Contains(got["workers"], `"name":"w1"`) {
		t.Fatalf("first events: %v", got)
	}
	queued(t, s, 1)
	for {
		n, d := next(sc)
		if n == "jobs" {
			if !strings.Contains(d, `"id":"2"`) {
				t.Errorf("jobs after a submit: %s", d)
			}
			break
		}
	}
	if n, d := next(stream("/api/events?job=1")); n != "job" || !strings.Contains(d, `"chunks":[]`) {
		t.Errorf("a job's stream: %s %s", n, d)
	}
	if n, _ := next(stream("/api/events?job=7")); n != "gone" {
		t.Errorf("a missing job's stream: %s", n)
	}
}

// TestFieldOf: a refused job's message is shown beside the field it is
// about.
func TestFieldOf(t *testing.T) {
	o := av1job.NewOptions("/m/in.mkv", "/m/out.mkv")
	o2 := av1job.NewOptions("/m/in.mkv", "/m/in.mkv.av1.mkv")
	if got := fieldOf("/m/in.mkv.av1.mkv: exists (use --overwrite)", o2); got != "output" {
		t.Errorf("an output named after its input: field %q, want output", got)
	}
	for msg, want := range map[string]string{
		"--speed 11: must be 0-10":                                          "speed",
		"--encoder rav1e: --quantizer 0: must be 1-255":                     "quantizer",
		"--max-scene-len -1: must be a positive number":                     "max_scene_len",
		"/m/in.mkv: no such file":                                           "input",
		"/m/out.mkv: unsupported output extension \".avi\"":                 "output",
		"--encoder rav1e: -o: use av1job's -o":                              "extra",
		`--encoder: unknown encoder "x" (use aomenc or rav1e)`:              "encoder",
		"--speed 14: svt-av1's preset is 0-13":                              "speed",
		"--target-quality 120: must be a score above 0, at most 100":        "target_quality",
		"encoder arguments --tiles x refused by rav1e: --speed 3 --tiles x": "extra",
		"something else": "",
	} {
		if got := fieldOf(msg, o); got != want {
			t.Errorf("%q: field %q, want %q", msg, got, want)
		}
	}
}

// TestRegistry: a worker's rate comes from two announcements; one
// unheard for three announcements is lost, and one gone long ago is
// forgotten.
func TestRegistry(t *testing.T) {
	r := newRegistry()
	t0 := time.Now()
	r.heard(cluster.WorkerInfo{Name: "a", State: cluster.WorkerWorking, Frames: 0, Time: t0,
		Tasks: []cluster.WorkerTask{{Job: "fp-1234abcd", Chunk: 3, Frames: 10}}})
	r.heard(cluster.WorkerInfo{Name: "a", State: cluster.WorkerWorking, Frames: 60, Time: t0.Add(2 * time.Second),
		Tasks: []cluster.WorkerTask{{Job: "fp-1234abcd", Chunk: 3, Frames: 70}}})
	r.heard(cluster.WorkerInfo{Name: "b", State: cluster.WorkerIdle, Time: t0})
	// The first rate is taken as it is (60 frames in 2 s), later ones smoothed.
	ws := r.list(func(job string) string {
		if job == "fp-1234abcd" {
			return "7"
		}
		return ""
	})
	if len(ws) != 2 || ws[0].Name != "a" || ws[0].FPS != 30 || len(ws[0].Tasks) != 1 || ws[0].Tasks[0].JobID != "7" {
		t.Fatalf("workers: %+v", ws)
	}
	r.mu.Lock()
	r.w["a"].heard = time.Now().Add(-4 * cluster.AnnounceEvery)
	r.w["b"].heard = time.Now().Add(-forgetAfter - time.Minute)
	r.mu.Unlock()
	ws = r.list(func(string) string { return "" })
	if len(ws) != 1 || ws[0].State != cluster.WorkerLost || ws[0].FPS != 0 || len(ws[0].Tasks) != 0 {
		t.Errorf("after silence: %+v; want a lost, b forgotten", ws)
	}
}

// TestHistory: a long run's rate keeps its first point and at most
// seriesKeep points; the log keeps its last logKeep lines.
func TestHistory(t *testing.T) {
	var h history
	t0 := time.Unix(1_000_000, 0)
	for i := range 5000 {
		h.point(t0.Add(time.Duration(i)*seriesStep), float64(i))
	}
	for i := range logKeep + 50 {
		h.add("info", "line %d", i)
	}
	log, series := h.snapshot()
	if len(series) > seriesKeep || len(series) < seriesKeep/2 || series[0].T != t0.Unix() {
		t.Errorf("%d points from %d, want at most %d from %d", len(series), series[0].T, seriesKeep, t0.Unix())
	}
	if len(log) != logKeep || log[len(log)-1].Msg != fmt.Sprintf("line %d", logKeep+49) {
		t.Errorf("log: %d lines, last %q", len(log), log[len(log)-1].Msg)
	}
}
