package av1job_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/av1job/av1job"
)

// netns is a network namespace joined to this one by a veth pair: the
// host side has address host, the namespace side peer (a /30 of
// 10.231.0.0/16), so that a worker inside really talks over a network.
type netns struct {
	name, link string
	host, peer string
}

// newNetns makes a namespace for a test, or skips the test where it
// cannot (not root, no ip).
func newNetns(t *testing.T, n int) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command")
	}
	id := fmt.Sprintf("%04x", (os.Getpid()*7+n)&0xffff)
	ns := &netns{name: "av1job-" + id, link: "av1j" + id + "h",
		host: fmt.Sprintf("10.231.%d.1", (os.Getpid()+n)%250), peer: fmt.Sprintf("10.231.%d.2", (os.Getpid()+n)%250)}
	peer := "av1j" + id + "p"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	_ = exec.Command("ip", "netns", "del", ns.name).Run() // left by a killed run
	_ = exec.Command("ip", "link", "del", ns.link).Run()
	ip("netns", "add", ns.name)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", ns.link).Run()
		_ = exec.Command("ip", "netns", "del", ns.name).Run()
	})
	ip("link", "add", ns.link, "type", "veth", "peer", "name", peer)
	ip("link", "set", peer, "netns", ns.name)
	ip("addr", "add", ns.host+"/30", "dev", ns.link)
	ip("link", "set", ns.link, "up")
	ip("netns", "exec", ns.name, "ip", "addr", "add", ns.peer+"/30", "dev", peer)
	ip("netns", "exec", ns.name, "ip", "link", "set", peer, "up")
	ip("netns", "exec", ns.name, "ip", "link", "set", "lo", "up")
	return ns
}

// cut takes the link down (a partition) or up again.
func (ns *netns) cut(t *testing.T, down bool) {
	t.Helper()
	state := "up"
	if down {
		state = "down"
	}
	if out, err := exec.Command("ip", "link", "set", ns.link, state).CombinedOutput(); err != nil {
		t.Errorf("ip link set %s %s: %v: %s", ns.link, state, err, out)
	}
}

// TestClusterPartition: a worker in its own network namespace encodes
// over a real network link; the link is cut in the middle of its chunk
// and restored later. The coordinator keeps what arrived, gives the rest
// to a worker it can reach, and refuses what the cut-off worker sends
// once it is back; that worker is told to drop the task. The output
// passes verify.
func TestClusterPartition(t *testing.T) {
	needTools(t)
	t.Parallel() // mostly waiting (a slowed scene pass, silences, restarts)
	ns := newNetns(t, 1)
	rng := newRand(t)
	dir := t.TempDir()
	spec := clusterClip
	in := clip(t, dir, "in.mkv", spec)
	env, counts := countingEnv(t, dir)

	c := newClusterOn(t, ns.host+":0")
	remote := c.startWorkerIn(t, ns.name, "remote", env)
	ex := c.executor(2 * time.Second)
	defer ex.Close()
	out := filepath.Join(dir, "out.mkv")
	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.Executor = av1job.SpeedOf(10), 1, ex
	// In the middle of the remote worker's first chunk.
	var healed <-chan struct{}
	o.Events, healed = faultAt(t, rng, 1, spec.SegFrames-10, func() {
		ns.cut(t, true)
		c.startWorkerEnv(t, "local", env)
		time.Sleep(3 * time.Second) // past the coordinator's Silence
		ns.cut(t, false)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := av1job.New(o).Run(ctx); err != nil {
		t.Fatal(err)
	}
	<-healed
	mustVerify(t, in, out, false)
	fed := framesFed(t, counts)
	st := ex.Stats()
	t.Logf("stats %+v; %d frames fed for %d source frames", st, fed, spec.Frames())
	if st.Units != int64(spec.Frames()) {
		t.Errorf("%d units taken for %d frames", st.Units, spec.Frames())
	}
	// The cut-off worker loses its encoder's lookahead and what it made
	// but could not send (its output pipe fills, then its encoder
	// blocks): never the whole chunk.
	if fed > spec.Frames()+spec.SegFrames-1 {
		t.Errorf("%d frames fed for %d: more than a chunk encoded again", fed, spec.Frames())
	}
	if !waitFor(t, 20*time.Second, func() bool {
		l := remote.logged()
		return strings.Contains(l, "took the task back") || strings.Contains(l, "task done")
	}) {
		t.Errorf("the cut-off worker never learned what became of its task:\n%s", remote.logged())
	}
}
