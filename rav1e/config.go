package rav1e

import (
	"fmt"
	"strconv"
)

// A Rational is a fraction such as a time base: Num/Den.
type Rational struct{ Num, Den uint64 }

// ChromaSampling is the chroma subsampling of the frames, as rav1e's
// RaChromaSampling.
type ChromaSampling int

// The chroma samplings, with rav1e's values.
const (
	Chroma420 ChromaSampling = iota // both directions subsampled
	Chroma422                       // horizontally subsampled
	Chroma444                       // not subsampled
	Chroma400                       // monochrome: luma only
)

// String returns "4:2:0", "4:2:2", "4:4:4" or "4:0:0".
func (c ChromaSampling) String() string {
	switch c {
	case Chroma420:
		return "4:2:0"
	case Chroma422:
		return "4:2:2"
	case Chroma444:
		return "4:4:4"
	case Chroma400:
		return "4:0:0"
	}
	return "ChromaSampling(" + strconv.Itoa(int(c)) + ")"
}

// ChromaSamplePosition is where subsampled chroma samples sit, as rav1e's
// RaChromaSamplePosition. The rav1e program takes it from the Y4M colour
// space (see Y4MColorspace), and it is written into the sequence header.
type ChromaSamplePosition int

// The chroma sample positions, with rav1e's values.
const (
	PositionUnknown   ChromaSamplePosition = iota // signalled outside the bitstream
	PositionVertical                              // between two luma rows, in line with column 0
	PositionColocated                             // co-located with luma sample (0, 0)
)

// PixelRange is the range of the sample values, as rav1e's RaPixelRange.
type PixelRange int

// The pixel ranges, with rav1e's values.
const (
	RangeLimited PixelRange = iota // studio swing, the default for Y4M
	RangeFull                      // full swing
)

// A ColorDescription names the colour of the content with the code points
// of ISO/IEC 23091-4 (ITU-T H.273), which are also the values of rav1e's
// enums: 1 is BT.709 in all three, 2 is unspecified. Primaries take 1, 2,
// 4-12 and 22; Transfer takes 1, 2 and 4-18 (16 is PQ, 18 HLG); Matrix
// takes 0 (identity), 1, 2 and 4-14 (9 is BT.2020 NCL).
type ColorDescription struct{ Matrix, Transfer, Primaries int }

// A ChromaticityPoint is a CIE 1931 x, y chromaticity in 0.16 fixed point
// (units of 1/65536), as AV1 codes it.
type ChromaticityPoint struct{ X, Y uint16 }

// A MasteringDisplay is HDR10's mastering display colour volume
// (SMPTE ST 2086) in AV1's fixed-point units; librav1e writes it as a
// metadata OBU with every keyframe (the program's --mastering-display).
type MasteringDisplay struct {
	// Primaries are the red, green and blue primaries, in that order.
	Primaries  [3]ChromaticityPoint
	WhitePoint ChromaticityPoint
	// MaxLuminance is in cd/m², 24.8 fixed point (units of 1/256).
	MaxLuminance uint32
	// MinLuminance is in cd/m², 18.14 fixed point (units of 1/16384).
	MinLuminance uint32
}

// A ContentLight is HDR10's content light level, in cd/m²: the brightest
// pixel (MaxCLL) and the brightest frame average (MaxFALL) (the program's
// --content-light).
type ContentLight struct{ MaxCLL, MaxFALL uint16 }

// MaxKeyFrameInterval is the largest keyframe interval librav1e accepts
// (2^31-1 divided by 3); a KeyFrameInterval of 0 means this value.
const MaxKeyFrameInterval = 715827882

// A Config describes an encode. Start from DefaultConfig, which holds
// rav1e's own defaults, and change what differs. Every field maps to a
// setting of the rav1e 0.5.1 program as noted, so that the same settings
// give the same bits with either (see the package documentation for the
// exceptions).
type Config struct {
	// Width and Height are the frame size in pixels, 16-65535 each. Odd
	// sizes are allowed; subsampled chroma planes are then rounded up.
	Width, Height int
	// TimeBase is the duration of one tick in seconds, rav1e's time_base:
	// {1001, 24000} for 23.976 fps. The rav1e program uses the inverse of
	// the Y4M frame rate. Both parts must be 1 to 2^32-1.
	TimeBase Rational
	// SampleAspect is the pixel aspect ratio; {0, 0} means 1:1. The rav1e
	// program takes it from the Y4M A parameter.
	SampleAspect Rational
	// BitDepth is 8, 10 or 12 bits per sample.
	BitDepth int
	// Chroma is the chroma subsampling.
	Chroma ChromaSampling
	// ChromaPosition is the chroma sample position. The rav1e program sets
	// it from the Y4M C parameter: PositionUnknown for 420jpeg, 420paldv and
	// mono, PositionVertical for 420mpeg2, PositionColocated for 420, 422,
	// 444 and the 10- and 12-bit spaces (420p10 ...).
	ChromaPosition ChromaSamplePosition
	// Range is the pixel range (--range).
	Range PixelRange
	// Color is the colour description (--primaries, --transfer, --matrix);
	// nil, or all three 2 (unspecified), writes none, as the program does.
	Color *ColorDescription
	// Mastering is the HDR10 mastering display (--mastering-display); nil
	// writes none.
	Mastering *MasteringDisplay
	// ContentLight is the HDR10 content light level (--content-light);
	// nil writes none.
	ContentLight *ContentLight

	// Speed is the speed preset, 0 (slowest) to 10 (fastest) (--speed).
	Speed int
	// Quantizer is the base quantizer, 1-255, in constant-quantizer mode,
	// and the largest quantizer in bitrate mode (--quantizer). The rav1e
	// program raises it to 255 when --bitrate is given without
	// --quantizer; set 255 yourself to match it.
	Quantizer int
	// MinQuantizer is the smallest quantizer in bitrate mode, 0-255
	// (--min-quantizer).
	MinQuantizer int
	// Bitrate is the target bitrate in bits per second; 0 selects the
	// constant-quantizer mode. Mind the unit: the rav1e program's --bitrate
	// is in kilobits per second, so --bitrate 500 is Bitrate 500000.
	Bitrate int

	// KeyFrameInterval is the largest distance between keyframes, in
	// frames (--keyint). 0 means no fixed interval: rav1e turns it into
	// MaxKeyFrameInterval, so only the first frame, forced keyframes and
	// scene cuts start a new keyframe.
	KeyFrameInterval int
	// MinKeyFrameInterval is the smallest distance between a keyframe and
	// a scene-cut keyframe (--min-keyint). When it exceeds a nonzero
	// KeyFrameInterval it is lowered to KeyFrameInterval, as the program
	// does when --min-keyint is not given. Note that the program's
	// "--keyint 0" alone also sets the minimum to 0.
	MinKeyFrameInterval int
	// NoSceneDetection turns scene-cut keyframes off
	// (--no-scene-detection). librav1e 0.5.1 has no key for it, so the
	// package sets the minimum keyframe interval to the maximum instead,
	// and MinKeyFrameInterval is ignored: keyframes then fall exactly every
	// KeyFrameInterval frames, or only on the first frame and forced ones
	// when KeyFrameInterval is 0, as with the program, and the bits are the
	// same. The scene detector still runs, so it still costs its time.
	NoSceneDetection bool
	// RDOLookahead is the number of frames the RDO lookahead reads ahead
	// (--rdo-lookahead-frames). 0 selects the program's default for the
	// speed: 40 at speeds 0-2, 30 at 3-5, 20 at 6-8, 10 at 9-10
	// (librav1e's own default is 40 at every speed).
	RDOLookahead int
	// Tiles is the total number of tiles, 0 for automatic (--tiles).
	Tiles int
	// TileRows and TileCols are the number of tile rows and columns, 0 or
	// powers of two up to 64; Tiles overrides them (--tile-rows,
	// --tile-cols).
	TileRows, TileCols int
	// Threads is the size of the encoder's own thread pool; 0 uses
	// librav1e's process-wide pool (--threads).
	Threads int
	// LowLatency turns frame reordering off (--low-latency).
	LowLatency bool

	// FirstPass makes the encoder emit first-pass statistics for a
	// two-pass encode (rav1e_config_set_emit_data); it needs a Bitrate.
	// Collect the statistics with Encoder.TwoPassOut. A Session refuses it.
	FirstPass bool

	// Params are further rav1e_config_parse key/value pairs, applied in
	// order after the fields: "tune" ("psnr" or "psychovisual"),
	// "reservoir_frame_delay", "switch_frame_interval",
	// "enable_timing_info", "still_picture", or any field's key again. A
	// "speed" here resets rav1e's speed settings but not RDOLookahead.
	Params [][2]string
}

// DefaultConfig returns rav1e's defaults for frames of the given size:
// speed 6, quantizer 100, keyframes at most 240 and at least 12 frames
// apart with scene detection, RDO lookahead chosen by speed, 8-bit 4:2:0
// limited range with no colour description, a time base of 1/30 s and
// librav1e's shared thread pool.
func DefaultConfig(width, height int) Config {
	return Config{
		Width:               width,
		Height:              height,
		TimeBase:            Rational{1, 30},
		BitDepth:            8,
		Chroma:              Chroma420,
		ChromaPosition:      PositionUnknown,
		Range:               RangeLimited,
		Speed:               6,
		Quantizer:           100,
		KeyFrameInterval:    240,
		MinKeyFrameInterval: 12,
	}
}

// A ConfigError reports a setting that librav1e cannot take.
type ConfigError struct {
	Setting string // the field or rav1e_config_parse key
	Value   string // the value given
	Reason  string // what is wrong with it
}

// Error returns "rav1e: config: SETTING VALUE REASON".
func (e *ConfigError) Error() string {
	return "rav1e: config: " + e.Setting + " " + e.Value + " " + e.Reason
}

func badInt(setting string, v int, reason string) error {
	return &ConfigError{Setting: setting, Value: strconv.Itoa(v), Reason: reason}
}

func checkRange(setting string, v, lo, hi int) error {
	if v < lo || v > hi {
		return badInt(setting, v, fmt.Sprintf("out of range %d-%d", lo, hi))
	}
	return nil
}

// Validate reports the first setting that librav1e 0.5.1 would refuse or
// that would make it fail, as a *ConfigError naming the setting:
// "rav1e: config: speed 11 out of range 0-10". It does not check Params;
// NewEncoder reports a key that rav1e_config_parse refuses.
func (c Config) Validate() error {
	checks := []struct {
		name      string
		v, lo, hi int
	}{
		{"width", c.Width, 16, 65535},
		{"height", c.Height, 16, 65535},
		{"speed", c.Speed, 0, 10},
		{"quantizer", c.Quantizer, 1, 255},
		{"min quantizer", c.MinQuantizer, 0, 255},
		{"bitrate", c.Bitrate, 0, 1<<31 - 1},
		{"key frame interval", c.KeyFrameInterval, 0, MaxKeyFrameInterval},
		{"min key frame interval", c.MinKeyFrameInterval, 0, MaxKeyFrameInterval},
		{"rdo lookahead", c.RDOLookahead, 0, 1 << 16},
		{"tiles", c.Tiles, 0, 4096},
		{"tile rows", c.TileRows, 0, 64},
		{"tile cols", c.TileCols, 0, 64},
		{"threads", c.Threads, 0, 1024},
		{"chroma sampling", int(c.Chroma), 0, 3},
		{"chroma position", int(c.ChromaPosition), 0, 2},
		{"pixel range", int(c.Range), 0, 1},
	}
	for _, ch := range checks {
		if err := checkRange(ch.name, ch.v, ch.lo, ch.hi); err != nil {
			return err
		}
	}
	if c.BitDepth != 8 && c.BitDepth != 10 && c.BitDepth != 12 {
		return badInt("bit depth", c.BitDepth, "not 8, 10 or 12")
	}
	for _, t := range []struct {
		name string
		v    int
	}{{"tile rows", c.TileRows}, {"tile cols", c.TileCols}} {
		if t.v&(t.v-1) != 0 {
			return badInt(t.name, t.v, "not 0 or a power of two")
		}
	}
	for _, r := range []struct {
		name string
		v    uint64
	}{{"time base numerator", c.TimeBase.Num}, {"time base denominator", c.TimeBase.Den}} {
		if r.v == 0 || r.v > 1<<32-1 {
			return &ConfigError{Setting: r.name, Value: strconv.FormatUint(r.v, 10), Reason: "out of range 1-4294967295"}
		}
	}
	if sa := c.SampleAspect; sa != (Rational{}) {
		if sa.Num == 0 || sa.Den == 0 || sa.Num > 1<<32-1 || sa.Den > 1<<32-1 {
			return &ConfigError{Setting: "sample aspect", Value: fmt.Sprintf("%d:%d", sa.Num, sa.Den), Reason: "not a ratio of 1 to 4294967295"}
		}
		w, h := renderSize(c.Width, c.Height, sa)
		if w < 1 || w > 65535 || h < 1 || h > 65535 {
			return &ConfigError{Setting: "sample aspect", Value: fmt.Sprintf("%d:%d", sa.Num, sa.Den), Reason: fmt.Sprintf("gives a render size %dx%d beyond 65535", w, h)}
		}
	}
	if c.FirstPass && c.Bitrate == 0 {
		return &ConfigError{Setting: "first pass", Value: "true", Reason: "needs a bitrate"}
	}
	if c.colorSet() {
		cd := c.Color
		if !validCode(cd.Primaries, primariesCodes) {
			return badInt("colour primaries", cd.Primaries, "not a code point rav1e knows (1, 2, 4-12, 22)")
		}
		if !validCode(cd.Transfer, transferCodes) {
			return badInt("transfer characteristics", cd.Transfer, "not a code point rav1e knows (1, 2, 4-18)")
		}
		if !validCode(cd.Matrix, matrixCodes) {
			return badInt("matrix coefficients", cd.Matrix, "not a code point rav1e knows (0, 1, 2, 4-14)")
		}
		// rav1e refuses sRGB (BT.709 primaries, sRGB transfer, identity
		// matrix) unless it is full-range 4:4:4.
		if c.Chroma != Chroma400 && cd.Primaries == 1 && cd.Transfer == 13 && cd.Matrix == 0 &&
			(c.Range != RangeFull || c.Chroma != Chroma444) {
			return &ConfigError{Setting: "colour description", Value: "sRGB", Reason: "needs full range and 4:4:4"}
		}
	}
	return nil
}

var (
	primariesCodes = []int{1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 22}
	transferCodes  = []int{1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
	matrixCodes    = []int{0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
)

func validCode(v int, codes []int) bool {
	for _, c := range codes {
		if v == c {
			return true
		}
	}
	return false
}

// renderSize mirrors rav1e's EncoderConfig::render_size.
func renderSize(w, h int, sa Rational) (int, int) {
	sar := float64(sa.Num) / float64(sa.Den)
	if sar > 1 {
		return int(float64(w)*sar + 0.5), h
	}
	return w, int(float64(h)/sar + 0.5)
}

// colorSet reports whether the colour description is to be written: the
// program writes none when all three are unspecified.
func (c Config) colorSet() bool {
	return c.Color != nil && !(c.Color.Matrix == 2 && c.Color.Transfer == 2 && c.Color.Primaries == 2)
}

// rdoLookahead returns the RDO lookahead in frames, resolving 0 to the
// program's default for the speed.
func (c Config) rdoLookahead() int {
	if c.RDOLookahead > 0 {
		return c.RDOLookahead
	}
	switch {
	case c.Speed >= 9:
		return 10
	case c.Speed >= 6:
		return 20
	case c.Speed >= 3:
		return 30
	}
	return 40
}

// keyFrameIntervals returns the minimum and maximum keyframe interval to
// give rav1e_config_parse.
func (c Config) keyFrameIntervals() (minKI, maxKI int) {
	maxKI = c.KeyFrameInterval
	minKI = c.MinKeyFrameInterval
	if maxKI > 0 && minKI > maxKI {
		minKI = maxKI
	}
	if c.NoSceneDetection {
		// rav1e checks "distance < min" before "distance >= max", so
		// min == max leaves no distance at which a scene cut can win.
		minKI = maxKI
		if minKI == 0 {
			minKI = MaxKeyFrameInterval
		}
	}
	return minKI, maxKI
}

// parseParams returns the rav1e_config_parse pairs for the fields, in the
// order they are applied, followed by Params. "speed" comes first because
// it resets all of rav1e's speed settings.
func (c Config) parseParams() [][2]string {
	itoa := strconv.Itoa
	minKI, maxKI := c.keyFrameIntervals()
	p := [][2]string{
		{"speed", itoa(c.Speed)},
		{"width", itoa(c.Width)},
		{"height", itoa(c.Height)},
		{"threads", itoa(c.Threads)},
		{"tiles", itoa(c.Tiles)},
		{"tile_rows", itoa(c.TileRows)},
		{"tile_cols", itoa(c.TileCols)},
		{"quantizer", itoa(c.Quantizer)},
		{"min_quantizer", itoa(c.MinQuantizer)},
		{"bitrate", itoa(c.Bitrate)},
		{"key_frame_interval", itoa(maxKI)},
		{"min_key_frame_interval", itoa(minKI)},
		{"rdo_lookahead_frames", itoa(c.rdoLookahead())},
		{"low_latency", strconv.FormatBool(c.LowLatency)},
	}
	return append(p, c.Params...)
}
