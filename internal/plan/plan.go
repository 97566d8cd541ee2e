// Package plan turns scene cuts into chunks, the units of encoding work, and
// computes the fingerprint that ties a job directory to one source and one
// set of settings.
package plan

import (
	"container/heap"
	"fmt"
	"sort"
)

// Chunk is a frame range [Start, End) of the source, encoded on its own and
// starting with a keyframe.
type Chunk struct {
	ID    int `json:"id"`
	Start int `json:"start"`
	End   int `json:"end"`
	// Cost is the chunk's predicted encoding time (CostModel), by which
	// chunks are started, most expensive first; 0 when not known (a plan
	// of an earlier version), and then the longest go first.
	Cost float64 `json:"cost,omitempty"`
}

// Part returns frames [start, end) of c, with its share of c's cost.
func (c Chunk) Part(id, start, end int) Chunk {
	p := Chunk{ID: id, Start: start, End: end}
	if c.Cost > 0 && c.Frames() > 0 {
		p.Cost = c.Cost * float64(end-start) / float64(c.Frames())
	}
	return p
}

// Frames is the number of frames in the chunk.
func (c Chunk) Frames() int { return c.End - c.Start }

func (c Chunk) String() string { return fmt.Sprintf("chunk %d [%d,%d)", c.ID, c.Start, c.End) }

// Scenes turns cut frames into scene boundaries for a source of frames
// frames. The result starts with 0, is strictly increasing, and does not
// contain frames. maxLen <= 0 means no maximum.
//
// score, when not nil, holds a value per frame that is higher where a
// keyframe fits better (the scene detector's score); it steers both rules:
//   - A scene shorter than minLen is merged into a neighbour: the weaker of
//     its two boundaries (by score) is dropped, the later one on a tie.
//   - A scene longer than maxLen is split into as few parts as fit, each
//     split placed at the best-scoring frame near its even position (within
//     a quarter of a part), the closest to it on a tie. Without scores the
//     parts are even.
func Scenes(cuts []int, frames, minLen, maxLen int, score []float64) []int {
	minLen = max(minLen, 1)
	sorted := append([]int(nil), cuts...)
	sort.Ints(sorted)
	bounds := []int{0}
	for _, c := range sorted {
		if c > bounds[len(bounds)-1] && c < frames {
			bounds = append(bounds, c)
		}
	}
	at := func(i int) float64 {
		if i < len(score) {
			return score[i]
		}
		return 0
	}
	bounds = merge(bounds, frames, minLen, at)
	end := func(i int) int {
		if i+1 < len(bounds) {
			return bounds[i+1]
		}
		return frames
	}
	if maxLen <= 0 {
		return bounds
	}
	var out []int
	var split func(b, e int)
	split = func(b, e int) {
		n := e - b
		parts := (n + maxLen - 1) / maxLen
		if parts <= 1 {
			out = append(out, b)
			return
		}
		left := parts / 2
		target := b + n*left/parts
		r := max(n/(4*parts), 0)
		lo := max(target-r, e-(parts-left)*maxLen, b+1)
		hi := min(target+r, b+left*maxLen, e-1)
		best := target
		for s := lo; s <= hi; s++ {
			d, bd := abs(s-target), abs(best-target)
			if at(s) > at(best) || (at(s) == at(best) && d < bd) {
				best = s
			}
		}
		split(b, best)
		split(best, e)
	}
	for i, b := range bounds {
		split(b, end(i))
	}
	return out
}

// merge joins scenes shorter than minLen into a neighbour, shortest
// first (the earliest on a tie), dropping the weaker of the short scene's
// two boundaries by score (the later one on a tie). Scenes are kept in a
// linked list and the short ones in a heap, so that a source with a cut
// on every frame plans in O(n log n).
func merge(bounds []int, frames, minLen int, at func(int) float64) []int {
	n := len(bounds)
	start := append([]int(nil), bounds...)
	prev, next := make([]int, n), make([]int, n)
	alive := make([]bool, n)
	for i := range start {
		prev[i], next[i], alive[i] = i-1, i+1, true
	}
	next[n-1] = -1
	end := func(i int) int {
		if next[i] < 0 {
			return frames
		}
		return start[next[i]]
	}
	h := &shortHeap{}
	for i := range start {
		if end(i)-start[i] < minLen {
			heap.Push(h, short{length: end(i) - start[i], start: start[i], id: i})
		}
	}
	count := n
	for h.Len() > 0 && count > 1 {
		s := heap.Pop(h).(short)
		i := s.id
		if !alive[i] || start[i] != s.start || end(i)-start[i] != s.length {
			continue // stale entry
		}
		// Drop the boundary at start[i] (join the scene before) or at
		// end(i) (take the next scene in): the weaker one, the later on
		// a tie; the first and the last scene have only one.
		joinPrev := prev[i] >= 0 && (next[i] < 0 || at(start[i]) < at(end(i)))
		keep, gone := i, next[i]
		if joinPrev {
			keep, gone = prev[i], i
		}
		alive[gone] = false
		next[keep] = next[gone]
		if next[gone] >= 0 {
			prev[next[gone]] = keep
		}
		count--
		if l := end(keep) - start[keep]; l < minLen {
			heap.Push(h, short{length: l, start: start[keep], id: keep})
		}
	}
	out := make([]int, 0, count)
	for i := 0; i >= 0; i = next[i] {
		out = append(out, start[i])
	}
	return out
}

// short is a scene shorter than the minimum, in merge's heap.
type short struct{ length, start, id int }

type shortHeap []short

func (h shortHeap) Len() int { return len(h) }
func (h shortHeap) Less(i, j int) bool {
	if h[i].length != h[j].length {
		return h[i].length < h[j].length
	}
	return h[i].start < h[j].start
}
func (h shortHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *shortHeap) Push(x any)   { *h = append(*h, x.(short)) }
func (h *shortHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Chunks makes one chunk per scene, numbered in source order.
func Chunks(bounds []int, frames int) []Chunk {
	chunks := make([]Chunk, 0, len(bounds))
	for i, b := range bounds {
		end := frames
		if i+1 < len(bounds) {
			end = bounds[i+1]
		}
		chunks = append(chunks, Chunk{ID: i, Start: b, End: end})
	}
	return chunks
}

// LongestFirst returns the chunks in the order they should be encoded:
// longest first, so that the last chunks to finish are short ones and the
// workers run out of work together; ties go in source order.
func LongestFirst(chunks []Chunk) []Chunk {
	out := append([]Chunk(nil), chunks...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Frames() > out[j].Frames() })
	return out
}

// CostliestFirst returns the chunks in the order they should be encoded:
// the most expensive first (by predicted cost, where every chunk has one;
// else by length), so that the tail is made of cheap chunks and no costly
// one runs alone at the end; ties go in source order.
func CostliestFirst(chunks []Chunk) []Chunk {
	out := append([]Chunk(nil), chunks...)
	sort.SliceStable(out, func(i, j int) bool { return Before(out[i], out[j]) })
	return out
}

// Before reports whether a goes before b in CostliestFirst's order: by
// predicted cost where both have one, else by length, then in source
// order.
func Before(a, b Chunk) bool {
	if a.Cost > 0 && b.Cost > 0 && a.Cost != b.Cost {
		return a.Cost > b.Cost
	}
	if a.Frames() != b.Frames() {
		return a.Frames() > b.Frames()
	}
	return a.Start < b.Start
}
