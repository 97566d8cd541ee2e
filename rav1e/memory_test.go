package rav1e

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// rss returns the resident set size of the process from /proc/self/statm.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// settledRSS returns the RSS after a garbage collection that returns
// freed memory to the system, so that only live memory counts.
func settledRSS(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return rss(t)
}

const mib = 1 << 20

// TestMemoryFlatOverManyFrames encodes 4,000 frames of 64x64 at speed 10
// through a Session and requires the RSS to grow by less than 8 MiB
// between frame 1,000 and the end: a leak of anything frame-sized (a
// 64x64 picture is 6 KiB, a packet some hundred bytes with its buffers)
// grows it by 18 MiB or more over those 3,000 frames.
func TestMemoryFlatOverManyFrames(t *testing.T) {
	requireLib(t)
	if testing.Short() {
		t.Skip("4,000 frames")
	}
	const total = 4000
	cfg := tinyConfig()
	cfg.Threads = 1
	var n int
	var bytes int64
	s, err := NewSession(context.Background(), cfg, func(p *Packet) error {
		n++
		bytes += int64(len(p.Data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frames := synthFrames(cfg, 50)
	var at1000 int64
	for i := 0; i < total; i++ {
		if err := s.WriteFrame(frames[i%len(frames)]); err != nil {
			t.Fatal(err)
		}
		if i == 999 {
			at1000 = settledRSS(t)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	end := settledRSS(t)
	growth := end - at1000
	t.Logf("RSS after frame 1,000: %.1f MiB; after %d and Stop: %.1f MiB; growth %+.2f MiB; %d packets, %d bytes",
		float64(at1000)/mib, total, float64(end)/mib, float64(growth)/mib, n, bytes)
	if n != total {
		t.Errorf("%d packets, want %d", n, total)
	}
	if growth > 8*mib {
		t.Errorf("RSS grew by %.1f MiB over %d frames", float64(growth)/mib, total-1000)
	}
}

// TestMemoryFlatOpenClose opens and closes 200 encoders, each encoding a
// few frames with its own thread pool, and requires the RSS to stay flat.
func TestMemoryFlatOpenClose(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	cfg.Threads = 1
	frames := synthFrames(cfg, 3)
	cycle := func() {
		enc, err := NewEncoder(cfg)
		if err != nil {
			t.Fatal(err)
		}
		next := 0
		for done := false; !done; {
			_, err := enc.ReceivePacket()
			switch err {
			case nil, ErrEncoded:
			case ErrNeedMoreData:
				next = sendNext(t, enc, frames, next)
			case ErrLimitReached:
				done = true
			default:
				t.Fatal(err)
			}
		}
		// A frame left unsent and one left in the queue are freed too.
		f, err := enc.NewFrame()
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		cycle()
	}
	before := settledRSS(t)
	for i := 0; i < 200; i++ {
		cycle()
	}
	after := settledRSS(t)
	growth := after - before
	t.Logf("RSS before 200 encoders: %.1f MiB; after: %.1f MiB; growth %+.2f MiB",
		float64(before)/mib, float64(after)/mib, float64(growth)/mib)
	if growth > 4*mib {
		t.Errorf("RSS grew by %.1f MiB over 200 encoders", float64(growth)/mib)
	}
}
