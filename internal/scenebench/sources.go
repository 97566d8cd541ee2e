package scenebench

import "fmt"

// Sources that draw resolution-independent pictures are rendered at a fixed
// base size and scaled to the clip's, so that a recipe shows the same
// content at every resolution.

// Lavfi is a lavfi source filter rendered at the clip's size; opts are more
// of its options ("seed=3").
func Lavfi(name, opts string) Source {
	return func(f Frame) string {
		s := fmt.Sprintf("%s=s=%dx%d:r=%d", name, f.W, f.H, f.Rate)
		if opts != "" {
			s += ":" + opts
		}
		return s
	}
}

// Scaled is a lavfi source rendered at w x h and scaled to the clip's size
// with the given swscale flags (neighbor keeps cells sharp).
func Scaled(name, opts string, w, h int, flags string) Source {
	return func(f Frame) string {
		s := fmt.Sprintf("%s=s=%dx%d:r=%d", name, w, h, f.Rate)
		if opts != "" {
			s += ":" + opts
		}
		return s + fmt.Sprintf(",scale=%d:%d:flags=%s", f.W, f.H, flags)
	}
}

// With appends filters to a source.
func With(src Source, filters string) Source {
	return func(f Frame) string { return src(f) + "," + filters }
}

// Noisy adds temporal noise of the given strength (noise=alls=..:allf=t).
func Noisy(src Source, strength int) Source {
	return With(src, fmt.Sprintf("noise=alls=%d:allf=t", strength))
}

// Pan moves a clip-sized window across a still picture of canvas (rendered
// wide times the clip's width) at speed clip widths per frame, left to
// right, stopping at the canvas's right edge.
func Pan(canvas func(w, h, rate int) string, wide, speed float64) Source {
	return func(f Frame) string {
		cw := int(float64(f.W)*wide) &^ 1
		step := speed * float64(f.W)
		return fmt.Sprintf("%s,trim=end_frame=1,loop=loop=-1:size=1,setpts=N,crop=w=%d:h=%d:x='min(n*%.3f\\,iw-ow)':y=0",
			canvas(cw, f.H, f.Rate), f.W, f.H, step)
	}
}

// OnTwos shows each picture of src for two frames, like animation drawn on
// twos: the picture changes every other frame.
func OnTwos(src Source) Source {
	return func(f Frame) string { return src(f) + fmt.Sprintf(",setpts=2*PTS,fps=%d", f.Rate) }
}

// Shake is src seen through a shaking camera: the window jumps by up to amp
// of the clip's width every frame.
func Shake(src Source, amp float64) Source {
	return func(f Frame) string {
		a := amp * float64(f.W)
		return fmt.Sprintf("%s,scale=%d:%d,crop=w=%d:h=%d:x='%.2f*(1+sin(n*1.7))':y='%.2f*(1+cos(n*2.3))'",
			src(f), f.W+int(2*a+2)&^1, f.H+int(2*a+2)&^1, f.W, f.H, a, a)
	}
}

// The scenes the recipes use.
var (
	Testsrc2 = Lavfi("testsrc2", "")
	// Testsrc2Alt is testsrc2 seen from another camera: zoomed in a little,
	// shifted and with another hue; close to Testsrc2, but a different shot.
	Testsrc2Alt = func(f Frame) string {
		return Testsrc2(f) + fmt.Sprintf(",crop=iw*0.86:ih*0.86:iw*0.10:ih*0.04,scale=%d:%d,hue=h=70", f.W, f.H)
	}
	Testsrc    = Lavfi("testsrc", "")
	HDBars     = Lavfi("smptehdbars", "")
	SDBars     = Lavfi("smptebars", "")
	Mandelbrot = Scaled("mandelbrot", "maxiter=2000", 640, 360, "bicubic")
	// MandelbrotAlt looks at the same fractal from a nearby point.
	MandelbrotAlt  = Scaled("mandelbrot", "maxiter=2000:start_x=-0.55:start_y=0.35:start_scale=2.4", 640, 360, "bicubic")
	MandelbrotZoom = Scaled("mandelbrot", "maxiter=2000:start_x=-0.7436447:start_y=0.1318252:start_scale=1.5:end_scale=0.002:end_pts=120", 640, 360, "bicubic")
	Gradients      = func(seed int) Source {
		return Scaled("gradients", fmt.Sprintf("n=4:seed=%d:speed=0.03", seed), 640, 360, "bicubic")
	}
	// Life is Conway's game of life in big cells, past its first chaotic
	// generations.
	Life = func(seed int) Source {
		return func(f Frame) string {
			return fmt.Sprintf("life=s=96x54:r=%d:seed=%d:mold=10:ratio=0.3:death_color=#102040:life_color=#f0d060:mold_color=#406020,trim=start_frame=120,setpts=N,scale=%d:%d:flags=neighbor", f.Rate, seed, f.W, f.H)
		}
	}
	// LifeRaw is the game of life from its first, chaotic generations, as
	// the project's test clips use it: most of the picture changes on
	// every frame.
	LifeRaw = func(seed int) Source {
		return func(f Frame) string {
			return fmt.Sprintf("life=s=%dx%d:r=%d:seed=%d:mold=10:ratio=0.5:death_color=#103060:life_color=#e0c040", f.W/2, f.H/2, f.Rate, seed) +
				fmt.Sprintf(",scale=%d:%d:flags=neighbor", f.W, f.H)
		}
	}
	Cellauto   = Scaled("cellauto", "rule=110:seed=2:ratio=0.5", 320, 180, "neighbor")
	Sierpinski = func(seed int) Source {
		return Scaled("sierpinski", fmt.Sprintf("seed=%d:jump=10", seed), 640, 360, "bicubic")
	}
)

// Canvases for pans: one still picture, wide times the clip's width.
func mandelCanvas(w, h, rate int) string {
	return fmt.Sprintf("mandelbrot=s=%dx%d:r=%d:maxiter=2000:start_scale=1.2:start_y=0.1,scale=%d:%d:flags=bicubic", w*360/h, 360, rate, w, h)
}

func testsrcCanvas(w, h, rate int) string {
	return fmt.Sprintf("testsrc2=s=%dx%d:r=%d", w, h, rate)
}

func cellCanvas(w, h, rate int) string {
	return fmt.Sprintf("cellauto=s=%dx%d:r=%d:rule=30:seed=5:full=1,scale=%d:%d:flags=neighbor", w*180/h, 180, rate, w, h)
}

func lifeCanvas(w, h, rate int) string {
	return fmt.Sprintf("life=s=%dx%d:r=%d:seed=9:ratio=0.4:mold=0:death_color=#203050:life_color=#e0e0a0,scale=%d:%d:flags=neighbor", w*90/h, 90, rate, w, h)
}
