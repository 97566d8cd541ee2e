// Package ivf owns av1job's handling of IVF container files holding AV1:
// reading and writing the 32-byte file header and the 12-byte frame
// headers, the minimal AV1 OBU parsing (AV1 spec section 5.3) needed to
// tell a well-formed temporal unit from garbage and to recognise keyframes
// and sequence headers, validating whole files (Scan), cutting a file
// that was torn by a crash back to its valid prefix (Salvage), and
// joining per-chunk encoder output into one stream without re-encoding
// (Concat).
//
// The package looks only at OBU headers and the first bits of sequence
// and frame headers; it never decodes pictures.
package ivf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderSize is the length in bytes of an IVF file header.
const HeaderSize = 32

// FrameHeaderSize is the length in bytes of the header preceding each IVF
// frame: a little-endian uint32 payload size and a little-endian uint64
// timestamp.
const FrameHeaderSize = 12

// maxFrameSize is the largest frame payload the package reads or writes
// (256 MiB); larger sizes are treated as corruption.
const maxFrameSize = 256 << 20

// ErrTruncated is wrapped by errors reporting that data ended in the middle
// of a header, frame header or frame payload (for example a file torn by a
// crash). Test with errors.Is.
var ErrTruncated = errors.New("truncated data")

// ErrCorrupt is wrapped by errors reporting data that is present but not
// well formed: absurd frame sizes, OBUs that do not parse, temporal units
// without a frame, a stream not starting with a keyframe. Test with
// errors.Is.
var ErrCorrupt = errors.New("corrupt data")

var signature = [4]byte{'D', 'K', 'I', 'F'}

// Header is the decoded IVF file header.
//
// RateNum (bytes 16-19) and RateDen (bytes 20-23) are stored exactly as in
// the file; for rav1e output the frame rate is RateNum/RateDen (for example
// 24/1). Frames is the frame count field, which rav1e leaves 0; readers in
// this package never rely on it.
type Header struct {
	FourCC           [4]byte
	Width, Height    uint16
	RateNum, RateDen uint32
	Frames           uint32
}

// AV1 is the FourCC of an AV1 stream.
var AV1 = [4]byte{'A', 'V', '0', '1'}

// AV1Header returns the header the rav1e program writes for a stream of
// width x height pictures at rateNum/rateDen frames a second: FourCC AV1,
// the frame rate as the time base (a timestamp counts frames), no frame
// count. Width and height must be at most 65535.
func AV1Header(width, height int, rateNum, rateDen uint32) Header {
	return Header{FourCC: AV1, Width: uint16(width), Height: uint16(height), RateNum: rateNum, RateDen: rateDen}
}

// ParseHeader decodes the first HeaderSize bytes of b. It checks the
// "DKIF" signature, version 0 and a header length field of 32, and returns
// an error wrapping ErrTruncated if b is shorter than HeaderSize or
// ErrCorrupt if a check fails. The four unused trailing bytes are ignored.
func ParseHeader(b []byte) (Header, error) {
	h, err := parseHeader(b)
	if err != nil {
		return Header{}, fmt.Errorf("ivf: parse header: %w", err)
	}
	return h, nil
}

func parseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%d of %d bytes: %w", len(b), HeaderSize, ErrTruncated)
	}
	if !bytes.Equal(b[0:4], signature[:]) {
		return Header{}, fmt.Errorf("bad signature %q: %w", b[0:4], ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(b[4:6]); v != 0 {
		return Header{}, fmt.Errorf("unsupported version %d: %w", v, ErrCorrupt)
	}
	if n := binary.LittleEndian.Uint16(b[6:8]); n != HeaderSize {
		return Header{}, fmt.Errorf("header length %d, want %d: %w", n, HeaderSize, ErrCorrupt)
	}
	var h Header
	copy(h.FourCC[:], b[8:12])
	h.Width = binary.LittleEndian.Uint16(b[12:14])
	h.Height = binary.LittleEndian.Uint16(b[14:16])
	h.RateNum = binary.LittleEndian.Uint32(b[16:20])
	h.RateDen = binary.LittleEndian.Uint32(b[20:24])
	h.Frames = binary.LittleEndian.Uint32(b[24:28])
	return h, nil
}

// Marshal encodes h as a HeaderSize-byte IVF file header (signature
// "DKIF", version 0, header length 32, the unused bytes zero). ParseHeader
// of the result returns h.
func (h Header) Marshal() []byte {
	b := make([]byte, HeaderSize)
	copy(b[0:4], signature[:])
	binary.LittleEndian.PutUint16(b[4:6], 0)
	binary.LittleEndian.PutUint16(b[6:8], HeaderSize)
	copy(b[8:12], h.FourCC[:])
	binary.LittleEndian.PutUint16(b[12:14], h.Width)
	binary.LittleEndian.PutUint16(b[14:16], h.Height)
	binary.LittleEndian.PutUint32(b[16:20], h.RateNum)
	binary.LittleEndian.PutUint32(b[20:24], h.RateDen)
	binary.LittleEndian.PutUint32(b[24:28], h.Frames)
	return b
}

// sameFormat reports how a differs from b in fourcc, dimensions or rate,
// or "" if it does not.
func sameFormat(a, b Header) string {
	switch {
	case a.FourCC != b.FourCC:
		return fmt.Sprintf("fourcc %q differs from %q", a.FourCC[:], b.FourCC[:])
	case a.Width != b.Width || a.Height != b.Height:
		return fmt.Sprintf("frame size %dx%d differs from %dx%d", a.Width, a.Height, b.Width, b.Height)
	case a.RateNum != b.RateNum || a.RateDen != b.RateDen:
		return fmt.Sprintf("rate %d/%d differs from %d/%d", a.RateNum, a.RateDen, b.RateNum, b.RateDen)
	}
	return ""
}
