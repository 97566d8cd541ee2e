package rav1e

import (
	"fmt"
	"strings"
)

// A frameLayout is what decides the planes of a frame.
type frameLayout struct {
	width, height, bitDepth int
	chroma                  ChromaSampling
}

func (c Config) layout() frameLayout {
	return frameLayout{width: c.Width, height: c.Height, bitDepth: c.BitDepth, chroma: c.Chroma}
}

func (l frameLayout) String() string {
	return fmt.Sprintf("%dx%d %d-bit %v", l.width, l.height, l.bitDepth, l.chroma)
}

// planeSize returns the width and height in samples of plane 0 (luma), 1
// or 2 (chroma), and 0, 0 for a chroma plane of a 4:0:0 stream.
func (l frameLayout) planeSize(plane int) (w, h int) {
	if plane == 0 {
		return l.width, l.height
	}
	switch l.chroma {
	case Chroma420:
		return (l.width + 1) / 2, (l.height + 1) / 2
	case Chroma422:
		return (l.width + 1) / 2, l.height
	case Chroma444:
		return l.width, l.height
	}
	return 0, 0
}

// bytesPerSample returns 1 for 8-bit streams and 2 for deeper ones.
func (l frameLayout) bytesPerSample() int {
	if l.bitDepth > 8 {
		return 2
	}
	return 1
}

// size returns the length of a frame in the Y4M layout.
func (l frameLayout) size() int {
	n := 0
	for p := 0; p < 3; p++ {
		w, h := l.planeSize(p)
		n += w * h
	}
	return n * l.bytesPerSample()
}

// FrameSize returns the length in bytes of one frame's planes laid out as
// in a Y4M FRAME payload, the layout Frame.FillY4M and Session.WriteFrame
// take: the luma plane, then the two chroma planes (none for 4:0:0), each
// row after row with no padding, one byte per sample at 8 bits and two
// (little-endian) above.
func (c Config) FrameSize() int { return c.layout().size() }

// Y4MColorspace returns the bit depth, chroma sampling and chroma sample
// position that the rav1e 0.5.1 program derives from the value of a Y4M
// header's C parameter ("420jpeg", "420p10", "444", "mono" ...), with or
// without the leading C. An empty tag (no C parameter) is what the
// program's Y4M reader assumes then: 8-bit 4:2:0 co-located. Copy them into
// a Config to encode as the program would.
func Y4MColorspace(tag string) (bitDepth int, chroma ChromaSampling, pos ChromaSamplePosition, err error) {
	switch strings.TrimPrefix(tag, "C") {
	case "420jpeg", "420paldv":
		return 8, Chroma420, PositionUnknown, nil
	case "420mpeg2":
		return 8, Chroma420, PositionVertical, nil
	case "mono":
		return 8, Chroma400, PositionUnknown, nil
	case "", "420":
		return 8, Chroma420, PositionColocated, nil
	case "420p10":
		return 10, Chroma420, PositionColocated, nil
	case "420p12":
		return 12, Chroma420, PositionColocated, nil
	case "422":
		return 8, Chroma422, PositionColocated, nil
	case "422p10":
		return 10, Chroma422, PositionColocated, nil
	case "422p12":
		return 12, Chroma422, PositionColocated, nil
	case "444":
		return 8, Chroma444, PositionColocated, nil
	case "444p10":
		return 10, Chroma444, PositionColocated, nil
	case "444p12":
		return 12, Chroma444, PositionColocated, nil
	}
	return 0, 0, 0, fmt.Errorf("rav1e: unsupported Y4M colour space %q", tag)
}
