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

// TestMatrixEffect records how much scoring a pair with the wrong matrix
// moves its score, and checks that the right one agrees with the reference
// better.
func TestMatrixEffect(t *testing.T) {
	needTools(t)
	files := generateAll(t)
	want := readReference(t)
	for i, p := range pairSpecs {
		if p.kind != "y4m" || (p.color.Matrix != BT601 && p.name != "y4m-444-709-rav1e120") {
			continue
		}
		right := y4mScore(t, files[i].ref, files[i].dist, p.color)
		wrongColor := p.color
		wrongColor.Matrix = BT601
		if p.color.Matrix == BT601 {
			wrongColor.Matrix = BT709
		}
		wrong := y4mScore(t, files[i].ref, files[i].dist, wrongColor)
		ref := want[p.name].score
		t.Logf("%-28s reference %.4f, right matrix %.4f, wrong matrix %.4f (moves %+.4f)", p.name, ref, right, wrong, wrong-right)
		if math.Abs(right-ref) >= math.Abs(wrong-ref) {
			t.Errorf("%s: the wrong matrix agrees better with the reference", p.name)
		}
	}
}
