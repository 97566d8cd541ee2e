package ssimulacra2

import (
	"math"
	"testing"
)

// TestBlurImpulse checks that the recursive filter approximates a Gaussian
// of sigma 1.5 with unit gain, horizontally and vertically alike.
func TestBlurImpulse(t *testing.T) {
	g := newRecursiveGaussian(blurSigma)
	if g.radius != 5 {
		t.Fatalf("radius %d, want 5", g.radius)
	}
	for _, w := range []int{9, 31, 64} {
		in := make([]float32, w)
		c := w / 2
		in[c] = 1
		out := make([]float32, w)
		g.blurRow(in, out)

		// The same column through the vertical recursion.
		s := newVState(1)
		zero := []float32{0}
		vout := make([]float32, w)
		row := make([]float32, 1)
		for n := 1 - g.radius; n < w; n++ {
			top, bottom := zero, zero
			if i := n - g.radius - 1; i >= 0 {
				top = in[i : i+1]
			}
			if i := n + g.radius - 1; i < w {
				bottom = in[i : i+1]
			}
			g.step(s, top, bottom, row)
			if n >= 0 {
				vout[n] = row[0]
			}
		}

		var sum float64
		for i := range out {
			d := float64(i - c)
			want := math.Exp(-d*d/(2*blurSigma*blurSigma)) / (blurSigma * math.Sqrt(2*math.Pi))
			if math.Abs(float64(out[i])-want) > 0.01 {
				t.Errorf("width %d: out[%d] = %v, Gaussian %v", w, i, out[i], want)
			}
			if math.Abs(float64(out[i]-vout[i])) > 1e-6 {
				t.Errorf("width %d: horizontal %v and vertical %v differ at %d", w, out[i], vout[i], i)
			}
			sum += float64(out[i])
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Errorf("width %d: gain %v, want 1", w, sum)
		}
	}
}
