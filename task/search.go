package task

import (
	"math"
	"sort"
)

// A decision ends a search: the quantizer to encode at, the score it is
// expected to give (interpolated between probes), and whether the target
// is reached within the range (false when even MinQ scores below it).
type decision struct {
	Quantizer int
	Predicted float64
	Reached   bool
}

// search is the quantizer search: given the probes so far (tq.Known), it
// returns the quantizer to probe next (next > 0), or the decision (next
// == 0). It is a function of tq only, so a search resumed from journaled
// probes goes on exactly as it would have.
//
// Scores are taken to fall as the quantizer rises, but the search holds
// when they do not: the bracket is the lowest probed quantizer scoring
// below the target (fail) and the highest one below that reaching it
// (pass). A probe goes between them, at the quantizer where the line
// through their scores meets the target but at least a quarter of the
// bracket from either end. With one side missing it goes halfway to the
// end of the range after one probe; after more, along the line through
// the nearest probe and the farthest (a wide base: probes close together
// would give noise's slope), or to the end of the range when their scores
// do not fall; never beyond the range. The search ends after tq.Probes
// probes, when the bracket is closed (fail = pass + 1), or when the end of
// the range is probed and still on the same side; the decision then
// interpolates inside the bracket, rounding towards quality. Without a
// probe that reaches the target it is MinQ when MinQ was probed, else
// where the line through the lowest and the highest probe meets the
// target (MinQ if it does not fall), Reached false; without one that misses it, the
// highest quantizer probed.
func (tq TargetQuality) search() (next int, d decision) {
	ps := sortedProbes(tq.Known)
	pass, fail := bracket(ps, tq.Score)
	switch {
	case len(ps) == 0:
		return (tq.MinQ + tq.MaxQ + 1) / 2, decision{}
	case pass != nil && fail != nil:
		q := meet(*pass, *fail, tq.Score)
		if fail.Quantizer-pass.Quantizer <= 1 || len(ps) >= tq.Probes {
			return 0, decision{Quantizer: q, Predicted: along(*pass, *fail, q), Reached: true}
		}
		// Not too near either end: scores that hold up and then drop
		// steeply would otherwise draw probe after probe to the same
		// side (regula falsi's slow end), so a probe stays a quarter of
		// the bracket away from its ends.
		w := fail.Quantizer - pass.Quantizer
		return clamp(q, pass.Quantizer+max(1, w/4), fail.Quantizer-max(1, w/4)), decision{}
	case fail == nil: // every probe reaches the target: go higher
		hi := ps[len(ps)-1]
		if hi.Quantizer >= tq.MaxQ || len(ps) >= tq.Probes {
			return 0, decision{Quantizer: hi.Quantizer, Predicted: hi.Score, Reached: true}
		}
		q := (hi.Quantizer + tq.MaxQ + 1) / 2 // one probe: halfway to the end
		if len(ps) >= 2 {
			q = tq.MaxQ // flat: the end is likely to reach it too
			if e, ok := extrapolate(ps[0], hi, tq.Score); ok {
				q = e
			}
		}
		return clamp(q, hi.Quantizer+1, tq.MaxQ), decision{}
	default: // no probe reaches it: go lower
		lo := ps[0]
		e, falling := 0, false
		if len(ps) >= 2 {
			e, falling = extrapolate(lo, ps[len(ps)-1], tq.Score)
		}
		switch {
		case lo.Quantizer <= tq.MinQ:
			// Not reached: the best the range allows.
			return 0, decision{Quantizer: tq.MinQ, Predicted: lo.Score}
		case len(ps) >= tq.Probes:
			// Out of probes: where the scores point, else the best the
			// range allows.
			if !falling {
				return 0, decision{Quantizer: tq.MinQ, Predicted: lo.Score}
			}
			q := clamp(e, tq.MinQ, lo.Quantizer-1)
			return 0, decision{Quantizer: q, Predicted: along(lo, ps[len(ps)-1], q)}
		}
		q := (lo.Quantizer + tq.MinQ) / 2 // one probe: halfway to the end
		if len(ps) >= 2 {
			q = tq.MinQ // flat: only the end can tell
			if falling {
				q = e
			}
		}
		return clamp(q, tq.MinQ, lo.Quantizer-1), decision{}
	}
}

// sortedProbes returns the probes by quantizer, one per quantizer (the
// last one given wins).
func sortedProbes(probes []Probe) []Probe {
	by := map[int]Probe{}
	for _, p := range probes {
		by[p.Quantizer] = p
	}
	ps := make([]Probe, 0, len(by))
	for _, p := range by {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Quantizer < ps[j].Quantizer })
	return ps
}

// bracket returns the lowest quantizer that fails the target and the
// highest one below it that passes, either nil when there is none.
func bracket(ps []Probe, target float64) (pass, fail *Probe) {
	for i := range ps {
		if ps[i].Score < target {
			fail = &ps[i]
			break
		}
	}
	for i := range ps {
		if ps[i].Score >= target && (fail == nil || ps[i].Quantizer < fail.Quantizer) {
			pass = &ps[i]
		}
	}
	return pass, fail
}

// meet returns the quantizer in [pass, fail-1] where the line through the
// two probes reaches the target, rounded down (towards quality).
func meet(pass, fail Probe, target float64) int {
	ds := pass.Score - fail.Score
	if ds <= 0 {
		return pass.Quantizer
	}
	q := float64(pass.Quantizer) + (pass.Score-target)/ds*float64(fail.Quantizer-pass.Quantizer)
	return clamp(int(math.Floor(q)), pass.Quantizer, fail.Quantizer-1)
}

// along returns the score the line through two probes gives at q.
func along(a, b Probe, q int) float64 {
	if a.Quantizer == b.Quantizer {
		return a.Score
	}
	return a.Score + (b.Score-a.Score)*float64(q-a.Quantizer)/float64(b.Quantizer-a.Quantizer)
}

// extrapolate returns where the line through a and b (a's quantizer the
// lower) meets the target, when the scores fall along it.
func extrapolate(a, b Probe, target float64) (int, bool) {
	slope := (b.Score - a.Score) / float64(b.Quantizer-a.Quantizer)
	if !(slope < 0) {
		return 0, false
	}
	q := float64(a.Quantizer) + (target-a.Score)/slope
	if math.IsNaN(q) || math.IsInf(q, 0) || math.Abs(q) > 1e6 {
		return 0, false
	}
	return int(math.Floor(q)), true
}

func clamp(q, lo, hi int) int { return min(max(q, lo), hi) }
