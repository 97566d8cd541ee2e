package encode

import (
	"fmt"
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

// TestCheck: each encoder refuses values outside its own scales, and
// the pass-through arguments and film grain it cannot take.
// TestAomRefusesHDR10: aomenc 3.6 has no option for HDR10 metadata, so
// settings that carry it are refused rather than encoded without it.
func TestAomRefusesHDR10(t *testing.T) {
	err := Aom{}.Check(Settings{Speed: 6, Quantizer: 30, HDR: hdr10})
	if err == nil || !strings.Contains(err.Error(), "HDR10") || !strings.Contains(err.Error(), "svt-av1") {
		t.Fatalf("aomenc with HDR10 metadata: %v", err)
	}
	if err := (Aom{}).Check(Settings{Speed: 6, Quantizer: 30}); err != nil {
		t.Fatalf("aomenc without HDR10 metadata: %v", err)
	}
}

func TestCheck(t *testing.T) {
	for _, name := range Names() {
		enc, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == (Lib{}).Name() && !rav1e.Available() {
			continue
		}
		sc := enc.Scales()
		sp, q := sc.Speed.Default, sc.Quantizer.Default
		type checkCase struct {
			s   Settings
			bad string // part of the error; "" when taken
		}
		cases := []checkCase{
			{Settings{Speed: sp, Quantizer: q}, ""},
			{Settings{Speed: sc.Speed.Min, Quantizer: sc.Quantizer.Min}, ""},
			{Settings{Speed: sc.Speed.Max, Quantizer: sc.Quantizer.Max}, ""},
			{Settings{Speed: sc.Speed.Max + 1, Quantizer: q}, fmt.Sprintf("--speed %d: %s's %s is %d-%d", sc.Speed.Max+1, name, sc.Speed.Name, sc.Speed.Min, sc.Speed.Max)},
			{Settings{Speed: -1, Quantizer: q}, "--speed -1"},
			{Settings{Speed: sp, Quantizer: 0}, "--quantizer 0"},
			{Settings{Speed: sp, Quantizer: sc.Quantizer.Max + 1}, fmt.Sprintf("--quantizer %d", sc.Quantizer.Max+1)},
			{Settings{Speed: sp, Bitrate: 300}, ""},
			{Settings{Speed: sp, Bitrate: -3, Quantizer: q}, "--bitrate -3"},
			{Settings{Speed: sp, Quantizer: q, Extra: []string{"--no-such-option"}}, "no such option"},
		}
		switch name {
		case "rav1e", "librav1e":
			cases = append(cases,
				checkCase{Settings{Speed: sp, Quantizer: q, FilmGrain: 8}, "has no film grain synthesis"},
				checkCase{Settings{Speed: sp, Quantizer: q, PhotonNoise: 400}, "has no film grain synthesis"})
		case "svt-av1":
			cases = append(cases,
				checkCase{Settings{Speed: sp, Quantizer: q, FilmGrain: 8}, ""},
				checkCase{Settings{Speed: sp, Quantizer: q, FilmGrain: 51}, "1-50"},
				checkCase{Settings{Speed: sp, Quantizer: q, PhotonNoise: 400}, "use --film-grain"})
		case "aomenc":
			cases = append(cases,
				checkCase{Settings{Speed: sp, Quantizer: q, FilmGrain: 8}, "use --photon-noise"},
				checkCase{Settings{Speed: sp, Quantizer: q, PhotonNoise: 400}, ""})
		}
		for _, tc := range cases {
			err := enc.Check(tc.s)
			if (tc.bad == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
				t.Errorf("%s %+v: %v, want %q", name, tc.s, err, tc.bad)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: a multi-line error: %q", name, err)
			}
		}
	}
	if _, err := Lookup("svt"); err == nil || !strings.Contains(err.Error(), "svt-av1") {
		t.Errorf("unknown encoder: %v", err)
	}
}

// TestOptionTables checks pass-through arguments against SvtAv1EncApp's
// and aomenc's option tables, in the spellings their parsers take and
// refuse, and the options that would break the pipeline.
func TestOptionTables(t *testing.T) {
	cases := []struct {
		enc  Encoder
		args []string
		bad  string // part of the error; empty when allowed
	}{
		{SVT{}, []string{"--tile-columns", "1", "--enable-tf", "0"}, ""},
		{SVT{}, []string{"--lp", "2", "--film-grain-denoise", "0", "--lookahead", "10"}, ""},
		{SVT{}, []string{"-q", "30"}, "-q"},
		{SVT{}, []string{"--tile-columns=1"}, "takes --tile-columns VALUE"},
		{SVT{}, []string{"--tile-columns"}, "needs a value"},
		{SVT{}, []string{"--keyint", "240"}, "one keyframe"},
		{SVT{}, []string{"--scd", "1"}, "one keyframe"},
		{SVT{}, []string{"--irefresh-type", "1"}, "one keyframe"},
		{SVT{}, []string{"--force-key-frames", "10f"}, "one keyframe"},
		{SVT{}, []string{"--pin", "1"}, "unpinned"},
		{SVT{}, []string{"-b", "x.ivf"}, "writes the output"},
		{SVT{}, []string{"-i", "x.y4m"}, "input"},
		{SVT{}, []string{"-n", "10"}, "frames"},
		{SVT{}, []string{"--svtav1-params", "keyint=10"}, "could not be checked"},
		{SVT{}, []string{"-c", "x.cfg"}, "could not be checked"},
		{SVT{}, []string{"--passes", "2"}, "two-pass"},
		{SVT{}, []string{"--preset", "4"}, "--speed"},
		{SVT{}, []string{"--crf", "30"}, "--quantizer"},
		{SVT{}, []string{"--film-grain", "8"}, "--film-grain"},
		{SVT{}, []string{"in.y4m"}, "input"},
		{SVT{}, []string{"--til", "1"}, "no such option"},
		{Aom{}, []string{"--tile-columns=1", "--lag-in-frames=20", "-t", "2", "--tune=ssim"}, ""},
		{Aom{}, []string{"--denoise-noise-level=10", "-q", "--min-q=4"}, ""},
		{Aom{}, []string{"--tile-columns", "1"}, "needs a value"},
		{Aom{}, []string{"--quiet=1"}, "takes no value"},
		{Aom{}, []string{"-t2"}, "no option -t2"},
		{Aom{}, []string{"--kf-max-dist=60"}, "one keyframe"},
		{Aom{}, []string{"--enable-fwd-kf=1"}, "one keyframe"},
		{Aom{}, []string{"--row-mt=1"}, "thread count"},
		{Aom{}, []string{"--passes=2"}, "two-pass"},
		{Aom{}, []string{"-p", "2"}, "two-pass"},
		{Aom{}, []string{"--rt"}, "--speed"},
		{Aom{}, []string{"--cq-level=20"}, "--quantizer"},
		{Aom{}, []string{"--drop-frame=10"}, "every frame"},
		{Aom{}, []string{"--webm"}, "IVF"},
		{Aom{}, []string{"-o", "x.ivf"}, "writes the output"},
		{Aom{}, []string{"--limit=5"}, "frames"},
		{Aom{}, []string{"--film-grain-table=x.tbl"}, "--photon-noise"},
		{Aom{}, []string{"-"}, "input"},
	}
	for _, tc := range cases {
		sc := tc.enc.Scales()
		err := tc.enc.Check(Settings{Speed: sc.Speed.Default, Quantizer: sc.Quantizer.Default, Extra: tc.args})
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s %v: unexpected error %v", tc.enc.Name(), tc.args, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%s %v: error %v, want one saying %s", tc.enc.Name(), tc.args, err, tc.bad)
		}
	}
}

// TestProgramArgs: SVT-AV1's and aomenc's arguments give one keyframe
// per chunk and thread-independent bits, map the settings to their own
// options, and leave an option to the pass-through arguments that give it.
func TestProgramArgs(t *testing.T) {
	col := probe.Color{Primaries: "bt709", Transfer: "smpte2084", Matrix: "bt2020nc"}
	svt := func(s Settings) string { return strings.Join(SVTArgs(s), " ") }
	aom := func(s Settings) string {
		args, cleanup, err := AomArgs(s)
		if err != nil {
			t.Fatal(err)
		}
		defer cleanup()
		return strings.Join(args, " ")
	}
	cases := []struct {
		name    string
		args    func(Settings) string
		s       Settings
		want    []string
		notWant []string
	}{
		{"svt crf", svt, Settings{Speed: 12, Quantizer: 35, Threads: 1, Color: col, FullRange: true},
			[]string{"-i stdin -b stdout", "--preset 12", "--crf 35", "--keyint -1", "--scd 0", "--irefresh-type 2", "--pin 0", "--lp 1",
				"--color-primaries 1", "--transfer-characteristics 16", "--matrix-coefficients 9", "--color-range 1", "--progress 0"},
			[]string{"--rc", "--tbr", "--film-grain"}},
		{"svt vbr grain", svt, Settings{Speed: 8, Bitrate: 500, FilmGrain: 10, Extra: []string{"--lp", "2", "--progress", "1"}},
			[]string{"--rc 1 --tbr 500", "--keyint " + svtKeyintVBR, "--film-grain 10", "--lp 2", "--progress 1"},
			[]string{"--crf", "--lp 0", "--progress 0"}},
		{"aom good", aom, Settings{Speed: 6, Quantizer: 30, Threads: 2, Color: col},
			[]string{"--ivf -o -", "--passes=1", "--good", "--cpu-used=6", "--disable-kf", "--enable-fwd-kf=0", "--row-mt=0",
				"--end-usage=q --cq-level=30", "--threads=2", "--color-primaries=bt709", "--transfer-characteristics=smpte2084",
				"--matrix-coefficients=bt2020ncl", "--quiet"},
			[]string{"--rt", "--target-bitrate", "--film-grain-table"}},
		{"aom realtime vbr", aom, Settings{Speed: 9, Bitrate: 400, Extra: []string{"-t", "3"}},
			[]string{"--rt", "--cpu-used=9", "--end-usage=vbr --target-bitrate=400", "-t 3"},
			[]string{"--good", "--threads=", "--cq-level"}},
		{"aom grain table", aom, Settings{Speed: 6, Quantizer: 30, PhotonNoise: 400, GrainTable: "filmgrn1\n"},
			[]string{"--film-grain-table="}, nil},
		{"svt hdr10", svt, Settings{Speed: 10, Quantizer: 35, HDR: hdr10},
			[]string{"--enable-hdr 1", "--mastering-display G(0.2649993896484375,0.69000244140625)B(0.149993896484375,0.0600128173828125)R(0.67999267578125,0.32000732421875)WP(0.3126983642578125,0.3289947509765625)L(1000.00390625,0.00018310546875)", "--content-light 1001,399"}, nil},
		{"svt hdr10 of the user's own", svt, Settings{Speed: 10, Quantizer: 35, HDR: hdr10, Extra: []string{"--content-light", "5,5"}},
			[]string{"--enable-hdr 1", "--mastering-display G(", "--content-light 5,5"}, []string{"1001,399"}},
	}
	for _, tc := range cases {
		got := tc.args(tc.s)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: %q has %q", tc.name, got, w)
			}
		}
	}
	if a := AomArgsLast(t); a != "-" {
		t.Errorf("aomenc's last argument %q, want its input -", a)
	}
}

// AomArgsLast returns aomenc's last argument, after pass-through ones.
func AomArgsLast(t *testing.T) string {
	args, cleanup, err := AomArgs(Settings{Speed: 6, Quantizer: 30, Extra: []string{"--tune=ssim"}})
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	return args[len(args)-1]
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
