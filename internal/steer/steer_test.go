package steer

import (
	"context"
	"sync"
	"testing"
	"time"
)

// stuck is a pauser whose Pause blocks until released, as a remote
// worker's does while the worker does not answer.
type stuck struct {
	entered chan struct{} // closed when Pause is called
	release chan struct{}
	mu      sync.Mutex
	pauses  int
	resumes int
}

func newStuck() *stuck { return &stuck{entered: make(chan struct{}), release: make(chan struct{})} }

func (s *stuck) Pause() {
	s.mu.Lock()
	s.pauses++
	first := s.pauses == 1
	s.mu.Unlock()
	if first {
		close(s.entered)
	}
	<-s.release
}

func (s *stuck) Resume() {
	s.mu.Lock()
	s.resumes++
	s.mu.Unlock()
}

func (s *stuck) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pauses, s.resumes
}

// within fails the test unless f returns within d, a bound far above
// what f needs when it waits for nothing.
func within(t *testing.T, d time.Duration, what string, f func()) time.Duration {
	t.Helper()
	done := make(chan struct{})
	t0 := time.Now()
	go func() { f(); close(done) }()
	select {
	case <-done:
		return time.Since(t0)
	case <-time.After(d):
		t.Fatalf("%s did not return in %v: it waits for the pausers", what, d)
		return 0
	}
}

// TestStopDoesNotWaitForPausers: two pausers that do not answer (remote
// workers gone) are asked at once, and a Stop meanwhile returns while
// they still hang, with the job running again; once they answer, the
// pause freezes nothing and both are resumed.
func TestStopDoesNotWaitForPausers(t *testing.T) {
	c := New()
	a, b := newStuck(), newStuck()
	c.Attach(a)
	c.Attach(b)
	paused := make(chan error, 1)
	go func() { paused <- c.Pause(true) }()
	// Both are asked before either answers: they are asked at once.
	for _, p := range []*stuck{a, b} {
		select {
		case <-p.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the pausers were not asked at once")
		}
	}
	took := within(t, 5*time.Second, "Stop", c.Stop)
	t.Logf("Stop returned in %v while both pausers hung", took)
	if p, _, _ := c.PauseState(); p {
		t.Error("paused after Stop returned")
	}
	within(t, 5*time.Second, "PauseState", func() { c.PauseState() })
	close(a.release)
	close(b.release)
	if err := <-paused; err == nil {
		t.Error("a pause that a stop overtook reports no error")
	}
	// The thaw follows the pause: each pauser is resumed once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ra := a.counts()
		_, rb := b.counts()
		if ra == 1 && rb == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resumes after the stop: %d and %d, want 1 each", ra, rb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Pause(true); err == nil {
		t.Error("a pause after a stop is taken")
	}
}

// TestAttachWhilePaused: a pauser attached to a paused job is paused, and
// its Pause, however long, does not hold up the job's status.
func TestAttachWhilePaused(t *testing.T) {
	c := New()
	if err := c.Pause(true); err != nil {
		t.Fatal(err)
	}
	s := newStuck()
	attached := make(chan struct{})
	go func() { c.Attach(s); close(attached) }()
	<-s.entered
	within(t, 5*time.Second, "PauseState", func() {
		if p, _, _ := c.PauseState(); !p {
			t.Error("not paused")
		}
	})
	close(s.release)
	<-attached
	if err := c.Resume(true); err != nil {
		t.Fatal(err)
	}
	if p, r := s.counts(); p != 1 || r != 1 {
		t.Errorf("pauses %d, resumes %d: want 1 and 1", p, r)
	}
}

// TestPauseResumeStop: the plain path: a pause and a resume reach every
// pauser once, and a stop of a paused job thaws it before Stop returns.
func TestPauseResumeStop(t *testing.T) {
	c := New()
	a, b := newStuck(), newStuck()
	close(a.release)
	close(b.release)
	c.Attach(a)
	c.Attach(b)
	var changes []Change
	c.OnChange = func(ch Change) { changes = append(changes, ch) }
	for range 2 {
		if err := c.Pause(true); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Resume(true); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(true); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	for _, p := range []*stuck{a, b} {
		if pa, r := p.counts(); pa != 2 || r != 2 {
			t.Errorf("pauses %d, resumes %d: want 2 and 2", pa, r)
		}
	}
	want := []Change{Paused, Resumed, Paused, Stopping, Resumed} // a second pause changes nothing
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes %v, want %v", changes, want)
		}
	}
}

func TestCancelOn(t *testing.T) {
	done := make(chan struct{})
	ctx, cancel := CancelOn(context.Background(), done)
	defer cancel()
	select {
	case <-ctx.Done():
		t.Fatal("cancelled before done was closed")
	case <-time.After(20 * time.Millisecond):
	}
	close(done)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not cancelled once done was closed")
	}

	parent, cancelParent := context.WithCancel(context.Background())
	ctx, cancel = CancelOn(parent, make(chan struct{}))
	defer cancel()
	cancelParent()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not cancelled with its parent")
	}
}

// TestResumeDoesNotWaitForPausers: a resume while a pause waits for a
// pauser that does not answer makes the job running at once; once the
// pauser answers, the pause freezes nothing, the resume returns, and the
// pauser is resumed.
func TestResumeDoesNotWaitForPausers(t *testing.T) {
	c := New()
	a := newStuck()
	c.Attach(a)
	paused := make(chan error, 1)
	go func() { paused <- c.Pause(true) }()
	select {
	case <-a.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the pauser was not asked")
	}
	resumed := make(chan error, 1)
	go func() { resumed <- c.Resume(true) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p, _, _ := c.PauseState(); !p {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still paused 5 s after Resume, while the pauser hung: the resume waits for it")
		}
		time.Sleep(time.Millisecond)
	}
	within(t, 5*time.Second, "the gate", func() { _ = c.Wait(context.Background()) })
	select {
	case <-resumed:
		t.Fatal("Resume returned before the pause under way had ended: nothing was thawed after it")
	default:
	}
	close(a.release)
	if err := <-paused; err != nil {
		t.Errorf("the overtaken pause: %v", err)
	}
	if err := <-resumed; err != nil {
		t.Errorf("resume: %v", err)
	}
	if _, r := a.counts(); r != 1 {
		t.Errorf("the pauser was resumed %d times, want 1", r)
	}
	if p, _, _ := c.PauseState(); p {
		t.Error("paused at the end")
	}
}
