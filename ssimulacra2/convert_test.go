package ssimulacra2

import (
	"math"
	"os"
	"testing"
)

// TestY4MConversion checks this package's Y'CbCr to RGB conversion, chroma
// upsampling included, against FFmpeg's (see toRGBFilter) on the reference
// frame of every Y4M pair.
func TestY4MConversion(t *testing.T) {
	needTools(t)
	files := generateAll(t)
	for i, p := range pairSpecs {
		if p.kind != "y4m" {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			f := files[i]
			in, err := os.Open(f.ref)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			r, err := NewY4MReader(in)
			if err != nil {
				t.Fatal(err)
			}
			fr, err := r.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			got := fr.Image(p.color)
			want := loadPNG(t, f.refPNG)
			var worst float64
			for c := range got.Planes {
				for i := range got.Planes[c] {
					worst = max(worst, math.Abs(float64(got.Planes[c][i]-want.Planes[c][i])))
				}
			}
			// 16-bit PNG samples are within 1/131070 of the exact value;
			// linearisation magnifies that at most 2.4 times.
			if worst > 1e-4 {
				t.Errorf("largest difference from FFmpeg's conversion %.6f, want <= 1e-4", worst)
			}
		})
	}
}
