package probe

import "strings"

// Layout is how av1job feeds a video to the encoder: the pixel format that
// ffmpeg converts to (if needed), its bit depth, and the colour
// description of the pixels the encoder gets.
type Layout struct {
	PixFmt   string // ffmpeg pixel format of the Y4M handed to the encoder
	BitDepth int
	Chroma   string // "420", "422" or "444"
	Convert  bool   // the source's format differs and is converted
	// Filter is the ffmpeg filter that converts the source, when the
	// conversion changes the colour description: it names the matrix and
	// range, so that the pixels and their description agree.
	Filter string
	// Color describes the pixels the encoder gets: the source's, or after
	// a conversion from RGB, YCbCr with the BT.709 matrix in limited
	// range (primaries and transfer kept).
	Color Color
}

// native lists the pixel formats that rav1e takes as they are.
var native = map[string]Layout{
	"yuv420p":     {PixFmt: "yuv420p", BitDepth: 8, Chroma: "420"},
	"yuvj420p":    {PixFmt: "yuv420p", BitDepth: 8, Chroma: "420"}, // full range; the range is signalled separately
	"yuv422p":     {PixFmt: "yuv422p", BitDepth: 8, Chroma: "422"},
	"yuvj422p":    {PixFmt: "yuv422p", BitDepth: 8, Chroma: "422"},
	"yuv444p":     {PixFmt: "yuv444p", BitDepth: 8, Chroma: "444"},
	"yuvj444p":    {PixFmt: "yuv444p", BitDepth: 8, Chroma: "444"},
	"yuv420p10le": {PixFmt: "yuv420p10le", BitDepth: 10, Chroma: "420"},
	"yuv422p10le": {PixFmt: "yuv422p10le", BitDepth: 10, Chroma: "422"},
	"yuv444p10le": {PixFmt: "yuv444p10le", BitDepth: 10, Chroma: "444"},
}

// LayoutFor returns how v is fed to the encoder. Formats rav1e cannot take
// (RGB, grey, 12-bit, packed YUV, ...) are converted to 4:2:0 at 8 or 10
// bits, whichever keeps the precision. A conversion from RGB states its
// matrix and range: ffmpeg's default would convert with BT.601 and leave
// the stream described as RGB ("gbr", identity matrix), which no decoder
// can show right.
func LayoutFor(v Video) Layout {
	l, ok := native[v.PixFmt]
	if !ok {
		l = Layout{PixFmt: "yuv420p", BitDepth: 8, Chroma: "420", Convert: true}
		if deep(v.PixFmt) {
			l = Layout{PixFmt: "yuv420p10le", BitDepth: 10, Chroma: "420", Convert: true}
		}
	}
	l.Color = v.Color
	if v.FullRange() {
		l.Color.Range = "pc"
	}
	if !l.Convert {
		return l
	}
	// A conversion that changes the colour description names its matrix
	// and range, so that what the stream says of its pixels is what they
	// are (YUV to YUV keeps both).
	switch {
	case rgb(v.PixFmt) || v.Color.Matrix == "gbr":
		l.Filter = "scale=out_color_matrix=bt709:out_range=tv,format=" + l.PixFmt
		l.Color.Matrix, l.Color.Range = "bt709", "tv"
	case strings.HasPrefix(v.PixFmt, "gray") || strings.HasPrefix(v.PixFmt, "ya") || strings.HasPrefix(v.PixFmt, "mono"):
		l.Filter = "scale=out_range=tv,format=" + l.PixFmt
		l.Color.Range = "tv"
	}
	return l
}

// FullRange reports whether the pixels the encoder gets use full-range
// ("pc", JPEG) levels.
func (l Layout) FullRange() bool { return l.Color.Range == "pc" }

func deep(pf string) bool {
	for _, s := range []string{"p9", "p10", "p12", "p14", "p16", "48", "64", "gray10", "gray12", "gray14", "gray16", "gbrp1", "gbrap1", "x2rgb10", "x2bgr10"} {
		if strings.Contains(pf, s) {
			return true
		}
	}
	return false
}

// rgb reports whether pf is an RGB (or palette) pixel format.
func rgb(pf string) bool {
	for _, p := range []string{"gbr", "rgb", "bgr", "argb", "abgr", "0rgb", "0bgr", "rgba", "bgra", "x2rgb", "x2bgr", "pal8"} {
		if strings.HasPrefix(pf, p) {
			return true
		}
	}
	return false
}

// FullRange reports whether the video uses full-range ("pc", JPEG) levels.
func (v Video) FullRange() bool {
	return v.Color.Range == "pc" || strings.HasPrefix(v.PixFmt, "yuvj")
}
