package scene

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// Synthetic luma sequences at the detector's working size.
const tw, th = 160, 90

// picture is a still image larger than a frame, to pan over.
type picture struct {
	w, h int
	p    []byte
}

// texture returns a w x h picture of soft blobs and sharp-edged blocks,
// different for each seed.
func texture(seed uint64, w, h int) picture {
	r := rand.New(rand.NewPCG(seed, 7))
	type wave struct{ fx, fy, ph, amp float64 }
	waves := make([]wave, 6)
	for i := range waves {
		waves[i] = wave{r.Float64() * 0.15, r.Float64() * 0.15, r.Float64() * 6.3, 15 + r.Float64()*25}
	}
	base := 60 + r.Float64()*120
	blocks := make([]float64, 64)
	for i := range blocks {
		blocks[i] = r.Float64()*60 - 30
	}
	p := make([]byte, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := base + blocks[(x/24)%8+8*((y/24)%8)]
			for _, wv := range waves {
				v += wv.amp * math.Sin(wv.fx*float64(x)+wv.fy*float64(y)+wv.ph)
			}
			p[y*w+x] = clamp(v)
		}
	}
	return picture{w, h, p}
}

func clamp(v float64) byte { return byte(math.Max(0, math.Min(255, math.Round(v)))) }

// view returns the frame-sized window of pic at (x, y).
func (pic picture) view(x, y int) []byte {
	f := make([]byte, tw*th)
	for r := 0; r < th; r++ {
		copy(f[r*tw:(r+1)*tw], pic.p[(y+r)*pic.w+x:])
	}
	return f
}

// A seq builds a sequence of frames.
type seq struct {
	frames [][]byte
	rng    *rand.Rand
}

func newSeq() *seq { return &seq{rng: rand.New(rand.NewPCG(1, 2))} }

// still adds n frames of pic's corner, with light encoder-like noise.
func (s *seq) still(pic picture, n int) *seq { return s.noisyAt(pic, 0, 0, n, 1.5, 0) }

// noisy adds n frames of pic's corner with temporal noise of the given
// amplitude on every sample.
func (s *seq) noisy(pic picture, n int, amp float64) *seq { return s.noisyAt(pic, 0, 0, n, amp, 0) }

// noisyAt adds n frames of pic's window at (x, y) with temporal noise of
// amplitude amp, brightened by gain levels.
func (s *seq) noisyAt(pic picture, x, y, n int, amp, gain float64) *seq {
	for range n {
		f := pic.view(x, y)
		for i, v := range f {
			f[i] = clamp(float64(v) + gain + (s.rng.Float64()*2-1)*amp)
		}
		s.frames = append(s.frames, f)
	}
	return s
}

// pan adds n frames moving across pic by step samples a frame, changing the
// picture only every hold frames (hold 2: animation on twos).
func (s *seq) pan(pic picture, n, step, hold int) *seq { return s.panFrom(pic, 0, n, step, hold) }

// panFrom is pan starting at frame from of the pan.
func (s *seq) panFrom(pic picture, from, n, step, hold int) *seq {
	for i := from; i < from+n; i++ {
		s.frames = append(s.frames, pic.view((i/hold)*step, 0))
	}
	return s
}

// shake adds n frames of pic seen through a camera that jumps by up to amp
// samples each way every frame.
func (s *seq) shake(pic picture, n, amp int) *seq {
	for range n {
		s.frames = append(s.frames, pic.view(amp+s.rng.IntN(2*amp+1)-amp, amp+s.rng.IntN(2*amp+1)-amp))
	}
	return s
}

// churn adds n frames that start from pic and then set a share of their
// cells (cell x cell samples) to dark or light on every frame, as the
// game of life does in its first generations.
func (s *seq) churn(pic picture, n, cell int, share float64) *seq {
	f := pic.view(0, 0)
	for range n {
		next := append([]byte(nil), f...)
		for y := 0; y+cell <= th; y += cell {
			for x := 0; x+cell <= tw; x += cell {
				if s.rng.Float64() >= share {
					continue
				}
				v := byte(40)
				if s.rng.IntN(2) == 1 {
					v = 220
				}
				for yy := y; yy < y+cell; yy++ {
					for xx := x; xx < x+cell; xx++ {
						next[yy*tw+xx] = v
					}
				}
			}
		}
		s.frames = append(s.frames, next)
		f = next
	}
	return s
}

// flat adds n frames of one level (255: a white flash).
func (s *seq) flat(level byte, n int) *seq {
	for range n {
		f := make([]byte, tw*th)
		for i := range f {
			f[i] = level
		}
		s.frames = append(s.frames, f)
	}
	return s
}

// fade adds n frames blending from a to b (either may be nil for black),
// excluding both ends.
func (s *seq) fade(a, b []byte, n int) *seq {
	for k := 1; k <= n; k++ {
		t := float64(k) / float64(n+1)
		f := make([]byte, tw*th)
		for i := range f {
			var x, y float64
			if a != nil {
				x = float64(a[i])
			}
			if b != nil {
				y = float64(b[i])
			}
			f[i] = clamp((1-t)*x + t*y)
		}
		s.frames = append(s.frames, f)
	}
	return s
}

// brighter adds one frame of pic overexposed (a photographer's flash).
func (s *seq) brighter(pic picture) *seq {
	f := pic.view(0, 0)
	for i, v := range f {
		f[i] = clamp(float64(v)*1.6 + 60)
	}
	s.frames = append(s.frames, f)
	return s
}

func (s *seq) cuts() []int {
	t := newDetector(tw, th)
	for _, f := range s.frames {
		t.add(f)
	}
	a := &Analysis{Frames: len(s.frames), Scores: t.scores()}
	return a.Cuts(DefaultThreshold)
}

func TestDetector(t *testing.T) {
	a, b, c := texture(1, 4*tw, th+16), texture(2, 4*tw, th+16), texture(3, 4*tw, th+16)
	// b2 is b's generator with another seed and the same statistics: a
	// similar scene.
	b2 := texture(4, 4*tw, th+16)
	dark := func(p picture) picture {
		q := picture{p.w, p.h, make([]byte, len(p.p))}
		for i, v := range p.p {
			q.p[i] = clamp(20 + float64(v)*0.15)
		}
		return q
	}
	cases := []struct {
		name string
		s    *seq
		want []int
	}{
		{"hard cut", newSeq().still(a, 30).still(b, 30), []int{0, 30}},
		{"two cuts", newSeq().still(a, 25).still(b, 25).still(c, 25), []int{0, 25, 50}},
		{"cut between similar scenes", newSeq().still(b, 30).still(b2, 30), []int{0, 30}},
		{"cut between dark similar scenes", newSeq().still(dark(b), 30).still(dark(b2), 30), []int{0, 30}},
		{"cut from black", newSeq().flat(0, 20).still(a, 30), []int{0, 20}},
		{"white flash", newSeq().still(a, 20).flat(255, 1).still(a, 20), []int{0}},
		{"overexposed flash", newSeq().still(a, 20).brighter(a).still(a, 20), []int{0}},
		{"one frame of another scene", newSeq().still(a, 20).still(c, 1).still(a, 20), []int{0}},
		{"two-frame flash", newSeq().still(a, 20).flat(255, 2).still(a, 20), []int{0}},
		{"flash during a pan", newSeq().pan(a, 20, 4, 1).flat(255, 1).panFrom(a, 21, 20, 4, 1), []int{0}},
		{"flash three frames after a cut", newSeq().still(a, 20).still(b, 3).flat(255, 1).still(b, 20), []int{0, 20}},
		{"cross fade", newSeq().still(a, 20).fade(a.view(0, 0), b.view(0, 0), 12).still(b, 20), []int{0}},
		{"short dissolve", newSeq().still(a, 20).fade(a.view(0, 0), b.view(0, 0), 6).still(b, 20), []int{0}},
		{"fade through black", newSeq().still(a, 20).fade(a.view(0, 0), nil, 8).flat(0, 3).fade(nil, b.view(0, 0), 8).still(b, 20), []int{0}},
		{"heavy noise", newSeq().noisy(a, 60, 40), []int{0}},
		{"cut between noisy scenes", newSeq().noisy(a, 30, 40).noisy(b, 30, 40), []int{0, 30}},
		{"slow pan", newSeq().pan(a, 60, 2, 1), []int{0}},
		{"fast pan", newSeq().pan(a, 60, 8, 1), []int{0}},
		{"cut between fast pans", newSeq().pan(a, 30, 8, 1).pan(c, 30, 8, 1), []int{0, 30}},
		{"pan on twos", newSeq().pan(a, 60, 8, 2), []int{0}},
		{"pan on threes", newSeq().pan(a, 60, 8, 3), []int{0}},
		{"shaking camera", newSeq().shake(a, 60, 6), []int{0}},
		{"churning cells", newSeq().churn(b, 60, 4, 0.3), []int{0}},
		{"cut into churning cells", newSeq().still(a, 30).churn(b, 30, 4, 0.3), []int{0, 30}},
		{"cut out of churning cells", newSeq().churn(b, 30, 4, 0.3).still(a, 30), []int{0, 30}},
		{"pan starting after a still", newSeq().still(a, 20).pan(a, 40, 6, 1), []int{0}},
		{"camera jolt in a still scene", newSeq().still(a, 20).noisyAt(a, 3, 2, 20, 1.5, 0), []int{0}},
		{"small exposure step", newSeq().still(a, 20).noisyAt(a, 0, 0, 20, 1.5, 5), []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.cuts(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("cuts %v, want %v", got, tc.want)
			}
		})
	}
}

// TestScoresAndDetail checks the per-frame figures a planner reads: a
// score for every frame, 0 at the ends, a cut scoring far above steady
// change, and a flat frame having no detail.
func TestScoresAndDetail(t *testing.T) {
	a, b := texture(1, tw, th), texture(2, tw, th)
	s := newSeq().still(a, 10).flat(128, 10).still(b, 10)
	det := newDetector(tw, th)
	for _, f := range s.frames {
		det.add(f)
	}
	sc := det.scores()
	if len(sc) != 30 || len(det.detail) != 30 {
		t.Fatalf("%d scores, %d detail figures for 30 frames", len(sc), len(det.detail))
	}
	if sc[0] != 0 || sc[29] != 0 {
		t.Errorf("end frames score %g and %g, want 0", sc[0], sc[29])
	}
	for i, v := range sc {
		if (i == 10 || i == 20) != (v >= DefaultThreshold) {
			t.Errorf("frame %d scores %.2f", i, v)
		}
	}
	if det.detail[15] != 0 || det.detail[5] < 1 {
		t.Errorf("detail: flat frame %g, textured frame %g", det.detail[15], det.detail[5])
	}
}

func TestAnalysisSize(t *testing.T) {
	cases := []struct{ w, h, aw, ah int }{
		{1920, 1080, 160, 90},
		{3840, 2160, 160, 90},
		{1280, 720, 160, 90},
		{640, 480, 138, 104},
		{1080, 1920, 90, 160},
		{1920, 800, 186, 78},
		{160, 90, 160, 90},
		{64, 36, 64, 36},
		{101, 57, 100, 56},
		{0, 0, 160, 90},
	}
	for _, c := range cases {
		if aw, ah := analysisSize(c.w, c.h); aw != c.aw || ah != c.ah {
			t.Errorf("analysisSize(%d, %d) = %d x %d, want %d x %d", c.w, c.h, aw, ah, c.aw, c.ah)
		}
	}
}

// batchScores is the detector's scoring as it was when it ran once all
// frames were in: the incremental scoring must give the same scores.
func batchScores(t *detector) []float64 {
	d := append([]float64(nil), t.d...)
	c := append([]float64(nil), t.c...)
	n := len(c)
	flash := make([]bool, n)
	for i := 1; i < n; i++ {
		for j := 1; j <= maxFlash && i+j < n; j++ {
			back := t.lag[i+j][j-1]
			jump := min(c[i], c[i+j])
			around := max(floorC, c[i-1])
			if i+j+1 < n {
				around = max(around, c[i+j+1])
			}
			if jump < flashRise*around || back > flashGap*jump {
				continue
			}
			share := back / float64(j+1)
			for k := i; k <= i+j; k++ {
				flash[k] = k < i+j
				c[k] = share
				d[k] = min(d[k], share)
			}
			i += j
			break
		}
	}
	s := make([]float64, len(d))
	for i := 1; i+1 < len(s); i++ {
		if !flash[i] {
			s[i] = max(peak(c, i, floorC, true), weightD*peak(d, i, floorD, false)) * min(1, t.left[i]/motionFull)
		}
	}
	return s
}

// TestIncrementalScores: the scores the detector calls final while frames
// still stream in never change, and equal those of scoring all frames at
// once; they run at most scoreLag frames behind.
func TestIncrementalScores(t *testing.T) {
	a, b, c := texture(1, 4*tw, th+16), texture(2, 4*tw, th+16), texture(3, 4*tw, th+16)
	r := rand.New(rand.NewPCG(11, 3))
	seqs := map[string]*seq{
		"cuts and flashes": newSeq().still(a, 20).flat(255, 1).still(a, 5).still(b, 3).flat(255, 2).still(b, 9).still(c, 1).still(b, 12).brighter(b).still(a, 7),
		"pans and fades":   newSeq().pan(a, 30, 8, 1).flat(255, 1).panFrom(a, 31, 20, 8, 1).fade(a.view(0, 0), b.view(0, 0), 9).noisy(c, 20, 30).shake(a, 15, 6),
	}
	// Random sequences of short pieces: flashes near cuts and ends.
	for k := range 6 {
		s := newSeq()
		for range 12 {
			pic := []picture{a, b, c}[r.IntN(3)]
			switch r.IntN(5) {
			case 0:
				s.flat(255, 1+r.IntN(3))
			case 1:
				s.brighter(pic)
			case 2:
				s.pan(pic, 2+r.IntN(8), 4, 1)
			default:
				s.still(pic, 1+r.IntN(10))
			}
		}
		seqs["random "+string(rune('a'+k))] = s
	}
	for name, s := range seqs {
		det, ref := newDetector(tw, th), newDetector(tw, th)
		var seen []float64
		for i, f := range s.frames {
			det.add(f)
			ref.add(f)
			if n := det.final(); n < len(seen) || n < i+1-scoreLag {
				t.Fatalf("%s: after frame %d, %d final scores (had %d)", name, i, n, len(seen))
			}
			seen = append([]float64(nil), det.s...)
		}
		got := det.scores()
		ref.finish()
		want := batchScores(ref)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: incremental scores differ from batch:\n%v\n%v", name, got, want)
		}
		for i, v := range seen {
			if got[i] != v {
				t.Errorf("%s: frame %d scored %g while streaming, %g at the end", name, i, v, got[i])
			}
		}
	}
}
