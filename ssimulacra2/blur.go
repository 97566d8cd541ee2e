package ssimulacra2

import "math"

// A recursiveGaussian holds the coefficients of the recursive (IIR)
// approximation of a Gaussian blur from D. Charalampidis, "Recursive
// Implementation of the Gaussian Filter Using Truncated Cosine Functions"
// (IEEE Trans. Signal Processing, 2016), the filter the reference uses.
//
// The kernel is a sum of three cosines of frequencies k*pi/(2N), k = 1, 3, 5,
// truncated to 2N+1 taps. Each term is run as a second-order recursion over
// the sum of the two samples entering and leaving the window:
//
//	y_k[n] = n2_k*(in[n-N-1] + in[n+N-1]) - d1_k*y_k[n-1] - y_k[n-2]
//
// and the output at n is y_1[n] + y_3[n] + y_5[n]. Samples outside the
// signal are zero, and the recursion starts from rest at n = 1-N.
//
// The arithmetic follows the reference's: float32 throughout, fused
// multiply-adds where it uses them, and the horizontal pass computing four
// outputs at a time from the two outputs before them. In nearly flat areas
// the SSIM term is dominated by float32 rounding in these recursions, so
// exact arithmetic (or a different order of operations) would change the
// score of near-identical images by up to a point.
type recursiveGaussian struct {
	radius int
	n2, d1 [3]float32
	// For four outputs o_j, j = 0..3, computed at once:
	// o_j = sum_k mulIn[j-k]*s_k + mulPrev[j]*y[n-1] + mulPrev2[j]*y[n-2],
	// where s_k is the window sum entering at output k.
	mulIn, mulPrev, mulPrev2 [3][4]float32
}

// newRecursiveGaussian solves for the filter weights of standard deviation
// sigma (the paper's equations 33 to 57).
func newRecursiveGaussian(sigma float64) recursiveGaussian {
	radius := math.Round(3.2795*sigma + 0.2546)
	var omega, p, r, rho [3]float64
	for i, k := range [3]float64{1, 3, 5} {
		omega[i] = k * math.Pi / (2 * radius)
		sign := 1.0
		if i == 1 {
			sign = -1
		}
		p[i] = sign / math.Tan(omega[i]/2)
		r[i] = sign * p[i] * p[i] / math.Sin(omega[i])
		rho[i] = math.Exp(-0.5*sigma*sigma*omega[i]*omega[i]) / radius
	}
	d13 := p[0]*r[1] - r[0]*p[1]
	d35 := p[1]*r[2] - r[1]*p[2]
	d51 := p[2]*r[0] - r[2]*p[0]
	zeta15, zeta35 := d35/d13, d51/d13

	// beta solves A*beta = gamma.
	a := [3][3]float64{
		{p[0], p[1], p[2]},
		{r[0], r[1], r[2]},
		{zeta15, zeta35, 1},
	}
	gamma := [3]float64{1, radius*radius - sigma*sigma, zeta15*rho[0] + zeta35*rho[1] + rho[2]}
	beta := solve3(a, gamma)

	g := recursiveGaussian{radius: int(radius)}
	for i := range omega {
		n2 := -beta[i] * math.Cos(omega[i]*(radius+1))
		d1 := -2 * math.Cos(omega[i])
		g.n2[i] = float32(n2)
		g.d1[i] = float32(d1)
		// Expanding y[n] = n2*s[n] - d1*y[n-1] - y[n-2] four times.
		d2 := d1 * d1
		g.mulIn[i] = [4]float32{float32(n2), float32(-d1 * n2), float32((d2 - 1) * n2), float32((-d2*d1 + 2*d1) * n2)}
		g.mulPrev[i] = [4]float32{float32(-d1), float32(d2 - 1), float32(-d2*d1 + 2*d1), float32(d2*d2 - 3*d2 + 1)}
		g.mulPrev2[i] = [4]float32{-1, float32(d1), float32(1 - d2), float32(d2*d1 - 2*d1)}
	}
	return g
}

// solve3 solves a*x = b by Cramer's rule.
func solve3(a [3][3]float64, b [3]float64) [3]float64 {
	det := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
			m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
			m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(a)
	var x [3]float64
	for col := range x {
		m := a
		for row := range m {
			m[row][col] = b[row]
		}
		x[col] = det(m) / d
	}
	return x
}

// fma returns a*b+c rounded once to float32. The product of two float32
// values is exact in float64, so only the sum is rounded twice, which
// differs from a single rounding only in very rare ties.
func fma(a, b, c float32) float32 {
	return float32(float64(a)*float64(b) + float64(c))
}

// blurRow blurs one row: out[i] for every i of in, len(out) == len(in).
//
//go:norace
func (g *recursiveGaussian) blurRow(in, out []float32) {
	w := len(in)
	N := g.radius
	var prev, prev2 [3]float32 // y[n-1] and y[n-2] of each term

	// One output at a time where the window leaves the row, and at first
	// until a multiple of four outputs.
	one := func(n int) float32 {
		var s float32
		if l := n - N - 1; l >= 0 {
			s = in[l]
		}
		if r := n + N - 1; r < w {
			s += in[r]
		}
		var y [3]float32
		for k := range y {
			v := s * g.mulIn[k][0]
			v = fma(g.mulPrev2[k][0], prev2[k], v)
			v = fma(g.mulPrev[k][0], prev[k], v)
			prev2[k], prev[k] = prev[k], v
			y[k] = v
		}
		return y[0] + (y[1] + y[2])
	}
	n := 1 - N
	for end := min((N+1+3)&^3, w); n < end; n++ {
		if v := one(n); n >= 0 {
			out[n] = v
		}
	}
	// Four outputs at a time, each from the window sums and the two
	// outputs before the four.
	for ; n < w-N+1-3; n += 4 {
		left, right := in[n-N-1:n-N+3], in[n+N-1:n+N+3]
		s0, s1, s2, s3 := left[0]+right[0], left[1]+right[1], left[2]+right[2], left[3]+right[3]
		var o [3][4]float32
		for k := range o {
			mi, mp, mp2 := &g.mulIn[k], &g.mulPrev[k], &g.mulPrev2[k]
			p, p2 := prev[k], prev2[k]
			o0 := fma(mp[0], p, fma(mp2[0], p2, mi[0]*s0))
			o1 := fma(mp[1], p, fma(mp2[1], p2, fma(mi[0], s1, mi[1]*s0)))
			o2 := fma(mp[2], p, fma(mp2[2], p2, fma(mi[0], s2, fma(mi[1], s1, mi[2]*s0))))
			o3 := fma(mp[3], p, fma(mp2[3], p2, fma(mi[0], s3, fma(mi[1], s2, fma(mi[2], s1, mi[3]*s0)))))
			prev2[k], prev[k] = o2, o3
			o[k] = [4]float32{o0, o1, o2, o3}
		}
		dst := out[n : n+4]
		for j := range dst {
			dst[j] = o[0][j] + (o[1][j] + o[2][j])
		}
	}
	for ; n < w; n++ {
		out[n] = one(n)
	}
}

// A vstate is the recursion state of a vertical pass over a band of
// columns: y[n-1] and y[n-2] of each of the three terms.
type vstate struct {
	prev, prev2 [3][]float32
}

func newVState(width int) *vstate {
	s := &vstate{}
	for k := 0; k < 3; k++ {
		s.prev[k] = make([]float32, width)
		s.prev2[k] = make([]float32, width)
	}
	return s
}

// step advances the vertical recursion by one row given the rows entering
// (top) and leaving (bottom) the window, either of which may be all zeros,
// and writes the output row to out.
//
//go:norace
func (g *recursiveGaussian) step(s *vstate, top, bottom, out []float32) {
	n21, n23, n25 := float64(g.n2[0]), float64(g.n2[1]), float64(g.n2[2])
	d11, d13, d15 := float64(g.d1[0]), float64(g.d1[1]), float64(g.d1[2])
	p1, p3, p5 := s.prev[0], s.prev[1], s.prev[2]
	q1, q3, q5 := s.prev2[0], s.prev2[1], s.prev2[2]
	n := len(out)
	p1, p3, p5, q1, q3, q5 = p1[:n], p3[:n], p5[:n], q1[:n], q3[:n], q5[:n]
	top, bottom = top[:n], bottom[:n]
	for i := range out {
		v := float64(top[i] + bottom[i])
		// y = n2*v + (-d1*y[n-1] - y[n-2]), each part rounded once.
		y1 := float32(n21*v + float64(float32(-d11*float64(p1[i])-float64(q1[i]))))
		y3 := float32(n23*v + float64(float32(-d13*float64(p3[i])-float64(q3[i]))))
		y5 := float32(n25*v + float64(float32(-d15*float64(p5[i])-float64(q5[i]))))
		q1[i], q3[i], q5[i] = y1, y3, y5
		out[i] = y1 + (y3 + y5)
	}
	// The rows just written become y[n-1]; the old y[n-1] becomes y[n-2].
	s.prev, s.prev2 = s.prev2, s.prev
}
