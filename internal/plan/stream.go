package plan

import "sort"

// A Planner turns scene cuts into chunks as the scene pass finds them, so
// that encoding can start before the pass ends. The chunks it returns are
// final, numbered in source order, and the same, whatever the moment they
// are asked for, as those of planning the whole source at once (Scenes,
// then the cost rule).
//
// A cut is final for planning once both scenes around it are at least
// MinLen long: merging only ever drops a boundary of a scene shorter than
// MinLen, and merging makes scenes longer, never shorter, so such a cut
// stays. Between two final cuts the scenes are planned on their own.
type Planner struct {
	MinLen int // frames; a shorter scene joins a neighbour across its weaker cut
	MaxLen int // frames; a longer scene is split where a keyframe fits best (<= 0: no limit)
	// Split, when set, returns the frames at which a chunk [start,end) is
	// cut further (the cost rule); it sees only final scores.
	Split func(start, end int, score []float64) []int

	done   int // frames planned: the next chunk starts here
	nextID int
}

// Add plans what the pass has made final: frames [0,n) with their cuts
// (ascending, frame 0 first or absent) and scores. It returns the chunks
// that became final.
func (p *Planner) Add(n int, cuts []int, score []float64) []Chunk {
	safe := -1
	raw := rawCuts(cuts, p.done, n)
	for i := len(raw) - 1; i >= 1; i-- {
		c := raw[i]
		next := n
		if i+1 < len(raw) {
			next = raw[i+1]
		}
		if c-raw[i-1] >= p.MinLen && next-c >= p.MinLen {
			safe = c
			break
		}
	}
	if safe <= p.done {
		return nil
	}
	return p.plan(safe, raw, score)
}

// Finish plans the rest once the pass has ended with frames frames.
func (p *Planner) Finish(frames int, cuts []int, score []float64) []Chunk {
	if p.done >= frames {
		return nil
	}
	return p.plan(frames, rawCuts(cuts, p.done, frames), score)
}

// rawCuts returns p.done followed by the cuts in (done, n).
func rawCuts(cuts []int, done, n int) []int {
	out := []int{done}
	i := sort.SearchInts(cuts, done+1)
	for ; i < len(cuts) && cuts[i] < n; i++ {
		out = append(out, cuts[i])
	}
	return out
}

// plan plans frames [p.done, end) from their raw cuts.
func (p *Planner) plan(end int, raw []int, score []float64) []Chunk {
	a := p.done
	var local []int
	for _, c := range raw {
		if c < end {
			local = append(local, c-a)
		}
	}
	var sub []float64
	if a < len(score) {
		sub = score[a:min(end, len(score))]
	}
	bounds := Scenes(local, end-a, p.MinLen, p.MaxLen, sub)
	var out []Chunk
	for i, b := range bounds {
		start, stop := a+b, end
		if i+1 < len(bounds) {
			stop = a + bounds[i+1]
		}
		cuts := []int{start}
		if p.Split != nil {
			cuts = append(cuts, p.Split(start, stop, score)...)
		}
		for k, s := range cuts {
			e := stop
			if k+1 < len(cuts) {
				e = cuts[k+1]
			}
			out = append(out, Chunk{ID: p.nextID, Start: s, End: e})
			p.nextID++
		}
	}
	p.done = end
	return out
}
