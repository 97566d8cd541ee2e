package ssimulacra2

import (
	"fmt"
	"math"
	"testing"
)

// TestChromaSiting checks the bilinear chroma upsampling for each Y4M
// siting on a chroma step: 100 in the left (or top) half of the chroma
// samples, 156 in the other.
func TestChromaSiting(t *testing.T) {
	tests := []struct {
		tag string
		// Expected upsampled Cb along a luma row (horizontal step) and down
		// a luma column (vertical step), 8 luma samples each.
		row, col [8]float32
	}{
		// Centred: chroma i at luma 2i+0.5, so luma x sits at chroma
		// x/2-0.25.
		{"420jpeg", [8]float32{100, 100, 100, 114, 142, 156, 156, 156}, [8]float32{100, 100, 100, 114, 142, 156, 156, 156}},
		// Left: horizontally at luma 2i; vertically centred.
		{"420mpeg2", [8]float32{100, 100, 100, 128, 156, 156, 156, 156}, [8]float32{100, 100, 100, 114, 142, 156, 156, 156}},
		// Top-left: at luma (2i, 2j).
		{"420paldv", [8]float32{100, 100, 100, 128, 156, 156, 156, 156}, [8]float32{100, 100, 100, 128, 156, 156, 156, 156}},
		// 4:2:2: left, and no vertical subsampling.
		{"422", [8]float32{100, 100, 100, 128, 156, 156, 156, 156}, [8]float32{100, 100, 100, 100, 156, 156, 156, 156}},
		{"444", [8]float32{100, 100, 100, 100, 156, 156, 156, 156}, [8]float32{100, 100, 100, 100, 156, 156, 156, 156}},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			h, err := parseY4MHeader("YUV4MPEG2 W8 H8 C" + tt.tag)
			if err != nil {
				t.Fatal(err)
			}
			cw, ch := h.chromaWidth(), h.chromaHeight()
			horiz := make([]uint16, cw*ch)
			vert := make([]uint16, cw*ch)
			for y := 0; y < ch; y++ {
				for x := 0; x < cw; x++ {
					horiz[y*cw+x] = 100
					if x >= cw/2 {
						horiz[y*cw+x] = 156
					}
					vert[y*cw+x] = 100
					if y >= ch/2 {
						vert[y*cw+x] = 156
					}
				}
			}
			up := upsample(horiz, h)
			for x, want := range tt.row {
				if got := up[3*8+x]; got != want {
					t.Errorf("row: x=%d: %v, want %v", x, got, want)
				}
			}
			up = upsample(vert, h)
			for y, want := range tt.col {
				if got := up[y*8+3]; got != want {
					t.Errorf("column: y=%d: %v, want %v", y, got, want)
				}
			}
		})
	}
}

// TestYUVToRGB checks the matrices and ranges on 4:4:4 pixels.
func TestYUVToRGB(t *testing.T) {
	tests := []struct {
		name       string
		colorspace string
		y, cb, cr  uint16
		c          Color
		rgb        [3]float64 // encoded R'G'B'
		tol        float64
	}{
		{"709 limited white", "444", 235, 128, 128, Color{}, [3]float64{1, 1, 1}, 2e-5},
		{"709 limited black", "444", 16, 128, 128, Color{}, [3]float64{0, 0, 0}, 2e-5},
		{"709 limited grey", "444", 126, 128, 128, Color{}, [3]float64{110. / 219, 110. / 219, 110. / 219}, 2e-5},
		// BT.709 red is Y' 0.2126, Pb -0.1146, Pr 0.5.
		{"709 limited red", "444", 63, 102, 240, Color{Matrix: BT709}, [3]float64{1, 0, 0}, 0.01},
		// BT.601 red is Y' 0.299, Pb -0.1687, Pr 0.5.
		{"601 limited red", "444", 81, 90, 240, Color{Matrix: BT601}, [3]float64{1, 0, 0}, 0.01},
		// BT.2020 blue is Y' 0.0593, Pb 0.5, Pr -0.0402.
		{"2020 limited blue", "444", 29, 240, 119, Color{Matrix: BT2020}, [3]float64{0, 0, 1}, 0.01},
		{"709 full white", "444", 255, 128, 128, Color{Range: RangeFull}, [3]float64{1, 1, 1}, 2e-5},
		{"709 full 10-bit", "444p10", 512, 512, 512, Color{Range: RangeFull}, [3]float64{512. / 1023, 512. / 1023, 512. / 1023}, 2e-5},
		{"709 limited 10-bit white", "444p10", 940, 512, 512, Color{}, [3]float64{1, 1, 1}, 2e-5},
		{"709 limited 12-bit white", "444p12", 3760, 2048, 2048, Color{}, [3]float64{1, 1, 1}, 2e-5},
		{"709 full 16-bit grey", "444p16", 32768, 32768, 32768, Color{Range: RangeFull}, [3]float64{32768. / 65535, 32768. / 65535, 32768. / 65535}, 2e-5},
		{"mono", "mono", 126, 0, 0, Color{}, [3]float64{110. / 219, 110. / 219, 110. / 219}, 2e-5},
		{"clipped", "444", 240, 128, 128, Color{}, [3]float64{1, 1, 1}, 2e-5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseY4MHeader(fmt.Sprintf("YUV4MPEG2 W1 H1 C%s", tt.colorspace))
			if err != nil {
				t.Fatal(err)
			}
			f := &YUVFrame{Header: h, Y: []uint16{tt.y}}
			if !h.Mono {
				f.Cb, f.Cr = []uint16{tt.cb}, []uint16{tt.cr}
			}
			im := f.Image(tt.c)
			for c := range 3 {
				got := float64(im.Planes[c][0])
				want := srgbToLinear(tt.rgb[c])
				if math.Abs(got-want) > tt.tol {
					t.Errorf("channel %d: %v, want %v", c, got, want)
				}
			}
		})
	}
}

// TestStreamRange checks that the XCOLORRANGE tag applies only when the
// caller gives no range.
func TestStreamRange(t *testing.T) {
	h, err := parseY4MHeader("YUV4MPEG2 W1 H1 C444 XCOLORRANGE=FULL")
	if err != nil {
		t.Fatal(err)
	}
	f := &YUVFrame{Header: h, Y: []uint16{255}, Cb: []uint16{128}, Cr: []uint16{128}}
	if v := f.Image(Color{}).Planes[1][0]; v != 1 {
		t.Errorf("stream range: %v, want 1", v)
	}
	if v := f.Image(Color{Range: RangeLimited}).Planes[1][0]; v != 1 {
		t.Errorf("limited, clipped: %v, want 1", v)
	}
	f.Y[0] = 235
	if v := float64(f.Image(Color{}).Planes[1][0]); math.Abs(v-srgbToLinear(235./255)) > 1e-5 {
		t.Errorf("stream range: %v, want %v", v, srgbToLinear(235./255))
	}
}
