// Package plan turns scene cuts into chunks, the units of encoding work, and
// computes the fingerprint that ties a job directory to one source and one
// set of settings.
package plan

import (
	"fmt"
	"sort"
)

// Chunk is a frame range [Start, End) of the source, encoded on its own and
// starting with a keyframe.
type Chunk struct {
	ID    int `json:"id"`
	Start int `json:"start"`
	End   int `json:"end"`
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
	end := func(i int) int {
		if i+1 < len(bounds) {
			return bounds[i+1]
		}
		return frames
	}
	for len(bounds) > 1 {
		short := -1
		for i := range bounds {
			if n := end(i) - bounds[i]; n < minLen && (short < 0 || n < end(short)-bounds[short]) {
				short = i
			}
		}
		if short < 0 {
			break
		}
		// Drop bounds[short] (merge into the scene before) or
		// bounds[short+1] (merge the next scene in).
		drop := short + 1
		switch {
		case short == 0:
		case short == len(bounds)-1:
			drop = short
		case at(bounds[short]) < at(bounds[short+1]):
			drop = short
		}
		bounds = append(bounds[:drop], bounds[drop+1:]...)
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
