package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Header is a YUV4MPEG2 stream header.
type Header struct {
	Raw        []byte // the header line without its newline, as read
	Width      int
	Height     int
	RateNum    int
	RateDen    int
	Colorspace string // the C tag as written, e.g. "420jpeg", "420p10"; "" when absent (8-bit 4:2:0)
	// AspectNum:AspectDen is the A tag, the sample aspect ratio; 0:0 when
	// absent or unreadable.
	AspectNum, AspectDen uint64
}

// FrameSize is the number of bytes of one frame's planes.
func (h Header) FrameSize() (int, error) {
	cs := h.Colorspace
	if cs == "" {
		cs = "420"
	}
	bytesPer := 1
	if i := strings.IndexByte(cs, 'p'); i >= 0 && i+1 < len(cs) {
		// 420p10, 422p12, 444p16, ...: samples wider than 8 bits take 2 bytes.
		if depth, err := strconv.Atoi(cs[i+1:]); err == nil && depth > 8 {
			bytesPer = 2
		}
	}
	luma := h.Width * h.Height
	cw, ch := (h.Width+1)/2, (h.Height+1)/2
	var chroma int
	switch {
	case strings.HasPrefix(cs, "420"):
		chroma = 2 * cw * ch
	case strings.HasPrefix(cs, "422"):
		chroma = 2 * cw * h.Height
	case strings.HasPrefix(cs, "444") && !strings.HasPrefix(cs, "444alpha"):
		chroma = 2 * luma
	case cs == "mono" || strings.HasPrefix(cs, "mono"):
		chroma = 0
	default:
		return 0, fmt.Errorf("y4m: unsupported colourspace %q", cs)
	}
	return (luma + chroma) * bytesPer, nil
}

// ErrNotY4M means a stream does not start with a YUV4MPEG2 header.
var ErrNotY4M = errors.New("y4m: not a YUV4MPEG2 stream")

// maxHeader bounds header and frame-header lines.
const maxHeader = 4096

// A Reader reads frames from a YUV4MPEG2 stream.
type Reader struct {
	r      *bufio.Reader
	hdr    Header
	size   int
	frames int
}

// NewReader reads and parses the stream header.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	line, err := readLine(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty stream", ErrNotY4M)
		}
		return nil, fmt.Errorf("y4m: read header: %w", err)
	}
	hdr, err := ParseHeader(line)
	if err != nil {
		return nil, err
	}
	size, err := hdr.FrameSize()
	if err != nil {
		return nil, err
	}
	return &Reader{r: br, hdr: hdr, size: size}, nil
}

// ParseHeader parses a header line (without the newline).
func ParseHeader(line []byte) (Header, error) {
	f := bytes.Fields(line)
	if len(f) == 0 || string(f[0]) != "YUV4MPEG2" {
		return Header{}, ErrNotY4M
	}
	h := Header{Raw: append([]byte(nil), line...)}
	for _, p := range f[1:] {
		v := string(p[1:])
		var err error
		switch p[0] {
		case 'W':
			h.Width, err = strconv.Atoi(v)
		case 'H':
			h.Height, err = strconv.Atoi(v)
		case 'F':
			n, d, ok := strings.Cut(v, ":")
			if !ok {
				return Header{}, fmt.Errorf("y4m: bad frame rate %q", v)
			}
			if h.RateNum, err = strconv.Atoi(n); err == nil {
				h.RateDen, err = strconv.Atoi(d)
			}
		case 'C':
			h.Colorspace = v
		case 'A':
			// Read as rav1e reads it; a tag it cannot read is left out.
			n, d, _ := strings.Cut(v, ":")
			num, err1 := strconv.ParseUint(n, 10, 32)
			den, err2 := strconv.ParseUint(d, 10, 32)
			if err1 == nil && err2 == nil {
				h.AspectNum, h.AspectDen = num, den
			}
		}
		if err != nil {
			return Header{}, fmt.Errorf("y4m: bad header field %q", p)
		}
	}
	if h.Width <= 0 || h.Height <= 0 || h.Width > 1<<16 || h.Height > 1<<16 {
		return Header{}, fmt.Errorf("y4m: bad frame size %dx%d", h.Width, h.Height)
	}
	if h.RateNum <= 0 || h.RateDen <= 0 {
		return Header{}, fmt.Errorf("y4m: bad frame rate %d:%d", h.RateNum, h.RateDen)
	}
	return h, nil
}

// Header returns the stream header.
func (r *Reader) Header() Header { return r.hdr }

// FrameSize is the number of bytes in each frame's planes.
func (r *Reader) FrameSize() int { return r.size }

// Frames is the number of frames read so far.
func (r *Reader) Frames() int { return r.frames }

// ReadFrame reads the next frame's planes into buf, which must hold
// FrameSize bytes. It returns io.EOF at a clean end of stream and
// io.ErrUnexpectedEOF for a partial frame.
func (r *Reader) ReadFrame(buf []byte) error {
	line, err := readLine(r.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("y4m: frame %d: %w", r.frames, err)
	}
	if !bytes.HasPrefix(line, []byte("FRAME")) {
		return fmt.Errorf("y4m: frame %d: bad frame header %.20q", r.frames, line)
	}
	if _, err := io.ReadFull(r.r, buf[:r.size]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("y4m: frame %d: %w", r.frames, err)
	}
	r.frames++
	return nil
}

// readLine reads up to a newline, bounded by maxHeader.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if b == '\n' {
			return line, nil
		}
		if len(line) >= maxHeader {
			return nil, errors.New("header line too long")
		}
		line = append(line, b)
	}
}
