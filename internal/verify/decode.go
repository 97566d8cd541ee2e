package verify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// decoder runs ffmpeg to decode one video stream to 8-bit luma frames and
// reads them on its own goroutine into a fixed set of reusable buffers, so
// that decoding runs a few frames ahead of the comparison.
//
// ffmpeg writes YUV4MPEG2 with pixel format gray rather than bare rawvideo:
// its header gives the size of the frames as decoded (after ffmpeg's
// automatic rotation, for instance), which the probed coded size may not be.
type decoder struct {
	cmd    *tools.Cmd
	pipe   io.ReadCloser
	br     *bufio.Reader
	stderr *tools.Tail

	width, height int

	full chan []byte // decoded frames, in order; closed at the end
	free chan []byte // buffers handed back by the consumer

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// Set by the reading goroutine before done is closed.
	frames  int
	runErr  error // ffmpeg's exit status
	readErr error // a malformed or truncated stream
}

// startDecoder starts ffmpeg on stream of path and reads the stream header.
// The frames are read as stored (a rotation is metadata, checked apart),
// through filter first when it is not empty; with width and height > 0
// they are scaled to that size. It keeps nbuf frame buffers. A file ffmpeg
// cannot decode at all gives a *probe.InputError.
func startDecoder(ctx context.Context, path string, stream, width, height, nbuf int, filter string) (*decoder, error) {
	// "file:" keeps ffmpeg from reading a name like "-" or "x:y" as a
	// pipe or a protocol.
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-noautorotate", "-i", "file:" + path,
		"-map", fmt.Sprintf("0:%d", stream), "-fps_mode", "passthrough"}
	var vf []string
	if filter != "" {
		vf = append(vf, filter)
	}
	if width > 0 && height > 0 {
		// A no-op when the size already matches.
		vf = append(vf, fmt.Sprintf("scale=%d:%d:flags=bicubic", width, height))
	}
	if len(vf) > 0 {
		args = append(args, "-vf", strings.Join(vf, ","))
	}
	args = append(args, "-pix_fmt", "gray", "-f", "yuv4mpegpipe", "-")
	cmd, err := tools.Command(ctx, tools.FFmpeg, args...)
	if err != nil {
		return nil, err
	}
	d := &decoder{cmd: cmd, stderr: tools.NewTail(4096),
		stop: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = d.stderr
	if d.pipe, err = cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("verify: start ffmpeg: %w", err)
	}
	d.br = bufio.NewReaderSize(d.pipe, 64<<10)
	if herr := d.readHeader(); herr != nil {
		d.pipe.Close()
		werr := cmd.Wait()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := herr.Error()
		if werr != nil {
			msg = tools.LastLine(d.stderr.String())
			if msg == "" {
				msg = werr.Error()
			}
		}
		return nil, &probe.InputError{Path: path, Msg: fmt.Sprintf("cannot decode video stream %d (%s)", stream, msg)}
	}
	size := d.width * d.height
	d.full = make(chan []byte, nbuf)
	d.free = make(chan []byte, nbuf)
	for range nbuf {
		d.free <- make([]byte, size)
	}
	go d.run()
	return d, nil
}

// readHeader parses the YUV4MPEG2 stream header.
func (d *decoder) readHeader() error {
	line, err := d.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(line) == 0 {
			return errors.New("no output from ffmpeg")
		}
		return fmt.Errorf("bad stream header: %v", err)
	}
	fields := strings.Fields(string(line))
	if len(fields) == 0 || fields[0] != "YUV4MPEG2" {
		return errors.New("bad stream header")
	}
	mono := false
	for _, f := range fields[1:] {
		switch f[0] {
		case 'W':
			d.width, _ = strconv.Atoi(f[1:])
		case 'H':
			d.height, _ = strconv.Atoi(f[1:])
		case 'C':
			mono = f == "Cmono"
		}
	}
	if d.width <= 0 || d.height <= 0 || !mono {
		return fmt.Errorf("unexpected stream header %q", strings.TrimSpace(string(line)))
	}
	return nil
}

// run reads frames until the end of the stream or a stop, then waits for
// ffmpeg.
func (d *decoder) run() {
	defer close(d.done)
	defer close(d.full)
	for {
		var buf []byte
		select {
		case buf = <-d.free:
		case <-d.stop:
			d.pipe.Close()
			d.runErr = d.cmd.Wait()
			return
		}
		if err := d.readFrame(buf); err != nil {
			if err != io.EOF {
				d.readErr = err
				d.pipe.Close() // ffmpeg gets EPIPE instead of blocking
			}
			break
		}
		d.frames++
		d.full <- buf // never blocks: full has room for every buffer
	}
	d.runErr = d.cmd.Wait()
}

// frameTag starts every frame of a YUV4MPEG2 stream.
var frameTag = []byte("FRAME")

// readFrame reads the next frame into buf; io.EOF at a clean end.
func (d *decoder) readFrame(buf []byte) error {
	line, err := d.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(line) == 0 {
			return io.EOF
		}
		return fmt.Errorf("truncated frame header after frame %d", d.frames)
	}
	if !bytes.HasPrefix(line, frameTag) {
		return fmt.Errorf("bad frame header after frame %d", d.frames)
	}
	if _, err := io.ReadFull(d.br, buf); err != nil {
		return fmt.Errorf("truncated frame %d", d.frames)
	}
	return nil
}

// next implements frameSource.
func (d *decoder) next() ([]byte, bool) {
	b, ok := <-d.full
	return b, ok
}

// release implements frameSource.
func (d *decoder) release(b []byte) { d.free <- b }

// abort stops the reader and ffmpeg if they are still running and waits for
// both. It is safe to call more than once and after the stream ended.
func (d *decoder) abort() {
	d.stopOnce.Do(func() {
		close(d.stop)
		d.pipe.Close() // unblocks a read in progress; ffmpeg gets EPIPE
	})
	<-d.done
}

// wait waits for the end of the stream (the consumer must have read it all)
// and returns a description of what went wrong with decoding, or "".
func (d *decoder) wait() string {
	<-d.done
	msg := tools.LastLine(d.stderr.String())
	switch {
	case d.readErr != nil:
		return d.readErr.Error()
	case d.runErr != nil:
		if msg == "" {
			msg = d.runErr.Error()
		}
		return fmt.Sprintf("decoding stopped after %d frames (%s)", d.frames, msg)
	case msg != "":
		return "decode errors (" + msg + ")"
	}
	return ""
}
