package plan

import (
	"fmt"
	"math"
)

// Features are what the scene pass measures of a chunk's content that
// predicts its encoding cost: the bits per pixel the source's own encoder
// spent on its frames (the best predictor by far: noise, grain and
// churning detail cost every encoder), its mean spatial detail and its mean
// change from frame to frame (motion), both in 8-bit luma levels on the
// scene pass's small grey frames.
type Features struct {
	BPP    float64 `json:"bpp"`
	Detail float64 `json:"detail"`
	Motion float64 `json:"motion"`
}

// Measure returns the features of frames [start,end) of a w x h source from
// the scene pass's per-frame detail, motion and compressed sizes. A
// chunk's first frame's motion is its cut, not its content, and is left
// out. Missing measures give zero features.
func Measure(detail, motion []float64, bytes []int64, w, h, start, end int) Features {
	var f Features
	if end > len(detail) || end > len(motion) || end <= start {
		return f
	}
	if end <= len(bytes) && w > 0 && h > 0 {
		var b int64
		for i := start; i < end; i++ {
			b += bytes[i]
		}
		f.BPP = float64(b) * 8 / float64(end-start) / float64(w*h)
	}
	for i := start; i < end; i++ {
		f.Detail += detail[i]
	}
	f.Detail /= float64(end - start)
	if end-start > 1 {
		for i := start + 1; i < end; i++ {
			f.Motion += motion[i]
		}
		f.Motion /= float64(end - start - 1)
	}
	return f
}

// Regressors are the model's inputs for features f at quantizer q: a
// constant, the logarithms of the source's bits per pixel and of motion,
// and the quantizer's distance from rav1e's default.
func Regressors(f Features, q int) []float64 {
	return []float64{1, math.Log(f.BPP + 0.01), math.Log1p(f.Motion), float64(q-100) / 100}
}

// A CostModel predicts rav1e's CPU time for a chunk at one speed:
//
//	seconds = frames x megapixels x exp(Coef . Regressors(features, quantizer))
//
// Its coefficients are fitted by tools/costfit on measured encodes of
// varied generated content (rav1e 0.5.1, --threads 1, 640x360).
type CostModel struct {
	Speed int
	Coef  [4]float64
}

func (m CostModel) String() string {
	return fmt.Sprintf("plan.CostModel{Speed: %d, Coef: [4]float64{%.4f, %.4f, %.4f, %.4f}}", m.Speed, m.Coef[0], m.Coef[1], m.Coef[2], m.Coef[3])
}

// Predict returns the predicted CPU seconds of encoding frames frames of
// w x h with features f at quantizer q.
func (m CostModel) Predict(f Features, frames, w, h, q int) float64 {
	x := Regressors(f, q)
	var e float64
	for i, c := range m.Coef {
		e += c * x[i]
	}
	return float64(frames) * float64(w) * float64(h) / 1e6 * math.Exp(e)
}

// costModels are the fitted models, by speed; other speeds use the nearest.
//
// Fitted on 22 shots of 48 frames at quantizers 60, 100 and 150; on 30
// held-out shots the rank correlation (Spearman) of predicted and measured
// times was 0.949 at speed 10 and 0.939 at speed 6.
var costModels = []CostModel{
	{Speed: 10, Coef: [4]float64{-0.6922, 0.2668, 0.1067, -0.2405}},
	{Speed: 6, Coef: [4]float64{0.4440, 0.3651, 0.0617, -0.3025}},
}

// ModelFor returns the cost model for a speed.
func ModelFor(speed int) CostModel {
	best := costModels[0]
	for _, m := range costModels {
		if abs(m.Speed-speed) < abs(best.Speed-speed) {
			best = m
		}
	}
	return best
}
