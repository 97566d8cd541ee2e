package verify

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/tools"
)

// TestRunHDR checks that verify compares the output's HDR10 metadata with
// the source's, exactly in AV1's units: kept, missing, and one value off.
func TestRunHDR(t *testing.T) {
	needFFmpeg(t)
	if err := tools.Check(tools.Rav1e); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "hdr10.mkv")
	if err := testclip.HDR10(ctx, src, 4); err != nil {
		t.Fatal(err)
	}
	y4m := filepath.Join(dir, "src.y4m")
	ffmpeg(t, "-i", src, "-strict", "-1", "-f", "yuv4mpegpipe", y4m)
	const md = "G(0.2649993896484375,0.69000244140625)B(0.149993896484375,0.05999755859375)R(0.67999267578125,0.32000732421875)WP(0.3126983642578125,0.3289947509765625)L(1000,0.0001220703125)"
	for _, tc := range []struct {
		name    string
		args    []string
		problem string // "" for none
	}{
		{"kept", []string{"--mastering-display", md, "--content-light", "1000,400"}, ""},
		{"missing", nil, "HDR metadata: output none"},
		{"MaxCLL off by one", []string{"--mastering-display", md, "--content-light", "999,400"}, "content light 999,400, expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ivfPath, out := filepath.Join(dir, "out.ivf"), filepath.Join(dir, "out.mkv")
			args := append([]string{y4m, "-o", ivfPath, "-y", "--quiet", "--speed", "10", "--primaries", "BT2020", "--transfer", "SMPTE2084", "--matrix", "BT2020NCL"}, tc.args...)
			if b, err := exec.CommandContext(ctx, "rav1e", args...).CombinedOutput(); err != nil {
				t.Fatalf("rav1e: %v: %s", err, b)
			}
			ffmpeg(t, "-i", ivfPath, "-c", "copy", "-color_trc", "smpte2084", "-color_primaries", "bt2020", "-colorspace", "bt2020nc", out)
			r, err := Run(ctx, src, out, Options{VideoOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(r.Problems, "; ")
			if tc.problem == "" && !r.OK() || tc.problem != "" && !strings.Contains(got, tc.problem) {
				t.Fatalf("problems %q, want %q", got, tc.problem)
			}
			if tc.problem == "" && !strings.Contains(r.Summary(), "HDR10 metadata kept") {
				t.Errorf("summary %q does not say the HDR10 metadata was kept", r.Summary())
			}
		})
	}
}
