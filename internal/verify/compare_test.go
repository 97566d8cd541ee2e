package verify

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sliceSource is a frameSource over frames in memory that checks that the
// comparison never holds more frames than it should.
type sliceSource struct {
	t      *testing.T
	frames [][]byte
	i      int
	held   int
	limit  int
}

func (s *sliceSource) next() ([]byte, bool) {
	if s.i == len(s.frames) {
		return nil, false
	}
	s.held++
	if s.held > s.limit {
		s.t.Fatalf("%d frames held, want at most %d", s.held, s.limit)
	}
	f := s.frames[s.i]
	s.i++
	return f, true
}

func (s *sliceSource) release([]byte) { s.held-- }

const tw, th = 64, 36

// texture is a random picture wider than a frame, so that frames can be
// windows onto it.
func texture(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	tex := make([]byte, (tw+200)*th)
	for i := range tex {
		tex[i] = byte(40 + r.IntN(170))
	}
	return tex
}

// panning returns n frames of a texture moving 2 pixels a frame.
func panning(n int) [][]byte {
	tex := texture(1)
	frames := make([][]byte, n)
	for k := range frames {
		f := make([]byte, tw*th)
		for y := range th {
			copy(f[y*tw:(y+1)*tw], tex[y*(tw+200)+2*k:])
		}
		frames[k] = f
	}
	return frames
}

// blend returns a picture at fraction t of the way from a to b, as an
// encoder that repeats most of its previous picture makes.
func blend(a, b []byte, t float64) []byte {
	f := make([]byte, len(a))
	for i := range a {
		f[i] = byte(float64(a[i]) + t*(float64(b[i])-float64(a[i])) + 0.5)
	}
	return f
}

// static returns n copies of one picture.
func static(n int) [][]byte {
	tex := texture(2)
	frames := make([][]byte, n)
	for k := range frames {
		frames[k] = tex[:tw*th]
	}
	return frames
}

// noisy returns copies of frames with uniform noise of amplitude a added,
// different in every frame.
func noisy(frames [][]byte, a int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([][]byte, len(frames))
	for k, f := range frames {
		g := make([]byte, len(f))
		for i, v := range f {
			g[i] = byte(min(255, max(0, int(v)+r.IntN(2*a+1)-a)))
		}
		out[k] = g
	}
	return out
}

func run(t *testing.T, src, out [][]byte, floor float64) stats {
	t.Helper()
	return compare(&sliceSource{t: t, frames: src, limit: window},
		&sliceSource{t: t, frames: out, limit: 1}, floor, nil)
}

func TestCompare(t *testing.T) {
	const n = 60
	src := panning(n)
	seq := func(from, to int) []int {
		var s []int
		for i := from; i < to; i++ {
			s = append(s, i)
		}
		return s
	}
	cases := []struct {
		name       string
		src, out   [][]byte
		outFrames  int
		misaligned []int
		minAbove   float64 // the minimum PSNR is above this
		minBelow   float64 // and below this
	}{
		{"identical", src, src, n, nil, PSNRCap - 1e-9, PSNRCap + 1e-9},
		{"coding noise", src, noisy(src, 3, 1), n, nil, 40, 45},
		{"heavy noise", src, noisy(src, 40, 2), n, nil, 15, 25},
		{"shifted", src, append(slices.Clone(src[1:]), src[n-1]), n, seq(0, n-1), 0, 20},
		{"dropped", src, append(slices.Clone(src[:10]), src[11:]...), n - 1, seq(10, n-1), 0, 20},
		{"duplicated", src, append(slices.Clone(src[:11]), src[10:]...), n + 1, seq(11, n), 0, 20},
		{"swapped", src, append(append(slices.Clone(src[:20]), src[21], src[20]), src[22:]...), n, []int{20, 21}, 0, 20},
		{"two ahead", src, append(append(slices.Clone(src[:30]), src[32]), src[31:]...), n, []int{30}, 0, 20},
		{"last frame mostly repeated", src, append(slices.Clone(src[:n-1]), blend(src[n-1], src[n-2], 0.78)), n, nil, 0, 30},
		{"last frame shifted", src, append(slices.Clone(src[:n-1]), blend(src[n-1], src[n-2], 0.95)), n, []int{n - 1}, 0, 30},
		{"static", static(n), noisy(static(n), 3, 3), n, nil, 40, 45},
		{"static with grain, denoised", noisy(static(n), 4, 4), static(n), n, nil, 35, 45},
		{"different content", src, noisy(static(n), 1, 5), n, nil, 0, 15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := run(t, c.src, c.out, 30)
			if st.srcFrames != len(c.src) || st.outFrames != c.outFrames {
				t.Errorf("frames: source %d output %d, want %d %d", st.srcFrames, st.outFrames, len(c.src), c.outFrames)
			}
			if !slices.Equal(st.misaligned, c.misaligned) {
				t.Errorf("misaligned %v, want %v", st.misaligned, c.misaligned)
			}
			if st.minPSNR <= c.minAbove || st.minPSNR >= c.minBelow {
				t.Errorf("min PSNR %.2f dB, want in (%g, %g)", st.minPSNR, c.minAbove, c.minBelow)
			}
			if st.compared != min(len(c.src), c.outFrames) {
				t.Errorf("compared %d frames", st.compared)
			}
		})
	}
}

func TestComparePSNR(t *testing.T) {
	a := make([]byte, 1000)
	b := make([]byte, 1000)
	for i := range a {
		a[i] = byte(i % 200)
		b[i] = a[i]
	}
	for i := 0; i < 1000; i += 10 {
		b[i] += 5 // mse = 100*25/1000 = 2.5
	}
	c := slices.Clone(a)
	c[0] ^= 1 // mse = 0.001
	st := run(t, [][]byte{a, a, a}, [][]byte{a, b, c}, 45)
	want1 := 10 * math.Log10(255*255/2.5)
	want2 := 10 * math.Log10(255*255/0.001)
	if st.minFrame != 1 || math.Abs(st.minPSNR-want1) > 1e-9 {
		t.Errorf("min %.6f dB at %d, want %.6f at 1", st.minPSNR, st.minFrame, want1)
	}
	if mean := st.sumPSNR / 3; math.Abs(mean-(100+want1+want2)/3) > 1e-9 {
		t.Errorf("mean %.6f", mean)
	}
	if st.below != 1 {
		t.Errorf("%d frames below floor, want 1", st.below)
	}
	empty := run(t, nil, [][]byte{a}, 45)
	if empty.minFrame != -1 || empty.minPSNR != 0 || empty.compared != 0 || empty.outFrames != 1 {
		t.Errorf("nothing compared: %+v", empty)
	}
}

func TestCompareProgress(t *testing.T) {
	src := static(60)
	var calls []int
	compare(&sliceSource{t: t, frames: src, limit: window}, &sliceSource{t: t, frames: src, limit: 1}, 30,
		func(done int) { calls = append(calls, done) })
	if !slices.Equal(calls, []int{25, 50}) {
		t.Errorf("progress %v", calls)
	}
}

func TestSSE(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 7, 8, 9, 1000, chunk - 1, chunk, 3*chunk + 5} {
		a := make([]byte, n)
		b := make([]byte, n)
		for i := range a {
			a[i], b[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		var want uint64
		for i := range a {
			d := int64(a[i]) - int64(b[i])
			want += uint64(d * d)
		}
		if got := sse(a, b); got != want {
			t.Errorf("n=%d: sse %d, want %d", n, got, want)
		}
		if got := sseCapped(a, b, want); got != want {
			t.Errorf("n=%d: capped at the sum: %d, want %d", n, got, want)
		}
		if want > 0 {
			if got := sseCapped(a, b, want-1); got <= want-1 {
				t.Errorf("n=%d: capped below the sum: %d, want > %d", n, got, want-1)
			}
		}
	}
}

func BenchmarkSSE1080p(b *testing.B) {
	x := make([]byte, 1920*1080)
	y := make([]byte, 1920*1080)
	for i := range x {
		x[i], y[i] = byte(i), byte(i*7)
	}
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		sse(x, y)
	}
}
