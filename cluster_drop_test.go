package av1job_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/cluster"
)

// proxy forwards TCP connections to a server, and can drop them all at
// once: a connection that breaks under its client.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.drop() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

// drop closes every connection through the proxy.
func (p *proxy) drop() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	n := len(p.conns) / 2
	p.conns = nil
	return n
}

// TestClusterConnectionDrop: the NATS connection of a worker breaks in
// the middle of a chunk. The worker freezes its encoder, reconnects by
// itself, sends what it had, and goes on with the same task: no frame is
// encoded twice, and the output passes verify.
func TestClusterConnectionDrop(t *testing.T) {
	needTools(t)
	t.Parallel()
	rng := newRand(t)
	dir := t.TempDir()
	spec := clusterClip
	in := clip(t, dir, "in.mkv", spec)
	env, counts := countingEnv(t, dir)

	c := newCluster(t)
	px := newProxy(t, strings.TrimPrefix(c.url, "nats://"))
	via := &testCluster{url: "nats://" + px.ln.Addr().String(), token: c.token}
	w := via.startWorkerEnv(t, "w", env)
	ex := c.executor(cluster.DefaultSilence)
	defer ex.Close()
	out := filepath.Join(dir, "out.mkv")
	o := av1job.NewOptions(in, out)
	o.Speed, o.Workers, o.Executor = av1job.SpeedOf(10), 1, ex
	// In the middle of the first chunk.
	var dropped <-chan struct{}
	o.Events, dropped = faultAt(t, rng, 1, spec.SegFrames-10, func() {
		if n := px.drop(); n == 0 {
			t.Error("no connection to drop")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := av1job.New(o).Run(ctx); err != nil {
		t.Fatal(err)
	}
	<-dropped
	mustVerify(t, in, out, false)
	fed := framesFed(t, counts)
	st := ex.Stats()
	t.Logf("stats %+v; %d frames fed for %d source frames", st, fed, spec.Frames())
	if fed != spec.Frames() || st.Lost != 0 {
		t.Errorf("%d frames fed for %d, %d tasks lost: want every frame encoded once", fed, spec.Frames(), st.Lost)
	}
	if !strings.Contains(w.logged(), "connection back") {
		t.Errorf("the worker did not notice the drop:\n%s", w.logged())
	}
}
