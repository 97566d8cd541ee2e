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

// TestLargerWarning: an output larger than its source gets a warning that
// names what to change, by rate control; a smaller one none.
func TestLargerWarning(t *testing.T) {
	s := av1job.Summary{Output: "o.mkv", OutputBytes: 2 << 20, SourceBytes: 1 << 20}
	for _, tc := range []struct {
		name string
		s    av1job.Summary
		o    av1job.Options
		want string
	}{
		{"quantizer", s, av1job.Options{Quantizer: 100}, "o.mkv (2.0 MiB) is larger than its source (1.0 MiB): raise --quantizer (this job's: 100; higher makes it smaller) or use --target-quality"},
		{"target", s, av1job.Options{TargetQuality: 90}, "lower --target-quality (this job's: 90)"},
		{"the encoder's default quantizer", s, av1job.Options{Encoder: "svt-av1"}, "raise --quantizer (this job's: 35; higher makes it smaller)"},
		{"rav1e's default quantizer", s, av1job.Options{}, "raise --quantizer (this job's: 100; higher makes it smaller)"},
		{"bitrate", s, av1job.Options{Bitrate: 900}, "lower --bitrate (this job's: 900 kbit/s)"},
		{"smaller", av1job.Summary{Output: "o.mkv", OutputBytes: 1, SourceBytes: 2}, av1job.Options{}, ""},
	} {
		got := largerWarning(tc.s, tc.o)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestOutputSoFar: the size while encoding counts the other streams'
// share of the frames done.
func TestOutputSoFar(t *testing.T) {
	for _, tc := range []struct {
		e    av1job.Event
		want float64
	}{
		{av1job.Event{Bytes: 1000, BytesFrames: 50, FramesTotal: 100, OtherBytes: 400}, 1200},
		{av1job.Event{Bytes: 1000, BytesFrames: 50, FramesTotal: 100}, 1000},
		{av1job.Event{Bytes: 1000, BytesFrames: 50}, 1000},
	} {
		if got := outputSoFar(tc.e); got != tc.want {
			t.Errorf("outputSoFar(%+v) = %g, want %g", tc.e, got, tc.want)
		}
	}
}
