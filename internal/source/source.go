// Package source reads an exact frame range of a source as a YUV4MPEG2
// stream, by running ffmpeg with an accurate seek to a time between the frame
// before the range and its first frame, and a frame limit. The frame
// timestamps come from the scene pass, so the seek point is never on a
// frame's own timestamp and rounding cannot gain or lose a frame.
package source

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/av1job/av1job/internal/tools"
)

// Range describes frames [Start, End) of a video stream.
type Range struct {
	Path   string
	Stream int       // index of the video stream in the file
	PixFmt string    // pixel format to hand out
	PTS    []float64 // timestamp of every frame of the stream
	Start  int
	End    int
}

// SeekTime is the time given to ffmpeg's -ss for r: halfway between the
// frame before Start and Start; 0 (no seek) for Start 0.
func (r Range) SeekTime() float64 {
	if r.Start == 0 {
		return 0
	}
	return (r.PTS[r.Start-1] + r.PTS[r.Start]) / 2
}

// Args returns ffmpeg's arguments to write r as YUV4MPEG2 to stdout.
func (r Range) Args() []string {
	args := []string{"-nostdin", "-hide_banner", "-v", "error"}
	if ss := r.SeekTime(); ss > 0 {
		args = append(args, "-ss", strconv.FormatFloat(ss, 'f', 6, 64))
	}
	return append(args, "-i", r.Path,
		"-map", fmt.Sprintf("0:%d", r.Stream),
		"-frames:v", strconv.Itoa(r.End-r.Start),
		"-fps_mode", "passthrough",
		"-pix_fmt", r.PixFmt,
		"-strict", "-1",
		"-f", "yuv4mpegpipe", "-")
}

// Open starts ffmpeg for r. The caller reads the stream from the returned
// Reader and must call wait after reading; wait returns ffmpeg's error with
// the tail of its standard error.
func Open(ctx context.Context, r Range) (rd io.ReadCloser, wait func() error, err error) {
	if r.Start < 0 || r.End > len(r.PTS) || r.Start >= r.End {
		return nil, nil, fmt.Errorf("source: bad range [%d,%d) of %d frames", r.Start, r.End, len(r.PTS))
	}
	cmd, err := tools.Command(ctx, tools.FFmpeg, r.Args()...)
	if err != nil {
		return nil, nil, err
	}
	stderr := tools.NewTail(4096)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, fmt.Errorf("source: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("source: start ffmpeg: %w", err)
	}
	wait = func() error {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("source: %w", tools.RunError("ffmpeg", err, stderr))
		}
		return nil
	}
	return out, wait, nil
}
