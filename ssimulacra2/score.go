package ssimulacra2

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// numScales is the number of scales compared, 1:1 to 1:32.
const numScales = 6

// ssimC2 is the stabilising constant of the structure term of SSIM.
const ssimC2 = 0.0009

// blurSigma is the standard deviation, in pixels, of the local statistics.
const blurSigma = 1.5

var gauss = sync.OnceValue(func() recursiveGaussian { return newRecursiveGaussian(blurSigma) })

// A Scorer computes SSIMULACRA 2.1 scores. The zero Scorer is ready to use;
// a Scorer is safe for concurrent use.
type Scorer struct {
	// Workers is the number of goroutines one comparison uses; zero or less
	// means runtime.GOMAXPROCS(0). Results do not depend on it.
	Workers int
}

// Score compares a distorted image with its reference using a zero Scorer.
func Score(ref, dist *Image) (float64, error) {
	return Scorer{}.Score(ref, dist)
}

func (s Scorer) workers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Score returns the SSIMULACRA 2.1 score of dist against ref: 100 for
// identical images, about 90 for visually lossless, 70 for high, 50 for
// medium and 30 for low quality; strong distortions score below 0. Neither
// image is modified.
//
// Images must be at least 8x8 (ErrTooSmall) and of the same size
// (ErrSizeMismatch).
func (s Scorer) Score(ref, dist *Image) (float64, error) {
	if err := ref.check(); err != nil {
		return 0, fmt.Errorf("reference: %w", err)
	}
	if err := dist.check(); err != nil {
		return 0, fmt.Errorf("distorted: %w", err)
	}
	if ref.Width != dist.Width || ref.Height != dist.Height {
		return 0, fmt.Errorf("%dx%d vs %dx%d: %w", ref.Width, ref.Height, dist.Width, dist.Height, ErrSizeMismatch)
	}
	stats := s.compare(ref, dist)
	return finalScore(stats), nil
}

// scaleStats are the pooled error maps of one scale: per channel (X, Y, B)
// the 1-norm and 4-norm of the SSIM error, of the artifact (ringing) map and
// of the detail-lost (blur) map.
type scaleStats [3]struct {
	ssim, artifact, detailLost [2]float64
}

// scratchPool holds the float32 buffers of finished comparisons, so that
// scoring frame after frame does not allocate each time.
var scratchPool sync.Pool // of *[]float32

// getScratch returns a zeroed-or-not buffer of n floats from the pool.
func getScratch(n int) *[]float32 {
	if b, ok := scratchPool.Get().(*[]float32); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float32, n)
	return &b
}

// compare computes the statistics of every scale.
func (s Scorer) compare(ref, dist *Image) []scaleStats {
	workers := s.workers()
	w, h := ref.Width, ref.Height
	n, n2 := w*h, ((w+1)/2)*((h+1)/2)
	// Planes: XYB of both images and the five blurred maps at full size;
	// two sets of both images' downsampled linear RGB, used in turn.
	buf := getScratch(11*n + 12*n2)
	defer scratchPool.Put(buf)
	next := *buf
	plane := func(size int) []float32 {
		p := next[:size:size]
		next = next[size:]
		return p
	}
	var xyb1, xyb2 [3][]float32
	var blurred [5][]float32
	var down [2][2][3][]float32 // set, image, channel
	for c := range 3 {
		xyb1[c], xyb2[c] = plane(n), plane(n)
	}
	for m := range blurred {
		blurred[m] = plane(n)
	}
	for set := range down {
		for img := range 2 {
			for c := range 3 {
				down[set][img][c] = plane(n2)
			}
		}
	}

	lin1, lin2 := ref.Planes, dist.Planes
	var stats []scaleStats
	for scale := 0; scale < numScales; scale++ {
		// As in the reference, the size test looks at the previous scale,
		// so the last scale compared may be smaller than 8 pixels.
		if w < 8 || h < 8 {
			break
		}
		if scale > 0 {
			ow, oh := (w+1)/2, (h+1)/2
			d1, d2 := down[scale%2][0], down[scale%2][1]
			for c := range 3 {
				d1[c], d2[c] = d1[c][:ow*oh], d2[c][:ow*oh]
			}
			forBands(workers, oh, rowBand(ow), func(_, lo, hi int) {
				downsample2(lin1, d1, w, h, lo, hi)
				downsample2(lin2, d2, w, h, lo, hi)
			})
			lin1, lin2 = d1, d2
			w, h = ow, oh
			for c := range 3 {
				xyb1[c], xyb2[c] = xyb1[c][:w*h], xyb2[c][:w*h]
			}
			for m := range blurred {
				blurred[m] = blurred[m][:w*h]
			}
		}
		forBands(workers, h, rowBand(w), func(_, lo, hi int) {
			toXYB(lin1, xyb1, w, lo, hi)
			toXYB(lin2, xyb2, w, lo, hi)
		})
		var st scaleStats
		for c := range 3 {
			st[c].ssim, st[c].artifact, st[c].detailLost = compareChannel(workers, xyb1[c], xyb2[c], w, h, blurred)
		}
		stats = append(stats, st)
	}
	return stats
}

// rowBand is the number of rows of a band for work on whole rows of width w.
func rowBand(w int) int {
	return max(1, 16384/max(w, 1))
}

// colBand is the width of the column bands of the vertical pass.
const colBand = 128

// compareChannel computes the local means, variances and covariance of one
// channel of both images with the Gaussian window and pools the SSIM and
// edge-difference maps, returning their 1-norms and 4-norms. tmp holds five
// scratch planes of w*h.
func compareChannel(workers int, a, b []float32, w, h int, tmp [5][]float32) (ssim, artifact, detailLost [2]float64) {
	g := gauss()
	// Horizontal pass over a, b, a*a, b*b and a*b, by bands of rows.
	forBands(workers, h, rowBand(w), func(_, lo, hi int) {
		g.blurBand(a, b, tmp, w, lo, hi)
	})

	// Vertical pass by bands of columns, pooling each output row as soon as
	// it is complete. Sums are kept per band and added in band order, so the
	// result does not depend on the number of workers.
	nb := (w + colBand - 1) / colBand
	sums := make([][6]float64, nb)
	forBands(workers, w, colBand, func(band, x0, x1 int) {
		bw := x1 - x0
		var states [5]*vstate
		var rows [5][]float32
		for m := range states {
			states[m] = newVState(bw)
			rows[m] = make([]float32, bw)
		}
		zero := make([]float32, bw)
		var sum [6]float64
		N := g.radius
		for n := 1 - N; n < h; n++ {
			for m := range states {
				top, bottom := zero, zero
				if t := n - N - 1; t >= 0 {
					top = tmp[m][t*w+x0 : t*w+x1]
				}
				if bt := n + N - 1; bt < h {
					bottom = tmp[m][bt*w+x0 : bt*w+x1]
				}
				g.step(states[m], top, bottom, rows[m])
			}
			if n >= 0 {
				poolRow(&sum, a[n*w+x0:n*w+x1], b[n*w+x0:n*w+x1], rows)
			}
		}
		sums[band] = sum
	})
	var total [6]float64
	for _, s := range sums {
		for i := range total {
			total[i] += s[i]
		}
	}
	inv := 1 / float64(w*h)
	norm := func(s1, s4 float64) [2]float64 {
		return [2]float64{s1 * inv, math.Sqrt(math.Sqrt(s4 * inv))}
	}
	return norm(total[0], total[1]), norm(total[2], total[3]), norm(total[4], total[5])
}

// blurBand is the horizontal pass of compareChannel over rows [lo, hi): it
// writes those rows of tmp[0..4], the blurred a, b, a*a, b*b and a*b.
//
//go:norace
func (g *recursiveGaussian) blurBand(a, b []float32, tmp [5][]float32, w, lo, hi int) {
	prod := make([]float32, w)
	for y := lo; y < hi; y++ {
		ra, rb := a[y*w:(y+1)*w], b[y*w:(y+1)*w]
		g.blurRow(ra, tmp[0][y*w:(y+1)*w])
		g.blurRow(rb, tmp[1][y*w:(y+1)*w])
		for i := range prod {
			prod[i] = ra[i] * ra[i]
		}
		g.blurRow(prod, tmp[2][y*w:(y+1)*w])
		for i := range prod {
			prod[i] = rb[i] * rb[i]
		}
		g.blurRow(prod, tmp[3][y*w:(y+1)*w])
		for i := range prod {
			prod[i] = ra[i] * rb[i]
		}
		g.blurRow(prod, tmp[4][y*w:(y+1)*w])
	}
}

// poolRow adds one row's error terms to sum: the SSIM error and its 4th
// power, then the same for the artifact and the detail-lost maps. a and b
// are the row of the reference and distorted images; blurred their local
// means, mean squares and mean product.
//
//go:norace
func poolRow(sum *[6]float64, a, b []float32, blurred [5][]float32) {
	mu1s, mu2s, s11s, s22s, s12s := blurred[0], blurred[1], blurred[2], blurred[3], blurred[4]
	mu2s, s11s, s22s, s12s, b = mu2s[:len(a)], s11s[:len(a)], s22s[:len(a)], s12s[:len(a)], b[:len(a)]
	mu1s = mu1s[:len(a)]
	var ss1, ss4, ar1, ar4, dl1, dl4 float64
	for i := range a {
		mu1, mu2 := mu1s[i], mu2s[i]
		// SSIM without the luminance term's denominator: the means enter
		// only as 1 - (mu1-mu2)^2, since the values are already
		// perceptually scaled.
		dm := mu1 - mu2
		numM := float32(1 - float64(dm*dm))
		numS := 2*(s12s[i]-mu1*mu2) + ssimC2
		denS := (s11s[i] - mu1*mu1) + (s22s[i] - mu2*mu2) + ssimC2
		d := 1 - float64(numM*numS/denS)
		if d > 0 {
			ss1 += d
			d2 := d * d
			ss4 += d2 * d2
		}
		// Edge difference: how much more (or less) local contrast the
		// distorted image has than the reference.
		e := (1+math.Abs(float64(b[i]-mu2)))/(1+math.Abs(float64(a[i]-mu1))) - 1
		if e > 0 {
			ar1 += e
			e2 := e * e
			ar4 += e2 * e2
		} else if e < 0 {
			dl1 -= e
			e2 := e * e
			dl4 += e2 * e2
		}
	}
	sum[0] += ss1
	sum[1] += ss4
	sum[2] += ar1
	sum[3] += ar4
	sum[4] += dl1
	sum[5] += dl4
}

// finalScore maps the weighted sum of the pooled maps to the score.
//
// The weights are taken in order channel, scale, norm, map; as in the
// reference, when an image is too small for all six scales the weights of
// the missing scales are not skipped but the next channel's are shifted
// down.
func finalScore(stats []scaleStats) float64 {
	var sum float64
	i := 0
	for c := 0; c < 3; c++ {
		for s := range stats {
			for n := 0; n < 2; n++ {
				st := stats[s][c]
				sum += weights[i] * math.Abs(st.ssim[n])
				sum += weights[i+1] * math.Abs(st.artifact[n])
				sum += weights[i+2] * math.Abs(st.detailLost[n])
				i += 3
			}
		}
	}
	v := sum * 0.9562382616834844
	v = 2.326765642916932*v - 0.020884521182843837*v*v + 6.248496625763138e-05*v*v*v
	if v <= 0 {
		return 100
	}
	return 100 - 10*math.Pow(v, 0.6276336467831387)
}

// forBands splits [0, n) into bands of size band and calls fn for each on
// up to workers goroutines. fn gets the band's index and bounds.
func forBands(workers, n, band int, fn func(idx, lo, hi int)) {
	nb := (n + band - 1) / band
	if workers > nb {
		workers = nb
	}
	if workers <= 1 {
		for i := 0; i < nb; i++ {
			fn(i, i*band, min(n, (i+1)*band))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= nb {
					return
				}
				fn(i, i*band, min(n, (i+1)*band))
			}
		})
	}
	wg.Wait()
}
