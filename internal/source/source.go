// Package source reads an exact frame range of a source as a YUV4MPEG2
// stream. Frames are selected by their own timestamps, recorded by the
// scene pass, so that no rounding of seek times can gain or lose a frame
// (see Range.Args).
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/av1job/av1job/internal/tools"
)

// Range describes frames [Start, End) of a video stream.
type Range struct {
	Path     string
	Stream   int      // index of the video stream in the file
	PixFmt   string   // pixel format to hand out
	Filter   string   // ffmpeg filter that converts the frames to PixFmt, when the default conversion would be wrong
	PTS      []int64  // timestamps of the stream's frames from frame Base on, in TimeBase units, as ffmpeg -copyts sees them
	TimeBase *big.Rat // of PTS
	// Base is the frame number of PTS[0]; First the timestamp of the
	// stream's first frame, which a range need not hold (when Base is 0
	// it is PTS[0]).
	Base  int
	First int64
	Start int // index in PTS of the range's first frame
	End   int // index in PTS after its last
}

// frame returns the stream's frame number of PTS index i, for messages.
func (r Range) frame(i int) int { return r.Base + i }

// first returns the timestamp of the stream's first frame.
func (r Range) first() int64 {
	if r.Base == 0 {
		return r.PTS[0]
	}
	return r.First
}

// seekMargins are how far before a range's first frame ffmpeg seeks, in
// seconds, tried in turn while a seek lands after the frame; after the
// last, the range is read from the start without a seek. The first is the
// frame itself (rounded up to the microsecond): demuxers with an index
// seek to the last keyframe at or before it, which is the range's first
// frame when that is a keyframe (sources whose encoder put keyframes on
// scene cuts, as av1job puts chunks), where any margin before it would
// decode the whole GOP before. Demuxers that seek imprecisely (MPEG-TS)
// may land after it; a second's margin catches most of those.
var seekMargins = []float64{0, 1}

// args returns ffmpeg's arguments to write r as YUV4MPEG2 to stdout,
// seeking first to margin seconds before its first frame unless margin is
// negative.
//
// Frames are picked by their timestamps, compared as integers: a coarse
// seek to the keyframe at or before that point, then the select
// filter passes frames whose timestamp lies between the range's first and
// last. ffmpeg's accurate seek is not used: it rounds the seek offset to the
// stream's time base, which with a 1/fps time base (Y4M, raw streams) can
// gain or lose a frame. showinfo logs each frame's timestamp so that Open
// can check every frame against the plan.
func (r Range) args(margin float64) []string {
	// One filter thread here and one decoder thread below: a job runs a
	// reader beside every encoder, so the cores are already shared out by
	// chunk, and ffmpeg's frame threads (one per core, and a pool per filter
	// graph) only add start-up and hand-over work: 7 % less CPU on a
	// 640x360 H.264 decode, and 40 ms less for each reader started.
	args := []string{"-nostdin", "-hide_banner", "-nostats", "-v", "info", "-copyts", "-filter_threads", "1"}
	tb, _ := r.TimeBase.Float64()
	first, last := r.PTS[r.Start], r.PTS[r.End-1]
	if ss := math.Ceil((float64(first)*tb-margin)*1e6) / 1e6; margin >= 0 && r.frame(r.Start) > 0 && ss > float64(r.first())*tb {
		args = append(args, "-seek_timestamp", "1", "-noaccurate_seek", "-ss", strconv.FormatFloat(ss, 'f', 6, 64))
	}
	vf := fmt.Sprintf("select=between(pts\\,%d\\,%d),showinfo=checksum=0", first, last)
	if r.Filter != "" {
		vf += "," + r.Filter
	}
	// The pixels as stored: a rotation is metadata, carried to the output
	// by the mux. "file:" keeps a name like "a:b.mkv" from being read as a
	// protocol.
	return append(args, "-threads", "1", "-noautorotate", "-i", "file:"+r.Path,
		"-map", fmt.Sprintf("0:%d", r.Stream),
		"-vf", vf,
		"-frames:v", strconv.Itoa(r.End-r.Start),
		"-fps_mode", "passthrough",
		"-pix_fmt", r.PixFmt,
		"-strict", "-1",
		"-f", "yuv4mpegpipe", "-")
}

// ErrMisplaced means ffmpeg handed out a frame other than the one planned.
var ErrMisplaced = errors.New("source: frame out of place")

// ErrShort reports a file that holds fewer of a range's frames than the
// range names.
var ErrShort = errors.New("frames missing")

// Frames is a running extraction of a Range: the frames come out of
// ReadFrame only after ffmpeg's log has confirmed each one's timestamp.
type Frames struct {
	r      Range
	cancel context.CancelFunc
	cmd    *tools.Cmd
	stderr *tools.Tail
	y      *Reader
	pts    chan int64
	first  []byte // the first frame, read and checked by Open
	n      int    // frames handed out
	waited bool
	seeks  int // the tries Open took: 1 when its first seek landed at or before the range
}

// Open starts ffmpeg for r and checks the first frame. If a seek landed
// after the range's start (some demuxers, e.g. MPEG-TS, seek imprecisely),
// it starts again with a margin before it (seekMargins), and at last
// without seeking, before any frame is handed out.
func Open(ctx context.Context, r Range) (*Frames, error) {
	if r.Start < 0 || r.End > len(r.PTS) || r.Start >= r.End || r.TimeBase == nil {
		return nil, fmt.Errorf("source: bad range [%d,%d) of %d frames", r.Start, r.End, len(r.PTS))
	}
	var f *Frames
	var err error
	for i, m := range append(seekMargins, -1) {
		f, err = start(ctx, r, m)
		if !errors.Is(err, ErrMisplaced) {
			if f != nil {
				f.seeks = i + 1
			}
			break
		}
	}
	return f, err
}

func start(ctx context.Context, r Range, margin float64) (*Frames, error) {
	cctx, cancel := context.WithCancel(ctx)
	cmd, err := tools.Command(cctx, tools.FFmpeg, r.args(margin)...)
	if err != nil {
		cancel()
		return nil, err
	}
	f := &Frames{r: r, cancel: cancel, cmd: cmd, stderr: tools.NewTail(4096), pts: make(chan int64, 64)}
	cmd.Stderr = &logWriter{f: f, done: cctx.Done()}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("source: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("source: start ffmpeg: %w", err)
	}
	y, err := NewReader(out)
	if err != nil {
		return nil, f.fail(fmt.Errorf("source: %w", err))
	}
	f.y = y
	tools.FramePipe(out, y.FrameSize())
	buf := make([]byte, y.FrameSize())
	if err := f.readChecked(buf); err != nil {
		if errors.Is(err, io.EOF) {
			// A seek that landed after the whole range gives no frame.
			err = fmt.Errorf("%w: no frame for [%d,%d) after seeking", ErrMisplaced, r.frame(r.Start), r.frame(r.End))
		}
		return nil, f.fail(err)
	}
	f.first = buf
	return f, nil
}

// A logWriter takes ffmpeg's log: it passes the timestamps that showinfo
// logs to f.pts, one per frame, and keeps the other lines for error
// messages.
type logWriter struct {
	f    *Frames
	done <-chan struct{}
	line []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != '\n' {
			w.line = append(w.line, b)
			continue
		}
		w.handle(string(w.line))
		w.line = w.line[:0]
	}
	return len(p), nil
}

func (w *logWriter) handle(line string) {
	if !strings.Contains(line, "Parsed_showinfo") {
		w.f.stderr.Write([]byte(line + "\n")) //nolint:errcheck // never fails
		return
	}
	i := strings.Index(line, " pts:")
	if i < 0 {
		return
	}
	fields := strings.Fields(line[i+5:])
	if len(fields) == 0 {
		return
	}
	p, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return
	}
	select {
	case w.f.pts <- p:
	case <-w.done:
	}
}

// readChecked reads the next frame and checks its timestamp.
func (f *Frames) readChecked(buf []byte) error {
	if err := f.y.ReadFrame(buf); err != nil {
		return err
	}
	want := f.r.PTS[f.r.Start+f.n]
	var got int64
	select {
	case got = <-f.pts:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("source: ffmpeg logged no timestamp for frame %d", f.r.frame(f.r.Start+f.n))
	}
	if got != want {
		return fmt.Errorf("%w: frame %d should have timestamp %d, got %d", ErrMisplaced, f.r.frame(f.r.Start+f.n), want, got)
	}
	f.n++
	return nil
}

// Header returns the Y4M stream header.
func (f *Frames) Header() Header { return f.y.Header() }

// FrameSize is the number of bytes of each frame's planes.
func (f *Frames) FrameSize() int { return f.y.FrameSize() }

// Count is the number of frames read and checked so far.
func (f *Frames) Count() int { return f.n }

// ReadFrame reads the next frame's planes into buf (FrameSize bytes). It
// returns io.EOF after the last frame; an error wrapping ErrMisplaced if
// ffmpeg handed out a frame other than the planned one.
func (f *Frames) ReadFrame(buf []byte) error {
	if f.first != nil {
		copy(buf, f.first)
		f.first = nil
		return nil
	}
	if f.n == f.r.End-f.r.Start {
		return io.EOF
	}
	err := f.readChecked(buf)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("source: ffmpeg gave %d frames for [%d,%d), want %d: %w", f.n, f.r.frame(f.r.Start), f.r.frame(f.r.End), f.r.End-f.r.Start, ErrShort)
	}
	return err
}

// Close stops ffmpeg if it still runs and returns its error, if any, once
// all the range's frames were read.
func (f *Frames) Close() error {
	if f.waited {
		return nil
	}
	f.waited = true
	done := f.n == f.r.End-f.r.Start
	if !done {
		// A reader has nothing to flush: kill it at once (a SIGTERM would
		// wait for ffmpeg's blocked write to the pipe), and release the
		// log writer if it waits to hand over a timestamp.
		_ = f.cmd.Process.Kill()
		f.cancel()
	}
	err := f.cmd.Wait()
	f.cancel()
	if done && err != nil {
		return fmt.Errorf("source: %w", tools.RunError("ffmpeg", err, f.stderr))
	}
	return nil
}

// fail stops ffmpeg and returns err, or ffmpeg's own error if it failed.
func (f *Frames) fail(err error) error {
	_ = f.cmd.Process.Kill()
	f.cancel()
	werr := f.cmd.Wait()
	f.waited = true
	var ee *exec.ExitError
	if errors.As(werr, &ee) && !errors.Is(err, ErrMisplaced) && strings.TrimSpace(f.stderr.String()) != "" {
		return fmt.Errorf("source: %w", tools.RunError("ffmpeg", werr, f.stderr))
	}
	return err
}
