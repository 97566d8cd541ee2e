package rav1e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/verify"
)

// collector gathers a session's packets; safe for concurrent reads.
type collector struct {
	mu   sync.Mutex
	pkts []*Packet
}

func (c *collector) out(p *Packet) error {
	c.mu.Lock()
	c.pkts = append(c.pkts, p)
	c.mu.Unlock()
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pkts)
}

func (c *collector) packets() []*Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Packet(nil), c.pkts...)
}

// samePackets reports the first difference between two encodes.
func samePackets(t *testing.T, got, want []*Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Input != want[i].Input || got[i].Type != want[i].Type {
			t.Fatalf("packet %d differs", i)
		}
	}
}

// writeIVF writes packets as the rav1e program does.
func writeIVF(t *testing.T, path string, cfg Config, pkts []*Packet) {
	t.Helper()
	var b bytes.Buffer
	w, err := ivf.NewWriter(&b, ivf.AV1Header(cfg.Width, cfg.Height, uint32(cfg.TimeBase.Den), uint32(cfg.TimeBase.Num)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WriteFrame(p.Input, p.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSessionStopFlushes checks that Stop delivers one packet per frame,
// in order, starting with a keyframe that carries a sequence header, and
// that dav1d decodes them all.
func TestSessionStopFlushes(t *testing.T) {
	requireLib(t)
	y := readY4M(t, cutClip(t, "yuv420p"))
	cfg := y.config(t)
	cfg.Speed = 10
	cfg.KeyFrameInterval = 0
	cfg.NoSceneDetection = true
	var c collector
	s, err := NewSession(context.Background(), cfg, c.out)
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range y.frames {
		if err := s.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
	}
	in, before := s.Frames()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	in2, out := s.Frames()
	t.Logf("%d frames sent, %d packets before Stop, %d after", in, before, out)
	if in != len(y.frames) || in2 != in || out != in {
		t.Fatalf("frames in %d, packets out %d, want %d", in2, out, len(y.frames))
	}
	pkts := c.packets()
	if pkts[0].Type != KeyFrame || SequenceHeaderOBU(pkts[0].Data) == nil {
		t.Errorf("first packet: %v, sequence header %x", pkts[0].Type, SequenceHeaderOBU(pkts[0].Data))
	}
	for i, p := range pkts {
		if p.Input != uint64(i) {
			t.Fatalf("packet %d shows input frame %d", i, p.Input)
		}
	}
	samePackets(t, pkts, encodeAll(t, cfg, y.frames))

	if err := s.Stop(); err != ErrClosed {
		t.Errorf("second Stop: %v, want ErrClosed", err)
	}
	if err := s.WriteFrame(y.frames[0]); err != ErrClosed {
		t.Errorf("WriteFrame after Stop: %v, want ErrClosed", err)
	}
	s.Close()

	if _, err := exec.LookPath("dav1d"); err == nil {
		ivf := filepath.Join(t.TempDir(), "s.ivf")
		writeIVF(t, ivf, cfg, pkts)
		if n, err := verify.DecodeIVF(context.Background(), ivf); err != nil || n != len(y.frames) {
			t.Errorf("dav1d decoded %d frames (%v), want %d", n, err, len(y.frames))
		}
	}
}

// cpuTime returns the process's user and system CPU time.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSessionPauseUsesNoCPU pauses an encode at 320x180 speed 6 from
// another goroutine, requires the process to use under 30 ms of CPU in
// the following second, resumes it, and requires the output to equal an
// unpaused encode.
func TestSessionPauseUsesNoCPU(t *testing.T) {
	requireLib(t)
	y := readY4M(t, clip(t, "testsrc2-320x180", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=24", "-frames:v", "24", "-pix_fmt", "yuv420p"))
	cfg := y.config(t)
	cfg.Speed = 6
	want := encodeAll(t, cfg, y.frames)

	var c collector
	s, err := NewSession(context.Background(), cfg, c.out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		for _, fr := range y.frames {
			if err := s.WriteFrame(fr); err != nil {
				done <- err
				return
			}
		}
		done <- s.Stop()
	}()
	for c.len() < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	s.Pause()
	latency := time.Since(start)
	if !s.Paused() {
		t.Error("Paused() = false")
	}
	n := c.len()
	cpu0 := cpuTime(t)
	time.Sleep(time.Second)
	used := cpuTime(t) - cpu0
	t.Logf("Pause returned after %v; CPU while paused for 1 s: %v; %d packets at the pause", latency, used, n)
	if used >= 30*time.Millisecond {
		t.Errorf("the paused session used %v of CPU in 1 s", used)
	}
	if c.len() != n {
		t.Errorf("packets delivered while paused: %d -> %d", n, c.len())
	}
	s.Pause() // idempotent
	s.Resume()
	deadline := time.Now().Add(30 * time.Second)
	for c.len() == n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if c.len() == n {
		t.Fatal("no progress after Resume")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	samePackets(t, c.packets(), want)
}

// TestSessionPauseDuringStop checks that the flush waits at the gate too.
func TestSessionPauseDuringStop(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	frames := synthFrames(cfg, 30)
	var c collector
	s, err := NewSession(context.Background(), cfg, c.out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, fr := range frames {
		if err := s.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
	}
	s.Pause()
	n := c.len()
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned while paused: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if c.len() != n {
		t.Fatalf("packets delivered while paused")
	}
	s.Resume()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if in, out := s.Frames(); in != 30 || out != 30 {
		t.Errorf("Frames() = %d, %d", in, out)
	}
	samePackets(t, c.packets(), encodeAll(t, cfg, frames))
}

// TestSessionCancelWhilePaused checks that ending the context unblocks a
// WriteFrame waiting for Resume.
func TestSessionCancelWhilePaused(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c collector
	s, err := NewSession(ctx, cfg, c.out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frame := synthFrame(cfg, 0)
	if err := s.WriteFrame(frame); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	written := make(chan error, 1)
	go func() { written <- s.WriteFrame(frame) }()
	select {
	case err := <-written:
		t.Fatalf("WriteFrame returned while paused: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-written:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("WriteFrame: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WriteFrame still blocked after cancel")
	}
	if err := s.Stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop: %v, want context.Canceled", err)
	}
	if in, _ := s.Frames(); in != 1 {
		t.Errorf("%d frames sent, want 1", in)
	}
}

// TestSessionCloseWhilePaused checks that Close wakes a paused WriteFrame.
func TestSessionCloseWhilePaused(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	var c collector
	s, err := NewSession(context.Background(), cfg, c.out)
	if err != nil {
		t.Fatal(err)
	}
	s.Pause()
	written := make(chan error, 1)
	go func() { written <- s.WriteFrame(synthFrame(cfg, 0)) }()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case err := <-written:
		if err != ErrClosed {
			t.Errorf("WriteFrame: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WriteFrame still blocked after Close")
	}
	s.Close()
}

// TestSessionOutError checks that an error from out stops the session.
func TestSessionOutError(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	cfg.LowLatency = true // one packet per frame, at once
	boom := errors.New("disk full")
	n := 0
	s, err := NewSession(context.Background(), cfg, func(*Packet) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got error
	for i := 0; i < 40 && got == nil; i++ {
		got = s.WriteFrame(synthFrame(cfg, i))
	}
	if got != boom {
		t.Fatalf("WriteFrame: %v, want the out error", got)
	}
	if err := s.WriteFrame(synthFrame(cfg, 0)); err != boom {
		t.Errorf("WriteFrame after the error: %v", err)
	}
	if err := s.Stop(); err != boom {
		t.Errorf("Stop after the error: %v", err)
	}
	if err := s.WriteFrame(make([]byte, 5)); err == nil {
		t.Error("WriteFrame accepted 5 bytes")
	}
}

// TestSessionPauseResumeRace pauses and resumes from other goroutines
// as fast as they can while frames are written, and from the out callback;
// the output must not change.
func TestSessionPauseResumeRace(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	frames := synthFrames(cfg, 40)
	var c collector
	var s *Session
	var pauses atomic.Int64
	s, err := NewSession(context.Background(), cfg, func(p *Packet) error {
		s.Pause()
		s.Resume()
		return c.out(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.Pause()
				pauses.Add(1)
				_ = s.Paused()
				_, _ = s.Frames()
				s.Resume()
			}
		}()
	}
	for i, fr := range frames {
		if i == 20 {
			f, err := s.NewFrame()
			if err != nil {
				t.Fatal(err)
			}
			if err := f.FillY4M(fr); err != nil {
				t.Fatal(err)
			}
			if err := s.SendFrame(f); err != nil {
				t.Fatal(err)
			}
			f.Close()
			continue
		}
		if err := s.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d pauses", pauses.Load())
	samePackets(t, c.packets(), encodeAll(t, cfg, frames))
}

func TestNewSessionErrors(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	if _, err := NewSession(context.Background(), cfg, nil); err == nil {
		t.Error("nil out accepted")
	}
	bad := cfg
	bad.Speed = 11
	if _, err := NewSession(context.Background(), bad, func(*Packet) error { return nil }); err == nil {
		t.Error("speed 11 accepted")
	}
	fp := cfg
	fp.Bitrate, fp.FirstPass = 100000, true
	if _, err := NewSession(context.Background(), fp, func(*Packet) error { return nil }); err == nil {
		t.Error("first pass accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewSession(ctx, cfg, func(*Packet) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v", err)
	}
}
