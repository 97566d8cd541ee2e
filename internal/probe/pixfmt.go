package probe

import "strings"

// Layout is how av1job feeds a video to the encoder: the pixel format that
// ffmpeg converts to (if needed) and its bit depth.
type Layout struct {
	PixFmt   string // ffmpeg pixel format of the Y4M handed to the encoder
	BitDepth int
	Chroma   string // "420", "422" or "444"
	Convert  bool   // the source's format differs and is converted
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

// LayoutFor returns how a source of pixel format pf is fed to the encoder.
// Formats rav1e cannot take (RGB, grey, 12-bit, ...) are converted to 4:2:0
// at 8 or 10 bits, whichever keeps the precision.
func LayoutFor(pf string) Layout {
	if l, ok := native[pf]; ok {
		return l
	}
	if deep(pf) {
		return Layout{PixFmt: "yuv420p10le", BitDepth: 10, Chroma: "420", Convert: true}
	}
	return Layout{PixFmt: "yuv420p", BitDepth: 8, Chroma: "420", Convert: true}
}

func deep(pf string) bool {
	for _, s := range []string{"p10", "p12", "p14", "p16", "48", "64", "gray10", "gray12", "gray16", "gbrp1"} {
		if strings.Contains(pf, s) {
			return true
		}
	}
	return false
}

// FullRange reports whether the video uses full-range ("pc", JPEG) levels.
func (v Video) FullRange() bool {
	return v.Color.Range == "pc" || strings.HasPrefix(v.PixFmt, "yuvj")
}
