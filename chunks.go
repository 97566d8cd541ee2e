package av1job

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"

	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/ledger"
	"github.com/av1job/av1job/internal/plan"
)

// Chunk states reported by ChunkInfo.
const (
	ChunkQueued   = "queued"   // not started, or waiting to be tried again
	ChunkEncoding = "encoding" // a task runs it; Frames is how far it got
	ChunkDone     = "done"
	ChunkSplit    = "split"    // done, but short of its planned end: the rest is another chunk
	ChunkSalvaged = "salvaged" // done with what a run that ended early left of it
	ChunkFailed   = "failed"   // its last attempt failed; it waits to be tried again
)

// ChunkInfo is one chunk of a job as its coordinator or its journal sees
// it: the frames [Start, End) of the source it encodes (as it stands: a
// split chunk ends where it was cut), what is done of it and where.
type ChunkInfo struct {
	ID      int     `json:"id"`
	Start   int     `json:"start"`
	End     int     `json:"end"`
	State   string  `json:"state"`
	Frames  int     `json:"frames"`            // encoded: all when done, so far when encoding
	Bytes   int64   `json:"bytes"`             // of its file, or written so far
	Seconds float64 `json:"seconds,omitempty"` // encoding time, when known
	Worker  string  `json:"worker,omitempty"`  // the worker that encodes or encoded it, when known
	Error   string  `json:"error,omitempty"`   // why its last attempt failed
	// A target-quality job's chunks: the probes made, the quantizer chosen
	// and the score measured on the chunk's file (nil when not measured:
	// a chunk salvaged or split by a stop).
	Probes    int      `json:"probes,omitempty"`
	Quantizer int      `json:"q,omitempty"`
	Score     *float64 `json:"score,omitempty"`
}

// Chunks returns the job's chunks in source order: none before its chunks
// are planned, those planned so far while the scene pass runs.
func (jb *Job) Chunks() []ChunkInfo {
	jb.mu.Lock()
	c := jb.coord
	jb.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.chunks()
}

// chunks reports every chunk: the ledger's when the plan is final, else
// those planned so far.
func (c *coordinator) chunks() []ChunkInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ChunkInfo
	if c.led != nil {
		out = ledgerChunks(c.led, c.probes)
	} else {
		seen := map[int]bool{}
		for _, ch := range c.queue {
			seen[ch.ID] = true
			out = append(out, ChunkInfo{ID: ch.ID, Start: ch.Start, End: ch.End, State: ChunkQueued})
		}
		for id, a := range c.running {
			if !seen[id] {
				out = append(out, ChunkInfo{ID: id, Start: a.task.Start, End: a.task.End, State: ChunkQueued})
			}
		}
	}
	for i := range out {
		ci := &out[i]
		if ci.State != ChunkQueued {
			continue
		}
		a, running := c.running[ci.ID]
		var placed bool
		if running {
			units, size := a.part.progress()
			w, d := a.part.placement()
			// A task its executor has not placed yet waits for a worker.
			if placed = w != "" || units > 0; placed {
				ci.State, ci.Frames, ci.Bytes, ci.Worker, ci.Seconds = ChunkEncoding, units, size, w, seconds(d.Seconds())
			}
		}
		if msg, ok := c.failures[ci.ID]; ok && !placed {
			ci.State, ci.Error = ChunkFailed, msg
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// ledgerChunks reports the ledger's chunks, those not done as queued;
// probes are the probes made of each chunk.
func ledgerChunks(led *ledger.Ledger, probes map[int][]Probe) []ChunkInfo {
	cs := led.Chunks()
	out := make([]ChunkInfo, 0, len(cs))
	for _, ch := range cs {
		ci := chunkInfo(ch, led)
		ci.Probes = len(probes[ch.ID])
		out = append(out, ci)
	}
	return out
}

func chunkInfo(ch plan.Chunk, led *ledger.Ledger) ChunkInfo {
	ci := ChunkInfo{ID: ch.ID, Start: ch.Start, End: ch.End, State: ChunkQueued}
	r, ok := led.Done(ch.ID)
	if !ok {
		return ci
	}
	ci.State, ci.Frames, ci.Bytes, ci.Worker, ci.Seconds = ChunkDone, r.End-r.Start, r.Size, r.Worker, r.Secs
	ci.Quantizer, ci.Score = r.Q, r.Score
	switch {
	case r.Salvaged:
		ci.State = ChunkSalvaged
	case r.Rest != 0:
		ci.State = ChunkSplit
	}
	return ci
}

func seconds(s float64) float64 { return math.Round(s*1000) / 1000 }

// ReadChunks returns the chunks of the job in jobDir as its journal
// records them, for a job no process of this one runs; a job not planned
// yet has none.
func ReadChunks(jobDir string) ([]ChunkInfo, error) {
	dir := jobdir.At(jobDir)
	st, err := dir.ReadState()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chunks: %w", err)
	}
	recs, err := dir.ReadJournal()
	if err != nil {
		return nil, fmt.Errorf("chunks: %w", err)
	}
	probes := map[int][]Probe{}
	for _, r := range recs {
		if r.Type == jobdir.RecProbe && r.Score != nil {
			probes[r.Chunk] = append(probes[r.Chunk], Probe{Quantizer: r.Q, Score: *r.Score, Size: r.Size})
		}
	}
	return ledgerChunks(ledger.Replay(st.Chunks, recs), probes), nil
}

// noteFailure remembers why chunk id's last attempt failed; it is shown
// while the chunk waits to be tried again.
func (c *coordinator) noteFailure(id int, err error) {
	c.mu.Lock()
	if c.failures == nil {
		c.failures = map[int]string{}
	}
	c.failures[id] = err.Error()
	c.mu.Unlock()
}
