package ssimulacra2

import (
	"errors"
	"image"
	"image/color"
	"math"
	"slices"
	"testing"
)

// testImage returns a deterministic smooth-plus-texture image.
func testImage(w, h int, seed uint32) *Image {
	im := NewImage(w, h)
	s := seed
	for c := range im.Planes {
		for i := range im.Planes[c] {
			s = s*1664525 + 1013904223
			x, y := float64(i%w), float64(i/w)
			v := 0.5 + 0.3*math.Sin(x/7+float64(c))*math.Cos(y/5) + 0.05*float64(s>>24)/255
			im.Planes[c][i] = float32(v * v)
		}
	}
	return im
}

func TestScoreErrors(t *testing.T) {
	a := testImage(32, 24, 1)
	tests := []struct {
		name       string
		ref, dist  *Image
		want       error
		wantAnyErr bool
	}{
		{name: "size mismatch", ref: a, dist: testImage(32, 25, 1), want: ErrSizeMismatch},
		{name: "too narrow", ref: testImage(7, 24, 1), dist: testImage(7, 24, 1), want: ErrTooSmall},
		{name: "too short", ref: testImage(32, 7, 1), dist: testImage(32, 7, 1), want: ErrTooSmall},
		{name: "nil", ref: nil, dist: a, wantAnyErr: true},
		{name: "short plane", ref: a, dist: &Image{Width: 32, Height: 24, Planes: [3][]float32{make([]float32, 10), nil, nil}}, wantAnyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Score(tt.ref, tt.dist)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestScoreIdentical(t *testing.T) {
	a := testImage(40, 30, 2)
	s, err := Score(a, a)
	if err != nil {
		t.Fatal(err)
	}
	if s != 100 {
		t.Fatalf("identical images score %v, want 100", s)
	}
}

// TestScoreWorkers checks that the result does not depend on the number of
// goroutines and that the inputs are left alone.
func TestScoreWorkers(t *testing.T) {
	a, b := testImage(300, 77, 3), testImage(300, 77, 4)
	a0, b0 := slices.Clone(a.Planes[0]), slices.Clone(b.Planes[2])
	var scores []float64
	for _, w := range []int{1, 2, 3, 8} {
		s, err := Scorer{Workers: w}.Score(a, b)
		if err != nil {
			t.Fatal(err)
		}
		scores = append(scores, s)
	}
	for _, s := range scores[1:] {
		if s != scores[0] {
			t.Fatalf("scores by worker count differ: %v", scores)
		}
	}
	if !slices.Equal(a0, a.Planes[0]) || !slices.Equal(b0, b.Planes[2]) {
		t.Fatal("Score modified its inputs")
	}
}

// TestScoreMonotonic checks that more noise scores lower.
func TestScoreMonotonic(t *testing.T) {
	ref := testImage(64, 48, 5)
	prev := 100.0
	for _, amp := range []float32{0.002, 0.01, 0.05, 0.2} {
		dist := NewImage(64, 48)
		s := uint32(9)
		for c := range dist.Planes {
			for i, v := range ref.Planes[c] {
				s = s*1664525 + 1013904223
				dist.Planes[c][i] = min(1, max(0, v+amp*(float32(s>>24)/255-0.5)))
			}
		}
		got, err := Score(ref, dist)
		if err != nil {
			t.Fatal(err)
		}
		if got >= prev {
			t.Errorf("noise %v scores %v, not below %v", amp, got, prev)
		}
		prev = got
	}
}

func TestFromImage(t *testing.T) {
	const w, h = 3, 2
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	rgba64 := image.NewRGBA64(image.Rect(0, 0, w, h))
	gray := image.NewGray(image.Rect(0, 0, w, h))
	gray16 := image.NewGray16(image.Rect(0, 0, w, h))
	paletted := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{255, 128, 0, 255}})
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(40 * x), uint8(100 + 50*y), 255, 255}
			rgba.Set(x, y, c)
			nrgba.Set(x, y, c)
			rgba64.Set(x, y, c)
			gray.Set(x, y, color.Gray{uint8(40 * x)})
			gray16.Set(x, y, color.Gray{uint8(40 * x)})
		}
	}
	paletted.SetColorIndex(1, 1, 1)
	sub := rgba.SubImage(image.Rect(1, 0, 3, 2))
	tests := []struct {
		name string
		src  image.Image
		x, y int
		want [3]float64 // sRGB codes / 255
	}{
		{"rgba", rgba, 2, 1, [3]float64{80. / 255, 150. / 255, 1}},
		{"nrgba", nrgba, 2, 1, [3]float64{80. / 255, 150. / 255, 1}},
		{"rgba64", rgba64, 2, 1, [3]float64{80. / 255, 150. / 255, 1}},
		{"gray", gray, 1, 0, [3]float64{40. / 255, 40. / 255, 40. / 255}},
		{"gray16", gray16, 2, 0, [3]float64{80. / 255, 80. / 255, 80. / 255}},
		{"paletted", paletted, 1, 1, [3]float64{1, 128. / 255, 0}},
		{"subimage", sub, 1, 1, [3]float64{80. / 255, 150. / 255, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := FromImage(tt.src)
			b := tt.src.Bounds()
			if im.Width != b.Dx() || im.Height != b.Dy() {
				t.Fatalf("size %dx%d", im.Width, im.Height)
			}
			for c := range 3 {
				got := float64(im.Planes[c][tt.y*im.Width+tt.x])
				want := srgbToLinear(tt.want[c])
				if math.Abs(got-want) > 1e-6 {
					t.Errorf("channel %d = %v, want %v", c, got, want)
				}
			}
		})
	}
}

func TestSRGBToLinear(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0, 0},
		{0.04045, 0.04045 / 12.92},
		{0.5, 0.21404114048223255},
		{1, 1},
	}
	for _, tt := range tests {
		if got := srgbToLinear(tt.in); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("srgbToLinear(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestCbrt(t *testing.T) {
	for _, x := range []float32{0, 1e-30, 1e-8, 0.0037930732552754493, 0.1, 0.5, 0.999, 1, 2, 27, 1e6} {
		want := math.Cbrt(float64(x))
		got := float64(cbrt(x))
		if math.Abs(got-want) > 1e-7*want {
			t.Errorf("cbrt(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestFinalScoreMapping(t *testing.T) {
	var zero []scaleStats
	if got := finalScore(zero); got != 100 {
		t.Errorf("no error scores %v, want 100", got)
	}
	// One pooled term: the mapping is monotonic and passes through the
	// published curve.
	st := make([]scaleStats, numScales)
	st[0][1].ssim[1] = 0.01 // Y, 1:1, 4-norm SSIM: weight 39
	s1 := finalScore(st)
	st[0][1].ssim[1] = 0.02
	s2 := finalScore(st)
	if !(s2 < s1 && s1 < 100) {
		t.Errorf("scores %v, %v not decreasing below 100", s1, s2)
	}
	v := 0.01 * weights[39] * 0.9562382616834844
	v = 2.326765642916932*v - 0.020884521182843837*v*v + 6.248496625763138e-05*v*v*v
	if want := 100 - 10*math.Pow(v, 0.6276336467831387); math.Abs(s1-want) > 1e-12 {
		t.Errorf("score %v, want %v", s1, want)
	}
}

func BenchmarkScore1080p(b *testing.B) {
	ref, dist := testImage(1920, 1080, 1), testImage(1920, 1080, 2)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Score(ref, dist); err != nil {
			b.Fatal(err)
		}
	}
}
