package scenebench

import (
	"fmt"
	"math/rand/v2"
)

// HeldOutPrefix starts the names of the held-out clips.
const HeldOutPrefix = "heldout-"

// HeldOut returns n clips drawn at random from seed, at the given height:
// a check on settings chosen on the recipes, since no setting was chosen on
// these. Each clip has 10 shots of 24 to 60 frames, each from a pool of
// scenes with randomized parameters, never the same pool entry twice in a
// row. The pool has sources the recipes do not use (rgbtestsrc,
// yuvtestsrc, pal75bars, other cellular automaton rules, other views of
// the fractal, the game of life in other colours and densities, hue
// shifts) next to the recipes' kinds of change (noise, pans, shaking,
// animation on twos, dim grain) applied to other pictures. About a third
// of the shots start with a cross fade, a dissolve or a fade through black
// of 6 to 20 frames instead of a cut; about a quarter carry a single-frame
// flash.
//
// The clips depend only on seed: no platform may draw or compute them
// differently, or their cache keys (and the figures measured on them)
// would change. Floating-point sums of products are written with a
// conversion between the two operations, which keeps the compiler from
// fusing them into one instruction on machines that have it.
func HeldOut(seed uint64, n, height int) []Clip {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	rates := []int{24, 25, 30}
	var clips []Clip
	for i := range n {
		c := Clip{
			Name:  fmt.Sprintf("%s%d", HeldOutPrefix, i+1),
			About: fmt.Sprintf("random shots, transitions and flashes (seed %d, clip %d)", seed, i+1),
			Frame: Frame{W: (height*16/9 + 1) &^ 1, H: height, Rate: rates[r.IntN(len(rates))]},
		}
		last := -1
		for k := range 10 {
			pick := r.IntN(len(pool))
			for pick == last {
				pick = r.IntN(len(pool))
			}
			last = pick
			s := Shot{Src: pool[pick](r), Frames: 24 + r.IntN(37)}
			if k > 0 && r.IntN(3) == 0 {
				s.How = []Transition{Fade, Dissolve, FadeBlack}[r.IntN(3)]
				s.In = 6 + r.IntN(15) // shorter than any shot
			}
			if r.IntN(4) == 0 {
				s.Flashes = []Flash{{At: 3 + r.IntN(s.Frames-6), Kind: FlashKind(r.IntN(3))}}
			}
			c.Shots = append(c.Shots, s)
		}
		clips = append(clips, c)
	}
	return clips
}

// pool holds the held-out clips' scenes: each entry draws its parameters
// from r when called, never later, so that a clip's graph stays the same.
var pool = []func(r *rand.Rand) Source{
	func(r *rand.Rand) Source { return With(Testsrc2, fmt.Sprintf("hue=h=%d", r.IntN(360))) },
	func(r *rand.Rand) Source { return Lavfi("rgbtestsrc", "") },
	func(r *rand.Rand) Source { return Lavfi("yuvtestsrc", "") },
	func(r *rand.Rand) Source { return Lavfi("pal75bars", "") },
	func(r *rand.Rand) Source {
		// Views of the fractal with detail in them, zooming in slowly or not.
		views := [][3]float64{{-0.743643, 0.131825, 0.05}, {-0.1011, 0.9563, 0.08}, {-1.25066, 0.02012, 0.02}, {0.282, 0.01, 0.04}}
		v := views[r.IntN(len(views))]
		return Scaled("mandelbrot", fmt.Sprintf("maxiter=1500:start_x=%g:start_y=%g:start_scale=%g:end_scale=%g:end_pts=%d",
			v[0], v[1], v[2], v[2]*(0.3+float64(0.7*r.Float64())), 200), 640, 360, "bicubic")
	},
	func(r *rand.Rand) Source {
		colours := []string{"#e0c040", "#40c0e0", "#e04080", "#80e040", "#f0f0f0"}
		seed, mold, ratio, colour := r.IntN(1000), r.IntN(20), 0.2+float64(0.3*r.Float64()), colours[r.IntN(len(colours))]
		return func(f Frame) string {
			return fmt.Sprintf("life=s=128x72:r=%d:seed=%d:mold=%d:ratio=%.2f:life_color=%s:death_color=#101820,trim=start_frame=60,setpts=N,scale=%d:%d:flags=neighbor",
				f.Rate, seed, mold, ratio, colour, f.W, f.H)
		}
	},
	func(r *rand.Rand) Source {
		rules := []int{30, 90, 110, 150, 45, 18}
		return Scaled("cellauto", fmt.Sprintf("rule=%d:seed=%d:ratio=0.5", rules[r.IntN(len(rules))], r.IntN(1000)), 320, 180, "neighbor")
	},
	func(r *rand.Rand) Source {
		return Scaled("sierpinski", fmt.Sprintf("seed=%d:jump=%d:type=%s", r.IntN(1000), 1+r.IntN(20), []string{"carpet", "triangle"}[r.IntN(2)]), 640, 360, "bicubic")
	},
	func(r *rand.Rand) Source {
		return Noisy(With(Testsrc, fmt.Sprintf("hue=h=%d", r.IntN(360))), 8+r.IntN(20))
	},
	func(r *rand.Rand) Source {
		canvases := []func(w, h, rate int) string{mandelCanvas, testsrcCanvas, cellCanvas, lifeCanvas}
		return Pan(canvases[r.IntN(len(canvases))], 3, 0.004+float64(0.03*r.Float64()))
	},
	func(r *rand.Rand) Source {
		return Shake(With(HDBars, fmt.Sprintf("hue=h=%d", r.IntN(360))), 0.005+float64(0.01*r.Float64()))
	},
	func(r *rand.Rand) Source { return OnTwos(With(Testsrc2, "hue=s=0")) },
	func(r *rand.Rand) Source {
		return dark(Scaled("cellauto", fmt.Sprintf("rule=30:seed=%d:ratio=0.4", r.IntN(1000)), 320, 180, "bicubic"))
	},
	func(r *rand.Rand) Source { return dark(Lavfi("smptebars", "")) },
}
