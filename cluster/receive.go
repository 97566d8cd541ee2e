package cluster

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/av1job/av1job/internal/segment"
	"github.com/av1job/av1job/task"
)

// The receive side of a remote task: what the coordinator does with each
// message a worker sends on the task's unit stream, and with what happens
// around it (a stop, a worker gone silent, a store that takes no more
// writes). RemoteExecutor.Execute's loop only takes messages from NATS,
// decodes their headers and hands them to a receiver; nothing here talks
// to NATS, so a message sequence alone drives it in a test.

// unitMsg is a message of a task's unit stream with its headers decoded.
type unitMsg struct {
	claim string // the claim it was sent under
	kind  string // header, unit, probe, quality, end, fail
	seq   int    // its place within the claim: 0, 1, 2 ...; -1 when the header does not parse
	pts   string // a unit's timestamp, as sent
	data  []byte
}

// decodeUnitMsg reads a unit stream message's headers.
func decodeUnitMsg(h nats.Header, data []byte) unitMsg {
	seq, err := strconv.Atoi(h.Get(hdrSeq))
	if err != nil || seq < 0 {
		seq = -1
	}
	return unitMsg{claim: h.Get(hdrClaim), kind: h.Get(hdrKind), seq: seq, pts: h.Get(hdrPTS), data: data}
}

// A taskQueue is what a receiver asks of the world outside it: the work
// queue the task is offered on, the object store its segment is in, the
// worker's control subject. RemoteExecutor's (jsQueue) does it over NATS.
type taskQueue interface {
	// offer queues t under a new message, with the segment cut last.
	offer(t task.Task) error
	// recut replaces t's segment with one cut as k.
	recut(t task.Task, k segment.Kind) error
	// markLossless records that the packets of t's chunk do not give its
	// frames: every later segment of the chunk is cut losslessly.
	markLossless(t task.Task)
	// stop asks the worker that runs t to stop, without waiting for it.
	stop(t task.Task)
	// storeFailed returns a permanent error once the store takes no more
	// writes, nil while it does.
	storeFailed() error
	// count updates the executor's statistics.
	count(func(*RemoteStats))
}

// A verdict is what a message or an event leaves a task in: still
// running, or ended, Execute returning end and err.
type verdict struct {
	ended bool
	end   int
	err   error
}

// goOn is the verdict of a task that runs on.
var goOn verdict

func endAt(end int, err error) verdict { return verdict{ended: true, end: end, err: err} }

// A receiver holds the receive state of one remote task: whose messages
// it takes and which it expects next, what reached the StreamWriter,
// whether the worker was told to stop, how the segment is cut. It has one
// method per message kind (onHeader, onUnit, onProbe, onQuality, onEnd,
// onFail), reached through receive, which lets in only the next message
// of the granted claim, and one per event (onStop, onTick, onClosed,
// onCancel). The claim itself (who owns the task, when it was last heard,
// whether it is paused or stopping) is in rt, which the answers to claims
// and heartbeats share.
type receiver struct {
	t       task.Task // as it would be offered again: its Target carries the probes taken
	out     task.StreamWriter
	rt      *remoteTask
	q       taskQueue
	silence time.Duration // how long the owner may go unheard

	claim    string       // the claim whose messages are taken; "" until its first
	next     int          // the sequence number expected next from claim
	units    int          // units written to out
	header   bool         // a header was written to out
	stopSent bool         // the owner was told to stop
	kind     segment.Kind // how the task's segment is cut
}

// receive takes m when it is the next message of the claim granted, and
// hands it to its kind's handler. Anything else (another claim's, one
// before any claim, a gap) is refused and counted; a message of the claim
// being taken that comes again (sent again after a lost acknowledgement)
// is dropped, since it was taken already.
func (r *receiver) receive(m unitMsg, now time.Time) verdict {
	r.rt.mu.Lock()
	owner := r.rt.owner
	if owner != "" && m.claim == owner {
		r.rt.heard = now
	}
	r.rt.mu.Unlock()
	if owner == "" || m.claim != owner || m.seq != r.next {
		if m.claim == r.claim && m.seq >= 0 && m.seq < r.next {
			return goOn
		}
		r.refuse()
		return goOn
	}
	if m.claim != r.claim {
		if r.units > 0 {
			// Another worker's units cannot follow these.
			r.refuse()
			return goOn
		}
		r.claim = m.claim
	}
	r.next++
	switch m.kind {
	case "header":
		return r.onHeader(m)
	case "unit":
		return r.onUnit(m)
	case "probe":
		return r.onProbe(m)
	case "quality":
		return r.onQuality(m)
	case "end":
		return r.onEnd(m)
	case "fail":
		return r.onFail(m)
	}
	return endAt(r.t.Start+r.units, fmt.Errorf("cluster: chunk %d: message of kind %q from %s", r.t.Chunk, m.kind, m.claim))
}

func (r *receiver) refuse() { r.q.count(func(s *RemoteStats) { s.Refused++ }) }

// onHeader writes the stream's header, once: a second worker's (the task
// was offered again) is the same.
func (r *receiver) onHeader(m unitMsg) verdict {
	var sh task.StreamHeader
	if err := json.Unmarshal(m.data, &sh); err != nil {
		return endAt(r.t.Start, fmt.Errorf("cluster: chunk %d: header from %s: %w", r.t.Chunk, m.claim, err))
	}
	if r.header {
		return goOn
	}
	if err := r.out.Header(sh); err != nil {
		return endAt(r.t.Start, err)
	}
	r.header = true
	return goOn
}

// onUnit writes a temporal unit.
func (r *receiver) onUnit(m unitMsg) verdict {
	pts, err := strconv.ParseUint(m.pts, 10, 64)
	if err != nil {
		return endAt(r.t.Start+r.units, fmt.Errorf("cluster: chunk %d: unit %d from %s: timestamp: %w", r.t.Chunk, m.seq, m.claim, err))
	}
	if err := r.out.Unit(pts, m.data); err != nil {
		return endAt(r.t.Start+r.units, err)
	}
	r.units++
	r.q.count(func(s *RemoteStats) { s.Units++; s.UnitBytes += int64(len(m.data)) })
	return goOn
}

// recorder returns out as a QualityRecorder when the task has a target.
func (r *receiver) recorder() (task.QualityRecorder, bool) {
	rec, ok := r.out.(task.QualityRecorder)
	return rec, ok && r.t.Target != nil
}

// onProbe records a target-quality probe; offered again, the task goes on
// from it.
func (r *receiver) onProbe(m unitMsg) verdict {
	var p task.Probe
	if err := json.Unmarshal(m.data, &p); err != nil {
		return endAt(r.t.Start+r.units, fmt.Errorf("cluster: chunk %d: probe from %s: %w", r.t.Chunk, m.claim, err))
	}
	rec, ok := r.recorder()
	if !ok {
		return goOn
	}
	if err := rec.Probe(p); err != nil {
		return endAt(r.t.Start+r.units, err)
	}
	tq := *r.t.Target
	tq.Known = append(slices.Clone(tq.Known), p)
	r.t.Target = &tq
	return goOn
}

// onQuality records the quantizer the stream is encoded at and its score
// (NaN when the worker did not measure it).
func (r *receiver) onQuality(m unitMsg) verdict {
	var q qualityMsg
	if err := json.Unmarshal(m.data, &q); err != nil {
		return endAt(r.t.Start+r.units, fmt.Errorf("cluster: chunk %d: quality from %s: %w", r.t.Chunk, m.claim, err))
	}
	if rec, ok := r.recorder(); ok {
		score := math.NaN()
		if q.Score != nil {
			score = *q.Score
		}
		rec.Quality(q.Q, score)
	}
	return goOn
}

// onEnd ends the task where the worker's stream ended, which must be
// after the units that came. A worker that drained before its first frame
// leaves the task to another.
func (r *receiver) onEnd(m unitMsg) verdict {
	var e endMsg
	if err := json.Unmarshal(m.data, &e); err != nil {
		return endAt(r.t.Start+r.units, fmt.Errorf("cluster: chunk %d: end from %s: %w", r.t.Chunk, m.claim, err))
	}
	if e.End != r.units {
		return endAt(r.t.Start+r.units, fmt.Errorf("cluster: chunk %d: %s ended at %d frames, %d units came", r.t.Chunk, m.claim, e.End, r.units))
	}
	return r.settle()
}

// onFail ends the task with the worker's failure, permanent when the
// worker says so. A segment whose packets do not give the task's frames
// is cut again losslessly and the task offered again at once, unless
// units came already: then the next attempt gets the lossless segment.
func (r *receiver) onFail(m unitMsg) verdict {
	var f failMsg
	if err := json.Unmarshal(m.data, &f); err != nil {
		f.Msg = fmt.Sprintf("a failure that does not parse (%v)", err)
	}
	err := fmt.Errorf("chunk %d on worker %s: %s", r.t.Chunk, m.claim, f.Msg)
	switch {
	case f.Segment && r.kind == segment.Copy:
		r.q.markLossless(r.t)
		if r.units > 0 {
			return endAt(r.t.Start, err)
		}
		r.kind = segment.Lossless
		if err := r.q.recut(r.t, r.kind); err != nil {
			return endAt(r.t.Start, err)
		}
		return r.requeue()
	case f.Permanent:
		return endAt(r.t.Start, &task.TaskError{Task: r.t, Msg: err.Error(), Err: err})
	}
	return endAt(r.t.Start, err)
}

// onStop handles the job's stop: a task no worker owns ends stopped at
// once, and no claim is granted from then on; an owned one is told to
// stop, and ends when its stream does (or its worker goes silent).
func (r *receiver) onStop() verdict {
	r.rt.mu.Lock()
	owner := r.rt.owner
	r.rt.stopping = true
	r.rt.done = owner == ""
	r.rt.mu.Unlock()
	if owner == "" {
		return endAt(r.t.Start, task.ErrStopped)
	}
	r.stopSent = true
	// A stop that does not arrive is caught up by the heartbeat's answer,
	// which carries it.
	r.q.stop(r.t)
	return goOn
}

// onTick runs a few times per silence: a store that takes no more writes
// ends the task with what arrived (nothing more can be sent or received),
// and an owner unheard for longer than the silence (a paused one is not
// counted) loses the task, which ends as settle says.
func (r *receiver) onTick(now time.Time) verdict {
	if err := r.q.storeFailed(); err != nil {
		r.rt.mu.Lock()
		r.rt.owner, r.rt.done = "", true
		r.rt.mu.Unlock()
		if r.units > 0 {
			return endAt(r.t.Start+r.units, nil)
		}
		return endAt(r.t.Start, err)
	}
	r.rt.mu.Lock()
	silent := r.rt.owner != "" && now.Sub(r.rt.heard) > r.silence && !r.rt.paused
	if silent {
		r.rt.owner = ""
		if r.units > 0 || r.stopSent {
			r.rt.done = true // no claim granted from now on
		}
	}
	r.rt.mu.Unlock()
	if !silent {
		return goOn
	}
	r.q.count(func(s *RemoteStats) { s.Lost++ })
	return r.settle()
}

// onClosed ends the task when its unit stream ends under it.
func (r *receiver) onClosed() verdict {
	return endAt(r.t.Start+r.units, fmt.Errorf("cluster: the result stream of chunk %d ended", r.t.Chunk))
}

// onCancel ends the task when Execute's context ends.
func (r *receiver) onCancel(err error) verdict { return endAt(r.t.Start+r.units, err) }

// settle ends the task with what arrived once its worker is gone (its
// stream ended, or it went silent): what arrived is kept and the rest
// becomes a new chunk; with nothing, a stopped task ends stopped, and any
// other is offered to the next worker.
func (r *receiver) settle() verdict {
	switch {
	case r.units > 0:
		return endAt(r.t.Start+r.units, nil)
	case r.stopSent:
		return endAt(r.t.Start, task.ErrStopped)
	}
	return r.requeue()
}

// requeue offers the task again under a new message. Its claim is
// released first: a worker that took the new message while the old claim
// held would be told that the task runs elsewhere, and drop it.
func (r *receiver) requeue() verdict {
	r.rt.mu.Lock()
	r.rt.owner = ""
	r.rt.mu.Unlock()
	r.claim, r.next = "", 0
	if err := r.q.offer(r.t); err != nil {
		return endAt(r.t.Start, err)
	}
	return goOn
}
