// Package ledger is a job's chunk list as its journal leaves it. It starts
// as the plan's chunks; each "done" record marks a chunk done, and a
// record whose End is short of its chunk's end splits the chunk: [Start,
// End) is done and [End, old end) becomes a new chunk with the ID the
// record names in Rest, which must be the next free ID. Replaying the same
// journal always gives the same ledger, and every count a job reports
// (frames, chunks, bytes done) is derived from it.
package ledger

import (
	"fmt"
	"sort"

	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/plan"
)

// A Ledger is not safe for concurrent use; its owner serializes access.
type Ledger struct {
	chunks map[int]plan.Chunk
	done   map[int]jobdir.Record
	nextID int
	frames int   // frames of the done chunks
	bytes  int64 // bytes of the done chunks' files
}

// New returns the ledger of a plan, nothing done.
func New(chunks []plan.Chunk) *Ledger {
	l := &Ledger{chunks: map[int]plan.Chunk{}, done: map[int]jobdir.Record{}}
	for _, c := range chunks {
		l.chunks[c.ID] = c
		l.nextID = max(l.nextID, c.ID+1)
	}
	return l
}

// Replay returns the ledger of a plan after the records; records that do
// not fit are skipped (their chunks are simply encoded again).
func Replay(chunks []plan.Chunk, recs []jobdir.Record) *Ledger {
	l := New(chunks)
	for _, r := range recs {
		_ = l.Apply(r)
	}
	return l
}

// Check returns why a done record for frames [start,end) of chunk id would
// not fit, or nil: the chunk must exist, start at start and end at or
// after end.
func (l *Ledger) Check(id, start, end int) error {
	c, ok := l.chunks[id]
	switch {
	case !ok:
		return fmt.Errorf("chunk %d is not in the plan", id)
	case c.Start != start || end <= start || end > c.End:
		return fmt.Errorf("frames [%d,%d) do not fit %s", start, end, c)
	}
	return nil
}

// Apply adds a record. It returns an error, and changes nothing, for a
// done record that does not fit; other record types always apply.
func (l *Ledger) Apply(r jobdir.Record) error {
	if r.Type != jobdir.RecDone {
		return nil
	}
	if err := l.Check(r.Chunk, r.Start, r.End); err != nil {
		return err
	}
	c := l.chunks[r.Chunk]
	if r.End < c.End && r.Rest != l.nextID {
		return fmt.Errorf("split of %s names chunk %d for the rest, the next free ID is %d", c, r.Rest, l.nextID)
	}
	// A later record for the same chunk replaces an earlier one: the run
	// that wrote it found the earlier chunk file damaged and encoded the
	// chunk's current range again.
	if old, ok := l.done[r.Chunk]; ok {
		l.frames -= old.End - old.Start
		l.bytes -= old.Size
	}
	if r.End < c.End {
		l.chunks[r.Rest] = c.Part(r.Rest, r.End, c.End)
		l.chunks[r.Chunk] = c.Part(c.ID, c.Start, r.End)
		l.nextID++
	}
	l.done[r.Chunk] = r
	l.frames += r.End - r.Start
	l.bytes += r.Size
	return nil
}

// Forget drops chunk id's done record (its file failed a check): the chunk
// is pending again.
func (l *Ledger) Forget(id int) {
	if r, ok := l.done[id]; ok {
		l.frames -= r.End - r.Start
		l.bytes -= r.Size
		delete(l.done, id)
	}
}

// NextID is the ID the next split gives the rest of its chunk.
func (l *Ledger) NextID() int { return l.nextID }

// Chunk returns chunk id as it stands.
func (l *Ledger) Chunk(id int) (plan.Chunk, bool) {
	c, ok := l.chunks[id]
	return c, ok
}

// Done returns chunk id's done record.
func (l *Ledger) Done(id int) (jobdir.Record, bool) {
	r, ok := l.done[id]
	return r, ok
}

// DoneRecords returns the done records in source order.
func (l *Ledger) DoneRecords() []jobdir.Record {
	out := make([]jobdir.Record, 0, len(l.done))
	for _, r := range l.done {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// Frames is the number of frames done.
func (l *Ledger) Frames() int { return l.frames }

// Bytes is the size of the done chunks' files.
func (l *Ledger) Bytes() int64 { return l.bytes }

// ChunksDone is the number of chunks done.
func (l *Ledger) ChunksDone() int { return len(l.done) }

// ChunksTotal is the number of chunks, splits included.
func (l *Ledger) ChunksTotal() int { return len(l.chunks) }

// Complete reports whether every chunk is done.
func (l *Ledger) Complete() bool { return len(l.done) == len(l.chunks) }

// Pending returns the chunks not done, in source order.
func (l *Ledger) Pending() []plan.Chunk {
	var todo []plan.Chunk
	for _, c := range l.chunks {
		if _, ok := l.done[c.ID]; !ok {
			todo = append(todo, c)
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].Start < todo[j].Start })
	return todo
}

// Chunks returns every chunk in source order.
func (l *Ledger) Chunks() []plan.Chunk {
	cs := make([]plan.Chunk, 0, len(l.chunks))
	for _, c := range l.chunks {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Start < cs[j].Start })
	return cs
}
