package cluster

import (
	"testing"

	"github.com/av1job/av1job/internal/executortest"
	"github.com/av1job/av1job/local"
	"github.com/av1job/av1job/task"
)

// TestClusterEncoders: a remote worker encodes a task with SVT-AV1 and
// with aomenc to the same bits as the local executor, each stream
// exactly its frames with one keyframe, at its start.
func TestClusterEncoders(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes: skipped under -short")
	}
	const worker = "encoders-worker"
	url, token := startBroker(t)
	nc, js := connect(t, url, token, "encoders coordinator")
	if err := Setup(t.Context(), js); err != nil {
		t.Fatal(err)
	}
	startWorkerOffering(t, url, token, worker, "svt-av1", "aomenc")
	for _, tc := range []struct {
		encoder string
		s       task.EncoderOptions
	}{
		{"svt-av1", task.EncoderOptions{Speed: 12, Quantizer: 40}},
		{"aomenc", task.EncoderOptions{Speed: 6, Quantizer: 40}},
	} {
		t.Run(tc.encoder, func(t *testing.T) {
			// The local executor with two threads, the worker with one:
			// the bits do not depend on the threads.
			executortest.SameBits(t, tc.encoder, tc.s,
				func(*testing.T) task.Executor { return &local.Executor{Threads: 2} },
				func(t *testing.T) task.Executor {
					x := &RemoteExecutor{NC: nc, JS: js}
					t.Cleanup(x.Close)
					return x
				})
		})
	}
}
