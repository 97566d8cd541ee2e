package av1job

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/av1job/av1job/internal/coord"
	"github.com/av1job/av1job/internal/jobdir"
)

// Chunk states reported by ChunkInfo: the coordinator's own (package
// internal/coord).
const (
	ChunkQueued   = coord.Queued   // not started, or waiting to be tried again
	ChunkEncoding = coord.Encoding // a task runs it; Frames is how far it got
	ChunkDone     = coord.Done
	ChunkSplit    = coord.Split    // done, but short of its planned end: the rest is another chunk
	ChunkSalvaged = coord.Salvaged // done with what a run that ended early left of it
	ChunkFailed   = coord.Failed   // its last attempt failed; it waits to be tried again
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
	return fromReports(c.Chunks())
}

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
	return fromReports(coord.ReplayChunks(st.Chunks, recs)), nil
}

// fromReports converts the coordinator's chunk reports.
func fromReports(rs []coord.ChunkReport) []ChunkInfo {
	if rs == nil {
		return nil
	}
	out := make([]ChunkInfo, len(rs))
	for i, r := range rs {
		out[i] = ChunkInfo(r)
	}
	return out
}
