package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/av1job/av1job"
)

// TestEncodeFlags: --speed 0 is the slowest speed, not the default; a
// speed or quantizer left out stays unset (the job takes its encoder's
// default); --crf is --quantizer; --quantizer 0, which the options would
// read as the default, is refused.
func TestEncodeFlags(t *testing.T) {
	unset := av1job.Speed{}
	for _, tc := range []struct {
		args  []string
		speed av1job.Speed
		q     int
		want  string // in the error; "" for none
	}{
		{nil, unset, 0, ""},
		{[]string{"--encoder", "svt-av1"}, unset, 0, ""},
		{[]string{"--speed", "0"}, av1job.SpeedOf(0), 0, ""},
		{[]string{"-s", "3", "-q", "80"}, av1job.SpeedOf(3), 80, ""},
		{[]string{"--encoder", "svt-av1", "--speed", "8", "--crf", "35"}, av1job.SpeedOf(8), 35, ""},
		{[]string{"--speed", "x"}, unset, 0, `"x" is not a whole number`},
		{[]string{"--quantizer", "0"}, unset, 0, "--quantizer 0: must be more than 0"},
		{[]string{"--crf", "0"}, unset, 0, "--quantizer 0: must be more than 0"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o := av1job.NewOptions("", "")
			f := pflag.NewFlagSet("encode", pflag.ContinueOnError)
			f.SetOutput(io.Discard)
			addJobFlags(f, &o, "")
			err := f.Parse(tc.args)
			if err == nil {
				err = checkFlags(f, &o)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			case tc.want == "" && (o.Speed != tc.speed || o.Quantizer != tc.q):
				t.Errorf("speed %v (set %v), quantizer %d; want %v (set %v), %d", o.Speed, !o.Speed.IsZero(), o.Quantizer, tc.speed, !tc.speed.IsZero(), tc.q)
			}
		})
	}
}
