package av1job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// DefaultSpeed and DefaultQuantizer are the encoder settings of a rav1e
// job whose options leave them unset: rav1e's own defaults. Another
// encoder's are in its encode.Scales.
const (
	DefaultSpeed     = 6
	DefaultQuantizer = 100
)

// A Speed is an encoder speed on the encoder's own scale, from 0
// (slowest, the best picture for its bits): rav1e's 0-10, SVT-AV1's
// preset 0-13, aomenc's cpu-used 0-10. The zero Speed chooses none: a job
// runs at the encoder's default (rav1e's DefaultSpeed). SpeedOf(n)
// chooses n, 0 included:
//
//	av1job.Options{Input: in, Output: out}                          // speed 6
//	av1job.Options{Input: in, Output: out, Speed: av1job.SpeedOf(0)} // speed 0
//
// In JSON a Speed is a number; with the omitzero option an unset Speed is
// left out, and a Speed decoded from JSON is always set.
type Speed struct {
	n   int
	set bool
}

// SpeedOf returns the speed n (checked against the encoder's scale when
// the options are).
func SpeedOf(n int) Speed { return Speed{n: n, set: true} }

// Int returns the speed: the one chosen, else DefaultSpeed (rav1e's; a
// job's options have their encoder's default filled in first).
func (s Speed) Int() int {
	if !s.set {
		return DefaultSpeed
	}
	return s.n
}

// IsZero reports whether no speed is chosen.
func (s Speed) IsZero() bool { return !s.set }

// String returns the speed as a number, as Int does.
func (s Speed) String() string { return strconv.Itoa(s.Int()) }

// MarshalJSON encodes the speed as a number, as Int returns it.
func (s Speed) MarshalJSON() ([]byte, error) { return json.Marshal(s.Int()) }

// UnmarshalJSON chooses the speed a JSON number gives; null leaves s as
// it is.
func (s *Speed) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("speed %s: must be a whole number", b)
	}
	*s = SpeedOf(n)
	return nil
}
