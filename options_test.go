package av1job

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/scene"
)

// TestOptionsDefaults: options a library user writes with only some
// fields set get the documented defaults for the rest (those NewOptions
// fills in), and a speed of 0 chosen with SpeedOf stays 0.
func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name       string
		o          Options
		speed, q   int
		rate       string // the fingerprint's rate control
		sameAsBare bool   // the defaults of Options{Input, Output}, NewOptions's
	}{
		{"zero", Options{}, 6, 100, "quantizer 100", true},
		{"NewOptions", NewOptions("", ""), 6, 100, "quantizer 100", true},
		{"speed 0 chosen", Options{Speed: SpeedOf(0)}, 0, 100, "quantizer 100", false},
		{"speed 10", Options{Speed: SpeedOf(10)}, 10, 100, "quantizer 100", false},
		{"speed 6 chosen", Options{Speed: SpeedOf(6)}, 6, 100, "quantizer 100", true},
		{"quantizer", Options{Quantizer: 80}, 6, 80, "quantizer 80", false},
		{"bitrate", Options{Bitrate: 500}, 6, 100, "bitrate 500 kbit/s", false},
		{"target quality", Options{TargetQuality: 70}, 6, 100, "target ssimulacra2 mean 70, quantizer 40-255, 4 probes", false},
		{"target quality at speed 0", Options{TargetQuality: 70, Speed: SpeedOf(0), ProbeSpeed: 8}, 0, 100,
			"target ssimulacra2 mean 70, quantizer 40-255, 4 probes at speed 8", false},
	}
	bare := NewOptions("in.mkv", "out.mkv")
	bare.defaults()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Input, o.Output = "in.mkv", "out.mkv"
			if err := o.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			o.defaults()
			if s := o.settings(); s.Speed != tc.speed || s.Quantizer != tc.q {
				t.Errorf("speed %d, quantizer %d; want %d, %d", s.Speed, s.Quantizer, tc.speed, tc.q)
			}
			if got := o.rateControl(); got != tc.rate {
				t.Errorf("rate control %q, want %q", got, tc.rate)
			}
			if o.Encoder != "rav1e" || o.MinSceneLen != 24 || o.MaxSceneLen != 10 || o.SceneThreshold != scene.DefaultThreshold || o.JobDir != "out.mkv.av1job" {
				t.Errorf("encoder %q, scene lengths %d-%g, threshold %g, job directory %q: not the defaults",
					o.Encoder, o.MinSceneLen, o.MaxSceneLen, o.SceneThreshold, o.JobDir)
			}
			if same := reflect.DeepEqual(o, bare); same != tc.sameAsBare {
				t.Errorf("same as NewOptions: %v, want %v\n got %+v\nbare %+v", same, tc.sameAsBare, o, bare)
			}
			// Filling the defaults again changes nothing.
			again := o
			again.defaults()
			if !reflect.DeepEqual(again, o) {
				t.Errorf("defaults twice: %+v, then %+v", o, again)
			}
		})
	}
}

// TestValidateSettings: the encoder settings are checked after the
// defaults are filled in: a speed chosen out of range is refused, a zero
// quantizer is the default.
func TestValidateSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string // "" for valid
	}{
		{"zero", Options{}, ""},
		{"speed 0", Options{Speed: SpeedOf(0)}, ""},
		{"speed 10", Options{Speed: SpeedOf(10)}, ""},
		{"speed 11", Options{Speed: SpeedOf(11)}, "--speed 11"},
		{"speed -1", Options{Speed: SpeedOf(-1)}, "--speed -1"},
		{"quantizer 255", Options{Quantizer: 255}, ""},
		{"quantizer 256", Options{Quantizer: 256}, "--quantizer 256"},
		{"quantizer -1", Options{Quantizer: -1}, "--quantizer -1"},
		{"probe speed 11", Options{TargetQuality: 70, ProbeSpeed: 11}, "--probe-speed 11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Input, o.Output = "in.mkv", "out.mkv"
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want an error naming %q", err, tc.want)
			}
			if o.JobDir != "" || o.Encoder != "" || o.Speed != tc.o.Speed || o.Quantizer != tc.o.Quantizer {
				t.Errorf("Validate changed the options: %+v", o)
			}
		})
	}
}

// TestSpeedJSON: a speed chosen is a number in JSON, 0 included, and
// comes back chosen; an unset one is left out; a job.json without a speed
// (written when a speed of 0 was left out) reads as speed 0.
func TestSpeedJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		json string // the speed's field, "" when left out
	}{
		{"unset", Options{}, ""},
		{"0", Options{Speed: SpeedOf(0)}, `"speed":0`},
		{"6", Options{Speed: SpeedOf(6)}, `"speed":6`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(b), `"speed"`); got != (tc.json != "") || !strings.Contains(string(b), tc.json) {
				t.Fatalf("JSON %s, want %s", b, tc.json)
			}
			var back Options
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Speed != tc.o.Speed {
				t.Errorf("back from JSON: %+v, want %+v", back.Speed, tc.o.Speed)
			}
		})
	}
	// Left out, or null, a speed keeps the value decoded into: the
	// server's defaults, job.json's 0.
	for _, b := range []string{`{"input": "a.mkv"}`, `{"speed": null}`} {
		o := NewOptions("", "")
		if err := json.Unmarshal([]byte(b), &o); err != nil || o.Speed != SpeedOf(DefaultSpeed) {
			t.Errorf("%s into NewOptions: speed %v (set %v), %v", b, o.Speed, !o.Speed.IsZero(), err)
		}
		if o, err := parseOptions(json.RawMessage(b)); err != nil || o.Speed != SpeedOf(0) {
			t.Errorf("job.json %s: speed %v (set %v), %v; want 0", b, o.Speed, !o.Speed.IsZero(), err)
		}
	}
	for _, b := range []string{`{"speed": 6.5}`, `{"speed": "6"}`} {
		var o Options
		if err := json.Unmarshal([]byte(b), &o); err == nil || !strings.Contains(err.Error(), "speed") {
			t.Errorf("%s: %v, want an error naming the speed", b, err)
		}
	}
}
