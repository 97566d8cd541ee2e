package ssimulacra2

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
)

// An Image is a frame in linear-light RGB with the sRGB (BT.709) primaries:
// three planes (R, G, B) of Width*Height float32 samples each, row-major,
// nominally in 0..1.
type Image struct {
	Width, Height int
	Planes        [3][]float32
}

// NewImage returns a black image of the given size.
func NewImage(width, height int) *Image {
	im := &Image{Width: width, Height: height}
	for c := range im.Planes {
		im.Planes[c] = make([]float32, width*height)
	}
	return im
}

// check reports whether im is usable: non-nil, at least 8x8 (as the
// reference tool requires) and with planes of the stated size.
func (im *Image) check() error {
	if im == nil {
		return errors.New("nil image")
	}
	if im.Width < 8 || im.Height < 8 {
		return fmt.Errorf("image is %dx%d: %w", im.Width, im.Height, ErrTooSmall)
	}
	for c, p := range im.Planes {
		if len(p) != im.Width*im.Height {
			return fmt.Errorf("plane %d has %d samples, want %d", c, len(p), im.Width*im.Height)
		}
	}
	return nil
}

// ErrTooSmall is returned for images narrower or shorter than 8 pixels.
var ErrTooSmall = errors.New("image smaller than 8x8")

// ErrSizeMismatch is returned when the two images of a comparison differ in
// size.
var ErrSizeMismatch = errors.New("image sizes differ")

// srgbToLinear is the sRGB electro-optical transfer function (IEC 61966-2-1)
// for an encoded value v in 0..1.
func srgbToLinear(v float64) float64 {
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

var (
	lut8Once, lut16Once sync.Once
	lut8                [256]float32
	lut16               []float32
)

// linear8 returns the table of linear values for 8-bit sRGB codes.
func linear8() *[256]float32 {
	lut8Once.Do(func() {
		for i := range lut8 {
			lut8[i] = float32(srgbToLinear(float64(i) / 255))
		}
	})
	return &lut8
}

// linear16 returns the table of linear values for 16-bit sRGB codes.
func linear16() []float32 {
	lut16Once.Do(func() {
		lut16 = make([]float32, 65536)
		for i := range lut16 {
			lut16[i] = float32(srgbToLinear(float64(i) / 65535))
		}
	})
	return lut16
}

// FromImage converts an sRGB-encoded image (as read from a PNG: 8 or 16 bits
// per sample, or gray) to linear light with the sRGB transfer function, the
// way the reference tool reads its inputs. Samples of 8-bit images are
// divided by 255, all others by 65535.
//
// Alpha is ignored: each pixel's stored colour is used as if it were opaque
// (for premultiplied types such as image.RGBA, the premultiplied colour).
// The reference tool instead blends translucent images over a dark and a
// bright background and keeps the worse score; that is not reproduced.
func FromImage(src image.Image) *Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	im := NewImage(w, h)
	r, g, bl := im.Planes[0], im.Planes[1], im.Planes[2]
	switch s := src.(type) {
	case *image.RGBA:
		im.fromRGBA8(s.Pix, s.Stride, s.PixOffset(b.Min.X, b.Min.Y))
	case *image.NRGBA:
		im.fromRGBA8(s.Pix, s.Stride, s.PixOffset(b.Min.X, b.Min.Y))
	case *image.Gray:
		lut := linear8()
		for y := 0; y < h; y++ {
			row := s.Pix[s.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				i := y*w + x
				v := lut[row[x]]
				r[i], g[i], bl[i] = v, v, v
			}
		}
	case *image.RGBA64:
		fill16(im, s.Pix, s.Stride, s.PixOffset(b.Min.X, b.Min.Y), 8, 3)
	case *image.NRGBA64:
		fill16(im, s.Pix, s.Stride, s.PixOffset(b.Min.X, b.Min.Y), 8, 3)
	case *image.Gray16:
		fill16(im, s.Pix, s.Stride, s.PixOffset(b.Min.X, b.Min.Y), 2, 1)
	default:
		lut := linear16()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*w + x
				cr, cg, cb, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
				r[i], g[i], bl[i] = lut[cr], lut[cg], lut[cb]
			}
		}
	}
	return im
}

// fill16 converts big-endian 16-bit samples: pixels of pixBytes bytes whose
// first channels (1 for gray, 3 for RGB) are the colour.
func fill16(im *Image, pix []byte, stride, off, pixBytes, channels int) {
	lut := linear16()
	w := im.Width
	for y := 0; y < im.Height; y++ {
		row := pix[off+y*stride:]
		for x := 0; x < w; x++ {
			p := row[x*pixBytes:]
			for c := 0; c < 3; c++ {
				k := 0
				if channels == 3 {
					k = c
				}
				im.Planes[c][y*w+x] = lut[uint16(p[2*k])<<8|uint16(p[2*k+1])]
			}
		}
	}
}

// fromRGBA8 fills im from 8-bit RGBA samples (alpha ignored) whose first
// row starts at pix[off], rows stride bytes apart.
func (im *Image) fromRGBA8(pix []byte, stride, off int) {
	lut := linear8()
	r, g, bl := im.Planes[0], im.Planes[1], im.Planes[2]
	for y := 0; y < im.Height; y++ {
		row := pix[off+y*stride:]
		for x := 0; x < im.Width; x++ {
			i := y*im.Width + x
			r[i], g[i], bl[i] = lut[row[4*x]], lut[row[4*x+1]], lut[row[4*x+2]]
		}
	}
}
