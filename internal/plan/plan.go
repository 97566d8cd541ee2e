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
// frames: cuts closer than minLen to the previous boundary are dropped (the
// short scene joins its neighbour), and scenes longer than maxLen are split
// into equal parts no longer than maxLen. The result starts with 0, is
// strictly increasing, and does not contain frames. maxLen <= 0 means no
// maximum.
func Scenes(cuts []int, frames, minLen, maxLen int) []int {
	if minLen < 1 {
		minLen = 1
	}
	sorted := append([]int(nil), cuts...)
	sort.Ints(sorted)
	bounds := []int{0}
	for _, c := range sorted {
		if c <= bounds[len(bounds)-1] || c >= frames {
			continue
		}
		if c-bounds[len(bounds)-1] < minLen || frames-c < minLen {
			continue
		}
		bounds = append(bounds, c)
	}
	if maxLen <= 0 {
		return bounds
	}
	var out []int
	for i, b := range bounds {
		end := frames
		if i+1 < len(bounds) {
			end = bounds[i+1]
		}
		n := end - b
		parts := (n + maxLen - 1) / maxLen
		for p := 0; p < parts; p++ {
			out = append(out, b+p*n/parts)
		}
	}
	return out
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
