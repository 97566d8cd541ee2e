package scene

// Measures on downscaled 8-bit luma frames (w x h bytes, no padding). All
// return figures on the 0-255 scale of one luma sample. They read frames
// only the detector's goroutine holds, and are not race-instrumented
// (//go:norace): instrumented, they were most of a race-built scene pass.

// mad returns the mean absolute difference of two frames.
//
//go:norace
func mad(a, b []byte) float64 {
	var s int
	for i, x := range a {
		d := int(x) - int(b[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a))
}

// detail returns the mean absolute luma gradient of a frame: the average of
// the horizontal and vertical differences between neighbouring samples.
//
//go:norace
func detail(p []byte, w, h int) float64 {
	if w < 2 || h < 2 {
		return 0
	}
	var s int
	for y := 0; y < h-1; y++ {
		row, next := p[y*w:(y+1)*w], p[(y+1)*w:(y+2)*w]
		for x := 0; x < w-1; x++ {
			dx := int(row[x+1]) - int(row[x])
			dy := int(next[x]) - int(row[x])
			s += max(dx, -dx) + max(dy, -dy)
		}
	}
	return float64(s) / float64(2*(w-1)*(h-1))
}

// Block matching: the frame is cut into block x block tiles, and each tile of
// cur is matched against prev shifted by up to search samples each way.
const (
	block  = 8
	search = 4
)

// mcResidual returns the mean absolute difference between cur and prev
// after motion compensation: each tile of cur is compared with the best
// matching tile of prev within the search range. Motion (pans, shake,
// moving objects) leaves little residual; a new picture does not. Samples
// outside whole tiles are left out.
//
//go:norace
func mcResidual(cur, prev []byte, w, h int) float64 {
	bw, bh := w/block, h/block
	if bw == 0 || bh == 0 {
		return mad(cur, prev)
	}
	var total int
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			x0, y0 := bx*block, by*block
			best := sad(cur, prev, w, x0, y0, x0, y0, 1<<30)
			for dy := -search; dy <= search; dy++ {
				y1 := y0 + dy
				if y1 < 0 || y1+block > h {
					continue
				}
				for dx := -search; dx <= search; dx++ {
					x1 := x0 + dx
					if x1 < 0 || x1+block > w || (dx == 0 && dy == 0) {
						continue
					}
					if s := sad(cur, prev, w, x0, y0, x1, y1, best); s < best {
						best = s
					}
				}
			}
			total += best
		}
	}
	return float64(total) / float64(bw*bh*block*block)
}

// sad returns the sum of absolute differences between the tile of a at
// (ax, ay) and the tile of b at (bx, by), or a value >= limit as soon as
// the sum reaches limit.
//
//go:norace
func sad(a, b []byte, w, ax, ay, bx, by, limit int) int {
	s := 0
	for r := 0; r < block; r++ {
		ra := a[(ay+r)*w+ax : (ay+r)*w+ax+block]
		rb := b[(by+r)*w+bx : (by+r)*w+bx+block]
		for i, x := range ra {
			d := int(x) - int(rb[i])
			s += max(d, -d)
		}
		if s >= limit {
			return s
		}
	}
	return s
}

// coarse returns the means of the frame's block x block tiles.
//
//go:norace
func coarse(p []byte, w, h int, out []float64) []float64 {
	bw, bh := w/block, h/block
	out = out[:0]
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			s := 0
			for r := 0; r < block; r++ {
				for _, x := range p[(by*block+r)*w+bx*block : (by*block+r)*w+bx*block+block] {
					s += int(x)
				}
			}
			out = append(out, float64(s)/(block*block))
		}
	}
	return out
}

// meanAbsDiff returns the mean absolute difference of two equal-length
// vectors.
//
//go:norace
func meanAbsDiff(a, b []float64) float64 {
	if len(a) == 0 {
		return 0
	}
	var s float64
	for i, x := range a {
		d := x - b[i]
		if d < 0 {
			d = -d
		}
		s += d
	}
	return s / float64(len(a))
}
