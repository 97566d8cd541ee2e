package rav1e

import "strconv"

// FrameType is the type of an encoded frame, as rav1e's RaFrameType.
type FrameType int

// The frame types, with rav1e's values.
const (
	KeyFrame       FrameType = iota // a keyframe: decodable on its own, with a sequence header before it
	InterFrame                      // predicted from other frames
	IntraOnlyFrame                  // intra-coded but not a random access point
	SwitchFrame                     // a switch frame
)

// String returns "KEY", "INTER", "INTRA_ONLY" or "SWITCH".
func (t FrameType) String() string {
	switch t {
	case KeyFrame:
		return "KEY"
	case InterFrame:
		return "INTER"
	case IntraOnlyFrame:
		return "INTRA_ONLY"
	case SwitchFrame:
		return "SWITCH"
	}
	return "FrameType(" + strconv.Itoa(int(t)) + ")"
}

// A Packet is one temporal unit of the AV1 stream: exactly one shown
// frame, with any hidden frames it needs. The rav1e program writes each
// packet as one IVF frame whose timestamp is Input.
type Packet struct {
	// Data is the packet's OBUs, copied into Go memory.
	Data []byte
	// Input is the number of the input frame it shows, from 0.
	Input uint64
	// Type is the type of the shown frame.
	Type FrameType
}

// obuSequenceHeader is the OBU type of a sequence header (AV1
// specification, section 6.2.2).
const obuSequenceHeader = 1

// SequenceHeaderOBU returns the sequence header OBU, with its header
// bytes, from a packet (the Data of a keyframe Packet starts with one), or
// nil if the packet has none or is malformed. The slice aliases packet.
// With rav1e 0.5.1 this is the way to get the full sequence header:
// Encoder.SequenceHeader returns only the 4-byte av1C prefix.
func SequenceHeaderOBU(packet []byte) []byte {
	for len(packet) > 0 {
		h := packet[0]
		if h&0x80 != 0 { // forbidden bit
			return nil
		}
		typ := int(h>>3) & 0xf
		n := 1
		if h&0x04 != 0 { // extension flag
			n++
		}
		if len(packet) < n {
			return nil
		}
		if h&0x02 == 0 { // no size field: the OBU runs to the end
			if typ == obuSequenceHeader {
				return packet
			}
			return nil
		}
		size, m := leb128(packet[n:])
		if m == 0 {
			return nil
		}
		end := uint64(n+m) + size
		if end > uint64(len(packet)) {
			return nil
		}
		if typ == obuSequenceHeader {
			return packet[:end:end]
		}
		packet = packet[end:]
	}
	return nil
}

// leb128 decodes an unsigned LEB128 value of at most 8 bytes, returning it
// and the number of bytes read, or 0 bytes if it is malformed.
func leb128(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
