package encode

import (
	"slices"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/rav1e"
)

// TestCheckExtra checks pass-through arguments in every spelling the rav1e
// program's parser takes: spaced and attached values, "=" after long and
// short names, runs of short flags.
func TestCheckExtra(t *testing.T) {
	cases := []struct {
		args []string
		bad  string // part of the error; empty when allowed
	}{
		{nil, ""},
		{[]string{"--tiles", "2"}, ""},
		{[]string{"--low-latency", "--tune", "Psnr"}, ""},
		{[]string{"--threads=4"}, ""},
		{[]string{"-q"}, ""},
		{[]string{"-vq"}, ""},
		{[]string{"-o", "x.ivf"}, "-o"},
		{[]string{"-o/path/x.ivf"}, "-o/path/x.ivf"},
		{[]string{"-o=x.ivf"}, "-o=x.ivf"},
		{[]string{"--output=x.ivf"}, "--output=x.ivf"},
		{[]string{"--limit", "10"}, "--limit"},
		{[]string{"-l5"}, "-l5"},
		{[]string{"-ql5"}, "-ql5"},
		{[]string{"--skip", "3"}, "--skip"},
		{[]string{"--keyint", "60"}, "--keyint"},
		{[]string{"-I", "60"}, "-I"},
		{[]string{"-I10"}, "-I10"},
		{[]string{"--min-keyint", "5"}, "--min-keyint"},
		{[]string{"-i", "5"}, "-i"},
		{[]string{"-S4"}, "-S4"},
		{[]string{"-y"}, "-y"},
		{[]string{"-qy"}, "-qy"},
		{[]string{"--speed", "3"}, "--speed"},
		{[]string{"-s3"}, "-s3"},
		{[]string{"-b500"}, "-b500"},
		{[]string{"--quantizer=80"}, "--quantizer=80"},
		{[]string{"input.y4m"}, "input.y4m"},
		{[]string{"--low-latency", "in.y4m"}, "in.y4m"},
		{[]string{"--first-pass", "stats"}, "--first-pass"},
		{[]string{"--no-such-flag"}, "no such option"},
		{[]string{"--til", "2"}, "no such option"}, // no abbreviations
		{[]string{"-Z"}, "no option -Z"},
		{[]string{"--tiles"}, "needs a value"},
		{[]string{"--low-latency=yes"}, "takes no value"},
		{[]string{"-r", "rec.y4m"}, "-r"},
		{[]string{"--"}, "--"},
	}
	for _, tc := range cases {
		err := CheckExtra(tc.args)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v: unexpected error %v", tc.args, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%v: error %v, want one naming %s", tc.args, err, tc.bad)
		}
	}
}

// TestCheck: each encoder refuses values outside what it encodes.
func TestCheck(t *testing.T) {
	for _, name := range Names() {
		enc, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == (Lib{}).Name() && !rav1e.Available() {
			continue
		}
		cases := []struct {
			s   Settings
			bad string
		}{
			{Settings{Speed: 6, Quantizer: 100}, ""},
			{Settings{Speed: 11, Quantizer: 100}, "--speed 11"},
			{Settings{Speed: -1, Quantizer: 100}, "--speed -1"},
			{Settings{Speed: 6, Quantizer: 0}, "--quantizer 0"},
			{Settings{Speed: 6, Quantizer: 256}, "--quantizer 256"},
			{Settings{Speed: 6, Bitrate: 300}, ""},
			{Settings{Speed: 6, Bitrate: -3, Quantizer: 100}, "--bitrate -3"},
			{Settings{Speed: 6, Quantizer: 100, Extra: []string{"-l5"}}, "-l5"},
		}
		for _, tc := range cases {
			err := enc.Check(tc.s)
			if (tc.bad == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
				t.Errorf("%s %+v: %v, want %q", name, tc.s, err, tc.bad)
			}
		}
	}
	if _, err := Lookup("svt"); err == nil || !strings.Contains(err.Error(), "rav1e") {
		t.Errorf("unknown encoder: %v", err)
	}
}

func TestArgs(t *testing.T) {
	s := Settings{Speed: 10, Quantizer: 80, Threads: 1, FullRange: true,
		Color: probe.Color{Primaries: "bt709", Transfer: "bt709", Matrix: "bt709"}}
	got := strings.Join(Args(s), " ")
	for _, want := range []string{"- -o -", "--keyint 0", "--no-scene-detection", "--speed 10", "--quantizer 80", "--threads 1",
		"--primaries BT709", "--transfer BT709", "--matrix BT709", "--range Full"} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
	s.Bitrate = 500
	s.Extra = []string{"--primaries", "BT2020"}
	args := Args(s)
	if !slices.Contains(args, "--bitrate") || slices.Contains(args, "--quantizer") {
		t.Errorf("bitrate mode: %v", args)
	}
	if strings.Count(strings.Join(args, " "), "--primaries") != 1 {
		t.Errorf("user's --primaries must replace the source's: %v", args)
	}
	// rav1e refuses an option given twice: the user's wins.
	s.Extra = []string{"--threads=3", "-q", "--no-scene-detection"}
	args = Args(s)
	joined := strings.Join(args, " ")
	for _, opt := range []string{"--threads", "--quiet", "--no-scene-detection"} {
		if n := strings.Count(joined, opt); n > 1 || (opt == "--threads" && strings.Contains(joined, "--threads 1")) {
			t.Errorf("%s given twice: %v", opt, args)
		}
	}
}

// TestHDRArgs: the HDR10 metadata of the settings reaches both encoders'
// options exactly, and the pass-through arguments that set it win.
func TestHDRArgs(t *testing.T) {
	const md = "G(0.2649993896484375,0.69000244140625)B(0.149993896484375,0.05999755859375)R(0.67999267578125,0.32000732421875)WP(0.3126983642578125,0.3289947509765625)L(1000,0.0001220703125)"
	hdr := probe.HDR{
		Mastering: &probe.Mastering{Primaries: [3][2]uint16{{44564, 20972}, {17367, 45220}, {9830, 3932}},
			WhitePoint: [2]uint16{20493, 21561}, MaxLuminance: 256000, MinLuminance: 2},
		Light: &probe.ContentLight{MaxCLL: 1000, MaxFALL: 400},
	}
	want := rav1e.MasteringDisplay{Primaries: [3]rav1e.ChromaticityPoint{{X: 44564, Y: 20972}, {X: 17367, Y: 45220}, {X: 9830, Y: 3932}},
		WhitePoint: rav1e.ChromaticityPoint{X: 20493, Y: 21561}, MaxLuminance: 256000, MinLuminance: 2}
	hdr10 := source.Header{Width: 64, Height: 64, RateNum: 24, RateDen: 1, Colorspace: "420p10"}
	for _, tc := range []struct {
		name     string
		extra    []string
		args     string // in the program's arguments
		light    rav1e.ContentLight
		bad      string
		fromUser bool
	}{
		{"settings", nil, "--mastering-display " + md + " --content-light 1000,400", rav1e.ContentLight{MaxCLL: 1000, MaxFALL: 400}, "", false},
		{"user's", []string{"--mastering-display", md, "--content-light", "800,300"}, "--content-light 800,300", rav1e.ContentLight{MaxCLL: 800, MaxFALL: 300}, "", true},
		{"bad", []string{"--content-light", "lots"}, "", rav1e.ContentLight{}, "--content-light lots", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{Speed: 10, Quantizer: 100, HDR: hdr, Extra: tc.extra}
			if tc.args != "" {
				got := strings.Join(Args(s), " ")
				if !strings.Contains(got, tc.args) || strings.Count(got, "--content-light") != 1 || strings.Count(got, "--mastering-display") != 1 {
					t.Errorf("args %q: want %q once each", got, tc.args)
				}
			}
			c, err := LibConfig(hdr10, s)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("error %v, want one naming %s", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Mastering == nil || *c.Mastering != want || c.ContentLight == nil || *c.ContentLight != tc.light {
				t.Errorf("librav1e config: mastering %+v light %+v, want %+v and %+v", c.Mastering, c.ContentLight, want, tc.light)
			}
		})
	}
}
