package scenebench

// Recipes are the benchmark's clips at 1080p; Set adds each at 360p.
var Recipes = []Clip{
	{
		Name:  "cuts",
		About: "hard cuts, half of them between similar scenes (same generator, another view, seed or hue)",
		Frame: Frame{1920, 1080, 25},
		Shots: []Shot{
			{Src: Testsrc2, Frames: 38},
			{Src: Testsrc2Alt, Frames: 34},
			{Src: HDBars, Frames: 30},
			{Src: SDBars, Frames: 32},
			{Src: Mandelbrot, Frames: 40},
			{Src: MandelbrotAlt, Frames: 36},
			{Src: Gradients(3), Frames: 40},
			{Src: Gradients(4), Frames: 36},
			{Src: Life(1), Frames: 34},
			{Src: Life(2), Frames: 34},
			{Src: Cellauto, Frames: 33},
			{Src: Sierpinski(1), Frames: 35},
		},
	},
	{
		Name:  "fades",
		About: "cross fades, dissolves and fades through black of 8 to 30 frames, a fade in from black, and hard cuts between them",
		Frame: Frame{1920, 1080, 24},
		Shots: []Shot{
			{Src: With(Sierpinski(2), "fade=t=in:s=0:n=12"), Frames: 36},
			{Src: Testsrc2, Frames: 28, How: Fade, In: 12},
			{Src: Gradients(5), Frames: 26, How: Dissolve, In: 16},
			{Src: Mandelbrot, Frames: 30, How: Cut},
			{Src: HDBars, Frames: 30, How: FadeBlack, In: 30},
			{Src: Life(3), Frames: 28, How: Fade, In: 8},
			{Src: Cellauto, Frames: 28, How: Cut},
			{Src: Testsrc2Alt, Frames: 30, How: Dissolve, In: 8},
			{Src: Gradients(6), Frames: 30, How: Fade, In: 30},
			{Src: MandelbrotAlt, Frames: 28, How: Cut},
			{Src: Sierpinski(3), Frames: 30, How: FadeBlack, In: 20},
		},
	},
	{
		Name:  "chaos",
		About: "cuts into, out of and between scenes that change a lot from frame to frame (Game of Life from its first generations, a very fast pan), and one between two calm scenes after them",
		Frame: Frame{1920, 1080, 24},
		Shots: []Shot{
			{Src: Mandelbrot, Frames: 40},
			{Src: LifeRaw(1), Frames: 40},
			{Src: HDBars, Frames: 30},
			{Src: LifeRaw(2), Frames: 36},
			{Src: LifeRaw(3), Frames: 36},
			{Src: Testsrc2, Frames: 30},
			{Src: Pan(cellCanvas, 4, 0.05), Frames: 36},
			{Src: Gradients(10), Frames: 30},
			{Src: Sierpinski(5), Frames: 30},
		},
	},
	{
		Name:  "flashes",
		About: "single-frame flashes (white, overexposed, one frame of another scene), two flashes two frames apart, flashes close to cuts",
		Frame: Frame{1920, 1080, 30},
		Shots: []Shot{
			{Src: Testsrc2, Frames: 50, Flashes: []Flash{{20, White}}},
			{Src: Mandelbrot, Frames: 56, Flashes: []Flash{{15, Bright}, {40, Insert}}},
			{Src: Gradients(7), Frames: 45, Flashes: []Flash{{3, White}}},
			{Src: HDBars, Frames: 45, Flashes: []Flash{{10, Insert}, {13, Insert}}},
			{Src: Life(4), Frames: 48, Flashes: []Flash{{24, Bright}, {43, White}}},
			{Src: Sierpinski(4), Frames: 45, Flashes: []Flash{{20, White}, {22, White}}},
			{Src: Cellauto, Frames: 45, Flashes: []Flash{{30, Bright}}},
		},
	},
	{
		Name:  "motion",
		About: "slow, fast and very fast pans (cuts between pans), a fast zoom, a shaking camera, fast-changing cells, noisy scenes and a cut between two noisy scenes",
		Frame: Frame{1920, 1080, 25},
		Shots: []Shot{
			{Src: Pan(mandelCanvas, 2, 0.006), Frames: 45},
			{Src: Pan(testsrcCanvas, 3, 0.025), Frames: 45},
			{Src: Pan(cellCanvas, 4, 0.05), Frames: 40},
			{Src: MandelbrotZoom, Frames: 40},
			{Src: Noisy(Gradients(8), 12), Frames: 40},
			{Src: Noisy(Testsrc2, 24), Frames: 36},
			{Src: OnTwos(Life(5)), Frames: 40},
			{Src: Shake(HDBars, 0.01), Frames: 36},
			{Src: Pan(lifeCanvas, 3, 0.03), Frames: 40},
			{Src: Noisy(Mandelbrot, 16), Frames: 36},
		},
	},
	{
		Name:  "dark-grain",
		About: "dark, low-contrast, grainy scenes: cuts (one between similar scenes), a dissolve, a flash and a slow pan",
		Frame: Frame{1920, 1080, 24},
		Shots: []Shot{
			{Src: dark(Mandelbrot), Frames: 40},
			{Src: dark(MandelbrotAlt), Frames: 36},
			{Src: dark(Gradients(9)), Frames: 36},
			{Src: dark(Testsrc2), Frames: 30, How: Dissolve, In: 12},
			{Src: dark(Life(6)), Frames: 40, Flashes: []Flash{{20, Bright}}},
			{Src: dark(Sierpinski(5)), Frames: 36},
			{Src: dark(Pan(mandelCanvas, 2, 0.008)), Frames: 44},
		},
	},
}

// dark makes a scene dim, flat and grainy, like an underexposed film shot.
func dark(src Source) Source {
	return Noisy(With(src, "eq=contrast=0.45:brightness=-0.18"), 8)
}

// Set returns the benchmark clips: each recipe at 1080p and at 360p.
func Set() []Clip {
	out := append([]Clip(nil), Recipes...)
	for _, c := range Recipes {
		out = append(out, c.Scaled(c.Name+"-360p", 360))
	}
	for i := range out[:len(Recipes)] {
		out[i].Name += "-1080p"
	}
	return out
}

// Long is a two-minute clip for the encoding benchmark: 24 shots of 120
// frames at 24 fps with hard cuts, whose content costs an encoder very
// different amounts (flat bars next to a noisy picture and the Game of
// Life's first generations), in an order that puts expensive shots late.
func Long(height int) Clip {
	sb := Lavfi
	srcs := []Source{
		HDBars, Testsrc2, sb("colorspectrum", ""), Mandelbrot, SDBars, Cellauto,
		sb("pal75bars", ""), MandelbrotZoom, Testsrc, Sierpinski(1), Noisy(sb("color", "c=gray"), 4), Life(1),
		sb("rgbtestsrc", ""), OnTwos(Mandelbrot), With(Testsrc2, "hue=H=t"), Shake(Testsrc2, 0.02), sb("yuvtestsrc", ""), Sierpinski(3),
		Pan(mandelCanvas, 3, 0.01), Noisy(HDBars, 30), LifeRaw(2), Noisy(Testsrc2, 12), Pan(cellCanvas, 4, 0.02), LifeRaw(1),
	}
	c := Clip{Name: "long", About: "24 shots of very different cost, the expensive ones late", Frame: Frame{W: (height*16/9 + 1) &^ 1, H: height, Rate: 24}}
	for _, s := range srcs {
		c.Shots = append(c.Shots, Shot{Src: s, Frames: 120})
	}
	return c
}
