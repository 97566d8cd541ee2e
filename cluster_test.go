package av1job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/cluster"
	"github.com/av1job/av1job/internal/broker"
	"github.com/av1job/av1job/internal/testclip"
)

// testCluster is an embedded NATS JetStream server for a test, with the
// streams set up and a connection for the coordinator.
type testCluster struct {
	url, token string
	nc         *nats.Conn
	js         jetstream.JetStream
}

func newCluster(t *testing.T) *testCluster {
	t.Helper()
	return newClusterOn(t, "127.0.0.1:0")
}

// newClusterOn starts the server on listen.
func newClusterOn(t *testing.T, listen string) *testCluster {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	tok, err := broker.Token(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.Start(broker.Config{Dir: dir, Listen: listen, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := cluster.Dial(srv.URL(), tokenFile, "", "test coordinator")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Setup(context.Background(), js); err != nil {
		t.Fatal(err)
	}
	return &testCluster{url: srv.URL(), token: tokenFile, nc: nc, js: js}
}

// workerProc is an `av1job worker` process.
type workerProc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

func (w *workerProc) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(p)
}

func (w *workerProc) logged() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

// startWorker starts a worker process that encodes one task at a time.
func (c *testCluster) startWorker(t *testing.T, name string, extra ...string) *workerProc {
	t.Helper()
	return c.startWorkerEnv(t, name, nil, extra...)
}

// startWorkerEnv starts a worker with more environment variables.
func (c *testCluster) startWorkerEnv(t *testing.T, name string, env []string, extra ...string) *workerProc {
	t.Helper()
	return c.startWorkerIn(t, "", name, env, extra...)
}

// startWorkerIn starts a worker in the network namespace ns ("" for this
// one).
func (c *testCluster) startWorkerIn(t *testing.T, ns, name string, env []string, extra ...string) *workerProc {
	t.Helper()
	args := append([]string{"worker", "--connect", c.url, "--token-file", c.token, "--workers", "1", "--name", name, "--ack-wait", "4s"}, extra...)
	w := &workerProc{cmd: exec.Command(binPath, args...)}
	if ns != "" {
		w.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, binPath}, args...)...)
	}
	w.cmd.Env = append(os.Environ(), env...)
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
		if t.Failed() {
			t.Logf("worker %s:\n%s", name, w.logged())
		}
	})
	return w
}

// clusterClip is the clip of the cluster's fault tests: two chunks of
// 120 frames at 160x90. The faults are placed by frames encoded, not by
// time, so they land inside a chunk however fast the machine encodes.
var clusterClip = testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot"}, SegFrames: 120}

// faultAt returns an Events function that runs fault once, in its own
// goroutine, when this run of the job has encoded n frames, n drawn
// from [lo, hi) with rng and logged; and a channel closed when fault has
// returned.
func faultAt(t *testing.T, rng *rand.Rand, lo, hi int, fault func()) (func(av1job.Event), <-chan struct{}) {
	t.Helper()
	n := lo + rng.IntN(hi-lo)
	t.Logf("fault after %d frames", n)
	var once sync.Once
	done := make(chan struct{})
	return func(e av1job.Event) {
		if e.Kind == av1job.EventFrames && e.Frames-e.Resumed >= n {
			once.Do(func() {
				go func() {
					defer close(done)
					fault()
				}()
			})
		}
	}, done
}

// countingEnv returns the environment that makes workers feed their
// encoders through the counting stand-in (see countingRav1e), and the
// directory framesFed sums.
func countingEnv(t *testing.T, dir string) (env []string, counts string) {
	t.Helper()
	counts = filepath.Join(dir, "counts")
	if err := os.Mkdir(counts, 0o755); err != nil {
		t.Fatal(err)
	}
	return standIn(t, "AV1JOB_COUNT_FRAMES="+counts), counts
}

// executor returns a RemoteExecutor that takes a task back from a worker
// unheard for silence.
func (c *testCluster) executor(silence time.Duration) *cluster.RemoteExecutor {
	return &cluster.RemoteExecutor{NC: c.nc, JS: c.js, Silence: silence}
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		if os.Getenv("AV1JOB_KEEP_DIFF") != "" {
			_ = os.WriteFile("/tmp/diff-a"+filepath.Ext(a), x, 0o644)
			_ = os.WriteFile("/tmp/diff-b"+filepath.Ext(b), y, 0o644)
		}
		t.Fatalf("%s (%d bytes) and %s (%d bytes) differ", a, len(x), b, len(y))
	}
}

// TestClusterWorkerKilled: a worker killed (SIGKILL) in the middle of a
// chunk loses only what its encoder held: what it sent is kept, the rest
// of its chunk runs on the other worker, the output passes verify, and
// the frames fed to encoders exceed the source's by at most one
// encoder's lookahead. The segment file the killed worker leaves is
// removed by the next worker that starts on the same directory.
func TestClusterWorkerKilled(t *testing.T) {
	needTools(t)
	t.Parallel()
	rng := newRand(t)
	dir := t.TempDir()
	spec := clusterClip
	in := clip(t, dir, "in.mkv", spec)
	env, counts := countingEnv(t, dir)
	wtmp := filepath.Join(dir, "worker-tmp") // the workers' segments
	if err := os.Mkdir(wtmp, 0o700); err != nil {
		t.Fatal(err)
	}
	env = append(env, "TMPDIR="+wtmp)
	var left atomic.Int32 // segment files the victim left

	c := newCluster(t)
	victim := c.startWorkerEnv(t, "victim", env)
	ex := c.executor(2 * time.Second)
	defer ex.Close()
	out := filepath.Join(dir, "out.mkv")
	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.Executor = av1job.SpeedOf(10), 1, ex
	// Somewhere in the victim's first chunk.
	o.Events, _ = faultAt(t, rng, 1, spec.SegFrames-10, func() {
		_ = victim.cmd.Process.Signal(syscall.SIGKILL)
		_, _ = victim.cmd.Process.Wait()
		// Killed during a task, it left its segment: aged
		// past the sweep's grace, the rescuer's start removes it.
		segs, _ := filepath.Glob(filepath.Join(wtmp, "av1job-segment-*"))
		past := time.Now().Add(-2 * time.Minute)
		for _, s := range segs {
			_ = os.Chtimes(s, past, past)
		}
		left.Store(int32(len(segs)))
		c.startWorkerEnv(t, "rescuer", env)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := av1job.New(o).Run(ctx); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, in, out, false)
	const lookahead = 23 // rav1e 0.5.1 at speed 10: RDO lookahead and reordering
	fed := framesFed(t, counts)
	st := ex.Stats()
	t.Logf("stats %+v; %d frames fed to encoders for %d source frames", st, fed, spec.Frames())
	if fed < spec.Frames() || fed > spec.Frames()+lookahead+2 {
		t.Errorf("%d frames fed for %d: want at most one encoder's lookahead (%d) more", fed, spec.Frames(), lookahead+2)
	}
	if st.Units != int64(spec.Frames()) {
		t.Errorf("%d units taken for %d frames", st.Units, spec.Frames())
	}
	// The rescuer removes its own segment as each task ends, a moment
	// after the job has its last unit.
	var segs []string
	for range 50 {
		if segs, _ = filepath.Glob(filepath.Join(wtmp, "av1job-segment-*")); len(segs) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the victim left %d segment file(s)", left.Load())
	if len(segs) > 0 {
		t.Errorf("segment files left in the workers' directory: %q", segs)
	}
}

// TestClusterRefusesBadTasks: a task that would make the encoder write a
// file, and one for an unknown encoder, are refused by the worker before
// anything runs; a client without the token is refused by the server.
func TestClusterRefusesBadTasks(t *testing.T) {
	needTools(t)
	t.Parallel()
	c := newCluster(t)
	w := c.startWorker(t, "guard")
	dir := t.TempDir()
	evil := filepath.Join(dir, "evil.ivf")
	ver, err := exec.Command("rav1e", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	_ = ver
	// The worker's own queue: it takes tasks for the version it has.
	task := func(extra []string) []byte {
		m := map[string]any{
			"task": map[string]any{"job": "j", "chunk": 0, "attempt": 1, "start": 0, "end": 1, "pts": []int64{0},
				"source":   map[string]any{"path": "/etc/passwd", "size": 1, "content": "x", "stream": 0, "width": 16, "height": 16, "pix_fmt": "yuv420p", "time_base": "1/24"},
				"encoder":  map[string]any{"name": "rav1e", "version": "whatever"},
				"settings": map[string]any{"speed": 10, "quantizer": 100, "extra": extra}},
			"segment": map[string]any{"object": "x", "kind": "copy", "size": 1, "sha256": strings.Repeat("0", 64)},
		}
		b, _ := json.Marshal(m)
		return b
	}
	if !waitFor(t, 20*time.Second, func() bool { return strings.Contains(w.logged(), "taking tasks") }) {
		t.Fatal("the worker did not start")
	}
	subj := workerSubject(t, w.logged())
	for _, b := range [][]byte{task([]string{"-o", evil}), []byte(`{"task": {"job": "j"}}`), []byte("not json")} {
		if _, err := c.js.Publish(context.Background(), subj, b); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(t, 20*time.Second, func() bool { return strings.Count(w.logged(), "task refused") >= 3 }) {
		t.Fatalf("the worker did not refuse the three tasks:\n%s", w.logged())
	}
	if _, err := os.Stat(evil); err == nil {
		t.Fatal("a refused task wrote its output")
	}
	if !strings.Contains(w.logged(), "-o") {
		t.Errorf("the refusal does not name the refused argument:\n%s", w.logged())
	}

	bad := filepath.Join(dir, "bad-token")
	if err := os.WriteFile(bad, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if nc, err := cluster.Dial(c.url, bad, "", "intruder"); err == nil {
		nc.Close()
		t.Fatal("a client with a wrong token was let in")
	}
	if nc, err := nats.Connect(c.url); err == nil {
		nc.Close()
		t.Fatal("a client without a token was let in")
	}
}

// workerSubject returns the task subject a worker takes, from its log.
func workerSubject(t *testing.T, log string) string {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if i := strings.Index(line, "subject="); i >= 0 && strings.Contains(line, "taking tasks") {
			return strings.Fields(line[i+len("subject="):])[0]
		}
	}
	t.Fatalf("no subject in the worker's log:\n%s", log)
	return ""
}
