package local_test

import (
	"os"
	"testing"

	"github.com/av1job/av1job/internal/executortest"
	"github.com/av1job/av1job/local"
	"github.com/av1job/av1job/task"
)

// TestConformance runs the Executor conformance suite against the local
// executor: its processes are reaped before Execute returns, and it
// fails a task for an encoder version this machine does not have.
func TestConformance(t *testing.T) {
	host, _ := os.Hostname()
	executortest.Run(t, func(*testing.T) task.Executor { return &local.Executor{Threads: 1} }, executortest.Options{RunsOn: host})
}
