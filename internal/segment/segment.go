// Package segment cuts the part of a source a remote worker needs to
// encode a range of frames: the compressed packets from the keyframe at or
// before the range's first frame to a little past its last, stream-copied
// with their timestamps kept, so that the worker's frame-exact reader
// (package source) picks the same frames by the same timestamps as a
// reader of the whole file would.
//
// A source that cannot be cut that way (the worker finds a frame missing
// or misplaced) is sent as Lossless instead: the range's frames decoded
// and coded with FFV1, which gives back the same pixels.
package segment

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/av1job/av1job/internal/tools"
)

// Kind says how a segment was made.
type Kind string

const (
	// Copy segments hold the source's own packets.
	Copy Kind = "copy"
	// Lossless segments hold the range's frames coded with FFV1.
	Lossless Kind = "ffv1"
)

// A Range is what a segment must hold: frames with timestamps First..Last
// (in TimeBase units) of stream Stream of the file at Path.
type Range struct {
	Path        string
	Stream      int
	TimeBase    *big.Rat
	First, Last int64
}

// tail is how far past the range's last frame a copy segment reaches, in
// seconds: a decoder may need later packets (in decode order) to output
// the last frames of a range.
const tail = 0.5

// Cut returns the segment of kind k for r, in the NUT container (which
// keeps the stream's time base, so timestamps survive exactly).
func Cut(ctx context.Context, r Range, k Kind) ([]byte, error) {
	if r.TimeBase == nil || r.TimeBase.Sign() <= 0 || r.Last < r.First {
		return nil, fmt.Errorf("segment: bad range %d..%d", r.First, r.Last)
	}
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-copyts", "-seek_timestamp", "1"}
	// The seek point is rounded up to a microsecond, so that a keyframe
	// on the first frame itself is the one found (a seek lands on the
	// keyframe at or before it).
	// A lossless segment is decoded: it seeks a second early, like
	// package source, and its frames are picked by timestamp.
	ss := micros(r.TimeBase, r.First, true)
	to := micros(r.TimeBase, r.Last, true)
	if k == Copy {
		to += tail * 1e6
		shift, err := seekShift(ctx, r.Path)
		if err != nil {
			return nil, err
		}
		ss += shift
	} else {
		ss -= 1e6
	}
	if ss > 0 {
		args = append(args, "-noaccurate_seek", "-ss", seconds(ss))
	}
	args = append(args, "-to", seconds(to+1), "-i", "file:"+r.Path, "-map", "0:"+strconv.Itoa(r.Stream))
	switch k {
	case Copy:
		args = append(args, "-c", "copy")
	case Lossless:
		args = append(args, "-vf", fmt.Sprintf("select=between(pts\\,%d\\,%d)", r.First, r.Last),
			"-fps_mode", "passthrough", "-enc_time_base", "-1", "-c:v", "ffv1", "-level", "3", "-threads", "1")
	default:
		return nil, fmt.Errorf("segment: unknown kind %q", k)
	}
	// NUT counts time in the stream's units or a whole fraction of them;
	// no shift may move the timestamps (a stream with B-frames starts
	// with negative decode times).
	args = append(args, "-avoid_negative_ts", "disabled", "-map_metadata", "-1", "-f", "nut", "-")
	out, err := tools.Output(ctx, "ffmpeg", args...)
	if err != nil {
		return nil, fmt.Errorf("segment: %s: %w", r.Path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("segment: %s: ffmpeg wrote nothing for %d..%d", r.Path, r.First, r.Last)
	}
	return out, nil
}

// dtsHeuristic is what ffmpeg takes off an input seek (-ss) when the
// container does not seek by presentation time and a stream has
// B-frames: 3/23 s, in microseconds (fftools: seek_timestamp -= 3 *
// AV_TIME_BASE / 23). Left in, the seek lands a whole keyframe interval
// early, and the segment carries a GOP too many.
const dtsHeuristic = 3 * 1_000_000 / 23

// seekShift returns what to add to a seek into path so that ffmpeg's own
// correction cancels out: dtsHeuristic for Matroska and WebM (whose index
// holds presentation times, though ffmpeg corrects seeks into them as if
// it held decode times) when a stream has B-frames, else 0. MP4 seeks by
// presentation time and is not corrected. The answer is kept per file
// (its path, size and modification time).
func seekShift(ctx context.Context, path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("segment: %w", err)
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	if v, ok := shifts.Load(key); ok {
		return v.(int64), nil
	}
	out, err := tools.Output(ctx, "ffprobe", "-v", "error", "-show_entries", "format=format_name:stream=has_b_frames", "-of", "json", "file:"+path)
	if err != nil {
		return 0, fmt.Errorf("segment: %s: %w", path, err)
	}
	var pr struct {
		Format struct {
			Name string `json:"format_name"`
		} `json:"format"`
		Streams []struct {
			HasB int `json:"has_b_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &pr); err != nil {
		return 0, fmt.Errorf("segment: %s: ffprobe: %w", path, err)
	}
	var shift int64
	// Only where the index holds presentation times: a container that
	// seeks by decode time (MPEG-TS, FLV, AVI) is left to land early,
	// which costs bytes, never frames.
	if slices.Contains(strings.Split(pr.Format.Name, ","), "matroska") {
		for _, st := range pr.Streams {
			if st.HasB > 0 {
				shift = dtsHeuristic
				break
			}
		}
	}
	shifts.Store(key, shift)
	return shift, nil
}

var shifts sync.Map // seekShift's answers

// micros converts a timestamp to microseconds, rounding up or down.
func micros(tb *big.Rat, pts int64, up bool) int64 {
	v := new(big.Rat).Mul(tb, new(big.Rat).SetInt64(pts))
	v.Mul(v, big.NewRat(1_000_000, 1))
	q, m := new(big.Int).QuoRem(v.Num(), v.Denom(), new(big.Int))
	if up && m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

func seconds(us int64) string {
	return strconv.FormatFloat(float64(us)/1e6, 'f', 6, 64)
}
