package verify

import "math"

// PSNRCap is the PSNR given to a frame identical to its source frame, whose
// true PSNR is infinite.
const PSNRCap = 100.0

// Alignment rule: output frame i is misaligned when a neighbouring source
// frame j satisfies all of
//
//	mse(out_i, src_j) < alignRatio*mse(out_i, src_i) - alignSlack
//	mse(src_i, src_j) > alignDistinct
//	mse(out_i, src_i) - mse(out_i, src_j) > alignShare*mse(src_i, src_j)
//
// The ratio and slack keep coding noise from tipping the balance; the second
// condition ignores neighbours that are (nearly) the same picture, as in
// static scenes. The third asks that the output frame be most of the way
// from its own source frame to the neighbour (for a frame at fraction t of
// the way, the gain is (2t-1)*mse(src_i, src_j); alignShare 0.7 means
// t > 0.85): a truly shifted frame is all the way but for coding noise
// (t is 0.9 or more in the tests), while an encoder that repeats most of
// its previous picture stops short of it. Measured with rav1e 0.5.1 at
// speed 10 on the last frame of a 10-frame mandelbrot stream: gains of
// 0.51 (quantizer 120) and 0.56 (quantizer 100), t near 0.78; a static
// grainy shot whose grain the encoder partly keeps gives t near 0.6.
const (
	alignRatio    = 0.8
	alignSlack    = 0.5
	alignDistinct = 2.0
	alignShare    = 0.7
)

// window is how many source frames are held: i-2 .. i+2.
const window = 5

// neighbours are the offsets of the source frames an output frame is
// checked against besides its own, nearest first.
var neighbours = [...]int{-1, 1, -2, 2}

// frameSource hands out equally sized luma frames in order.
type frameSource interface {
	// next returns the next frame, or false at the end of the stream.
	next() ([]byte, bool)
	// release gives a frame returned by next back for reuse.
	release([]byte)
}

// stats is the result of comparing two frame sequences.
type stats struct {
	srcFrames, outFrames int
	compared             int     // frames present in both
	minPSNR, sumPSNR     float64 // over compared frames
	minFrame             int     // -1 when nothing was compared
	below                int     // frames under the PSNR floor
	misaligned           []int
}

// compare reads both sequences to their ends, comparing output frame i with
// source frame i and its neighbours. Only source frames i-2..i+2 are held.
// progress, if not nil, is called with the number of output frames read
// every 25 frames.
func compare(src, out frameSource, floor float64, progress func(done int)) stats {
	st := stats{minPSNR: math.Inf(1), minFrame: -1}
	var ring [window][]byte
	loaded := 0 // source frames read; ring holds loaded-window .. loaded-1
	srcDone := false
	load := func(upto int) {
		for !srcDone && loaded <= upto {
			// Frame loaded-window, which the new one replaces, is no
			// longer needed: hand it back first so the decoder can reuse it.
			slot := loaded % window
			if ring[slot] != nil {
				src.release(ring[slot])
				ring[slot] = nil
			}
			f, ok := src.next()
			if !ok {
				srcDone = true
				return
			}
			ring[slot] = f
			loaded++
		}
	}
	for i := 0; ; i++ {
		o, ok := out.next()
		if !ok {
			break
		}
		load(i + 2)
		if i < loaded {
			st.check(i, o, &ring, loaded, floor)
		}
		out.release(o)
		st.outFrames++
		if progress != nil && st.outFrames%25 == 0 {
			progress(st.outFrames)
		}
	}
	for !srcDone {
		load(loaded)
	}
	for _, f := range ring {
		if f != nil {
			src.release(f)
		}
	}
	st.srcFrames = loaded
	if st.compared == 0 {
		st.minPSNR = 0
	}
	return st
}

// check compares output frame i with the source frames in the ring.
func (st *stats) check(i int, o []byte, ring *[window][]byte, loaded int, floor float64) {
	si := ring[i%window]
	n := float64(len(o))
	e := sse(o, si)
	p := psnr(float64(e) / n)
	st.compared++
	st.sumPSNR += p
	if p < st.minPSNR {
		st.minPSNR, st.minFrame = p, i
	}
	if p < floor {
		st.below++
	}
	// mse_j < ratio*mse_i - slack, in integer sums: sse_j <= ceil(limit)-1.
	limit := alignRatio*float64(e) - alignSlack*n
	if limit <= 0 {
		return // no neighbour can be that much closer
	}
	closer := uint64(math.Ceil(limit)) - 1
	for _, d := range neighbours {
		j := i + d
		if j < 0 || j >= loaded {
			continue
		}
		sj := ring[j%window]
		ej := sseCapped(o, sj, closer)
		if ej > closer {
			continue // the usual case, often decided after a few rows
		}
		dist := float64(sse(si, sj))
		if dist > alignDistinct*n && float64(e)-float64(ej) > alignShare*dist {
			st.misaligned = append(st.misaligned, i)
			return
		}
	}
}

// psnr converts a mean squared error of 8-bit samples to decibels, capped at
// PSNRCap.
func psnr(mse float64) float64 {
	if mse <= 0 {
		return PSNRCap
	}
	return math.Min(PSNRCap, 10*math.Log10(255*255/mse))
}

// sse returns the sum of squared differences of a and b, which have the
// same length.
func sse(a, b []byte) uint64 {
	return sseCapped(a, b, math.MaxUint64)
}

// chunk is how many bytes sseCapped sums between checks of its cap.
const chunk = 16 << 10

// sseCapped returns the sum of squared differences of a and b when it is at
// most limit; otherwise it may stop early and return any value above limit.
func sseCapped(a, b []byte, limit uint64) uint64 {
	b = b[:len(a)]
	var total uint64
	for len(a) > 0 {
		n := min(len(a), chunk)
		total += sseChunk(a[:n], b[:n])
		if total > limit {
			return total
		}
		a, b = a[n:], b[n:]
	}
	return total
}

// sseChunk sums squared differences of up to chunk bytes; the sum of one
// chunk fits an int many times over. Like SSIMULACRA2's kernels it is
// not race-instrumented: it reads two frames no other goroutine writes,
// and instrumented it was most of a race-built verify's time.
//
//go:norace
func sseChunk(a, b []byte) uint64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		d0 := int(x[0]) - int(y[0])
		d1 := int(x[1]) - int(y[1])
		d2 := int(x[2]) - int(y[2])
		d3 := int(x[3]) - int(y[3])
		d4 := int(x[4]) - int(y[4])
		d5 := int(x[5]) - int(y[5])
		d6 := int(x[6]) - int(y[6])
		d7 := int(x[7]) - int(y[7])
		s0 += d0*d0 + d4*d4
		s1 += d1*d1 + d5*d5
		s2 += d2*d2 + d6*d6
		s3 += d3*d3 + d7*d7
	}
	for ; i < len(a); i++ {
		d := int(a[i]) - int(b[i])
		s0 += d * d
	}
	return uint64(s0 + s1 + s2 + s3)
}
