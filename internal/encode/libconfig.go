package encode

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/rav1e"
)

// Pauser is implemented by sessions that pause without signals: an
// in-process encoder halts between two calls into the library.
type Pauser interface {
	// Pause returns once the encoder does no work; it is idempotent.
	Pause()
	// Resume lets a paused encoder continue.
	Resume()
}

// LibConfig returns the librav1e configuration equivalent to the rav1e
// program's arguments Args(s) for a stream described by hdr: the same
// settings give the same bits with either backend. Pass-through arguments
// are translated to librav1e's keys; one that librav1e cannot take is an
// error naming it.
func LibConfig(hdr source.Header, s Settings) (rav1e.Config, error) {
	c := rav1e.DefaultConfig(hdr.Width, hdr.Height)
	c.TimeBase = rav1e.Rational{Num: uint64(hdr.RateDen), Den: uint64(hdr.RateNum)}
	// Read the header's C and A parameters as the program does.
	depth, chroma, pos, err := rav1e.Y4MColorspace(hdr.Colorspace)
	if err != nil {
		return c, fmt.Errorf("librav1e: %w", err)
	}
	c.BitDepth, c.Chroma, c.ChromaPosition = depth, chroma, pos
	c.SampleAspect = rav1e.Rational{Num: hdr.AspectNum, Den: hdr.AspectDen}
	c.Speed = s.Speed
	if s.Bitrate > 0 {
		// The program's --bitrate without --quantizer lets the quantizer
		// rise to 255.
		c.Bitrate, c.Quantizer = s.Bitrate*1000, 255
	} else {
		c.Quantizer = s.Quantizer
	}
	// --keyint 0 --no-scene-detection: one keyframe, at the first frame.
	c.KeyFrameInterval = 0
	c.NoSceneDetection = true
	c.Threads = s.Threads

	prim, tran, mat := code(kPrim, s.Color.Primaries), code(kTran, s.Color.Transfer), code(kMat, s.Color.Matrix)
	full := s.FullRange
	if m := s.HDR.Mastering; m != nil {
		md := &rav1e.MasteringDisplay{MaxLuminance: m.MaxLuminance, MinLuminance: m.MinLuminance,
			WhitePoint: rav1e.ChromaticityPoint{X: m.WhitePoint[0], Y: m.WhitePoint[1]}}
		for i, p := range m.Primaries {
			md.Primaries[i] = rav1e.ChromaticityPoint{X: p[0], Y: p[1]}
		}
		c.Mastering = md
	}
	if l := s.HDR.Light; l != nil {
		c.ContentLight = &rav1e.ContentLight{MaxCLL: l.MaxCLL, MaxFALL: l.MaxFALL}
	}
	args, err := parseArgs(s.Extra)
	if err != nil {
		return c, err
	}
	for _, a := range args {
		name, val := a.Name, a.Value
		if ignored[name] {
			continue
		}
		if name == "--low-latency" {
			c.LowLatency = true
			continue
		}
		if key, ok := libKeys[name]; ok {
			if !number.MatchString(val) && key != "tune" {
				return c, fmt.Errorf("rav1e argument %s %s: not a number", name, val)
			}
			if key == "tune" {
				val = strings.ToLower(val)
			}
			c.Params = append(c.Params, [2]string{key, val})
			continue
		}
		switch name {
		case "--mastering-display":
			m, err := parseMastering(val)
			if err != nil {
				return c, fmt.Errorf("rav1e argument --mastering-display %s: %w", val, err)
			}
			c.Mastering = m
			continue
		case "--content-light":
			var l rav1e.ContentLight
			if _, err := fmt.Sscanf(val, "%d,%d", &l.MaxCLL, &l.MaxFALL); err != nil {
				return c, fmt.Errorf("rav1e argument --content-light %s: use MaxCLL,MaxFALL (cd/m², 0-65535)", val)
			}
			c.ContentLight = &l
			continue
		}
		var kind colourKind
		switch name {
		case "--primaries":
			kind = kPrim
		case "--transfer":
			kind = kTran
		case "--matrix":
			kind = kMat
		case "--range":
			switch strings.ToLower(val) {
			case "full":
				full = true
			case "limited":
				full = false
			default:
				return c, fmt.Errorf("rav1e argument --range %s: use Limited or Full", val)
			}
			continue
		default:
			return c, fmt.Errorf("rav1e argument %s has no librav1e equivalent (use --encoder rav1e)", a.Raw)
		}
		v, ok := rav1eCodes(kind)[strings.ToLower(val)]
		if !ok {
			return c, fmt.Errorf("rav1e argument %s %s: unknown value", name, val)
		}
		switch kind {
		case kPrim:
			prim = v
		case kTran:
			tran = v
		case kMat:
			mat = v
		}
	}
	if prim >= 0 || tran >= 0 || mat >= 0 {
		c.Color = &rav1e.ColorDescription{Primaries: or2(prim), Transfer: or2(tran), Matrix: or2(mat)}
	}
	if full {
		c.Range = rav1e.RangeFull
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// or2 maps "not given" (-1) to 2, the code point for unspecified.
func or2(v int) int {
	if v < 0 {
		return 2
	}
	return v
}

// code returns the code point of an ffmpeg colour name, or -1.
func code(k colourKind, name string) int {
	if v, ok := codes[k][name]; ok {
		return v
	}
	return -1
}

var number = regexp.MustCompile(`^[0-9]+$`)

// libKeys maps the rav1e program's options to librav1e's configuration
// keys; the values mean the same.
var libKeys = map[string]string{
	"--threads": "threads", "--tiles": "tiles", "--tile-rows": "tile_rows", "--tile-cols": "tile_cols",
	"--rdo-lookahead-frames": "rdo_lookahead_frames", "--min-quantizer": "min_quantizer",
	"--reservoir-frame-delay": "reservoir_frame_delay", "--tune": "tune",
}

// ignored are the program's options that only change what it prints.
var ignored = map[string]bool{
	"--verbose": true, "--quiet": true, "--psnr": true, "--metrics": true, "--no-scene-detection": true,
}

// parseMastering reads the rav1e program's --mastering-display value,
// G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min), and rounds it to AV1's units as the
// program does.
func parseMastering(v string) (*rav1e.MasteringDisplay, error) {
	var f [10]float64
	if _, err := fmt.Sscanf(v, "G(%g,%g)B(%g,%g)R(%g,%g)WP(%g,%g)L(%g,%g)", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]); err != nil {
		return nil, fmt.Errorf("use G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)")
	}
	for i, x := range f {
		if math.IsNaN(x) || x < 0 || i < 8 && x >= 1 || i >= 8 && x >= 1<<24 {
			return nil, fmt.Errorf("value %g out of range", x)
		}
	}
	p := func(x, y float64) rav1e.ChromaticityPoint {
		return rav1e.ChromaticityPoint{X: uint16(math.Round(x * (1 << 16))), Y: uint16(math.Round(y * (1 << 16)))}
	}
	return &rav1e.MasteringDisplay{
		Primaries:    [3]rav1e.ChromaticityPoint{p(f[4], f[5]), p(f[0], f[1]), p(f[2], f[3])},
		WhitePoint:   p(f[6], f[7]),
		MaxLuminance: uint32(math.Round(f[8] * (1 << 8))),
		MinLuminance: uint32(math.Round(f[9] * (1 << 14))),
	}, nil
}
