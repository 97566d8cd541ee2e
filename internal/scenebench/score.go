package scenebench

import "sort"

// Tolerance is how far, in frames, a detected cut may lie from a true cut
// and still count.
const Tolerance = 1

// Result is a detector's cuts scored against the true ones.
type Result struct {
	TP, FP, FN int
}

// Score matches detected cuts to true cuts: a detection within Tolerance
// frames of a true cut is a true positive, each true cut matching at most
// one detection; other detections are false positives, unmatched true cuts
// false negatives. Frame 0 is never a cut and is ignored on both sides, as
// are duplicates.
func Score(truth, detected []int) Result {
	t, d := clean(truth), clean(detected)
	var r Result
	// Both sorted: greedily matching each detection to the earliest
	// unmatched true cut within reach gives a maximum matching.
	j := 0
	for _, x := range d {
		for j < len(t) && t[j] < x-Tolerance {
			j++
		}
		if j < len(t) && t[j] <= x+Tolerance {
			r.TP++
			j++
		} else {
			r.FP++
		}
	}
	r.FN = len(t) - r.TP
	return r
}

// clean returns the positive frames of v, sorted, without duplicates.
func clean(v []int) []int {
	out := make([]int, 0, len(v))
	for _, x := range v {
		if x > 0 {
			out = append(out, x)
		}
	}
	sort.Ints(out)
	k := 0
	for i, x := range out {
		if i == 0 || x != out[k-1] {
			out[k] = x
			k++
		}
	}
	return out[:k]
}

// Add sums two results.
func (r Result) Add(o Result) Result {
	return Result{r.TP + o.TP, r.FP + o.FP, r.FN + o.FN}
}

// Precision is the share of detections that are true cuts (1 with no
// detections).
func (r Result) Precision() float64 {
	if r.TP+r.FP == 0 {
		return 1
	}
	return float64(r.TP) / float64(r.TP+r.FP)
}

// Recall is the share of true cuts detected (1 with no true cuts).
func (r Result) Recall() float64 {
	if r.TP+r.FN == 0 {
		return 1
	}
	return float64(r.TP) / float64(r.TP+r.FN)
}

// F1 is the harmonic mean of precision and recall.
func (r Result) F1() float64 {
	p, q := r.Precision(), r.Recall()
	if p+q == 0 {
		return 0
	}
	return 2 * p * q / (p + q)
}
