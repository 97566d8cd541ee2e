package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/av1job/av1job"
)

// TestEncodeFlags: --speed 0 is rav1e's slowest speed, not the default;
// a speed or quantizer left out is the default; --quantizer 0, which the
// options would read as the default, is refused.
func TestEncodeFlags(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		speed, q int
		want     string // in the error; "" for none
	}{
		{nil, 6, 100, ""},
		{[]string{"--speed", "0"}, 0, 100, ""},
		{[]string{"-s", "3", "-q", "80"}, 3, 80, ""},
		{[]string{"--speed", "x"}, 0, 0, `"x" is not a whole number`},
		{[]string{"--quantizer", "0"}, 0, 0, "--quantizer 0: must be more than 0"},
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
			case tc.want == "" && (o.Speed != av1job.SpeedOf(tc.speed) || o.Quantizer != tc.q):
				t.Errorf("speed %v, quantizer %d; want %d, %d", o.Speed, o.Quantizer, tc.speed, tc.q)
			}
		})
	}
}
