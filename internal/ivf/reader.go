package ivf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame is one IVF frame: its timestamp and its payload. For AV1 the
// payload is one temporal unit (a sequence of OBUs).
type Frame struct {
	PTS  uint64
	Data []byte
}

// Reader reads IVF frames sequentially from an io.Reader. It does not
// buffer; wrap slow sources in a bufio.Reader. A Reader is not safe for
// concurrent use.
type Reader struct {
	r     io.Reader
	hdr   Header
	n     int   // frames returned so far
	off   int64 // bytes consumed, header included
	err   error // sticky error (io.EOF at a clean end)
	perr  error // err as returned by Next
	fh    [FrameHeaderSize]byte
	reuse bool   // Scan: let Data alias buf between calls
	buf   []byte // payload buffer reused when reuse is set
}

// NewReader reads and checks the IVF file header from r (see ParseHeader).
// A source that ends inside the header yields an error wrapping
// ErrTruncated; an invalid header one wrapping ErrCorrupt; other read
// errors are wrapped as they are.
func NewReader(r io.Reader) (*Reader, error) {
	rd, err := newReader(r)
	if err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	return rd, nil
}

func newReader(r io.Reader) (*Reader, error) {
	var b [HeaderSize]byte
	n, err := io.ReadFull(r, b[:])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("read header: got %d of %d bytes: %w", n, HeaderSize, ErrTruncated)
		}
		return nil, fmt.Errorf("read header: %w", err)
	}
	h, err := parseHeader(b[:])
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	return &Reader{r: r, hdr: h, off: HeaderSize}, nil
}

// Header returns the file header read by NewReader.
func (r *Reader) Header() Header { return r.hdr }

// Next returns the next frame. Data is freshly allocated for each frame
// and owned by the caller.
//
// At a clean end of input (no bytes after the last complete frame) Next
// returns io.EOF itself, unwrapped. If the input ends inside a frame
// header or payload (a torn frame) the error wraps ErrTruncated. A
// declared payload size above 256 MiB yields an error wrapping ErrCorrupt
// without reading further. Other read errors are wrapped as they are.
// Once Next has returned an error it returns the same error forever.
// Next does not look inside the payload; see ValidTU.
func (r *Reader) Next() (Frame, error) {
	if r.perr != nil {
		return Frame{}, r.perr
	}
	f, err := r.next()
	if err != nil {
		r.perr = err
		if err != io.EOF {
			r.perr = fmt.Errorf("ivf: %w", err)
		}
		return Frame{}, r.perr
	}
	return f, nil
}

// next is Next with errors lacking the "ivf: " prefix.
func (r *Reader) next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	f, err := r.read()
	if err != nil {
		r.err = err
		return Frame{}, err
	}
	r.n++
	return f, nil
}

func (r *Reader) read() (Frame, error) {
	n, err := io.ReadFull(r.r, r.fh[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return Frame{}, io.EOF
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("frame %d at offset %d: read frame header: got %d of %d bytes: %w",
				r.n, r.off, n, FrameHeaderSize, ErrTruncated)
		}
		return Frame{}, fmt.Errorf("frame %d at offset %d: read frame header: %w", r.n, r.off, err)
	}
	size := binary.LittleEndian.Uint32(r.fh[0:4])
	pts := binary.LittleEndian.Uint64(r.fh[4:12])
	if size > maxFrameSize {
		return Frame{}, fmt.Errorf("frame %d at offset %d: frame size %d exceeds %d: %w",
			r.n, r.off, size, maxFrameSize, ErrCorrupt)
	}
	data, got, err := r.readPayload(int(size))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("frame %d at offset %d: read frame payload: got %d of %d bytes: %w",
				r.n, r.off, got, size, ErrTruncated)
		}
		return Frame{}, fmt.Errorf("frame %d at offset %d: read frame payload: %w", r.n, r.off, err)
	}
	r.off += FrameHeaderSize + int64(size)
	return Frame{PTS: pts, Data: data}, nil
}

// readPayload reads exactly n bytes. Large payloads are read in growing
// steps so that a lying size field on a short input costs memory in
// proportion to the data actually present, not to the claim.
func (r *Reader) readPayload(n int) ([]byte, int, error) {
	const step = 1 << 20
	if n <= step {
		var b []byte
		if r.reuse && cap(r.buf) >= n {
			b = r.buf[:n]
		} else {
			b = make([]byte, n)
			if r.reuse {
				r.buf = b
			}
		}
		got, err := io.ReadFull(r.r, b)
		return b, got, err
	}
	var buf bytes.Buffer
	buf.Grow(step)
	got, err := io.CopyN(&buf, r.r, int64(n))
	return buf.Bytes(), int(got), err
}
