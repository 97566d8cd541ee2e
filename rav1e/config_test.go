package rav1e

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig(640, 480)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Speed != 6 || c.Quantizer != 100 || c.KeyFrameInterval != 240 || c.MinKeyFrameInterval != 12 ||
		c.BitDepth != 8 || c.Chroma != Chroma420 || c.Range != RangeLimited || c.Color != nil {
		t.Errorf("DefaultConfig = %+v", c)
	}
	if got := c.FrameSize(); got != 640*480*3/2 {
		t.Errorf("FrameSize = %d", got)
	}
}

func TestValidateNamesTheSetting(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		setting string // must appear in the message
	}{
		{"speed 11", func(c *Config) { c.Speed = 11 }, "speed 11 out of range 0-10"},
		{"speed -1", func(c *Config) { c.Speed = -1 }, "speed -1"},
		{"width 0", func(c *Config) { c.Width = 0 }, "width 0 out of range 16-65535"},
		{"width 15", func(c *Config) { c.Width = 15 }, "width 15"},
		{"height 70000", func(c *Config) { c.Height = 70000 }, "height 70000"},
		{"quantizer 256", func(c *Config) { c.Quantizer = 256 }, "quantizer 256 out of range 1-255"},
		{"quantizer 0", func(c *Config) { c.Quantizer = 0 }, "quantizer 0"},
		{"min quantizer 300", func(c *Config) { c.MinQuantizer = 300 }, "min quantizer 300"},
		{"bit depth 9", func(c *Config) { c.BitDepth = 9 }, "bit depth 9 not 8, 10 or 12"},
		{"chroma 4", func(c *Config) { c.Chroma = 4 }, "chroma sampling 4"},
		{"position 3", func(c *Config) { c.ChromaPosition = 3 }, "chroma position 3"},
		{"range 2", func(c *Config) { c.Range = 2 }, "pixel range 2"},
		{"time base 0/30", func(c *Config) { c.TimeBase = Rational{0, 30} }, "time base numerator 0"},
		{"time base 1/2^32", func(c *Config) { c.TimeBase = Rational{1, 1 << 32} }, "time base denominator 4294967296"},
		{"sample aspect 1:0", func(c *Config) { c.SampleAspect = Rational{1, 0} }, "sample aspect 1:0"},
		{"sample aspect huge", func(c *Config) { c.SampleAspect = Rational{1000, 1} }, "render size"},
		{"tile rows 3", func(c *Config) { c.TileRows = 3 }, "tile rows 3 not 0 or a power of two"},
		{"tile cols 128", func(c *Config) { c.TileCols = 128 }, "tile cols 128"},
		{"keyint too large", func(c *Config) { c.KeyFrameInterval = MaxKeyFrameInterval + 1 }, "key frame interval 715827883"},
		{"threads -1", func(c *Config) { c.Threads = -1 }, "threads -1"},
		{"bitrate -5", func(c *Config) { c.Bitrate = -5 }, "bitrate -5"},
		{"first pass without bitrate", func(c *Config) { c.FirstPass = true }, "first pass true needs a bitrate"},
		{"primaries 3", func(c *Config) { c.Color = &ColorDescription{Matrix: 1, Transfer: 1, Primaries: 3} }, "colour primaries 3"},
		{"transfer 19", func(c *Config) { c.Color = &ColorDescription{Matrix: 1, Transfer: 19, Primaries: 1} }, "transfer characteristics 19"},
		{"matrix 3", func(c *Config) { c.Color = &ColorDescription{Matrix: 3, Transfer: 1, Primaries: 1} }, "matrix coefficients 3"},
		{"sRGB 4:2:0", func(c *Config) { c.Color = &ColorDescription{Matrix: 0, Transfer: 13, Primaries: 1} }, "colour description sRGB needs full range and 4:4:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig(160, 90)
			tt.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *ConfigError", err)
			}
			if !strings.HasPrefix(err.Error(), "rav1e: config: ") || !strings.Contains(err.Error(), tt.setting) {
				t.Errorf("error %q does not name %q", err, tt.setting)
			}
			if Available() {
				if _, err2 := NewEncoder(c); err2 == nil || err2.Error() != err.Error() {
					t.Errorf("NewEncoder: %v, want %v", err2, err)
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for name, change := range map[string]func(*Config){
		"odd size":      func(c *Config) { c.Width, c.Height = 67, 33 },
		"12-bit 4:4:4":  func(c *Config) { c.BitDepth, c.Chroma = 12, Chroma444 },
		"monochrome":    func(c *Config) { c.Chroma = Chroma400 },
		"sRGB full 444": func(c *Config) { c.Chroma, c.Range, c.Color = Chroma444, RangeFull, &ColorDescription{0, 13, 1} },
		"all unspecified": func(c *Config) {
			c.Color = &ColorDescription{2, 2, 2}
		},
		"keyint below min": func(c *Config) { c.KeyFrameInterval = 6 },
		"anamorphic":       func(c *Config) { c.SampleAspect = Rational{4, 3} },
	} {
		c := DefaultConfig(160, 90)
		change(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestParseParams checks the keys given to rav1e_config_parse, in
// particular the keyframe intervals that stand in for
// --no-scene-detection.
func TestParseParams(t *testing.T) {
	kv := func(c Config) map[string]string {
		m := map[string]string{}
		for _, p := range c.parseParams() {
			m[p[0]] = p[1]
		}
		return m
	}
	tests := []struct {
		name     string
		change   func(*Config)
		min, max string
	}{
		{"defaults", func(c *Config) {}, "12", "240"},
		{"keyint 0", func(c *Config) { c.KeyFrameInterval = 0 }, "12", "0"},
		{"keyint 0, no scene detection", func(c *Config) { c.KeyFrameInterval = 0; c.NoSceneDetection = true }, "715827882", "0"},
		{"keyint 20, no scene detection", func(c *Config) { c.KeyFrameInterval = 20; c.NoSceneDetection = true }, "20", "20"},
		{"min above max", func(c *Config) { c.KeyFrameInterval = 6 }, "6", "6"},
	}
	for _, tt := range tests {
		c := DefaultConfig(160, 90)
		tt.change(&c)
		m := kv(c)
		if m["min_key_frame_interval"] != tt.min || m["key_frame_interval"] != tt.max {
			t.Errorf("%s: min %s max %s, want %s %s", tt.name, m["min_key_frame_interval"], m["key_frame_interval"], tt.min, tt.max)
		}
	}
	for speed, want := range map[int]string{0: "40", 2: "40", 3: "30", 5: "30", 6: "20", 8: "20", 9: "10", 10: "10"} {
		c := DefaultConfig(160, 90)
		c.Speed = speed
		if got := kv(c)["rdo_lookahead_frames"]; got != want {
			t.Errorf("speed %d: rdo lookahead %s, want %s", speed, got, want)
		}
	}
	c := DefaultConfig(160, 90)
	c.Params = [][2]string{{"tune", "psnr"}, {"speed", "3"}}
	p := c.parseParams()
	if p[0][0] != "speed" || !reflect.DeepEqual(p[len(p)-2:], c.Params) {
		t.Errorf("order: %v", p)
	}
}

func TestY4MColorspace(t *testing.T) {
	tests := []struct {
		tag    string
		depth  int
		chroma ChromaSampling
		pos    ChromaSamplePosition
	}{
		{"420jpeg", 8, Chroma420, PositionUnknown},
		{"C420paldv", 8, Chroma420, PositionUnknown},
		{"420mpeg2", 8, Chroma420, PositionVertical},
		{"420", 8, Chroma420, PositionColocated},
		{"", 8, Chroma420, PositionColocated},
		{"420p10", 10, Chroma420, PositionColocated},
		{"422p12", 12, Chroma422, PositionColocated},
		{"444", 8, Chroma444, PositionColocated},
		{"mono", 8, Chroma400, PositionUnknown},
	}
	for _, tt := range tests {
		d, c, p, err := Y4MColorspace(tt.tag)
		if err != nil || d != tt.depth || c != tt.chroma || p != tt.pos {
			t.Errorf("Y4MColorspace(%q) = %d %v %v %v", tt.tag, d, c, p, err)
		}
	}
	if _, _, _, err := Y4MColorspace("411"); err == nil {
		t.Error("411 accepted")
	}
}

func TestFrameSize(t *testing.T) {
	for _, tt := range []struct {
		w, h, depth int
		chroma      ChromaSampling
		want        int
	}{
		{160, 90, 8, Chroma420, 160*90 + 2*80*45},
		{67, 33, 8, Chroma420, 67*33 + 2*34*17},
		{160, 90, 10, Chroma420, 2 * (160*90 + 2*80*45)},
		{67, 33, 8, Chroma422, 67*33 + 2*34*33},
		{64, 64, 12, Chroma444, 2 * 3 * 64 * 64},
		{64, 64, 8, Chroma400, 64 * 64},
	} {
		c := Config{Width: tt.w, Height: tt.h, BitDepth: tt.depth, Chroma: tt.chroma}
		if got := c.FrameSize(); got != tt.want {
			t.Errorf("%dx%d %d-bit %v: %d, want %d", tt.w, tt.h, tt.depth, tt.chroma, got, tt.want)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	fail := &Error{Op: "send_frame", Status: StatusFailure}
	if !errors.Is(fail, ErrFailure) || errors.Is(fail, ErrNeedMoreData) {
		t.Errorf("errors.Is on %v", fail)
	}
	if got := fail.Error(); got != "rav1e: send_frame: failure" {
		t.Errorf("message %q", got)
	}
	for st, want := range map[Status]error{
		StatusSuccess: nil, StatusNeedMoreData: ErrNeedMoreData, StatusEnoughData: ErrEnoughData,
		StatusLimitReached: ErrLimitReached, StatusEncoded: ErrEncoded, StatusNotReady: ErrNotReady,
	} {
		if got := statusError("x", st); got != want {
			t.Errorf("status %d: %v, want %v", st, got, want)
		}
	}
	if got := statusError("x", 7); !errors.Is(got, &Error{Status: 7}) || errors.Is(got, ErrFailure) {
		t.Errorf("unknown status: %v", got)
	}
	if KeyFrame.String() != "KEY" || SwitchFrame.String() != "SWITCH" || FrameType(9).String() != "FrameType(9)" {
		t.Error("FrameType.String")
	}
}

// TestUnavailable runs in builds without librav1e (-tags nolibrav1e or
// CGO_ENABLED=0).
func TestUnavailable(t *testing.T) {
	if Available() {
		t.Skip("built with librav1e")
	}
	if _, err := NewEncoder(DefaultConfig(64, 64)); err != ErrUnavailable {
		t.Errorf("NewEncoder: %v", err)
	}
	if _, err := NewSession(context.Background(), DefaultConfig(64, 64), func(*Packet) error { return nil }); err != ErrUnavailable {
		t.Errorf("NewSession: %v", err)
	}
	if v := Version(); v != "" {
		t.Errorf("Version() = %q", v)
	}
}
