package av1job

import "github.com/av1job/av1job/internal/encode"

// An EncoderInfo describes an encoder a job can name (Options.Encoder):
// its speed and quantizer scales, each the encoder's own, with the
// defaults a job takes when Options leave them unset, and the quantizer
// range a target-quality search covers unless told.
type EncoderInfo struct {
	Name      string       `json:"name"`
	Speed     EncoderScale `json:"speed"`
	Quantizer EncoderScale `json:"quantizer"`
	TargetMin int          `json:"target_min"`
	TargetMax int          `json:"target_max"`
}

// An EncoderScale is one of an encoder's own settings: what the encoder
// calls it ("preset", "crf", "cpu-used", ...), its range and the default.
type EncoderScale struct {
	Name    string `json:"name"`
	Min     int    `json:"min"`
	Max     int    `json:"max"`
	Default int    `json:"default"`
}

// Encoders lists the encoders av1job drives, sorted by name (whether
// their programs are installed is checked when a job runs).
func Encoders() []EncoderInfo {
	var out []EncoderInfo
	for _, n := range encode.Names() {
		enc, _ := encode.Lookup(n)
		sc := enc.Scales()
		out = append(out, EncoderInfo{Name: n, Speed: EncoderScale(sc.Speed), Quantizer: EncoderScale(sc.Quantizer),
			TargetMin: sc.TargetMin, TargetMax: sc.TargetMax})
	}
	return out
}
