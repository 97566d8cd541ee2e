package tools

import (
	"context"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/procs"
)

// TestCancelFrozen: a process frozen with its job's group ends soon after
// its context is cancelled, not WaitDelay later (a frozen process takes
// SIGTERM only once it runs again).
func TestCancelFrozen(t *testing.T) {
	g := procs.NewGroup()
	ctx, cancel := context.WithCancel(WithGroup(context.Background(), g))
	defer cancel()
	cmd, err := Command(ctx, "sleep", "60")
	if err != nil {
		t.Skip(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.Freeze(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	_ = cmd.Wait()
	if d := time.Since(start); d >= cmd.WaitDelay {
		t.Fatalf("the frozen process ended %v after the cancellation", d)
	}
}
