package ivf

import "fmt"

// OBU types (AV1 spec section 6.2.2). Types 0 and 9-14 are reserved and
// rejected by ParseOBUs.
const (
	OBUSequenceHeader       = 1
	OBUTemporalDelimiter    = 2
	OBUFrameHeader          = 3
	OBUTileGroup            = 4
	OBUMetadata             = 5
	OBUFrame                = 6
	OBURedundantFrameHeader = 7
	OBUTileList             = 8
	OBUPadding              = 15
)

// Frame types from the uncompressed frame header.
const keyFrame = 0

// OBU is one open bitstream unit of a temporal unit.
//
// Header holds the obu_header bytes: 1 byte, or 2 when the extension flag
// is set; it excludes the obu_size field. Payload holds the obu_size
// bytes that follow the size field. Both alias the slice given to
// ParseOBUs (with capacity clipped, so appending to them does not
// overwrite it).
type OBU struct {
	Type    int
	Header  []byte
	Payload []byte
}

// obuSpan locates one OBU inside a temporal unit.
type obuSpan struct {
	typ     int
	start   int // first byte of obu_header
	payload int // first byte of the payload
	end     int // one past the last payload byte
	hdrLen  int
}

func reservedOBUType(t int) bool { return t == 0 || (t >= 9 && t <= 14) }

// ParseOBUs splits a temporal unit (one IVF frame payload) into OBUs in
// low-overhead bitstream format (AV1 spec section 5.3). Every OBU must
// have obu_has_size_field set and the forbidden bit clear, may carry the
// extension byte, and must not have a reserved type; the leb128 sizes
// (at most 8 bytes, value below 2^32) must tile tu exactly, with nothing
// left over. Errors wrap ErrCorrupt. An empty tu yields no OBUs and no
// error. The obu_reserved_1bit is ignored, as the spec tells decoders to.
func ParseOBUs(tu []byte) ([]OBU, error) {
	spans, err := splitOBUs(tu)
	if err != nil {
		return nil, fmt.Errorf("ivf: parse obus: %w", err)
	}
	obus := make([]OBU, len(spans))
	for i, s := range spans {
		obus[i] = OBU{
			Type:    s.typ,
			Header:  tu[s.start : s.start+s.hdrLen : s.start+s.hdrLen],
			Payload: tu[s.payload:s.end:s.end],
		}
	}
	return obus, nil
}

func splitOBUs(tu []byte) ([]obuSpan, error) {
	var spans []obuSpan
	for off := 0; off < len(tu); {
		i := len(spans)
		b := tu[off]
		if b&0x80 != 0 {
			return nil, fmt.Errorf("obu %d at byte %d: forbidden bit set: %w", i, off, ErrCorrupt)
		}
		s := obuSpan{typ: int(b>>3) & 0x0f, start: off, hdrLen: 1}
		if reservedOBUType(s.typ) {
			return nil, fmt.Errorf("obu %d at byte %d: reserved type %d: %w", i, off, s.typ, ErrCorrupt)
		}
		if b&0x02 == 0 {
			return nil, fmt.Errorf("obu %d at byte %d: obu_has_size_field is 0: %w", i, off, ErrCorrupt)
		}
		if b&0x04 != 0 {
			s.hdrLen = 2
			if off+1 >= len(tu) {
				return nil, fmt.Errorf("obu %d at byte %d: extension byte missing: %w", i, off, ErrCorrupt)
			}
		}
		size, n, err := leb128(tu[off+s.hdrLen:])
		if err != nil {
			return nil, fmt.Errorf("obu %d at byte %d: obu_size: %w", i, off, err)
		}
		s.payload = off + s.hdrLen + n
		if size > uint64(len(tu)-s.payload) {
			return nil, fmt.Errorf("obu %d at byte %d: size %d exceeds the %d bytes left: %w",
				i, off, size, len(tu)-s.payload, ErrCorrupt)
		}
		s.end = s.payload + int(size)
		spans = append(spans, s)
		off = s.end
	}
	return spans, nil
}

// leb128 decodes an unsigned LEB128 value (AV1 spec section 4.10.5) from
// the start of b, returning the value and the number of bytes used.
func leb128(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 8; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("leb128 cut short after %d bytes: %w", i, ErrCorrupt)
		}
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if v > 1<<32-1 {
				return 0, 0, fmt.Errorf("leb128 value %d exceeds 2^32-1: %w", v, ErrCorrupt)
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("leb128 longer than 8 bytes: %w", ErrCorrupt)
}

// SequenceHeader returns the first sequence header OBU of tu in full: its
// obu_header, obu_size field and payload, as a sub-slice of tu (capacity
// clipped). It returns nil if tu has no sequence header OBU or its OBUs do
// not parse. Two chunks encoded with identical settings give byte-identical
// results.
func SequenceHeader(tu []byte) []byte {
	spans, err := splitOBUs(tu)
	if err != nil {
		return nil
	}
	for _, s := range spans {
		if s.typ == OBUSequenceHeader {
			return tu[s.start:s.end:s.end]
		}
	}
	return nil
}

// frameInfo is what the first bits of an uncompressed frame header say.
type frameInfo struct {
	showExisting bool
	frameType    int
	showFrame    bool
}

// readFrameInfo decodes the start of uncompressed_header() (AV1 spec
// section 5.9.2). reduced is the sequence header's
// reduced_still_picture_header flag.
func readFrameInfo(payload []byte, reduced bool) (frameInfo, error) {
	if len(payload) == 0 {
		// Every real frame header codes at least one byte.
		return frameInfo{}, fmt.Errorf("empty frame header: %w", ErrCorrupt)
	}
	if reduced {
		// These fields are not coded: a shown key frame by definition.
		return frameInfo{frameType: keyFrame, showFrame: true}, nil
	}
	b := payload[0]
	if b&0x80 != 0 {
		return frameInfo{showExisting: true, showFrame: true}, nil
	}
	return frameInfo{frameType: int(b>>5) & 3, showFrame: b&0x10 != 0}, nil
}

// reducedStill returns reduced_still_picture_header from a sequence header
// OBU payload: seq_profile f(3), still_picture f(1), then this flag.
func reducedStill(seqPayload []byte) (bool, error) {
	if len(seqPayload) == 0 {
		return false, fmt.Errorf("empty sequence header: %w", ErrCorrupt)
	}
	return seqPayload[0]&0x08 != 0, nil
}

// IsKeyframe reports whether tu is a random access point a chunk can start
// with: its OBUs parse, a sequence header OBU comes before the first frame
// header (OBU_FRAME or OBU_FRAME_HEADER), and that frame header codes a
// KEY_FRAME with show_frame set, in a non-empty payload. With
// reduced_still_picture_header every frame is a shown key frame. A show_existing_frame header is never a
// keyframe here, since it refers to a previously decoded frame.
func IsKeyframe(tu []byte) bool {
	spans, err := splitOBUs(tu)
	if err != nil {
		return false
	}
	haveSeq, reduced := false, false
	for _, s := range spans {
		switch s.typ {
		case OBUSequenceHeader:
			if haveSeq {
				continue
			}
			r, err := reducedStill(tu[s.payload:s.end])
			if err != nil {
				return false
			}
			haveSeq, reduced = true, r
		case OBUFrame, OBUFrameHeader:
			if !haveSeq {
				return false
			}
			fi, err := readFrameInfo(tu[s.payload:s.end], reduced)
			if err != nil {
				return false
			}
			return !fi.showExisting && fi.frameType == keyFrame && fi.showFrame
		}
	}
	return false
}

// ValidTU checks that tu is a plausible temporal unit: ParseOBUs accepts
// it, it holds at least one OBU, and at least one OBU is an OBU_FRAME or
// OBU_FRAME_HEADER (a show_existing_frame header counts) with a non-empty
// payload. Errors wrap ErrCorrupt.
func ValidTU(tu []byte) error {
	if err := validTU(tu); err != nil {
		return fmt.Errorf("ivf: invalid temporal unit: %w", err)
	}
	return nil
}

func validTU(tu []byte) error {
	spans, err := splitOBUs(tu)
	if err != nil {
		return err
	}
	if len(spans) == 0 {
		return fmt.Errorf("no obus: %w", ErrCorrupt)
	}
	for _, s := range spans {
		if (s.typ == OBUFrame || s.typ == OBUFrameHeader) && s.end > s.payload {
			return nil
		}
	}
	return fmt.Errorf("no frame or frame header obu: %w", ErrCorrupt)
}
