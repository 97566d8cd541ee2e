package grain

import (
	"fmt"
	"math"
	"strings"
)

// A Transfer is the transfer characteristic of the video the grain is
// applied to. The zero value is SDR.
type Transfer int

const (
	// SDR is the sRGB curve (IEC 61966-2-1), used for BT.709, BT.601,
	// BT.2020 SDR, sRGB and unspecified sources, as the reference does by
	// default.
	SDR Transfer = iota
	// BT470M is a pure gamma of 2.2 (ITU-R BT.470 System M).
	BT470M
	// BT470BG is a pure gamma of 2.8 (ITU-R BT.470 System B, G).
	BT470BG
	// PQ is SMPTE ST 2084, with a mid-tone of 26 cd/m² (ITU-R BT.2408).
	PQ
	// HLG is ARIB STD-B67 in display light on a 1000 cd/m² display
	// (system gamma 1.2), with a mid-tone of 26 cd/m².
	HLG
)

var transferNames = [...]string{SDR: "sdr", BT470M: "bt470m", BT470BG: "bt470bg", PQ: "pq", HLG: "hlg"}

// String returns the transfer's name as ParseTransfer reads it.
func (t Transfer) String() string {
	if t < 0 || int(t) >= len(transferNames) {
		return fmt.Sprintf("Transfer(%d)", int(t))
	}
	return transferNames[t]
}

// ParseTransfer returns the Transfer for a transfer characteristic named
// as FFmpeg names them (ffprobe's color_transfer: "bt709", "smpte2084",
// "arib-std-b67", ...; "" and "unknown" are SDR) or as String does. It
// returns an error wrapping ErrParams for a linear or logarithmic
// transfer, or an unknown name.
func ParseTransfer(name string) (Transfer, error) {
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case "", "unknown", "unspecified", "reserved", "sdr", "bt709", "smpte170m", "bt601", "iec61966-2-4",
		"smpte240m", "bt1361e", "bt1361", "bt2020-10", "bt2020_10", "bt2020-12", "bt2020_12",
		"iec61966-2-1", "iec61966_2_1", "srgb":
		return SDR, nil
	case "bt470m", "gamma22":
		return BT470M, nil
	case "bt470bg", "gamma28":
		return BT470BG, nil
	case "pq", "smpte2084":
		return PQ, nil
	case "hlg", "arib-std-b67":
		return HLG, nil
	}
	return 0, fmt.Errorf("%w: transfer %q has no photon noise model: use an SDR (bt709, srgb), PQ or HLG source", ErrParams, name)
}

// curve is a transfer function on float32, as the reference computes it:
// toLinear maps a coded value in 0..1 to linear light relative to white,
// fromLinear is its inverse, and midTone is a mid-grey's linear light.
type curve struct {
	toLinear, fromLinear func(float32) float32
	midTone              float32
}

func (t Transfer) curve() (curve, bool) {
	switch t {
	case SDR:
		return curve{srgbToLinear, srgbFromLinear, f32(0.18)}, true
	case BT470M:
		return curve{gamma22ToLinear, gamma22FromLinear, f32(0.18)}, true
	case BT470BG:
		return curve{gamma28ToLinear, gamma28FromLinear, f32(0.18)}, true
	case PQ:
		return curve{pqToLinear, pqFromLinear, f32(26) / f32(10000)}, true
	case HLG:
		return curve{hlgToLinear, hlgFromLinear, f32(26) / f32(1000)}, true
	}
	return curve{}, false
}

// f32 rounds a constant to float32 the way a C float literal is rounded.
// Go evaluates constant expressions exactly, so each literal of the
// reference goes through f32 and each operation runs on float32 values.
func f32(x float64) float32 { return float32(x) }

// powf, expf, logf and sqrtf stand for C's float functions: computed in
// float64 and rounded once, which gives the correctly rounded float32
// result in all but vanishingly rare cases.
func powf(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) }
func expf(x float32) float32    { return float32(math.Exp(float64(x))) }
func logf(x float32) float32    { return float32(math.Log(float64(x))) }
func sqrtf(x float32) float32   { return float32(math.Sqrt(float64(x))) }

func gamma22ToLinear(g float32) float32   { return powf(g, f32(2.2)) }
func gamma22FromLinear(l float32) float32 { return powf(l, 1/f32(2.2)) }
func gamma28ToLinear(g float32) float32   { return powf(g, f32(2.8)) }
func gamma28FromLinear(l float32) float32 { return powf(l, 1/f32(2.8)) }

func srgbToLinear(v float32) float32 {
	if v <= f32(0.04045) {
		return v / f32(12.92)
	}
	return powf((v+f32(0.055))/f32(1.055), f32(2.4))
}

func srgbFromLinear(l float32) float32 {
	if l <= f32(0.0031308) {
		return f32(12.92) * l
	}
	return float32(f32(1.055)*powf(l, 1/f32(2.4))) - f32(0.055)
}

// The PQ constants are exact in float32.
var (
	pqM1 = f32(2610) / 16384
	pqM2 = f32(128) * 2523 / 4096
	pqC1 = f32(3424) / 4096
	pqC2 = f32(32) * 2413 / 4096
	pqC3 = f32(32) * 2392 / 4096
)

func pqToLinear(v float32) float32 {
	p := powf(v, 1/pqM2)
	return powf(max(0, p-pqC1)/(pqC2-float32(pqC3*p)), 1/pqM1)
}

func pqFromLinear(l float32) float32 {
	p := powf(l, pqM1)
	return powf((pqC1+float32(pqC2*p))/(1+float32(pqC3*p)), pqM2)
}

var (
	hlgA = f32(0.17883277)
	hlgB = f32(0.28466892)
	hlgC = f32(0.55991073)
)

// hlgToLinear is the HLG EOTF: the inverse OETF, then the OOTF.
func hlgToLinear(v float32) float32 {
	var l float32
	if v <= f32(0.5) {
		l = v * v / 3
	} else {
		l = (expf((v-hlgC)/hlgA) + hlgB) / 12
	}
	return powf(l, f32(1.2))
}

// hlgFromLinear is the inverse EOTF: the inverse OOTF, then the OETF.
func hlgFromLinear(l float32) float32 {
	l = powf(l, 1/f32(1.2))
	if l <= 1/f32(12) {
		return sqrtf(3 * l)
	}
	return float32(hlgA*logf(float32(12*l)-hlgB)) + hlgC
}
