package probe

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/av1job/av1job/internal/testclip"
)

// hdr10AV1 is testclip.HDR10Params's metadata in AV1's units, rounded by
// hand: 34000/50000*65536 = 44564.48 -> 44564, 0.0001*16384 = 1.64 -> 2.
var hdr10AV1 = HDR{
	Mastering: &Mastering{
		Primaries:    [3][2]uint16{{44564, 20972}, {17367, 45220}, {9830, 3932}},
		WhitePoint:   [2]uint16{20493, 21561},
		MaxLuminance: 256000, MinLuminance: 2,
	},
	Light: &ContentLight{MaxCLL: 1000, MaxFALL: 400},
}

func TestHDRFrom(t *testing.T) {
	n := func(v int) *int { return &v }
	md := ffSideData{Type: "Mastering display metadata", RedX: "34000/50000", RedY: "16000/50000", GreenX: "13250/50000", GreenY: "34500/50000",
		BlueX: "7500/50000", BlueY: "3000/50000", WhiteX: "15635/50000", WhiteY: "16450/50000", MinLum: "1/10000", MaxLum: "10000000/10000"}
	cll := ffSideData{Type: "Content light level metadata", MaxContent: n(1000), MaxAverage: n(400)}
	for _, tc := range []struct {
		name    string
		list    []ffSideData
		want    string
		dynamic int
	}{
		{"stream HDR10", []ffSideData{md, cll}, hdr10AV1.String(), 0},
		{"luminance only", []ffSideData{{Type: "Mastering display metadata", MinLum: "1/10000", MaxLum: "1000/1"}}, "", 0},
		{"content light only", []ffSideData{cll}, "content light 1000,400", 0},
		{"HDR10+", []ffSideData{md, cll, {Type: "HDR Dynamic Metadata SMPTE2094-40 (HDR10+)"}}, hdr10AV1.String(), 1},
		{"Dolby Vision", []ffSideData{{Type: "DOVI configuration record"}}, "", 1},
		{"none", nil, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h HDR
			hdrFrom(&h, tc.list)
			if h.String() != tc.want || len(h.Dynamic) != tc.dynamic {
				t.Errorf("got %q dynamic %v, want %q and %d dynamic", h.String(), h.Dynamic, tc.want, tc.dynamic)
			}
		})
	}
}

// TestMasteringString checks that the rav1e program's notation gives back
// exactly the fixed-point values when rounded as rav1e does: x*65536 for
// chromaticities, *256 and *16384 for the luminances.
func TestMasteringString(t *testing.T) {
	m := hdr10AV1.Mastering
	var v [10]float64
	if _, err := fmt.Sscanf(m.String(), "G(%g,%g)B(%g,%g)R(%g,%g)WP(%g,%g)L(%g,%g)", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]); err != nil {
		t.Fatalf("%s: %v", m.String(), err)
	}
	c := func(f float64) uint16 { return uint16(math.Round(f * 65536)) }
	got := Mastering{Primaries: [3][2]uint16{{c(v[4]), c(v[5])}, {c(v[0]), c(v[1])}, {c(v[2]), c(v[3])}},
		WhitePoint: [2]uint16{c(v[6]), c(v[7])}, MaxLuminance: uint32(math.Round(v[8] * 256)), MinLuminance: uint32(math.Round(v[9] * 16384))}
	if got != *m {
		t.Errorf("%s reads back as %+v, want %+v", m.String(), got, *m)
	}
}

// TestProbeHDR reads HDR10 metadata that only the frames carry (HEVC SEI
// in Matroska) from a generated clip.
func TestProbeHDR(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("no ffprobe")
	}
	if testing.Short() {
		t.Skip("makes a clip with ffmpeg")
	}
	ctx := context.Background()
	dir := t.TempDir()
	hdr := filepath.Join(dir, "hdr10.mkv")
	if err := testclip.HDR10(ctx, hdr, 2); err != nil {
		t.Fatal(err)
	}
	src, err := Probe(ctx, hdr)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Video.HDR; !got.Equal(hdr10AV1) || len(got.Dynamic) != 0 {
		t.Errorf("HDR = %s (dynamic %v), want %s", got, got.Dynamic, hdr10AV1)
	}
	if src.Video.Color.Transfer != "smpte2084" {
		t.Errorf("transfer %q, want smpte2084", src.Video.Color.Transfer)
	}
}
