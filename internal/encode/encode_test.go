package encode

import (
	"slices"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/probe"
)

func TestCheckExtra(t *testing.T) {
	cases := []struct {
		args []string
		bad  string // part of the error; empty when allowed
	}{
		{nil, ""},
		{[]string{"--tiles", "2"}, ""},
		{[]string{"--low-latency", "--tune", "Psnr"}, ""},
		{[]string{"--threads=4"}, ""},
		{[]string{"-o", "x.ivf"}, "-o"},
		{[]string{"--output=x.ivf"}, "--output=x.ivf"},
		{[]string{"--limit", "10"}, "--limit"},
		{[]string{"--skip", "3"}, "--skip"},
		{[]string{"--keyint", "60"}, "--keyint"},
		{[]string{"-I", "60"}, "-I"},
		{[]string{"--min-keyint", "5"}, "--min-keyint"},
		{[]string{"-i", "5"}, "-i"},
		{[]string{"-y"}, "-y"},
		{[]string{"--speed", "3"}, "--speed"},
		{[]string{"input.y4m"}, "input.y4m"},
		{[]string{"--low-latency", "in.y4m"}, "in.y4m"},
		{[]string{"--first-pass", "stats"}, "--first-pass"},
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
}
