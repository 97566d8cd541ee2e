package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/executortest"
	"github.com/av1job/av1job/task"
)

// TestConformance runs the Executor conformance suite against the
// RemoteExecutor, with an embedded NATS JetStream server and a worker in
// this process. Where it differs from the local executor: the worker
// learns at its next heartbeat (every second) that a cancelled task is
// gone, and a task for an encoder version no worker has waits in the
// queue for one.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes: skipped under -short")
	}
	const worker = "conformance-worker"
	url, token := startBroker(t)
	nc, js := connect(t, url, token, "conformance coordinator")
	if err := Setup(context.Background(), js); err != nil {
		t.Fatal(err)
	}
	startWorker(t, url, token, worker)
	executortest.Run(t, func(t *testing.T) task.Executor {
		x := &RemoteExecutor{NC: nc, JS: js}
		t.Cleanup(x.Close)
		return x
	}, executortest.Options{RunsOn: worker, Linger: 5 * time.Second, QueuesUnknownVersions: true})
}

// startWorker runs a worker of two slots in this process, on its own
// connection, until the test ends; its log is shown when the test fails.
// It offers rav1e only, the suite's encoder: a worker that offers two
// polls their queues in turn, a second at a time, and a task would wait
// for its turn.
func startWorker(t *testing.T, url, tokenFile, name string) {
	t.Helper()
	startWorkerOffering(t, url, tokenFile, name, "rav1e")
}

// startWorkerOffering runs a worker as startWorker does, offering the
// encoders named.
func startWorkerOffering(t *testing.T, url, tokenFile, name string, encoders ...string) {
	t.Helper()
	nc, js := connect(t, url, tokenFile, name)
	var log syncBuffer
	w := &Worker{NC: nc, JS: js, Name: name, Slots: 2, Threads: 1, Dir: t.TempDir(), Encoders: encoders,
		Log: slog.New(slog.NewTextHandler(&log, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		if t.Failed() {
			t.Logf("worker log:\n%s", log.String())
		}
	})
}

// syncBuffer is a bytes.Buffer for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
