package scene

// The detector works on small grey frames (see analysisSize) in two steps.
//
// While the frames stream in, it measures each frame against the one
// before at two scales: fine, the mean absolute difference of the samples
// (d), and coarse, the mean absolute difference of the means of 8x8 tiles
// (c). Fine texture in motion (noise, grain, pans over detail, churning
// patterns) moves d a lot and c little; a new picture moves both. It keeps
// the coarse distance of each frame to the few frames before the one
// before, to recognise flashes. And where a frame stands out from its
// neighbours, it measures how much of the change motion explains: the
// difference left after matching each tile of the frame within a few
// samples in the frame before, as a share of d.
//
// When all frames are in, it scores each frame:
//
//  1. Flashes are taken out. Frames i..i+j-1 (j <= maxFlash) are a flash
//     when frame i+j is close again to frame i-1 while the jumps into and
//     out of the flash are large, also next to the changes just before and
//     after it: the scene came back. The changes across the flash are
//     replaced by an even share of the change from i-1 to i+j, and the
//     flash frames score 0.
//  2. Each measure is compared with its neighbourhood: its largest value
//     within window frames on either side, or a floor if that is larger.
//     A cut is a lone peak. For the coarse measure, when one side is calm
//     the busy side counts at sideWeight only, so that a cut into (or out
//     of) a scene that changes a lot on every frame still stands out. Fades, dissolves, pans, noise and animation on
//     twos or threes change about as much in the neighbouring frames; the
//     floor keeps small changes in still scenes (encoder noise, a
//     keyframe's quality step, an exposure nudge) from scoring.
//  3. The score is the larger of the two ratios, the fine one weighted
//     down (a change of fine detail alone is weaker evidence), and scaled
//     down when motion explains most of the change (a camera jolt or
//     shake): such a frame is no place for a keyframe either, since inter
//     prediction copes with it.
//
// A frame whose score reaches the threshold (DefaultThreshold) starts a
// scene. The last frame has no following frame to confirm it and scores 0.

// Detector settings, chosen on the benchmark set (package scenebench): the
// cuts there score 3 or more and everything else 1.7 or less.
const (
	window     = 3    // neighbourhood on either side, frames
	maxFlash   = 3    // longest flash, frames
	floorD     = 6.0  // fine difference that counts as a change at all, luma levels
	floorC     = 4.0  // coarse difference that counts as a change at all
	weightD    = 0.8  // weight of the fine ratio
	flashGap   = 0.45 // a flash's return frame differs from the frame before the flash by at most this share of both jumps
	flashRise  = 2.0  // and both jumps are this many times the changes just before and after the flash
	motionFull = 0.4  // motion explains the change when less than this share of d is left after matching
	motionGate = 1.2  // measure motion where a frame's ratio to its neighbours reaches this
	sideWeight = 0.6  // weight of the busy side of a frame's neighbourhood when the other is calm
	calmShare  = 0.25 // a side is calm when its largest change is under this share of the other's
)

const lags = maxFlash // coarse distances kept per frame, to frames i-2 .. i-1-maxFlash

// detector accumulates per-frame measures and scores frames as soon as
// nothing that follows can change their scores (see final).
type detector struct {
	w, h   int
	d, c   []float64       // fine and coarse difference to the previous frame
	lag    [][lags]float64 // lag[i][k]: coarse distance between frame i and frame i-2-k
	left   []float64       // share of d left after motion compensation (1 where not measured)
	detail []float64       // mean absolute gradient

	// The flash scan (step 1 of the scoring) runs frame by frame behind
	// the measures: rd and rc are d and c with the flashes repaired, final
	// before frame scan; s holds the scores, final for the frames before
	// len(s).
	rd, rc []float64
	flash  []bool
	scan   int
	s      []float64
	ended  bool
	// The last frames and their tile means, by frame number mod ring.
	frames [ring][]byte
	tiles  [ring][]float64
}

// ring is how many recent frames the detector keeps: the frame whose motion
// is measured once its neighbourhood is known, the one before it and the
// window after it; and the frames a flash's lags reach back to.
const ring = max(window, lags) + 2

func newDetector(w, h int) *detector {
	t := &detector{w: w, h: h}
	for i := range t.frames {
		t.frames[i] = make([]byte, w*h)
	}
	return t
}

// add measures the next frame. p is not kept.
func (t *detector) add(p []byte) {
	n := len(t.d)
	copy(t.frames[n%ring], p)
	slot := &t.tiles[n%ring]
	*slot = coarse(p, t.w, t.h, *slot)
	var dd, cc float64
	var lag [lags]float64
	if n > 0 {
		dd = mad(p, t.frames[(n-1)%ring])
		cc = meanAbsDiff(*slot, t.tiles[(n-1)%ring])
		for k := range lag {
			if j := n - 2 - k; j >= 0 {
				lag[k] = meanAbsDiff(*slot, t.tiles[j%ring])
			}
		}
	}
	t.d = append(t.d, dd)
	t.c = append(t.c, cc)
	t.lag = append(t.lag, lag)
	t.left = append(t.left, 1)
	t.detail = append(t.detail, detail(p, t.w, t.h))
	t.rd, t.rc, t.flash = append(t.rd, dd), append(t.rc, cc), append(t.flash, false)
	if i := n - window; i >= 1 {
		t.motion(i)
	}
	t.advance()
}

// finish measures motion where add could not yet and scores the last
// frames: the stream has ended.
func (t *detector) finish() {
	if t.ended {
		return
	}
	t.ended = true
	for i := max(1, len(t.d)-window); i < len(t.d); i++ {
		t.motion(i)
	}
	t.advance()
}

// final is the number of frames whose scores are final: no frame that
// may follow can change them. It runs scoreLag frames behind the frames
// added (all of them once the stream has ended).
func (t *detector) final() int { return len(t.s) }

// scoreLag is how far the final scores run behind the frames added: a
// flash is judged on up to maxFlash+2 frames after its start, and a score
// on the repaired changes within window frames.
const scoreLag = window + maxFlash + 3

// advance runs the flash scan as far as the frames added allow a full
// judgement (to the end once the stream has ended) and scores the frames
// whose neighbourhood is then repaired for good.
func (t *detector) advance() {
	n := len(t.c)
	for t.scan < n {
		i := t.scan
		if i == 0 {
			t.scan = 1
			continue
		}
		if !t.ended && i+maxFlash+1 >= n {
			break
		}
		t.scan = i + 1 + t.repairFlash(i)
	}
	upto := t.scan - window
	if t.ended {
		upto = n
	}
	for i := len(t.s); i < upto; i++ {
		var v float64
		// Frame 0 and the last frame score 0 (before the end, no frame
		// scored is the last), and so do the frames of a flash.
		if i >= 1 && i+1 < n && !t.flash[i] {
			v = max(peak(t.rc, i, floorC, true), weightD*peak(t.rd, i, floorD, false)) * min(1, t.left[i]/motionFull)
		}
		t.s = append(t.s, v)
	}
}

// motion measures how much of frame i's change motion explains, if the
// frame stands out from its neighbours (the frames i-1 and i must still be
// in the ring).
func (t *detector) motion(i int) {
	if t.d[i] > 0 && max(peak(t.c, i, floorC, true), weightD*peak(t.d, i, floorD, false)) >= motionGate {
		t.left[i] = mcResidual(t.frames[i%ring], t.frames[(i-1)%ring], t.w, t.h) / t.d[i]
	}
}

// scores returns each frame's cut score; the stream has ended.
func (t *detector) scores() []float64 {
	t.finish()
	return t.s
}

// repairFlash judges whether frames i..i+j-1 (j <= maxFlash) flash: frame
// i+j is back close to frame i-1 while the jumps into and out of the
// flash are large, also next to the changes just before and after it. If
// so, it replaces the changes into, within and out of the flash by an even
// share of the coarse change across it (in rd only where that is lower:
// the coarse figure stands in for the fine one), marks the flash frames,
// and returns j; else 0.
func (t *detector) repairFlash(i int) int {
	n := len(t.rc)
	c, d := t.rc, t.rd
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
			t.flash[k] = k < i+j
			c[k] = share
			d[k] = min(d[k], share)
		}
		return j
	}
	return 0
}

// peak returns how much v[i] stands out from its neighbours within window
// frames (from frame 1 on): v[i] over the largest of them, or over floor
// if that is larger. With oneSided (the coarse measure only), when one
// side is calm (its largest change under calmShare of the other side's),
// the busy side counts at sideWeight only: a cut into a scene that itself
// changes a lot from frame to frame (or out of one) stands out from the
// calm side, while where a fade, a dissolve or a pan starts or ends the
// busy side still holds the score down. Shakes and noise, busy on both
// sides, are compared with both. The fine measure, weaker evidence, is
// always compared with both sides.
func peak(v []float64, i int, floor float64, oneSided bool) float64 {
	var before, after float64
	for k := max(1, i-window); k < i; k++ {
		before = max(before, v[k])
	}
	for k := i + 1; k <= min(len(v)-1, i+window); k++ {
		after = max(after, v[k])
	}
	calm, busy := min(before, after), max(before, after)
	m := busy
	// A side is judged calm only over a whole window: near the ends of
	// the source there is too little of it to tell.
	full := i-window >= 1 && i+window <= len(v)-1
	if oneSided && full && calm < calmShare*busy {
		m = max(calm, sideWeight*busy)
	}
	return v[i] / max(floor, m)
}
