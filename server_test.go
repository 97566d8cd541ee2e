package av1job_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job/cluster"
	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/testfs"
	"github.com/av1job/av1job/server"
)

// serverProc is an `av1job server` process.
type serverProc struct {
	workerProc
	data, http, nats string
}

var serverAddrs = regexp.MustCompile(`API on http://(\S+), NATS on (nats://\S+?);`)

// startServer starts `av1job server` on data with extra flags; "" addresses
// pick free ports. It returns once the server answers.
func startServer(t *testing.T, data, httpAddr, natsAddr string, env []string, extra ...string) *serverProc {
	t.Helper()
	if httpAddr == "" {
		httpAddr = "127.0.0.1:0"
	}
	if natsAddr == "" {
		natsAddr = "127.0.0.1:0"
	}
	args := append([]string{"server", "--data", data, "--http", httpAddr, "--nats-listen", natsAddr, "--ack-wait", "4s"}, extra...)
	s := &serverProc{data: data}
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = &s.workerProc, &s.workerProc
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		if t.Failed() {
			t.Logf("server:\n%s", s.logged())
		}
	})
	if !waitFor(t, 30*time.Second, func() bool { return serverAddrs.MatchString(s.logged()) }) {
		t.Fatalf("the server did not start:\n%s", s.logged())
	}
	m := serverAddrs.FindStringSubmatch(s.logged())
	s.http, s.nats = m[1], m[2]
	return s
}

// client returns an API client for s.
func (s *serverProc) client() *server.Client { return &server.Client{URL: s.http} }

// cli runs an av1job client command against s.
func (s *serverProc) cli(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, []string{"AV1JOB_SERVER=" + s.http}, args...)
}

// startWorker starts an `av1job worker` process for s, in the network
// namespace ns when it is not nil.
func (s *serverProc) startWorker(t *testing.T, ns *netns, name string, env []string) *workerProc {
	t.Helper()
	c := &testCluster{url: s.nats, token: filepath.Join(s.data, "token")}
	if ns != nil {
		return c.startWorkerIn(t, ns.name, name, env)
	}
	return c.startWorkerEnv(t, name, env)
}

// TestServerQueue: a server with its own worker runs two submitted jobs
// from the command line; a bad job is refused when it is submitted, with
// nothing queued; `pause --all` freezes the encoders (state T) and
// `resume --all` thaws them; `status --json` has the fields a local job's
// has; SIGTERM ends the server with its jobs queued, and the next start
// finishes them: `wait` exits 0 and the outputs pass verify.
func TestServerQueue(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"mandelbrot", "testsrc2", "life"}, SegFrames: 72}
	a := clip(t, dir, "a.mkv", spec)
	b := filepath.Join(dir, "b.mkv")
	if err := os.Link(a, b); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "", "", nil, "--workers", "1")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", filepath.Join(dir, "none.mkv"), "-o", filepath.Join(dir, "x.mkv")}, "none.mkv: no such file"},
		{[]string{"submit", a, "-o", a}, "same file as the input"},
		{[]string{"submit", a, "-o", filepath.Join(dir, "x.avi")}, "unsupported output extension"},
		{[]string{"submit", a, "-o", filepath.Join(dir, "x.mkv"), "--", "-o", "/tmp/evil.ivf"}, "-o"},
	} {
		r := s.cli(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q: want exit 2 and one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	outs := []string{filepath.Join(dir, "a.av1.mkv"), filepath.Join(dir, "b.av1.mkv")}
	var ids []string
	for i, in := range []string{a, b} {
		r := s.cli(t, "submit", in, "-o", outs[i], "--speed", "10")
		if r.code != 0 {
			t.Fatalf("submit: exit %d: %s", r.code, r.stderr)
		}
		ids = append(ids, strings.TrimSpace(r.stdout))
	}
	if r := s.cli(t, "submit", a, "-o", outs[0]); r.code != 2 || !strings.Contains(r.stderr, "writes this output already") {
		t.Errorf("a second job for the same output: exit %d, %q", r.code, r.stderr)
	}
	jobs, err := s.client().Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("%d jobs in the queue, want 2 (refused ones are not queued): %+v", len(jobs), jobs)
	}

	// Pause everything once an encoder runs.
	srvPID := s.cmd.Process.Pid
	if !waitFor(t, 60*time.Second, func() bool { return len(childStates(srvPID)) > 0 }) {
		t.Fatal("no encoder started")
	}
	if r := s.cli(t, "pause", "--all"); r.code != 0 {
		t.Fatalf("pause --all: exit %d: %s", r.code, r.stderr)
	}
	frozen := func() bool {
		st := childStates(srvPID)
		for _, c := range st {
			if c != 'T' {
				return false
			}
		}
		return true
	}
	if !frozen() {
		t.Errorf("after pause --all the server's encoders are %v, want all stopped (T)", childStates(srvPID))
	}
	var st map[string]any
	r := s.cli(t, "status", ids[0], "--json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v: %q %q", err, r.stdout, r.stderr)
	}
	for _, k := range []string{"state", "frames_done", "frames_total", "chunks_done", "chunks_total"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status --json has no %q: %s", k, r.stdout)
		}
	}
	if r := s.cli(t, "resume", "--all"); r.code != 0 {
		t.Fatalf("resume --all: exit %d: %s", r.code, r.stderr)
	}

	// SIGTERM stops the jobs without losing work and keeps them queued;
	// the next start continues them.
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("the server's exit after SIGTERM: %v\n%s", err, s.logged())
	}
	var q struct {
		Jobs []struct{ ID, State string }
	}
	qb, err := os.ReadFile(filepath.Join(s.data, "queue.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(qb, &q); err != nil {
		t.Fatal(err)
	}
	for _, j := range q.Jobs {
		if j.State != "queued" && j.State != "done" {
			t.Errorf("job %s is %s in queue.json after SIGTERM: want queued (or done)", j.ID, j.State)
		}
	}
	s = startServer(t, s.data, "", "", nil, "--workers", "1")
	for i, id := range ids {
		if r := s.cli(t, "wait", id); r.code != 0 {
			t.Fatalf("wait %s: exit %d: %s", id, r.code, r.stderr)
		}
		mustVerify(t, []string{a, b}[i], outs[i], false)
	}
	if r := s.cli(t, "jobs"); r.code != 0 || strings.Count(r.stdout, "done") != 2 {
		t.Errorf("jobs: exit %d:\n%s", r.code, r.stdout)
	}
}

// TestServerKilled: the server is killed (SIGKILL) while a worker process
// (in its own network namespace, as root) encodes a job's chunk, then
// started again with the same --data and ports. The worker reconnects by itself, the job continues and its
// output passes verify, and the frames fed to encoders exceed the
// source's by at most one encoder's lookahead: the worker froze its
// encoder when the connection went.
func TestServerKilled(t *testing.T) {
	needTools(t)
	t.Parallel() // mostly waiting (a slowed scene pass, silences, restarts)
	rng := newRand(t)
	dir := t.TempDir()
	spec := clusterClip
	in := clip(t, dir, "in.mkv", spec)
	env, counts := countingEnv(t, dir)
	data := filepath.Join(dir, "data")
	// The worker talks to the server over a network link where it can
	// (root): from its own namespace to NATS on the host's side.
	var ns *netns
	natsAddr := ""
	if _, err := exec.LookPath("ip"); err == nil && os.Geteuid() == 0 {
		ns = newNetns(t, 2)
		natsAddr = ns.host + ":0"
	}
	s := startServer(t, data, "", natsAddr, nil, "--workers", "0")
	w := s.startWorker(t, ns, "w", env)
	out := filepath.Join(dir, "out.mkv")
	r := s.cli(t, "submit", in, "-o", out, "--speed", "10")
	if r.code != 0 {
		t.Fatalf("submit: exit %d: %s", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	// Killed in the middle of the first chunk: placed by frames fed, not
	// by time, so that it lands there at any speed.
	n := 1 + rng.IntN(spec.SegFrames-10)
	t.Logf("server killed after %d frames fed", n)
	if !waitFor(t, 60*time.Second, func() bool { return framesFed(t, counts) >= n }) {
		t.Fatalf("%d frames were never fed", n)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	// Nothing is encoded while the server is away.
	time.Sleep(500 * time.Millisecond)
	s2 := startServer(t, data, s.http, strings.TrimPrefix(s.nats, "nats://"), nil, "--workers", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ji, err := s2.client().Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ji.State != "done" {
		t.Fatalf("job %s ended %s: %s\nworker:\n%s", id, ji.State, ji.Error, w.logged())
	}
	mustVerify(t, in, out, false)
	const lookahead = 23 // rav1e 0.5.1 at speed 10
	fed := framesFed(t, counts)
	t.Logf("%d frames fed to encoders for %d source frames", fed, spec.Frames())
	if fed > spec.Frames()+lookahead+2 {
		t.Errorf("%d frames fed for %d: want at most one encoder's lookahead (%d) more\nworker:\n%s", fed, spec.Frames(), lookahead+2, w.logged())
	}
}

// TestServerDiskFull: the server's data directory is a small file
// system, filled once the job's first chunk is done. The job fails at
// once (no chunk tried four times; at most one tried again, by a worker
// whose own copy of the segment did not fit) with one line that names a
// path in the data directory and says the disk is full, and queue.json
// stays whole. A message published meanwhile leaves the NATS store
// refusing writes. Once the space is freed, resume (POST
// /api/jobs/ID/resume) finishes the job without a restart of the server;
// the output passes verify.
func TestServerDiskFull(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	data := testfs.Tmpfs(t, filepath.Join(dir, "data"), "size=16m")
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot", "life", "smptehdbars"}, SegFrames: 24}
	in := clip(t, dir, "in.mkv", spec)
	out := filepath.Join(dir, "out.mkv")
	s := startServer(t, data, "", "", nil, "--workers", "1")
	// One chunk at a time: the next chunk's segment is put after the
	// first is done, as in a long job.
	r := s.cli(t, "submit", in, "-o", out, "--speed", "10", "--workers", "1")
	if r.code != 0 {
		t.Fatalf("submit: exit %d: %s", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	c := s.client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	job := func() *server.JobInfo {
		ji, err := c.Find(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ji
	}
	if !waitFor(t, time.Minute, func() bool { ji := job(); return ji.ChunksDone > 0 || server.Ended(ji.State) }) {
		t.Fatal("no chunk was done")
	}
	if ji := job(); ji.ChunksDone == 0 || ji.ChunksDone == ji.ChunksTotal {
		t.Fatalf("job %s: %d of %d chunks done, state %s: the disk must fill in the middle", id, ji.ChunksDone, ji.ChunksTotal, ji.State)
	}
	fill := filepath.Join(data, "fill")
	testfs.Fill(t, fill)
	filled := time.Now()
	// A worker's unit arrives now, as one would in a longer job: the
	// NATS store fails to write it, and its stream refuses every later
	// write until the store is restarted. (The subject is no job's.)
	nc, err := cluster.Dial(s.nats, filepath.Join(data, "token"), "", "disk filler")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := js.Publish(pctx, "av1job.unit.filler.0.0", make([]byte, 64<<10)); err == nil {
		t.Fatal("the NATS store took a message on a full disk")
	}
	pcancel()

	ji, err := c.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failed %v after the disk filled: %s", time.Since(filled).Round(time.Millisecond), ji.Error)
	if ji.State != "failed" || !strings.Contains(ji.Error, data+"/") || !strings.Contains(ji.Error, "the disk is full") ||
		strings.Contains(ji.Error, "\n") || strings.Contains(ji.Error, "giving up") {
		t.Errorf("job %s ended %s: %q; want failed, one line naming %s and the full disk", id, ji.State, ji.Error, data)
	}
	var d struct {
		Log []struct{ Msg string }
	}
	if err := getJSON("http://"+s.http+"/api/jobs/"+id+"/detail", &d); err != nil {
		t.Fatal(err)
	}
	retries := 0
	for _, l := range d.Log {
		if strings.Contains(l.Msg, "tried again") {
			retries++
			t.Logf("log: %s", l.Msg)
		}
	}
	if retries > 1 {
		t.Errorf("%d chunks tried again on a full disk: want the job failed at once", retries)
	}
	var q struct{ Jobs []struct{ ID, State string } }
	if b, err := os.ReadFile(filepath.Join(data, "queue.json")); err != nil || json.Unmarshal(b, &q) != nil || len(q.Jobs) != 1 {
		t.Errorf("queue.json on a full disk: %v %s", err, b)
	}

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Control(ctx, id, "resume"); err != nil {
		t.Fatal(err)
	}
	if ji, err = c.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ji.State != "done" {
		t.Fatalf("job %s ended %s after space was freed and it was resumed: %s", id, ji.State, ji.Error)
	}
	mustVerify(t, in, out, false)
}

// getJSON decodes the JSON answer of a GET.
func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
