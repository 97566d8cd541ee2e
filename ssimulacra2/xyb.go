package ssimulacra2

import "math"

// Opsin absorbance of the XYB colour space as used by SSIMULACRA 2 (the
// JPEG XL one): each row mixes linear R, G and B into one of three cone-like
// responses, to which a small bias is added before the cube root.
var (
	opsinM00 = float32(0.30)
	opsinM02 = float32(0.078)
	opsinM01 = float32(1) - opsinM02 - opsinM00
	opsinM10 = float32(0.23)
	opsinM12 = float32(0.078)
	opsinM11 = float32(1) - opsinM12 - opsinM10
	opsinM20 = float32(0.24342268924547819)
	opsinM21 = float32(0.20476744424496821)
	opsinM22 = float32(1) - opsinM20 - opsinM21

	opsinBias     = float32(0.0037930732552754493)
	opsinBiasCbrt = float32(math.Cbrt(float64(opsinBias)))
)

// toXYB converts rows [y0, y1) of the linear RGB planes in to the rescaled
// XYB planes out: X, Y and B-Y shifted and scaled into roughly 0..1 so that
// pixel differences stay below 1 (the reference's MakePositiveXYB).
//
//go:norace
func toXYB(in, out [3][]float32, w, y0, y1 int) {
	lo, hi := y0*w, y1*w
	r, g, b := in[0][lo:hi], in[1][lo:hi], in[2][lo:hi]
	ox, oy, ob := out[0][lo:hi], out[1][lo:hi], out[2][lo:hi]
	for i := range r {
		rr, gg, bb := r[i], g[i], b[i]
		m0 := fma(opsinM00, rr, fma(opsinM01, gg, fma(opsinM02, bb, opsinBias)))
		m1 := fma(opsinM10, rr, fma(opsinM11, gg, fma(opsinM12, bb, opsinBias)))
		m2 := fma(opsinM20, rr, fma(opsinM21, gg, fma(opsinM22, bb, opsinBias)))
		m0 = cbrt(max(m0, 0)) - opsinBiasCbrt
		m1 = cbrt(max(m1, 0)) - opsinBiasCbrt
		m2 = cbrt(max(m2, 0)) - opsinBiasCbrt
		x := 0.5 * (m0 - m1)
		y := 0.5 * (m0 + m1)
		ox[i] = x*14 + 0.42
		oy[i] = y + 0.01
		ob[i] = (m2 - y) + 0.55
	}
}

// cbrt returns the cube root of x >= 0 to within float32 precision.
func cbrt(x float32) float32 {
	if x == 0 {
		return 0
	}
	// A guess from the exponent bits (about 3% off), then Newton steps in
	// float64: the error goes 3e-2, 1e-3, 1e-6, 1e-12.
	g := float64(math.Float32frombits(math.Float32bits(x)/3 + 0x2a508935))
	v := float64(x)
	g -= (g - v/(g*g)) / 3
	g -= (g - v/(g*g)) / 3
	g -= (g - v/(g*g)) / 3
	return float32(g)
}

// downsample2 halves a linear RGB image by averaging 2x2 boxes; an odd last
// row or column is averaged with itself. It writes rows [oy0, oy1) of out,
// which is (w+1)/2 wide.
//
//go:norace
func downsample2(in, out [3][]float32, w, h, oy0, oy1 int) {
	ow := (w + 1) / 2
	for c := 0; c < 3; c++ {
		src, dst := in[c], out[c]
		for oy := oy0; oy < oy1; oy++ {
			r0 := src[2*oy*w : 2*oy*w+w]
			r1 := r0
			if 2*oy+1 < h {
				r1 = src[(2*oy+1)*w : (2*oy+1)*w+w]
			}
			d := dst[oy*ow : oy*ow+ow]
			for ox := range d {
				x0, x1 := 2*ox, 2*ox+1
				if x1 >= w {
					x1 = w - 1
				}
				d[ox] = (r0[x0] + r0[x1] + r1[x0] + r1[x1]) * 0.25
			}
		}
	}
}
