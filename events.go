package av1job

import (
	"fmt"
	"sync"
	"time"

	"github.com/av1job/av1job/internal/coord"
	"github.com/av1job/av1job/internal/steer"
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds, in the order a job emits them.
const (
	EventAnalyzing  EventKind = iota // decoding the source for scene detection; Decoded frames so far
	EventPlanned                     // chunks planned or loaded; totals and what is done already
	EventChunkStart                  // a chunk started encoding
	EventFrames                      // a chunk emitted temporal units; Frames is the job's total done
	EventChunkDone                   // a chunk was recorded done
	EventRetry                       // a chunk failed and is tried again; Err says why
	EventFinishing                   // joining, muxing and checking the output; Msg says which
	EventDone                        // the output is in place
	EventWarning                     // something the user should know; Msg
	EventPaused                      // the job's encoders are halted
	EventResumed                     // the job's encoders run again
	EventStopping                    // stop requested: in-flight chunks end at their current frame
)

// progress reports whether events of kind k may be coalesced for a slow
// subscriber: a newer one says all an older one did.
func (k EventKind) progress() bool { return k == EventAnalyzing || k == EventFrames }

// Event reports progress or a change of state. Its counts are the job's
// at the time of the event, derived from the journal's ledger and the
// chunks in flight.
type Event struct {
	Kind        EventKind
	Time        time.Time
	Chunk       int           // chunk ID, for chunk events
	Decoded     int           // frames decoded so far, for EventAnalyzing
	Frames      int           // frames encoded over the whole job: recorded, and written by chunks in flight
	FramesTotal int           // frames in the source
	Chunks      int           // chunks recorded done
	ChunksTotal int           // chunks in the plan, splits included
	Resumed     int           // frames that were recorded before this run started
	Bytes       int64         // bytes written: the recorded chunks' files and those in flight
	BytesFrames int           // the frames in Bytes
	OtherBytes  int64         // the estimated bytes of the output's other streams (audio, subtitles, ...), from the source's; 0 when unknown
	Summary     *Summary      // for EventDone: what the job made
	Msg         string        // warning text, or the stage of EventFinishing
	Err         error         // for EventRetry
	Paused      time.Duration // time spent paused so far in this run
}

var kindNames = [...]string{
	EventAnalyzing: "analyzing", EventPlanned: "planned", EventChunkStart: "chunk start", EventFrames: "frames",
	EventChunkDone: "chunk done", EventRetry: "retry", EventFinishing: "finishing", EventDone: "done",
	EventWarning: "warning", EventPaused: "paused", EventResumed: "resumed", EventStopping: "stopping",
}

// String returns the kind's name, e.g. "chunk done".
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// A bus hands a job's events to its subscribers. Publish never blocks:
// each subscriber has a queue and a goroutine of its own that delivers
// from it, so a slow subscriber holds up nobody but itself. Consecutive
// progress events are coalesced in a queue; no other event is dropped.
type bus struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	deliver  func(Event)
	kinds    map[EventKind]bool // nil: every kind
	detached bool               // close does not wait for its deliveries

	mu     sync.Mutex
	queue  []Event
	closed bool
	wake   chan struct{} // has a value when the queue has
	done   chan struct{} // closed once the last event was delivered
}

func newBus() *bus { return &bus{subs: map[*subscriber]struct{}{}} }

// subscribe calls deliver with every event of the given kinds (all when
// none are given), in order, on a goroutine of its own, until cancel or
// close. Subscribing to a closed bus delivers nothing.
func (b *bus) subscribe(deliver func(Event), kinds ...EventKind) (s *subscriber, cancel func()) {
	return b.add(&subscriber{deliver: deliver}, kinds)
}

// subscribeDetached is subscribe for a subscriber close does not wait for:
// one whose deliveries a reader of its own drains (Job.Subscribe).
func (b *bus) subscribeDetached(deliver func(Event), kinds ...EventKind) (s *subscriber, cancel func()) {
	return b.add(&subscriber{deliver: deliver, detached: true}, kinds)
}

func (b *bus) add(s *subscriber, kinds []EventKind) (*subscriber, func()) {
	s.wake, s.done = make(chan struct{}, 1), make(chan struct{})
	if len(kinds) > 0 {
		s.kinds = map[EventKind]bool{}
		for _, k := range kinds {
			s.kinds[k] = true
		}
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(s.done)
		return s, func() {}
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.run()
	return s, func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		s.close(true)
	}
}

// publish queues e for every subscriber.
func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for s := range b.subs {
		s.push(e)
	}
}

// close ends every subscription once its queue is delivered and waits for
// that, except for detached subscribers; later events are dropped.
func (b *bus) close() {
	b.mu.Lock()
	b.closed = true
	subs := b.subs
	b.subs = map[*subscriber]struct{}{}
	b.mu.Unlock()
	for s := range subs {
		s.close(false)
	}
	for s := range subs {
		if !s.detached {
			<-s.done
		}
	}
}

func (s *subscriber) push(e Event) {
	if s.kinds != nil && !s.kinds[e.Kind] {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if n := len(s.queue); n > 0 && e.Kind.progress() && s.queue[n-1].Kind == e.Kind {
		s.queue[n-1] = e
	} else {
		s.queue = append(s.queue, e)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close stops taking events; drop also discards those not yet delivered.
func (s *subscriber) close(drop bool) {
	s.mu.Lock()
	s.closed = true
	if drop {
		s.queue = nil
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		closed := s.closed
		s.mu.Unlock()
		for _, e := range q {
			s.deliver(e)
		}
		if len(q) > 0 {
			continue
		}
		if closed {
			return
		}
		<-s.wake
	}
}

// changeKinds are the events of a controller's changes.
var changeKinds = map[steer.Change]EventKind{steer.Paused: EventPaused, steer.Resumed: EventResumed, steer.Stopping: EventStopping}

// setCounts sets e's counts from its job's coordinator's.
func (e *Event) setCounts(n coord.Counts) {
	e.FramesTotal, e.ChunksTotal, e.Chunks, e.Resumed = n.FramesTotal, n.ChunksTotal, n.Chunks, n.Resumed
	e.Frames, e.Bytes, e.BytesFrames = n.Frames, n.Bytes, n.Frames
}

// coordKinds are the events of a coordinator's events.
var coordKinds = map[coord.Kind]EventKind{coord.KindChunkStart: EventChunkStart, coord.KindFrames: EventFrames, coord.KindChunkDone: EventChunkDone,
	coord.KindRetry: EventRetry, coord.KindWarning: EventWarning}

// fromCoord publishes an event of the job's coordinator.
func (jb *Job) fromCoord(e coord.Event) {
	jb.publish(Event{Kind: coordKinds[e.Kind], Chunk: e.Chunk, Msg: e.Msg, Err: e.Err})
}
