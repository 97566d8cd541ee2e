package av1job

import (
	"testing"

	"github.com/av1job/av1job/internal/coord"
)

// TestChunkStates: ChunkInfo's states are the coordinator's.
func TestChunkStates(t *testing.T) {
	for _, s := range [][2]string{{ChunkQueued, coord.Queued}, {ChunkEncoding, coord.Encoding}, {ChunkDone, coord.Done},
		{ChunkSplit, coord.Split}, {ChunkSalvaged, coord.Salvaged}, {ChunkFailed, coord.Failed}} {
		if s[0] != s[1] {
			t.Errorf("chunk state %q is %q in package coord", s[0], s[1])
		}
	}
}
