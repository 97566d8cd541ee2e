package ivf

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Writer writes an IVF stream. It does not buffer beyond one frame and
// never seeks, so it cannot patch the header's frame count afterwards:
// callers that want a correct count put it in the Header given to
// NewWriter. A Writer is not safe for concurrent use.
type Writer struct {
	w      io.Writer
	frames int
	buf    []byte
	err    error // sticky write error
}

// NewWriter writes h.Marshal() to w in one call and returns a Writer for
// the frames that follow. h.Frames is written as given.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	if _, err := w.Write(h.Marshal()); err != nil {
		return nil, fmt.Errorf("ivf: write header: %w", err)
	}
	return &Writer{w: w}, nil
}

// AppendWriter returns a Writer for frames appended to a stream that
// holds frames already (its header written by an earlier Writer).
func AppendWriter(w io.Writer, frames int) *Writer { return &Writer{w: w, frames: frames} }

// WriteFrame writes one frame: the 12-byte frame header (payload size,
// pts) and data, together in a single Write call, so that a writer
// appending to a file never leaves a header without the start of its
// payload when the writer itself is healthy. Payloads over 256 MiB are
// refused (readers in this package reject them). After a failed write the
// stream is in an unknown state and every later call returns the same
// error. data is not retained.
func (w *Writer) WriteFrame(pts uint64, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(data) > maxFrameSize {
		return fmt.Errorf("ivf: write frame %d: size %d exceeds %d bytes", w.frames, len(data), maxFrameSize)
	}
	n := FrameHeaderSize + len(data)
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(data)))
	binary.LittleEndian.PutUint64(b[4:12], pts)
	copy(b[FrameHeaderSize:], data)
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("ivf: write frame %d: %w", w.frames, err)
		return w.err
	}
	w.frames++
	return nil
}

// Frames returns the number of frames written successfully.
func (w *Writer) Frames() int { return w.frames }
