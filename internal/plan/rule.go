package plan

import "math"

// costSpread is how far above the cost of a maximum-length chunk of the
// source's average content a chunk may be predicted before it is split.
const costSpread = 1.5

// typicalMotion is the median motion of the cost model's calibration
// shots (tools/costfit).
const typicalMotion = 2.5

// A CostRule prices chunks with the cost model and splits those whose
// predicted cost is far above what a chunk of maximum length costs on
// typical content, at their best keyframe near the middle of their cost:
// so that no single chunk can hold up the job's end. It sees only what the
// scene pass has made final.
type CostRule struct {
	m      CostModel
	w, h   int
	q      int
	minLen int
	limit  float64 // predicted seconds a chunk may cost
	// The scene pass's measures of the frames final so far (See).
	detail, motion []float64
	bytes          []int64
}

// cost predicts frames [s,e).
func (r *CostRule) cost(s, e int) float64 {
	if len(r.detail) < e || len(r.motion) < e {
		return 0
	}
	return r.m.Predict(Measure(r.detail, r.motion, r.bytes, r.w, r.h, s, e), e-s, r.w, r.h, r.q)
}

// Price sets the chunks' predicted costs.
func (r *CostRule) Price(chunks []Chunk) {
	for i := range chunks {
		chunks[i].Cost = r.cost(chunks[i].Start, chunks[i].End)
	}
}

// Split is a Planner's Split rule.
func (r *CostRule) Split(start, end int, score []float64) []int {
	total := r.cost(start, end)
	if total <= r.limit || end-start < 2*r.minLen {
		return nil
	}
	parts := int(math.Ceil(total / r.limit))
	// Cut where the cost before reaches its share, at the best-scoring
	// frame within a quarter of a part of it.
	target := float64(parts/2) / float64(parts)
	var costs []float64
	var sum float64
	for i := start; i < end; i++ {
		costs = append(costs, r.cost(i, i+1))
		sum += costs[len(costs)-1]
	}
	at, acc := start+1, 0.0
	for ; at < end-1; at++ {
		acc += costs[at-1-start]
		if acc >= target*sum {
			break
		}
	}
	span := max(1, (end-start)/(4*parts))
	lo, hi := max(start+r.minLen, at-span), min(end-r.minLen, at+span)
	if lo > hi {
		return nil
	}
	best := max(lo, min(hi, at))
	for k := lo; k <= hi; k++ {
		d, bd := abs(k-at), abs(best-at)
		if k < len(score) && best < len(score) && (score[k] > score[best] || score[k] == score[best] && d < bd) {
			best = k
		}
	}
	return append(append(r.Split(start, best, score), best), r.Split(best, end, score)...)
}

// NewCostRule returns the rule for a w x h source whose frames take bpp
// bits per pixel on average, encoded at speed and quantizer q in chunks of
// minLen to maxLen frames.
func NewCostRule(speed, w, h, q, minLen, maxLen int, bpp float64) *CostRule {
	r := &CostRule{m: ModelFor(speed), w: w, h: h, q: q, minLen: minLen}
	// The yardstick: a chunk of maximum length at the source's mean bit
	// rate (known from the container before the pass).
	average := Features{BPP: bpp, Motion: typicalMotion}
	r.limit = costSpread * r.m.Predict(average, maxLen, w, h, q)
	return r
}

// See gives the rule the scene pass's measures of every frame final so
// far (scene.Analysis's Detail, Motion and Bytes); the pass only appends.
func (r *CostRule) See(detail, motion []float64, bytes []int64) {
	r.detail, r.motion, r.bytes = detail, motion, bytes
}
