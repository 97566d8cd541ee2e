package ssimulacra2

import "math"

// Matrix is the Y'CbCr matrix (the luma coefficients) of a video stream.
type Matrix int

const (
	// MatrixUnspecified means BT.709.
	MatrixUnspecified Matrix = iota
	BT601                    // Kr 0.299, Kb 0.114 (also SMPTE 170M, BT.470BG)
	BT709                    // Kr 0.2126, Kb 0.0722
	BT2020                   // Kr 0.2627, Kb 0.0593, non-constant luminance
)

// Range is the quantisation range of Y'CbCr samples.
type Range int

const (
	// RangeUnspecified means the stream's XCOLORRANGE tag when it has one,
	// else limited range.
	RangeUnspecified Range = iota
	// RangeLimited: Y' 16..235 and CbCr 16..240, scaled by 2^(depth-8).
	RangeLimited
	// RangeFull: Y' and CbCr 0..2^depth-1, chroma centred on 2^(depth-1).
	RangeFull
)

// A Color is the colour description of a Y'CbCr stream, as given by its
// container or codec (Y4M carries at most the range).
type Color struct {
	Matrix Matrix
	Range  Range
}

// coefficients returns Kr and Kb.
func (m Matrix) coefficients() (kr, kb float64) {
	switch m {
	case BT601:
		return 0.299, 0.114
	case BT2020:
		return 0.2627, 0.0593
	default:
		return 0.2126, 0.0722
	}
}

// Image converts the frame to linear RGB: chroma is upsampled bilinearly
// according to the stream's chroma siting, Y'CbCr becomes R'G'B' with the
// matrix and range of c (BT.709 and the stream's or else limited range when
// unspecified), R'G'B' is clipped to 0..1 and linearised with the sRGB
// transfer function, as it would be if the frame were written to an RGB PNG
// and read by the reference tool.
//
//go:norace
func (f *YUVFrame) Image(c Color) *Image {
	h := f.Header
	w, ht := h.Width, h.Height
	im := NewImage(w, ht)
	rng := c.Range
	if rng == RangeUnspecified {
		rng = h.Range
	}
	maxCode := float64(int(1)<<h.Depth - 1)
	var yOff, yScale, cOff, cScale float64
	if rng == RangeFull {
		yOff, yScale = 0, 1/maxCode
		cOff, cScale = float64(int(1)<<(h.Depth-1)), 1/maxCode
	} else {
		s := float64(int(1) << (h.Depth - 8))
		yOff, yScale = 16*s, 1/(219*s)
		cOff, cScale = 128*s, 1/(224*s)
	}
	kr, kb := c.Matrix.coefficients()
	kg := 1 - kr - kb
	// R = Y + crR*Pr; B = Y + cbB*Pb; G = Y - cbG*Pb - crG*Pr.
	crR, cbB := 2*(1-kr), 2*(1-kb)
	cbG, crG := kb*cbB/kg, kr*crR/kg

	var cb, cr []float32
	if !h.Mono {
		cb = upsample(f.Cb, h)
		cr = upsample(f.Cr, h)
	}
	lut := linear16()
	enc := func(v float64) float32 {
		v = math.Round(v * 65535)
		if v <= 0 {
			return lut[0]
		}
		if v >= 65535 {
			return lut[65535]
		}
		return lut[int(v)]
	}
	for i, yv := range f.Y {
		y := (float64(yv) - yOff) * yScale
		var pb, pr float64
		if cb != nil {
			pb = (float64(cb[i]) - cOff) * cScale
			pr = (float64(cr[i]) - cOff) * cScale
		}
		im.Planes[0][i] = enc(y + crR*pr)
		im.Planes[1][i] = enc(y - cbG*pb - crG*pr)
		im.Planes[2][i] = enc(y + cbB*pb)
	}
	return im
}

// upsample returns a chroma plane at the luma size, interpolated bilinearly
// between the chroma samples' positions (see Siting) and clamped at the
// edges.
//
//go:norace
func upsample(p []uint16, h Y4MHeader) []float32 {
	cw, ch := h.chromaWidth(), h.chromaHeight()
	w, ht := h.Width, h.Height
	// Vertical pass: ht rows of cw.
	vert := make([]float32, cw*ht)
	for y := 0; y < ht; y++ {
		i0, i1, f := taps(y, h.SubY, h.Siting != SitingTopLeft, ch)
		r0, r1 := p[i0*cw:(i0+1)*cw], p[i1*cw:(i1+1)*cw]
		out := vert[y*cw : (y+1)*cw]
		for x := range out {
			out[x] = float32(r0[x]) + f*(float32(r1[x])-float32(r0[x]))
		}
	}
	if h.SubX == 0 {
		return vert
	}
	out := make([]float32, w*ht)
	type tap struct {
		i0, i1 int
		f      float32
	}
	tx := make([]tap, w)
	for x := range tx {
		i0, i1, f := taps(x, h.SubX, h.Siting == SitingCenter, cw)
		tx[x] = tap{i0, i1, f}
	}
	for y := 0; y < ht; y++ {
		in := vert[y*cw : (y+1)*cw]
		o := out[y*w : (y+1)*w]
		for x, t := range tx {
			a, b := in[t.i0], in[t.i1]
			o[x] = a + t.f*(b-a)
		}
	}
	return out
}

// taps returns the two chroma samples around luma position x and the weight
// of the second: with sub = 1 a chroma sample i sits at luma position 2i+0.5
// when centred, else at 2i.
func taps(x, sub int, centred bool, n int) (i0, i1 int, f float32) {
	if sub == 0 {
		return x, x, 0
	}
	pos := float64(x) / 2
	if centred {
		pos -= 0.25
	}
	fl := math.Floor(pos)
	i0 = int(fl)
	f = float32(pos - fl)
	i1 = i0 + 1
	i0 = min(max(i0, 0), n-1)
	i1 = min(max(i1, 0), n-1)
	return i0, i1, f
}
