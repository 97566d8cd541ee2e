package ledger

import (
	"reflect"
	"testing"

	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/plan"
)

func TestLedger(t *testing.T) {
	plan3 := plan.Chunks([]int{0, 100, 200}, 300) // IDs 0, 1, 2
	done := func(id, start, end, rest int) jobdir.Record {
		return jobdir.Record{Type: jobdir.RecDone, Chunk: id, Start: start, End: end, Rest: rest, Size: int64(end - start)}
	}
	cases := []struct {
		name    string
		recs    []jobdir.Record
		ok      []bool
		chunks  map[int][2]int
		done    []int
		pending int
	}{
		{"whole chunks", []jobdir.Record{done(0, 0, 100, 0), done(2, 200, 300, 0)}, []bool{true, true},
			map[int][2]int{0: {0, 100}, 1: {100, 200}, 2: {200, 300}}, []int{0, 2}, 1},
		{"a stop splits, the rest takes the next ID", []jobdir.Record{done(1, 100, 140, 3), done(3, 140, 200, 0)}, []bool{true, true},
			map[int][2]int{0: {0, 100}, 1: {100, 140}, 2: {200, 300}, 3: {140, 200}}, []int{1, 3}, 2},
		{"split of a split", []jobdir.Record{done(0, 0, 10, 3), done(3, 10, 50, 4), done(4, 50, 100, 0)}, []bool{true, true, true},
			map[int][2]int{0: {0, 10}, 1: {100, 200}, 2: {200, 300}, 3: {10, 50}, 4: {50, 100}}, []int{0, 3, 4}, 2},
		{"wrong rest ID ignored", []jobdir.Record{done(0, 0, 10, 7)}, []bool{false},
			map[int][2]int{0: {0, 100}, 1: {100, 200}, 2: {200, 300}}, nil, 3},
		{"record not at the chunk's start ignored", []jobdir.Record{done(0, 5, 100, 0), done(9, 0, 10, 0), done(1, 100, 250, 0)}, []bool{false, false, false},
			map[int][2]int{0: {0, 100}, 1: {100, 200}, 2: {200, 300}}, nil, 3},
		{"a later record replaces a damaged chunk's", []jobdir.Record{done(1, 100, 150, 3), done(1, 100, 150, 0), done(3, 150, 200, 0)}, []bool{true, true, true},
			map[int][2]int{0: {0, 100}, 1: {100, 150}, 2: {200, 300}, 3: {150, 200}}, []int{1, 3}, 2},
		{"re-encoding a damaged chunk can split it again", []jobdir.Record{done(1, 100, 150, 3), done(1, 100, 120, 4)}, []bool{true, true},
			map[int][2]int{0: {0, 100}, 1: {100, 120}, 2: {200, 300}, 3: {150, 200}, 4: {120, 150}}, []int{1}, 4},
		{"other record types pass", []jobdir.Record{{Type: jobdir.RecFailed}, {Type: jobdir.RecFinished}}, []bool{true, true},
			map[int][2]int{0: {0, 100}, 1: {100, 200}, 2: {200, 300}}, nil, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := New(plan3)
			for i, r := range tc.recs {
				if err := l.Apply(r); (err == nil) != tc.ok[i] {
					t.Errorf("record %d: Apply = %v, want ok %v", i, err, tc.ok[i])
				}
			}
			chunks := map[int][2]int{}
			for id, c := range l.chunks {
				chunks[id] = [2]int{c.Start, c.End}
			}
			if !reflect.DeepEqual(chunks, tc.chunks) {
				t.Errorf("chunks %v, want %v", chunks, tc.chunks)
			}
			for _, id := range tc.done {
				if _, ok := l.done[id]; !ok {
					t.Errorf("chunk %d not done", id)
				}
			}
			if len(l.done) != len(tc.done) || len(l.Pending()) != tc.pending || l.ChunksDone() != len(tc.done) {
				t.Errorf("%d done, %d pending", len(l.done), len(l.Pending()))
			}
			// The counts are those of the done records.
			frames := 0
			for _, r := range l.done {
				frames += r.End - r.Start
			}
			if l.Frames() != frames || l.Bytes() != int64(frames) {
				t.Errorf("Frames %d, Bytes %d; the done records hold %d frames", l.Frames(), l.Bytes(), frames)
			}
			// Replaying the journal gives the same ledger.
			if r := Replay(plan3, tc.recs); !reflect.DeepEqual(r, l) {
				t.Errorf("Replay differs from Apply: %+v vs %+v", r, l)
			}
			// The chunks always tile the source.
			covered := 0
			for _, c := range l.chunks {
				covered += c.Frames()
			}
			if covered != 300 {
				t.Errorf("chunks cover %d frames", covered)
			}
		})
	}
}
