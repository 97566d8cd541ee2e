package coord

import (
	"testing"

	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/plan"
)

// TestReplayChunksCountsProbesAsARun: a job's chunks read from its journal
// count a chunk's probes as a run of the job keeps them: a probe of frames
// that are no longer its chunk's, or of a chunk already done, does not
// count.
func TestReplayChunksCountsProbesAsARun(t *testing.T) {
	score := 80.0
	probe := func(chunk, start, end, q int) jobdir.Record {
		return jobdir.Record{Type: jobdir.RecProbe, Chunk: chunk, Start: start, End: end, Q: q, Score: &score}
	}
	chunks := []plan.Chunk{{ID: 0, Start: 0, End: 100}, {ID: 1, Start: 100, End: 200}}
	recs := []jobdir.Record{
		probe(0, 0, 100, 50),
		{Type: jobdir.RecDone, Chunk: 0, Start: 0, End: 40, Rest: 2, Q: 50, Size: 10}, // split: [40,100) is chunk 2
		probe(0, 0, 100, 70),   // chunk 0 is done
		probe(2, 40, 100, 60),  // the rest's own
		probe(1, 100, 150, 60), // not chunk 1's frames
		probe(1, 100, 200, 60),
	}
	want := map[int]int{0: 1, 1: 1, 2: 1}
	got := map[int]int{}
	for _, c := range ReplayChunks(chunks, recs) {
		got[c.ID] = c.Probes
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("chunk %d: %d probes, want %d (all: %v)", id, got[id], n, got)
		}
	}
	// The coordinator of a run keeps the same.
	var c Coordinator
	c.mu.Lock()
	replay(chunks, recs, c.note)
	c.mu.Unlock()
	for id, n := range want {
		if len(c.probes[id]) != n {
			t.Errorf("run: chunk %d: %d probes, want %d", id, len(c.probes[id]), n)
		}
	}
}
