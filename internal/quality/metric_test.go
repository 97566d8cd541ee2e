package quality

import (
	"bytes"
	"context"
	"math"
	"os/exec"
	"testing"
)

// y4m makes a 64x36 Y4M clip of 6 frames with ffmpeg; vf distorts it.
// Under -short it skips the test.
func y4m(t *testing.T, vf string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("runs ffmpeg: skipped under -short")
	}
	args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x36:r=24:d=0.25"}
	if vf != "" {
		args = append(args, "-vf", vf)
	}
	args = append(args, "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-")
	out, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		t.Skipf("ffmpeg: %v", err)
	}
	return out
}

// TestScores: every metric gives its top score for identical streams and
// a lower one for a blurred copy, frame by frame, and Every picks frames.
func TestScores(t *testing.T) {
	ref, blur := y4m(t, ""), y4m(t, "gblur=sigma=1.5")
	color := Color("", false)
	for _, tc := range []struct {
		metric string
		top    float64
	}{{SSIMULACRA2, 100}, {PSNR, 100}, {SSIM, 1}} {
		same, err := Scores(context.Background(), tc.metric, bytes.NewReader(ref), bytes.NewReader(ref), color, ScoreOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.metric, err)
		}
		worse, err := Scores(context.Background(), tc.metric, bytes.NewReader(ref), bytes.NewReader(blur), color, ScoreOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.metric, err)
		}
		every, err := Scores(context.Background(), tc.metric, bytes.NewReader(ref), bytes.NewReader(blur), color, ScoreOptions{Every: 4})
		if err != nil {
			t.Fatalf("%s: %v", tc.metric, err)
		}
		if len(same) != 6 || len(worse) != 6 || len(every) != 2 {
			t.Fatalf("%s: %d, %d and %d scores; want 6, 6 and 2", tc.metric, len(same), len(worse), len(every))
		}
		for i := range same {
			if same[i] < tc.top-1e-9 || worse[i] >= same[i] {
				t.Errorf("%s frame %d: identical %g (want %g), blurred %g", tc.metric, i, same[i], tc.top, worse[i])
			}
		}
		if every[0] != worse[0] || every[1] != worse[4] {
			t.Errorf("%s: every 4th frame %v, all frames %v", tc.metric, every, worse)
		}
	}
	if _, err := Scores(context.Background(), "vmaf", bytes.NewReader(ref), bytes.NewReader(ref), color, ScoreOptions{}); err == nil {
		t.Error("an unknown metric is accepted")
	}
	if _, err := Scores(context.Background(), PSNR, bytes.NewReader(ref), bytes.NewReader(ref[:len(ref)/2]), color, ScoreOptions{}); err == nil {
		t.Error("a stream that ends early gives no error")
	}
}

func TestStat(t *testing.T) {
	scores := make([]float64, 40)
	for i := range scores {
		scores[i] = float64(i)
	}
	for _, tc := range []struct {
		stat string
		want float64
	}{{StatMean, 19.5}, {StatMin, 0}, {StatP5, 1}} {
		if got := Stat(scores, tc.stat); got != tc.want {
			t.Errorf("Stat(%s) = %g, want %g", tc.stat, got, tc.want)
		}
	}
	if !math.IsNaN(Stat(nil, StatMean)) {
		t.Error("Stat of no scores is not NaN")
	}
}
