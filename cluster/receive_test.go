package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/segment"
	"github.com/av1job/av1job/task"
)

// fakeQueue is a taskQueue that records what a receiver asks of it.
type fakeQueue struct {
	offered  []task.Task
	recuts   []segment.Kind
	lossless int
	stops    int
	storeErr error // what storeFailed says
	stats    RemoteStats
}

func (q *fakeQueue) offer(t task.Task) error { q.offered = append(q.offered, t); return nil }
func (q *fakeQueue) recut(_ task.Task, k segment.Kind) error {
	q.recuts = append(q.recuts, k)
	return nil
}
func (q *fakeQueue) markLossless(task.Task)     { q.lossless++ }
func (q *fakeQueue) stop(task.Task)             { q.stops++ }
func (q *fakeQueue) storeFailed() error         { return q.storeErr }
func (q *fakeQueue) count(f func(*RemoteStats)) { f(&q.stats) }

// fakeOut is a StreamWriter (a QualityRecorder and a Placed too) that
// keeps what it is given.
type fakeOut struct {
	headers int
	pts     []uint64
	probes  []int    // their quantizers
	quality []string // "q score"
	placed  []string // workers, in order
	unitErr error    // what Unit returns
}

func (o *fakeOut) Header(task.StreamHeader) error { o.headers++; return nil }
func (o *fakeOut) Unit(pts uint64, _ []byte) error {
	if o.unitErr != nil {
		return o.unitErr
	}
	o.pts = append(o.pts, pts)
	return nil
}
func (o *fakeOut) Probe(p task.Probe) error { o.probes = append(o.probes, p.Quantizer); return nil }
func (o *fakeOut) Quality(q int, score float64) {
	o.quality = append(o.quality, fmt.Sprintf("%d %v", q, score))
}
func (o *fakeOut) RunsOn(w string) { o.placed = append(o.placed, w) }

// rig is one remote task's receive side with a clock of its own: the
// receiver, the claim state it shares with the claim and heartbeat
// answers, and fakes for its queue and its StreamWriter.
type rig struct {
	t      *testing.T
	r      *receiver
	q      *fakeQueue
	out    *fakeOut
	now    time.Time
	claims map[string]string // by worker: the claim it was granted
	placed []string          // the workers granted a claim, in order
	v      verdict           // the first verdict that ended the task
	endAt  int               // the step it came at, counting from 1
}

const rigSilence = 10 * time.Second

func newRig(t *testing.T, tk task.Task, kind segment.Kind) *rig {
	q, out := &fakeQueue{}, &fakeOut{}
	rt := &remoteTask{t: tk, out: out, nonce: "n0"}
	return &rig{t: t, q: q, out: out, now: time.Unix(1e9, 0), claims: map[string]string{},
		r: &receiver{t: tk, out: out, rt: rt, q: q, silence: rigSilence, kind: kind}}
}

// A step is one thing that happens to a task: a message, an event, a
// claim or a heartbeat with its expected answer.
type step func(g *rig) verdict

// claimOf is the claim w was granted, or one no claim ever is; none for
// the worker "".
func (g *rig) claimOf(w string) string {
	if w == "" {
		return ""
	}
	if c, ok := g.claims[w]; ok {
		return c
	}
	return w + "#never-granted"
}

// grant: worker w claims the task; ok is whether it must be granted.
func grant(w string, ok bool) step {
	return func(g *rig) verdict {
		resp := g.r.rt.grant(claimReq{Chunk: g.r.t.Chunk, Attempt: g.r.t.Attempt, Worker: w, Delivery: 1}, g.now)
		if resp.OK != ok {
			g.t.Errorf("claim of %s: answer %+v, want OK %v", w, resp, ok)
		}
		if resp.OK {
			g.claims[w] = resp.Claim
			g.placed = append(g.placed, w)
		}
		return goOn
	}
}

// beatFrom: worker w's heartbeat, and the answer it must get.
func beatFrom(w string, want claimResp) step {
	return func(g *rig) verdict {
		if got := g.r.rt.beat(beat{Chunk: g.r.t.Chunk, Attempt: g.r.t.Attempt, Claim: g.claimOf(w)}, g.now); got != want {
			g.t.Errorf("heartbeat of %s: answer %+v, want %+v", w, got, want)
		}
		return goOn
	}
}

// send: worker w's message number seq of kind with body (marshalled to
// JSON unless it is a string).
func send(w string, seq int, kind string, body any) step {
	return func(g *rig) verdict {
		data, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			if err != nil {
				g.t.Fatal(err)
			}
			data = string(b)
		}
		return g.r.receive(unitMsg{claim: g.claimOf(w), kind: kind, seq: seq, data: []byte(data)}, g.now)
	}
}

func header(w string, seq int) step {
	return send(w, seq, "header", task.StreamHeader{Width: 16, Height: 16, RateNum: 24, RateDen: 1})
}

// unit: worker w's unit of timestamp pts as its message seq.
func unit(w string, seq int, pts uint64) step {
	return func(g *rig) verdict {
		return g.r.receive(unitMsg{claim: g.claimOf(w), kind: "unit", seq: seq, pts: strconv.FormatUint(pts, 10), data: []byte("obu")}, g.now)
	}
}

func end(w string, seq, frames int) step { return send(w, seq, "end", endMsg{End: frames}) }

func fail(w string, seq int, f failMsg) step { return send(w, seq, "fail", f) }

func stop() step { return func(g *rig) verdict { return g.r.onStop() } }

// wait moves the clock on.
func wait(d time.Duration) step {
	return func(g *rig) verdict { g.now = g.now.Add(d); return goOn }
}

func tick() step { return func(g *rig) verdict { return g.r.onTick(g.now) } }

// silence: the owner is unheard for longer than the silence, then a tick.
func silence() step {
	return func(g *rig) verdict { g.now = g.now.Add(rigSilence + time.Second); return g.r.onTick(g.now) }
}

// paused sets the job's pause as the task's remotePauser does.
func paused(p bool) step {
	return func(g *rig) verdict {
		g.r.rt.mu.Lock()
		g.r.rt.paused = p
		g.r.rt.mu.Unlock()
		return goOn
	}
}

// storeFails makes the store take no more writes from now on.
func storeFails() step {
	return func(g *rig) verdict { g.q.storeErr = &task.StoreError{Err: errors.New("disk full")}; return goOn }
}

func closed() step { return func(g *rig) verdict { return g.r.onClosed() } }

func (g *rig) run(steps []step) {
	for i, s := range steps {
		if v := s(g); v.ended && !g.v.ended {
			g.v, g.endAt = v, i+1
		}
	}
}

// TestReceiver drives a remote task's receive side through message
// sequences and checks how each ends, what reached the StreamWriter and
// what was asked of the queue.
func TestReceiver(t *testing.T) {
	base := task.Task{Job: "j", Chunk: 3, Attempt: 1, Start: 100, End: 110}
	withTarget := base
	withTarget.Target = &task.TargetQuality{Score: 80, Metric: "ssimulacra2", Stat: "mean", MinQ: 40, MaxQ: 160, Probes: 4}
	type want struct {
		endAt    int    // the step that ends the task; 0: it runs on
		end      int    // Execute's end
		err      error  // errors.Is
		errText  string // in the error's text
		taskErr  bool   // a *task.TaskError (permanent)
		pts      []uint64
		headers  int
		offers   int // offered again (the first offer is Execute's)
		recuts   []segment.Kind
		lossless int
		stops    int
		refused  int64
		lost     int
		probes   []int
		quality  []string
		known    int // probes the task offered last carries
	}
	cases := []struct {
		name  string
		task  task.Task
		kind  segment.Kind
		steps []step
		out   *fakeOut // nil: a fakeOut that takes everything
		want  want
	}{
		{name: "whole stream",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), unit("w1", 2, 1), unit("w1", 3, 2), end("w1", 4, 3)},
			want:  want{endAt: 6, end: 103, pts: []uint64{0, 1, 2}, headers: 1}},
		{name: "messages sent again are taken once",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), unit("w1", 1, 0), header("w1", 0), unit("w1", 2, 1), unit("w1", 1, 0), end("w1", 3, 2)},
			want:  want{endAt: 8, end: 102, pts: []uint64{0, 1}, headers: 1}},
		{name: "a gap is refused and waits for the message missing",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 2, 1), unit("w1", 1, 0), unit("w1", 2, 1), end("w1", 3, 2)},
			want:  want{endAt: 6, end: 102, pts: []uint64{0, 1}, headers: 1, refused: 1}},
		{name: "messages before any claim are refused",
			steps: []step{header("w1", 0), unit("w1", 1, 0), grant("w1", true), header("w1", 0), unit("w1", 1, 5), end("w1", 2, 1)},
			want:  want{endAt: 6, end: 101, pts: []uint64{5}, headers: 1, refused: 2}},
		{name: "messages without a claim are refused",
			steps: []step{header("", 0), grant("w1", true), header("", 0), header("w1", 0), end("w1", 1, 0), header("", 0), unit("", 1, 0)},
			want:  want{headers: 1, offers: 1, refused: 4}},
		{name: "one claim at a time; another worker's messages are refused",
			steps: []step{grant("w1", true), grant("w2", false), header("w1", 0), header("w2", 0), unit("w2", 1, 9), unit("w1", 1, 0), end("w2", 2, 1), end("w1", 2, 1)},
			want:  want{endAt: 8, end: 101, pts: []uint64{0}, headers: 1, refused: 3}},
		{name: "a sequence number that does not parse is refused",
			steps: []step{grant("w1", true), header("w1", 0),
				send("w1", -1, "unit", "x"),
				unit("w1", 1, 0), end("w1", 2, 1)},
			want: want{endAt: 5, end: 101, pts: []uint64{0}, headers: 1, refused: 1}},
		{name: "an end that does not match the units is an error",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), end("w1", 2, 2)},
			want:  want{endAt: 4, end: 101, errText: "ended at 2 frames, 1 units came", pts: []uint64{0}, headers: 1}},
		{name: "a worker that drains before its first frame leaves the task to another",
			steps: []step{grant("w1", true), header("w1", 0), end("w1", 1, 0), beatFrom("w1", claimResp{}), grant("w2", true),
				header("w2", 0), unit("w1", 1, 3), unit("w2", 1, 0), end("w2", 2, 1)},
			want: want{endAt: 9, end: 101, pts: []uint64{0}, headers: 1, offers: 1, refused: 1}},
		{name: "a failure ends the task, to be tried again",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), fail("w1", 2, failMsg{Msg: "rav1e: killed"})},
			want:  want{endAt: 4, end: 100, errText: "rav1e: killed", pts: []uint64{0}, headers: 1}},
		{name: "a permanent failure is a TaskError",
			steps: []step{grant("w1", true), fail("w1", 0, failMsg{Msg: "bad option", Permanent: true})},
			want:  want{endAt: 2, end: 100, errText: "bad option", taskErr: true}},
		{name: "a failure that does not parse still fails",
			steps: []step{grant("w1", true), send("w1", 0, "fail", "{")},
			want:  want{endAt: 2, end: 100, errText: "a failure that does not parse"}},
		{name: "a segment that lacks frames is cut again losslessly and offered again",
			steps: []step{grant("w1", true), fail("w1", 0, failMsg{Msg: "frame 3 missing", Segment: true}), grant("w2", true),
				header("w1", 1), header("w2", 0), unit("w2", 1, 0), end("w2", 2, 1)},
			want: want{endAt: 7, end: 101, pts: []uint64{0}, headers: 1, offers: 1, recuts: []segment.Kind{segment.Lossless}, lossless: 1, refused: 1}},
		{name: "a segment that lacks frames after units came fails this attempt",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), fail("w1", 2, failMsg{Msg: "frame 3 missing", Segment: true})},
			want:  want{endAt: 4, end: 100, errText: "frame 3 missing", pts: []uint64{0}, headers: 1, lossless: 1}},
		{name: "a lossless segment that lacks frames fails",
			kind:  segment.Lossless,
			steps: []step{grant("w1", true), fail("w1", 0, failMsg{Msg: "frame 3 missing", Segment: true})},
			want:  want{endAt: 2, end: 100, errText: "frame 3 missing"}},
		{name: "a stop before any claim ends the task, and no claim is granted after",
			steps: []step{stop(), grant("w1", false)},
			want:  want{endAt: 1, end: 100, err: task.ErrStopped}},
		{name: "a stop goes to the owner, whose stream ends where it stopped",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), stop(), beatFrom("w1", claimResp{OK: true, Stop: true}),
				unit("w1", 2, 1), end("w1", 3, 2)},
			want: want{endAt: 7, end: 102, pts: []uint64{0, 1}, headers: 1, stops: 1}},
		{name: "a stopped owner that sent no unit ends the task stopped",
			steps: []step{grant("w1", true), stop(), header("w1", 0), end("w1", 1, 0)},
			want:  want{endAt: 4, end: 100, err: task.ErrStopped, headers: 1, stops: 1}},
		{name: "a worker lost mid-task: what arrived is kept, and no claim is granted after",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), unit("w1", 2, 1), silence(), grant("w2", false)},
			want:  want{endAt: 5, end: 102, pts: []uint64{0, 1}, headers: 1, lost: 1}},
		{name: "a worker lost before a unit: the task goes to another, the lost one's messages are refused",
			steps: []step{grant("w1", true), header("w1", 0), silence(), beatFrom("w1", claimResp{}), grant("w2", true),
				unit("w1", 1, 7), header("w2", 0), unit("w2", 1, 0), end("w2", 2, 1)},
			want: want{endAt: 9, end: 101, pts: []uint64{0}, headers: 1, offers: 1, lost: 1, refused: 1}},
		{name: "a worker lost after it was told to stop, with no unit, ends the task stopped",
			steps: []step{grant("w1", true), stop(), silence()},
			want:  want{endAt: 3, end: 100, err: task.ErrStopped, stops: 1, lost: 1}},
		{name: "messages and heartbeats keep a worker heard",
			steps: []step{grant("w1", true), wait(rigSilence * 3 / 4), header("w1", 0), wait(rigSilence * 3 / 4), tick(),
				beatFrom("w1", claimResp{OK: true}), wait(rigSilence * 3 / 4), tick(), unit("w1", 1, 0), end("w1", 2, 1)},
			want: want{endAt: 10, end: 101, pts: []uint64{0}, headers: 1}},
		{name: "a paused worker is not lost, and is told it is paused",
			steps: []step{grant("w1", true), header("w1", 0), paused(true), beatFrom("w1", claimResp{OK: true, Paused: true}), silence(),
				paused(false), unit("w1", 1, 0), end("w1", 2, 1)},
			want: want{endAt: 8, end: 101, pts: []uint64{0}, headers: 1}},
		{name: "no claim is granted while the job is paused",
			steps: []step{paused(true), grant("w1", false), paused(false), grant("w1", true), header("w1", 0), end("w1", 1, 0)},
			want:  want{headers: 1, offers: 1}},
		{name: "a store that takes no writes ends the task with the units that came",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), storeFails(), tick(), grant("w2", false)},
			want:  want{endAt: 5, end: 101, pts: []uint64{0}, headers: 1}},
		{name: "a store that takes no writes fails a task with no unit",
			steps: []step{grant("w1", true), header("w1", 0), storeFails(), tick()},
			want:  want{endAt: 4, end: 100, errText: "disk full", headers: 1}},
		{name: "a unit stream that ends under the task is an error",
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), closed()},
			want:  want{endAt: 4, end: 101, errText: "result stream of chunk 3 ended", pts: []uint64{0}, headers: 1}},
		{name: "a message of an unknown kind is an error",
			steps: []step{grant("w1", true), send("w1", 0, "bogus", "{}")},
			want:  want{endAt: 2, end: 100, errText: `kind "bogus"`}},
		{name: "a unit without a timestamp is an error",
			steps: []step{grant("w1", true), header("w1", 0), send("w1", 1, "unit", "obu")},
			want:  want{endAt: 3, end: 100, errText: "timestamp", headers: 1}},
		{name: "a header that does not parse is an error",
			steps: []step{grant("w1", true), send("w1", 0, "header", "[")},
			want:  want{endAt: 2, end: 100, errText: "header from w1#n0#1#1"}},
		{name: "a StreamWriter's error ends the task",
			out:   &fakeOut{unitErr: errors.New("part file: no space")},
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0)},
			want:  want{endAt: 3, end: 100, errText: "part file: no space", headers: 1}},
		{name: "probes are recorded and go with the task offered again",
			task: withTarget,
			steps: []step{grant("w1", true), send("w1", 0, "probe", task.Probe{Quantizer: 100, Score: 78, Size: 900}),
				send("w1", 1, "probe", task.Probe{Quantizer: 80, Score: 81, Size: 1200}), silence(), grant("w2", true),
				header("w2", 0), unit("w2", 1, 0), send("w2", 2, "quality", qualityMsg{Q: 86}), end("w2", 3, 1)},
			want: want{endAt: 9, end: 101, pts: []uint64{0}, headers: 1, offers: 1, lost: 1, probes: []int{100, 80}, quality: []string{"86 NaN"}, known: 2}},
		{name: "a measured score is recorded",
			task:  withTarget,
			steps: []step{grant("w1", true), header("w1", 0), unit("w1", 1, 0), send("w1", 2, "quality", qualityMsg{Q: 86, Score: ptr(80.5)}), end("w1", 3, 1)},
			want:  want{endAt: 5, end: 101, pts: []uint64{0}, headers: 1, quality: []string{"86 80.5"}}},
		{name: "a task without a target records no probe",
			steps: []step{grant("w1", true), send("w1", 0, "probe", task.Probe{Quantizer: 100}), header("w1", 1), unit("w1", 2, 0), end("w1", 3, 1)},
			want:  want{endAt: 5, end: 101, pts: []uint64{0}, headers: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := base
			if tc.task.Job != "" {
				tk = tc.task
			}
			kind := tc.kind
			if kind == "" {
				kind = segment.Copy
			}
			g := newRig(t, tk, kind)
			if tc.out != nil {
				g.out = tc.out
				g.r.out, g.r.rt.out = tc.out, tc.out
			}
			g.run(tc.steps)
			w := tc.want
			if g.endAt != w.endAt {
				t.Fatalf("ended at step %d (%+v), want step %d", g.endAt, g.v, w.endAt)
			}
			if w.endAt > 0 {
				if g.v.end != w.end {
					t.Errorf("end %d, want %d", g.v.end, w.end)
				}
				err := g.v.err
				var te *task.TaskError
				switch {
				case w.err == nil && w.errText == "" && err != nil:
					t.Errorf("error %v, want none", err)
				case w.err != nil && !errors.Is(err, w.err):
					t.Errorf("error %v, want %v", err, w.err)
				case w.errText != "" && (err == nil || !strings.Contains(err.Error(), w.errText)):
					t.Errorf("error %v, want one with %q", err, w.errText)
				case errors.As(err, &te) != w.taskErr:
					t.Errorf("error %v: TaskError %v, want %v", err, !w.taskErr, w.taskErr)
				}
			}
			if !slices.Equal(g.out.pts, w.pts) || g.out.headers != w.headers {
				t.Errorf("written: %d headers, units %v; want %d, %v", g.out.headers, g.out.pts, w.headers, w.pts)
			}
			if !slices.Equal(g.out.placed, g.placed) {
				t.Errorf("the StreamWriter was told the task runs on %v, want %v", g.out.placed, g.placed)
			}
			if !slices.Equal(g.out.probes, w.probes) || !slices.Equal(g.out.quality, w.quality) {
				t.Errorf("recorded probes %v, quality %v; want %v, %v", g.out.probes, g.out.quality, w.probes, w.quality)
			}
			q := g.q
			if len(q.offered) != w.offers || !slices.Equal(q.recuts, w.recuts) || q.lossless != w.lossless || q.stops != w.stops {
				t.Errorf("asked: %d offers, recuts %v, %d marked lossless, %d stops; want %d, %v, %d, %d",
					len(q.offered), q.recuts, q.lossless, q.stops, w.offers, w.recuts, w.lossless, w.stops)
			}
			if w.offers > 0 {
				last := q.offered[len(q.offered)-1]
				if n := knownOf(last); n != w.known {
					t.Errorf("the task offered again carries %d probes, want %d", n, w.known)
				}
			}
			if q.stats.Refused != w.refused || q.stats.Lost != w.lost || q.stats.Units != int64(len(w.pts)) {
				t.Errorf("stats %+v: want %d refused, %d lost, %d units", q.stats, w.refused, w.lost, len(w.pts))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func knownOf(t task.Task) int {
	if t.Target == nil {
		return 0
	}
	return len(t.Target.Known)
}
