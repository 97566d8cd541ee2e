package av1job

import (
	"sync"
	"testing"
	"time"
)

// TestBusSlowSubscriber: publishing never waits for a subscriber; a slow
// one gets every lifecycle event in order and the progress events
// coalesced, and close delivers what is queued before it returns.
func TestBusSlowSubscriber(t *testing.T) {
	b := newBus()
	release := make(chan struct{})
	var mu sync.Mutex
	var got []Event
	b.subscribe(func(e Event) {
		<-release // blocked until the producer is done
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	})
	var fast []Event
	b.subscribe(func(e Event) { fast = append(fast, e) }, EventChunkDone)
	start := time.Now()
	for c := range 50 {
		b.publish(Event{Kind: EventChunkStart, Chunk: c})
		for f := range 100 {
			b.publish(Event{Kind: EventFrames, Chunk: c, Frames: c*100 + f})
		}
		b.publish(Event{Kind: EventChunkDone, Chunk: c})
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("publishing 5100 events took %s with a blocked subscriber", d)
	}
	close(release)
	b.close()
	b.publish(Event{Kind: EventWarning}) // after close: dropped
	frames, last := 0, -1
	for _, e := range got {
		switch e.Kind {
		case EventFrames:
			frames++
			if e.Frames < last {
				t.Fatalf("progress went back: %d after %d", e.Frames, last)
			}
			last = e.Frames
		case EventChunkStart, EventChunkDone:
		default:
			t.Errorf("unexpected %s", e.Kind)
		}
	}
	starts, dones := 0, 0
	for i, e := range got {
		switch e.Kind {
		case EventChunkStart:
			if e.Chunk != starts {
				t.Fatalf("event %d: start of chunk %d, want %d", i, e.Chunk, starts)
			}
			starts++
		case EventChunkDone:
			if e.Chunk != dones || dones >= starts {
				t.Fatalf("event %d: chunk %d done out of order", i, e.Chunk)
			}
			dones++
		}
	}
	if starts != 50 || dones != 50 {
		t.Errorf("%d starts, %d done, want 50 each", starts, dones)
	}
	if frames > 100 || last != 4999 {
		t.Errorf("%d progress events, the last at %d: want them coalesced, ending at 4999", frames, last)
	}
	if len(fast) != 50 {
		t.Errorf("the chunk-done subscriber got %d events, want 50", len(fast))
	}
}

// TestBusCancel: a cancelled subscription gets nothing more.
func TestBusCancel(t *testing.T) {
	b := newBus()
	n := 0
	s, cancel := b.subscribe(func(Event) { n++ })
	b.publish(Event{Kind: EventPaused})
	cancel()
	<-s.done
	before := n
	b.publish(Event{Kind: EventResumed})
	b.close()
	if n != before || n > 1 {
		t.Errorf("%d events delivered, %d before cancel", n, before)
	}
}

// TestSubscribeUnread: a channel subscriber that never reads holds up
// neither the job nor the end of Run.
func TestSubscribeUnread(t *testing.T) {
	jb := New(NewOptions("in.mkv", "out.mkv"))
	ch, cancel := jb.Subscribe()
	defer cancel()
	for i := range 500 {
		jb.publish(Event{Kind: EventChunkDone, Chunk: i})
	}
	done := make(chan struct{})
	go func() {
		jb.bus.close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("close waited for a subscriber that does not read")
	}
	n := 0
	for range ch {
		n++
	}
	if n != 500 {
		t.Errorf("the reader got %d of 500 events once it read", n)
	}
}
