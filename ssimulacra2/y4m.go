package ssimulacra2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrBadY4M is wrapped by the errors of streams that are not well-formed
// YUV4MPEG2 or use a layout this package does not read.
var ErrBadY4M = errors.New("bad y4m stream")

// Siting is where chroma samples sit relative to luma samples.
type Siting int

const (
	// SitingCenter: chroma midway between luma samples in both directions
	// (C420jpeg, the default 4:2:0).
	SitingCenter Siting = iota
	// SitingLeft: chroma co-sited with the left luma sample horizontally,
	// midway vertically (C420mpeg2; also used for 4:2:2).
	SitingLeft
	// SitingTopLeft: chroma co-sited with the top-left luma sample
	// (C420paldv).
	SitingTopLeft
)

// A Y4MHeader describes a YUV4MPEG2 stream.
type Y4MHeader struct {
	Width, Height int
	// Colorspace is the C tag as written ("420jpeg" when absent).
	Colorspace string
	// Depth is the bit depth of the samples, 8 to 16 (the C tag's pN
	// suffix). Samples deeper than 8 bits take two bytes, little-endian.
	Depth int
	// SubX and SubY are the chroma subsampling shifts: 1,1 for 4:2:0, 1,0
	// for 4:2:2, 0,0 for 4:4:4. Mono streams have no chroma planes.
	SubX, SubY int
	Mono       bool
	Siting     Siting
	// Range is the range given by the XCOLORRANGE extension (written by
	// FFmpeg), or RangeUnspecified.
	Range Range
}

// frameSize is the number of bytes of one frame's planes.
func (h Y4MHeader) frameSize() int {
	n := h.Width * h.Height
	if !h.Mono {
		n += 2 * h.chromaWidth() * h.chromaHeight()
	}
	if h.Depth > 8 {
		n *= 2
	}
	return n
}

func (h Y4MHeader) chromaWidth() int  { return (h.Width + h.SubX) >> h.SubX }
func (h Y4MHeader) chromaHeight() int { return (h.Height + h.SubY) >> h.SubY }

// parseY4MHeader parses the header line, without its newline.
func parseY4MHeader(line string) (Y4MHeader, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "YUV4MPEG2" {
		return Y4MHeader{}, fmt.Errorf("no YUV4MPEG2 signature: %w", ErrBadY4M)
	}
	h := Y4MHeader{Colorspace: "420jpeg"}
	for _, f := range fields[1:] {
		val := f[1:]
		var err error
		switch f[0] {
		case 'W':
			h.Width, err = strconv.Atoi(val)
		case 'H':
			h.Height, err = strconv.Atoi(val)
		case 'C':
			h.Colorspace = val
		case 'X':
			if v, ok := strings.CutPrefix(val, "COLORRANGE="); ok {
				switch v {
				case "FULL":
					h.Range = RangeFull
				case "LIMITED":
					h.Range = RangeLimited
				}
			}
		}
		if err != nil {
			return Y4MHeader{}, fmt.Errorf("header field %q: %w", f, ErrBadY4M)
		}
	}
	if h.Width <= 0 || h.Height <= 0 || h.Width > 1<<15 || h.Height > 1<<15 {
		return Y4MHeader{}, fmt.Errorf("frame size %dx%d: %w", h.Width, h.Height, ErrBadY4M)
	}
	h.Depth = 8
	cs := h.Colorspace
	// A depth suffix: 420p10, 422p12, 444p16, ...
	if i := strings.LastIndexByte(cs, 'p'); i > 0 {
		if d, err := strconv.Atoi(cs[i+1:]); err == nil {
			if d < 9 || d > 16 {
				return Y4MHeader{}, fmt.Errorf("colourspace %q: depth %d: %w", cs, d, ErrBadY4M)
			}
			h.Depth, cs = d, cs[:i]
		}
	}
	switch cs {
	case "420", "420jpeg":
		h.SubX, h.SubY, h.Siting = 1, 1, SitingCenter
	case "420mpeg2":
		h.SubX, h.SubY, h.Siting = 1, 1, SitingLeft
	case "420paldv":
		h.SubX, h.SubY, h.Siting = 1, 1, SitingTopLeft
	case "422":
		h.SubX, h.SubY, h.Siting = 1, 0, SitingLeft
	case "444":
	case "mono":
		h.Mono = true
	case "mono10", "mono12", "mono16":
		h.Mono = true
		h.Depth, _ = strconv.Atoi(cs[4:])
	default:
		return Y4MHeader{}, fmt.Errorf("colourspace %q: %w", h.Colorspace, ErrBadY4M)
	}
	return h, nil
}

// A YUVFrame is one frame of a Y4M stream: planes of samples at the stream's
// depth, chroma planes at their subsampled size (nil for mono).
type YUVFrame struct {
	Header    Y4MHeader
	Y, Cb, Cr []uint16
}

// A Y4MReader reads frames from a YUV4MPEG2 stream of 4:2:0, 4:2:2, 4:4:4
// or mono samples of 8 to 16 bits.
type Y4MReader struct {
	r      *bufio.Reader
	hdr    Y4MHeader
	buf    []byte
	frames int
}

// maxLine bounds the header and frame header lines.
const maxLine = 4096

// NewY4MReader reads and parses the stream header.
func NewY4MReader(r io.Reader) (*Y4MReader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	line, err := readY4MLine(br)
	if err != nil {
		return nil, fmt.Errorf("read y4m header: %w", err)
	}
	h, err := parseY4MHeader(line)
	if err != nil {
		return nil, err
	}
	return &Y4MReader{r: br, hdr: h}, nil
}

// Header returns the stream header.
func (r *Y4MReader) Header() Y4MHeader { return r.hdr }

// ReadFrame reads the next frame. It returns io.EOF at the clean end of the
// stream and an error wrapping io.ErrUnexpectedEOF for a truncated frame.
func (r *Y4MReader) ReadFrame() (*YUVFrame, error) {
	line, err := readY4MLine(r.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read frame %d header: %w", r.frames, err)
	}
	if !strings.HasPrefix(line, "FRAME") {
		return nil, fmt.Errorf("frame %d: header %q: %w", r.frames, truncate(line), ErrBadY4M)
	}
	if err := r.readPlanes(); err != nil {
		return nil, fmt.Errorf("read frame %d: %w", r.frames, err)
	}
	r.frames++
	h := r.hdr
	f := &YUVFrame{Header: h}
	p := r.buf
	f.Y, p = samples(p, h.Width*h.Height, h.Depth)
	if !h.Mono {
		n := h.chromaWidth() * h.chromaHeight()
		f.Cb, p = samples(p, n, h.Depth)
		f.Cr, _ = samples(p, n, h.Depth)
	}
	return f, nil
}

// readPlanes reads one frame's planes into r.buf. On the first frame the
// buffer grows as data arrives, so that a header promising a huge frame on
// a short stream does not allocate the whole frame.
func (r *Y4MReader) readPlanes() error {
	size := r.hdr.frameSize()
	if cap(r.buf) >= size {
		r.buf = r.buf[:size]
		_, err := io.ReadFull(r.r, r.buf)
		return noEOF(err)
	}
	for len(r.buf) < size {
		n := len(r.buf)
		nb := make([]byte, min(size, max(2*n, 1<<20)))
		copy(nb, r.buf)
		if _, err := io.ReadFull(r.r, nb[n:]); err != nil {
			return noEOF(err)
		}
		r.buf = nb
	}
	return nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: a frame was cut short.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// samples decodes n samples from p and returns them and the rest of p.
//
//go:norace
func samples(p []byte, n, depth int) ([]uint16, []byte) {
	s := make([]uint16, n)
	if depth <= 8 {
		for i := range s {
			s[i] = uint16(p[i])
		}
		return s, p[n:]
	}
	for i := range s {
		s[i] = uint16(p[2*i]) | uint16(p[2*i+1])<<8
	}
	return s, p[2*n:]
}

// readY4MLine reads a line without its newline; io.EOF only at a clean end.
func readY4MLine(r *bufio.Reader) (string, error) {
	var line []byte
	for len(line) <= maxLine {
		b, err := r.ReadSlice('\n')
		line = append(line, b...)
		switch {
		case err == nil:
			return string(bytes.TrimSuffix(line, []byte("\n"))), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) == 0:
			return "", io.EOF
		case errors.Is(err, io.EOF):
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
	return "", fmt.Errorf("line longer than %d bytes: %w", maxLine, ErrBadY4M)
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
