package scenebench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Encoding of the generated clips: libx264 at its default (medium) preset
// with B-frames, a fixed GOP of 101 frames and x264's own scene-cut
// keyframes off, so that keyframes do not line up with the cuts.
var encodeArgs = []string{"-c:v", "libx264", "-preset", "medium", "-crf", "20", "-g", "101", "-keyint_min", "101", "-sc_threshold", "0", "-pix_fmt", "yuv420p"}

// Graph returns the clip's filter graph; its output is labelled [out].
func (c Clip) Graph() string {
	f := c.Frame
	var b strings.Builder
	n := len(c.Shots)
	in := func(k int) int { // frames of shot k blended with shot k-1
		if k == 0 || k >= n || c.Shots[k].How == Cut {
			return 0
		}
		return c.Shots[k].In
	}
	norm := fmt.Sprintf("settb=1/%d,setpts=N,format=yuv420p,setsar=1", f.Rate)
	length := 0 // frames of the graph built so far
	for k, s := range c.Shots {
		frames := in(k) + s.Frames + in(k+1)
		fmt.Fprintf(&b, "%s,trim=end_frame=%d,%s", s.Src(f), frames, norm)
		var inserts []int
		for _, fl := range s.Flashes {
			at := in(k) + fl.At
			switch fl.Kind {
			case White:
				fmt.Fprintf(&b, ",drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n\\,%d)'", at)
			case Bright:
				fmt.Fprintf(&b, ",eq=brightness=0.35:contrast=1.3:enable='eq(n\\,%d)'", at)
			case Insert:
				inserts = append(inserts, at)
			}
		}
		label := fmt.Sprintf("s%d", k)
		for j, at := range inserts {
			// One frame of an unrelated scene laid over the shot.
			fmt.Fprintf(&b, "[%s_%d];%s,trim=end_frame=%d,%s[%s_i%d];[%s_%d][%s_i%d]overlay=enable='eq(n\\,%d)',%s",
				label, j, Testsrc(f), frames, norm, label, j, label, j, label, j, at, norm)
		}
		fmt.Fprintf(&b, "[%s];", label)
		switch {
		case k == 0:
			fmt.Fprintf(&b, "[s0]null[c0];")
		case s.How == Cut:
			fmt.Fprintf(&b, "[c%d][%s]concat=n=2:v=1:a=0,%s[c%d];", k-1, label, norm, k)
		default:
			fmt.Fprintf(&b, "[c%d][%s]xfade=transition=%s:duration=%s:offset=%s[c%d];",
				k-1, label, xfadeName[s.How], secs(s.In, f.Rate), secs(length-s.In, f.Rate), k)
			length -= s.In
		}
		length += frames
	}
	fmt.Fprintf(&b, "[c%d]%s[out]", n-1, norm)
	return b.String()
}

// secs writes frames/rate seconds with enough digits that ffmpeg's
// microsecond parsing rounds back to the same frame.
func secs(frames, rate int) string {
	return strconv.FormatFloat(float64(frames)/float64(rate), 'f', 6, 64)
}

// Args returns ffmpeg's arguments to render the clip to out (an .mp4).
func (c Clip) Args(out string) []string {
	args := []string{"-nostdin", "-v", "error", "-y", "-filter_complex", c.Graph(), "-map", "[out]"}
	args = append(args, encodeArgs...)
	return append(args, "-fflags", "+bitexact", "-movflags", "+faststart", out)
}

// Key is the hash of the clip's ffmpeg command line: the name of its file
// in the cache.
func (c Clip) Key() string {
	h := sha256.New()
	for _, a := range c.Args("out.mp4") {
		h.Write([]byte(a))
		h.Write([]byte{0})
	}
	return c.Name + "-" + hex.EncodeToString(h.Sum(nil))[:12] + ".mp4"
}

// CacheDir is where generated clips are kept: $XDG_CACHE_HOME/av1job/bench-scenes
// or its platform equivalent.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "av1job", "bench-scenes"), nil
}

// Generate returns the path of the clip in dir, rendering it first if it is
// not there. The file appears under its final name only when complete and
// checked to hold the recipe's frame count.
func Generate(ctx context.Context, c Clip, dir string) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, c.Key())
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	f, err := os.CreateTemp(dir, c.Name+"-*.tmp.mp4")
	if err != nil {
		return "", fmt.Errorf("cache %s: %w", c.Name, err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if out, err := exec.CommandContext(ctx, "ffmpeg", c.Args(tmp)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("render %s: %v: %s", c.Name, err, strings.TrimSpace(string(out)))
	}
	n, err := countFrames(ctx, tmp)
	if err != nil {
		return "", fmt.Errorf("check %s: %w", c.Name, err)
	}
	if want := c.Truth().Frames; n != want {
		return "", fmt.Errorf("check %s: rendered %d frames, the recipe has %d", c.Name, n, want)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("cache %s: %w", c.Name, err)
	}
	return path, nil
}

// countFrames counts the video packets of path (one per frame for H.264).
func countFrames(ctx context.Context, path string) (int, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}
