package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/tools"
)

// HDR is a video's HDR10 static metadata in AV1's fixed-point units (the
// AV1 specification's metadata_hdr_mdcv and metadata_hdr_cll), which is
// what an AV1 stream can carry exactly: a source's values are rounded to
// them once, when probed. The zero value carries nothing.
type HDR struct {
	// Mastering is the mastering display's colour volume; nil when the
	// source states none.
	Mastering *Mastering `json:"mastering,omitempty"`
	// Light is the content light level; nil when the source states none.
	Light *ContentLight `json:"light,omitempty"`
	// Dynamic names the dynamic HDR metadata the source carries ("HDR10+",
	// "Dolby Vision"), which no encoder here carries over. It is not part
	// of what is encoded.
	Dynamic []string `json:"-"`
}

// A Mastering display's colour volume, in AV1's units.
type Mastering struct {
	// Primaries are the red, green and blue primaries' x and y
	// chromaticity coordinates, 0.16 fixed point (units of 1/65536).
	Primaries [3][2]uint16 `json:"primaries"`
	// WhitePoint is the white point's x and y, 0.16 fixed point.
	WhitePoint [2]uint16 `json:"white_point"`
	// MaxLuminance is in cd/m², 24.8 fixed point (units of 1/256).
	MaxLuminance uint32 `json:"max_luminance"`
	// MinLuminance is in cd/m², 18.14 fixed point (units of 1/16384).
	MinLuminance uint32 `json:"min_luminance"`
}

// ContentLight is the maximum content light level (MaxCLL) and the
// maximum frame-average light level (MaxFALL), in cd/m².
type ContentLight struct {
	MaxCLL  uint16 `json:"max_cll"`
	MaxFALL uint16 `json:"max_fall"`
}

// Static reports whether h carries any static metadata.
func (h HDR) Static() bool { return h.Mastering != nil || h.Light != nil }

// Equal reports whether h and o carry the same static metadata.
func (h HDR) Equal(o HDR) bool {
	return h.String() == o.String()
}

// String describes the static metadata in the rav1e program's notation,
// "mastering G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min), content light MaxCLL,MaxFALL",
// with the exact values of the fixed-point units; "" when there is none.
func (h HDR) String() string {
	var parts []string
	if h.Mastering != nil {
		parts = append(parts, "mastering "+h.Mastering.String())
	}
	if h.Light != nil {
		parts = append(parts, "content light "+h.Light.String())
	}
	return strings.Join(parts, ", ")
}

// String is the rav1e program's --mastering-display value for m,
// G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min), in decimals that rav1e rounds back
// to exactly m's units.
func (m Mastering) String() string {
	c := func(v uint16) string { return exact(float64(v) / (1 << 16)) }
	p := m.Primaries
	return fmt.Sprintf("G(%s,%s)B(%s,%s)R(%s,%s)WP(%s,%s)L(%s,%s)",
		c(p[1][0]), c(p[1][1]), c(p[2][0]), c(p[2][1]), c(p[0][0]), c(p[0][1]),
		c(m.WhitePoint[0]), c(m.WhitePoint[1]),
		exact(float64(m.MaxLuminance)/(1<<8)), exact(float64(m.MinLuminance)/(1<<14)))
}

// String is the rav1e program's --content-light value, "MaxCLL,MaxFALL".
func (l ContentLight) String() string { return fmt.Sprintf("%d,%d", l.MaxCLL, l.MaxFALL) }

// exact formats a dyadic fraction with every digit it has: no rounding.
func exact(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// ffSideData is one entry of ffprobe's side_data_list, of a stream or a
// frame.
type ffSideData struct {
	Type       string  `json:"side_data_type"`
	Rotation   float64 `json:"rotation"`
	RedX       string  `json:"red_x"`
	RedY       string  `json:"red_y"`
	GreenX     string  `json:"green_x"`
	GreenY     string  `json:"green_y"`
	BlueX      string  `json:"blue_x"`
	BlueY      string  `json:"blue_y"`
	WhiteX     string  `json:"white_point_x"`
	WhiteY     string  `json:"white_point_y"`
	MinLum     string  `json:"min_luminance"`
	MaxLum     string  `json:"max_luminance"`
	MaxContent *int    `json:"max_content"`
	MaxAverage *int    `json:"max_average"`
}

// hdrFrom adds to h what the side data list carries; what h has already
// is kept.
func hdrFrom(h *HDR, list []ffSideData) {
	for _, sd := range list {
		switch {
		case sd.Type == "Mastering display metadata" && h.Mastering == nil:
			h.Mastering = mastering(sd)
		case sd.Type == "Content light level metadata" && h.Light == nil:
			if sd.MaxContent != nil && sd.MaxAverage != nil {
				h.Light = &ContentLight{MaxCLL: clamp16(*sd.MaxContent), MaxFALL: clamp16(*sd.MaxAverage)}
			}
		case strings.Contains(sd.Type, "HDR10+") || strings.Contains(sd.Type, "SMPTE2094-40"):
			h.addDynamic("HDR10+")
		case strings.Contains(sd.Type, "DOVI") || strings.Contains(sd.Type, "Dolby Vision"):
			h.addDynamic("Dolby Vision")
		}
	}
}

func (h *HDR) addDynamic(name string) {
	for _, d := range h.Dynamic {
		if d == name {
			return
		}
	}
	h.Dynamic = append(h.Dynamic, name)
}

// mastering converts ffprobe's mastering display side data (rationals) to
// AV1's units; nil unless it has both the primaries and the luminance,
// which AV1 needs together.
func mastering(sd ffSideData) *Mastering {
	vals := []string{sd.RedX, sd.RedY, sd.GreenX, sd.GreenY, sd.BlueX, sd.BlueY, sd.WhiteX, sd.WhiteY, sd.MaxLum, sd.MinLum}
	rs := make([]*big.Rat, len(vals))
	for i, v := range vals {
		r, ok := new(big.Rat).SetString(v)
		if !ok || r.Sign() < 0 {
			return nil
		}
		rs[i] = r
	}
	c := func(r *big.Rat) uint16 { return uint16(min(fixed(r, 16), 1<<16-1)) }
	m := &Mastering{
		Primaries:    [3][2]uint16{{c(rs[0]), c(rs[1])}, {c(rs[2]), c(rs[3])}, {c(rs[4]), c(rs[5])}},
		WhitePoint:   [2]uint16{c(rs[6]), c(rs[7])},
		MaxLuminance: uint32(min(fixed(rs[8], 8), 1<<32-1)),
		MinLuminance: uint32(min(fixed(rs[9], 14), 1<<32-1)),
	}
	if m.MaxLuminance == 0 {
		return nil // ffprobe's zero: no luminance given
	}
	return m
}

// fixed rounds r to a fixed-point number with bits fraction bits, halves
// up.
func fixed(r *big.Rat, bits uint) uint64 {
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), bits)))
	x.Add(x, big.NewRat(1, 2))
	q := new(big.Int).Quo(x.Num(), x.Denom())
	if !q.IsUint64() {
		return 1<<64 - 1
	}
	return q.Uint64()
}

func clamp16(v int) uint16 { return uint16(max(0, min(v, 1<<16-1))) }

// hdrTransfer reports whether a transfer characteristic is an HDR one
// (PQ or HLG): only then is a frame probed for HDR metadata.
func hdrTransfer(t string) bool { return t == "smpte2084" || t == "arib-std-b67" }

// FrameHDR reads the HDR metadata carried by the first frame of stream
// index of path: where a container has no stream-level HDR metadata, the
// codec carries it in the frames (HEVC's SEI, AV1's metadata OBUs). It
// decodes one frame.
func FrameHDR(ctx context.Context, path string, index int) (HDR, error) {
	out, err := tools.Output(ctx, tools.FFprobe, "-v", "error", "-read_intervals", "%+#1", "-select_streams", strconv.Itoa(index),
		"-show_frames", "-show_entries", "frame=side_data_list", "-of", "json", "file:"+path)
	if err != nil {
		return HDR{}, fmt.Errorf("probe: HDR metadata of %s: %w", path, err)
	}
	var ff struct {
		Frames []struct {
			SideData []ffSideData `json:"side_data_list"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &ff); err != nil {
		return HDR{}, fmt.Errorf("probe: HDR metadata of %s: parse ffprobe output: %w", path, err)
	}
	var h HDR
	if len(ff.Frames) > 0 {
		hdrFrom(&h, ff.Frames[0].SideData)
	}
	return h, nil
}
