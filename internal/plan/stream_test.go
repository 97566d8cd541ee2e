package plan

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestPlannerMatchesBatch: chunks planned while the cuts stream in are the
// chunks of planning the whole source at once, wherever the stream pauses.
func TestPlannerMatchesBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	split := func(start, end int, score []float64) []int {
		// A stand-in for the cost rule: cut chunks that hold a frame
		// scoring above 5 there, if both parts keep 3 frames.
		var out []int
		for i := start + 3; i < end-3; i++ {
			if score[i] > 5 {
				out = append(out, i)
				break
			}
		}
		return out
	}
	for trial := range 3000 {
		frames := 1 + r.IntN(400)
		minLen := 1 + r.IntN(30)
		maxLen := 0
		if r.IntN(3) > 0 {
			maxLen = minLen + r.IntN(120)
		}
		cuts := []int{0}
		for f := 1; f < frames; f++ {
			if r.IntN(1+r.IntN(40)) == 0 {
				cuts = append(cuts, f)
			}
		}
		score := make([]float64, frames)
		for i := range score {
			score[i] = r.Float64() * 6
		}
		var useSplit func(int, int, []float64) []int
		if trial%2 == 0 {
			useSplit = split
		}
		want := (&Planner{MinLen: minLen, MaxLen: maxLen, Split: useSplit}).Finish(frames, cuts, score)
		// The same source, streamed: final frames grow in random steps.
		p := &Planner{MinLen: minLen, MaxLen: maxLen, Split: useSplit}
		var got []Chunk
		for n := 0; n < frames; {
			n = min(frames, n+1+r.IntN(60))
			var seen []int
			for _, c := range cuts {
				if c < n {
					seen = append(seen, c)
				}
			}
			got = append(got, p.Add(n, seen, score[:n])...)
		}
		got = append(got, p.Finish(frames, cuts, score)...)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d (frames %d, min %d, max %d, cuts %v):\nstreamed %v\nat once   %v", trial, frames, minLen, maxLen, cuts, got, want)
		}
		// At once is what Scenes and Chunks give, when nothing splits.
		if useSplit == nil {
			if batch := Chunks(Scenes(cuts, frames, minLen, maxLen, score), frames); !reflect.DeepEqual(want, batch) {
				t.Fatalf("trial %d: Finish %v, Scenes %v", trial, want, batch)
			}
		}
	}
}
