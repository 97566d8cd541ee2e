package coord

import (
	"math"
	"sort"

	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/ledger"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/task"
)

// Chunk states in a ChunkReport.
const (
	Queued   = "queued"   // not started, or waiting to be tried again
	Encoding = "encoding" // a task runs it; Frames is how far it got
	Done     = "done"
	Split    = "split"    // done, but short of its planned end: the rest is another chunk
	Salvaged = "salvaged" // done with what a run that ended early left of it
	Failed   = "failed"   // its last attempt failed; it waits to be tried again
)

// A ChunkReport is one chunk as the coordinator or the journal sees it
// (av1job.ChunkReport has the same fields).
type ChunkReport struct {
	ID        int
	Start     int
	End       int
	State     string
	Frames    int
	Bytes     int64
	Seconds   float64
	Worker    string
	Error     string
	Probes    int
	Quantizer int
	Score     *float64
}

// Chunks reports every chunk: the ledger's when the plan is final, else
// those planned so far.
func (c *Coordinator) Chunks() []ChunkReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ChunkReport
	if c.led != nil {
		out = ledgerChunks(c.led, c.probes)
	} else {
		seen := map[int]bool{}
		for _, ch := range c.queue {
			seen[ch.ID] = true
			out = append(out, ChunkReport{ID: ch.ID, Start: ch.Start, End: ch.End, State: Queued})
		}
		for id, a := range c.running {
			if !seen[id] {
				out = append(out, ChunkReport{ID: id, Start: a.task.Start, End: a.task.End, State: Queued})
			}
		}
	}
	for i := range out {
		ci := &out[i]
		if ci.State != Queued {
			continue
		}
		a, running := c.running[ci.ID]
		var placed bool
		if running {
			units, size := a.part.progress()
			w, d := a.part.placement()
			// A task its executor has not placed yet waits for a worker.
			if placed = w != "" || units > 0; placed {
				ci.State, ci.Frames, ci.Bytes, ci.Worker, ci.Seconds = Encoding, units, size, w, seconds(d.Seconds())
			}
		}
		if msg, ok := c.failures[ci.ID]; ok && !placed {
			ci.State, ci.Error = Failed, msg
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// ReplayChunks reports the chunks of a job's plan as its journal's
// records leave them, for a job no process of this one runs: the records
// are read as a run of the job reads them (replay), probes included.
func ReplayChunks(chunks []plan.Chunk, recs []jobdir.Record) []ChunkReport {
	probes := map[int][]task.Probe{}
	led := replay(chunks, recs, func(r jobdir.Record) {
		if p, ok := probeOf(r); ok {
			probes[r.Chunk] = append(probes[r.Chunk], p)
		}
	})
	return ledgerChunks(led, probes)
}

// replay applies a journal's records to a ledger of the plan's chunks and
// calls keep with each record that counts: a record the ledger takes (one
// that does not fit is skipped: its chunk is encoded again), and a probe
// of its chunk's frames at that point of the journal, the chunk not done
// yet.
func replay(chunks []plan.Chunk, recs []jobdir.Record, keep func(jobdir.Record)) *ledger.Ledger {
	led := ledger.New(chunks)
	for _, r := range recs {
		if r.Type == jobdir.RecProbe {
			ch, ok := led.Chunk(r.Chunk)
			if _, done := led.Done(r.Chunk); ok && !done && ch.Start == r.Start && ch.End == r.End {
				keep(r)
			}
			continue
		}
		if led.Apply(r) == nil {
			keep(r)
		}
	}
	return led
}

// probeOf returns the probe a "probe" record keeps; ok is false for any
// other record.
func probeOf(r jobdir.Record) (p task.Probe, ok bool) {
	if r.Type != jobdir.RecProbe || r.Score == nil {
		return task.Probe{}, false
	}
	return task.Probe{Quantizer: r.Q, Score: *r.Score, Size: r.Size}, true
}

// ledgerChunks reports the ledger's chunks, those not done as queued;
// probes are the probes made of each chunk.
func ledgerChunks(led *ledger.Ledger, probes map[int][]task.Probe) []ChunkReport {
	cs := led.Chunks()
	out := make([]ChunkReport, 0, len(cs))
	for _, ch := range cs {
		ci := chunkInfo(ch, led)
		ci.Probes = len(probes[ch.ID])
		out = append(out, ci)
	}
	return out
}

func chunkInfo(ch plan.Chunk, led *ledger.Ledger) ChunkReport {
	ci := ChunkReport{ID: ch.ID, Start: ch.Start, End: ch.End, State: Queued}
	r, ok := led.Done(ch.ID)
	if !ok {
		return ci
	}
	ci.State, ci.Frames, ci.Bytes, ci.Worker, ci.Seconds = Done, r.End-r.Start, r.Size, r.Worker, r.Secs
	ci.Quantizer, ci.Score = r.Q, r.Score
	switch {
	case r.Salvaged:
		ci.State = Salvaged
	case r.Rest != 0:
		ci.State = Split
	}
	return ci
}

func seconds(s float64) float64 { return math.Round(s*1000) / 1000 }

// noteFailure remembers why chunk id's last attempt failed; it is shown
// while the chunk waits to be tried again.
func (c *Coordinator) noteFailure(id int, err error) {
	c.mu.Lock()
	if c.failures == nil {
		c.failures = map[int]string{}
	}
	c.failures[id] = err.Error()
	c.mu.Unlock()
}
