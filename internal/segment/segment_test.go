package segment

import (
	"context"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keyframes returns the stream's time base and the timestamps of its
// keyframes.
func keyframes(t *testing.T, path string) (*big.Rat, []int64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=time_base:packet=pts,flags", "-of", "json", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Streams []struct {
			TimeBase string `json:"time_base"`
		} `json:"streams"`
		Packets []struct {
			PTS   int64  `json:"pts"`
			Flags string `json:"flags"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &pr); err != nil {
		t.Fatal(err)
	}
	tb, ok := new(big.Rat).SetString(pr.Streams[0].TimeBase)
	if !ok {
		t.Fatalf("time base %q", pr.Streams[0].TimeBase)
	}
	var keys []int64
	for _, p := range pr.Packets {
		if strings.HasPrefix(p.Flags, "K") {
			keys = append(keys, p.PTS)
		}
	}
	return tb, keys
}

// TestCopyStartsAtTheKeyframe: a copy segment of a range that starts on a
// keyframe starts with that keyframe, not one a keyframe interval earlier,
// in containers that seek by decode time (Matroska) and by presentation
// time (MP4), with and without B-frames.
func TestCopyStartsAtTheKeyframe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg: skipped under -short")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"b-frames.mkv", []string{"-bf", "3"}},
		{"b-frames.mp4", []string{"-bf", "3"}},
		{"no-b-frames.mkv", []string{"-bf", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(dir, tc.name)
			args := append([]string{"-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=24,trim=end_frame=480",
				"-c:v", "libx264", "-preset", "veryfast", "-g", "120", "-sc_threshold", "0"}, tc.args...)
			if out, err := exec.Command("ffmpeg", append(args, src)...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v: %s", err, out)
			}
			tb, keys := keyframes(t, src)
			if len(keys) < 3 {
				t.Fatalf("keyframes %v: want one every 5 s", keys)
			}
			seg, err := Cut(context.Background(), Range{Path: src, Stream: 0, TimeBase: tb, First: keys[1], Last: keys[2] - 1}, Copy)
			if err != nil {
				t.Fatal(err)
			}
			nut := filepath.Join(dir, tc.name+".nut")
			if err := os.WriteFile(nut, seg, 0o644); err != nil {
				t.Fatal(err)
			}
			ntb, nkeys := keyframes(t, nut)
			first := new(big.Rat).Mul(ntb, new(big.Rat).SetInt64(nkeys[0]))
			want := new(big.Rat).Mul(tb, new(big.Rat).SetInt64(keys[1]))
			if first.Cmp(want) != 0 {
				t.Errorf("the segment starts at %s s, the range's keyframe is at %s s", first.FloatString(3), want.FloatString(3))
			}
		})
	}
}
