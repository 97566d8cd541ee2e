package task

import (
	"fmt"
	"math"

	"github.com/av1job/av1job/internal/quality"
)

// TargetQuality asks for each chunk to be encoded at the highest quantizer
// whose output reaches a quality score, found by probe encodes (Next and
// Decide). A Task carries it with the probes already made of the chunk,
// so that a search cut short goes on where it stopped.
type TargetQuality struct {
	Score  float64 `json:"score"`
	Metric string  `json:"metric"` // "ssimulacra2", "psnr" or "ssim"
	Stat   string  `json:"stat"`   // how a chunk's frames are summed up: "mean", "p5" or "min"
	MinQ   int     `json:"min_q"`
	MaxQ   int     `json:"max_q"`
	Probes int     `json:"probes"` // at most this many probe encodes per chunk
	// ProbeSpeed is the encoder speed of the probes (0 means the task's).
	ProbeSpeed int `json:"probe_speed,omitempty"`
	// Known are the probes of the chunk made so far.
	Known []Probe `json:"known,omitempty"`
}

// A Probe is a probe encode's outcome: the chunk's score at Quantizer and
// the size of the probe's stream.
type Probe struct {
	Quantizer int     `json:"q"`
	Score     float64 `json:"score"`
	Size      int64   `json:"size"`
}

// A QualityRecorder is a StreamWriter that keeps what a target-quality
// task measures. The coordinator's writers are; an executor that runs
// target-quality tasks reports through it when its StreamWriter is one.
type QualityRecorder interface {
	// Probe reports a finished probe encode; once it returns, the probe
	// is kept (journaled) and a later task of the chunk carries it.
	Probe(Probe) error
	// Quality reports the quantizer the stream is encoded at and its
	// score, measured on the stream written (NaN when it was not
	// measured: a stopped task).
	Quality(q int, score float64)
}

// check returns why the target cannot be searched for, or nil.
func (tq TargetQuality) check() error {
	switch {
	case math.IsNaN(tq.Score) || math.IsInf(tq.Score, 0):
		return fmt.Errorf("target score %g is not a number", tq.Score)
	case tq.MinQ < 1 || tq.MaxQ > 255 || tq.MinQ > tq.MaxQ:
		return fmt.Errorf("quantizer range %d-%d: must be within 1-255, low to high", tq.MinQ, tq.MaxQ)
	case tq.Probes < 1 || tq.Probes > 16:
		return fmt.Errorf("%d probes: must be 1-16", tq.Probes)
	case tq.ProbeSpeed < 0 || tq.ProbeSpeed > 255:
		// The encoder's own scale is checked by Task.Validate.
		return fmt.Errorf("probe speed %d: must be 0-255", tq.ProbeSpeed)
	}
	if err := quality.CheckMetric(tq.Metric); err != nil {
		return err
	}
	if err := quality.CheckStat(tq.Stat); err != nil {
		return err
	}
	for _, p := range tq.Known {
		if err := tq.CheckProbe(p); err != nil {
			return err
		}
	}
	return nil
}

// CheckProbe returns an error unless p can be a probe of the search: a
// finite score at a quantizer in the range, and a size not below 0.
func (tq TargetQuality) CheckProbe(p Probe) error {
	if p.Quantizer < tq.MinQ || p.Quantizer > tq.MaxQ || math.IsNaN(p.Score) || math.IsInf(p.Score, 0) || p.Size < 0 {
		return fmt.Errorf("probe at quantizer %d scoring %g is outside the search", p.Quantizer, p.Score)
	}
	return nil
}

// Decide returns the quantizer a target-quality task is encoded at, from
// its known probes: ok is false while the search needs more probes.
func (tq TargetQuality) Decide() (q int, predicted float64, reached, ok bool) {
	next, d := tq.search()
	return d.Quantizer, d.Predicted, d.Reached, next == 0
}

// Next returns the quantizer to probe next, 0 once the search has decided,
// and the quantizer the probes decide so far.
func (tq TargetQuality) Next() (probe, decided int) {
	next, d := tq.search()
	return next, d.Quantizer
}
