//go:build cgo && !nolibrav1e

package rav1e

/*
#cgo pkg-config: rav1e
#include <stdlib.h>
#include <rav1e.h>
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// Available reports whether the package was built with librav1e.
func Available() bool { return true }

// Version returns the version of the loaded librav1e as
// rav1e_version_full gives it, e.g. "0.5.1 (v0.5.1)".
func Version() string { return C.GoString(C.rav1e_version_full()) }

// An Encoder is one librav1e encoding context. Its methods mirror the C
// API and may be called from any goroutine, one at a time (they lock the
// Encoder). Close it when done: nothing frees it otherwise.
type Encoder struct {
	mu     sync.Mutex
	ctx    *C.RaContext // nil once closed
	cfg    Config
	layout frameLayout
}

// NewEncoder validates cfg and opens an encoder for it. An invalid setting
// is a *ConfigError naming it, also when rav1e_config_parse refuses one of
// cfg.Params.
func NewEncoder(cfg Config) (*Encoder, error) {
	rc, err := newRaConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx := C.rav1e_context_new(rc)
	C.rav1e_config_unref(rc)
	if ctx == nil {
		return nil, &ConfigError{Setting: "configuration", Value: "(with Params)",
			Reason: "refused by rav1e_context_new; check the Params (tile_cols and tile_rows powers of two, reservoir_frame_delay 12-131072, switch_frame_interval only with low_latency, no enable_timing_info with still_picture)"}
	}
	cfg = cfg.clone()
	return &Encoder{ctx: ctx, cfg: cfg, layout: cfg.layout()}, nil
}

// newRaConfig builds a librav1e configuration; the caller unrefs it.
func newRaConfig(cfg Config) (rc *C.RaConfig, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc = C.rav1e_config_default()
	if rc == nil {
		return nil, fmt.Errorf("rav1e: config: rav1e_config_default returned NULL")
	}
	defer func() {
		if err != nil {
			C.rav1e_config_unref(rc)
			rc = nil
		}
	}()
	fields := cfg.parseParams()
	user := fields[len(fields)-len(cfg.Params):]
	fields = fields[:len(fields)-len(cfg.Params)]
	for _, kv := range fields {
		if err := parseKey(rc, kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	C.rav1e_config_set_time_base(rc, C.RaRational{num: C.uint64_t(cfg.TimeBase.Num), den: C.uint64_t(cfg.TimeBase.Den)})
	if sa := cfg.SampleAspect; sa != (Rational{}) {
		C.rav1e_config_set_sample_aspect_ratio(rc, C.RaRational{num: C.uint64_t(sa.Num), den: C.uint64_t(sa.Den)})
	}
	// Validate has checked every enum value: librav1e takes them as Rust
	// enums, for which an unknown value is undefined behaviour.
	if C.rav1e_config_set_pixel_format(rc, C.uint8_t(cfg.BitDepth), C.RaChromaSampling(cfg.Chroma),
		C.RaChromaSamplePosition(cfg.ChromaPosition), C.RaPixelRange(cfg.Range)) < 0 {
		return nil, &ConfigError{Setting: "pixel format", Value: fmt.Sprintf("%d-bit %v", cfg.BitDepth, cfg.Chroma), Reason: "refused by rav1e_config_set_pixel_format"}
	}
	if cfg.colorSet() {
		cd := cfg.Color
		if C.rav1e_config_set_color_description(rc, C.RaMatrixCoefficients(cd.Matrix),
			C.RaColorPrimaries(cd.Primaries), C.RaTransferCharacteristics(cd.Transfer)) < 0 {
			return nil, &ConfigError{Setting: "colour description", Value: fmt.Sprintf("%+v", *cd), Reason: "refused by rav1e_config_set_color_description"}
		}
	}
	if m := cfg.Mastering; m != nil {
		var prim [3]C.RaChromaticityPoint
		for i, p := range m.Primaries {
			prim[i] = C.RaChromaticityPoint{x: C.uint16_t(p.X), y: C.uint16_t(p.Y)}
		}
		wp := C.RaChromaticityPoint{x: C.uint16_t(m.WhitePoint.X), y: C.uint16_t(m.WhitePoint.Y)}
		if C.rav1e_config_set_mastering_display(rc, &prim[0], wp, C.uint32_t(m.MaxLuminance), C.uint32_t(m.MinLuminance)) < 0 {
			return nil, &ConfigError{Setting: "mastering display", Value: fmt.Sprintf("%+v", *m), Reason: "refused by rav1e_config_set_mastering_display"}
		}
	}
	if l := cfg.ContentLight; l != nil {
		if C.rav1e_config_set_content_light(rc, C.uint16_t(l.MaxCLL), C.uint16_t(l.MaxFALL)) < 0 {
			return nil, &ConfigError{Setting: "content light", Value: fmt.Sprintf("%+v", *l), Reason: "refused by rav1e_config_set_content_light"}
		}
	}
	if cfg.FirstPass {
		C.rav1e_config_set_emit_data(rc, 1)
	}
	for _, kv := range user {
		if err := parseKey(rc, kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return rc, nil
}

// parseKey calls rav1e_config_parse.
func parseKey(rc *C.RaConfig, key, value string) error {
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	if C.rav1e_config_parse(rc, ck, cv) < 0 {
		return &ConfigError{Setting: key, Value: fmt.Sprintf("%q", value), Reason: "refused by rav1e_config_parse (unknown key or bad value)"}
	}
	return nil
}

// Config returns the configuration the encoder was opened with.
func (e *Encoder) Config() Config { return e.cfg.clone() }

// NewFrame returns an empty frame of the encoder's size and format. Fill
// it, send it, then Close it; a frame holds memory until closed.
func (e *Encoder) NewFrame() (*Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil, ErrClosed
	}
	f := C.rav1e_frame_new(e.ctx)
	if f == nil {
		return nil, &Error{Op: "frame_new", Status: StatusFailure}
	}
	return &Frame{f: f, layout: e.layout}, nil
}

// SendFrame gives a frame to the encoder (rav1e_send_frame). It returns
// nil when the frame was taken, ErrEnoughData after Flush, and an *Error
// on failure. A frame that was taken must not be filled again; Close it
// whenever convenient, the encoder keeps its own reference. A nil frame
// is the same as Flush.
func (e *Encoder) SendFrame(f *Frame) error {
	if f == nil {
		return e.Flush()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || f.f == nil {
		return ErrClosed
	}
	if f.layout != e.layout {
		return fmt.Errorf("rav1e: send_frame: a %v frame to a %v encoder", f.layout, e.layout)
	}
	err := statusError("send_frame", Status(C.rav1e_send_frame(e.ctx, f.f)))
	if err == nil {
		f.sent = true
	}
	return err
}

// Flush tells the encoder that no more frames come (rav1e_send_frame with
// NULL). Keep calling ReceivePacket until it returns ErrLimitReached.
// Flushing again does nothing.
func (e *Encoder) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return ErrClosed
	}
	return statusError("send_frame", Status(C.rav1e_send_frame(e.ctx, nil)))
}

// ReceivePacket runs the encoder until it has a packet or needs input
// (rav1e_receive_packet); this is where librav1e does its work. It
// returns a packet and nil, or nil and ErrNeedMoreData (send a frame or
// Flush), ErrEncoded (call again), ErrLimitReached (done after Flush),
// ErrNotReady (two-pass data missing) or an *Error. The packet's data is
// copied into Go memory.
func (e *Encoder) ReceivePacket() (*Packet, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil, ErrClosed
	}
	var p *C.RaPacket
	st := Status(C.rav1e_receive_packet(e.ctx, &p))
	if st != StatusSuccess {
		if p != nil {
			C.rav1e_packet_unref(p)
		}
		return nil, statusError("receive_packet", st)
	}
	if p == nil {
		return nil, &Error{Op: "receive_packet", Status: StatusFailure}
	}
	pkt := &Packet{
		Data:  C.GoBytes(unsafe.Pointer(p.data), C.int(p.len)),
		Input: uint64(p.input_frameno),
		Type:  FrameType(p.frame_type),
	}
	C.rav1e_packet_unref(p)
	return pkt, nil
}

// SequenceHeader returns rav1e_container_sequence_header: in rav1e 0.5.1
// only the 4-byte prefix of an av1C box (marker, version, profile, level,
// tier, bit depth and chroma flags) without the sequence header OBU that
// av1C should carry after it. Append SequenceHeaderOBU of the first
// packet to get a complete av1C payload.
func (e *Encoder) SequenceHeader() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil, ErrClosed
	}
	d := C.rav1e_container_sequence_header(e.ctx)
	if d == nil {
		return nil, &Error{Op: "container_sequence_header", Status: StatusFailure}
	}
	b := C.GoBytes(unsafe.Pointer(d.data), C.int(d.len))
	C.rav1e_data_unref(d)
	return b, nil
}

// TwoPassOut returns the first-pass statistics produced since the last
// call (rav1e_twopass_out), or nil when there are none; it needs
// Config.FirstPass. Call it before every ReceivePacket, including the
// first, and append what it returns to the statistics; after
// ReceivePacket returns ErrLimitReached call it once more: that returns
// the summary header, which belongs at the front of the statistics.
// ReceivePacket returns ErrNotReady when a call was missed.
func (e *Encoder) TwoPassOut() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil, ErrClosed
	}
	d := C.rav1e_twopass_out(e.ctx)
	if d == nil {
		return nil, nil
	}
	b := C.GoBytes(unsafe.Pointer(d.data), C.int(d.len))
	C.rav1e_data_unref(d)
	return b, nil
}

// TwoPassBytesNeeded returns how many more bytes of first-pass statistics
// the second pass needs before it can encode the next frame
// (rav1e_twopass_bytes_needed); 0 means none. It is a lower bound and a
// hint only.
func (e *Encoder) TwoPassBytesNeeded() (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return 0, ErrClosed
	}
	return int(C.rav1e_twopass_bytes_needed(e.ctx)), nil
}

// TwoPassIn gives first-pass statistics to a second pass
// (rav1e_twopass_in) and returns how many bytes of data it consumed;
// calling it turns the encoder into a second pass, which needs a Bitrate.
// Before every ReceivePacket, including the first, call it in a loop with
// the statistics not yet consumed until it consumes 0 bytes:
//
//	for {
//		n, err := enc.TwoPassIn(stats)
//		if err != nil { ... }
//		if n == 0 { break }
//		stats = stats[n:]
//	}
//
// The first bytes consumed are the summary header TwoPassOut returned
// last.
func (e *Encoder) TwoPassIn(data []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return 0, ErrClosed
	}
	var zero [1]byte
	p := &zero[0] // librav1e makes a slice of the pointer: never pass NULL
	if len(data) > 0 {
		p = &data[0]
	}
	n := C.rav1e_twopass_in(e.ctx, (*C.uint8_t)(unsafe.Pointer(p)), C.size_t(len(data)))
	if n < 0 {
		return 0, &Error{Op: "twopass_in", Status: StatusFailure}
	}
	return int(n), nil
}

// Close frees the encoder and every frame still queued in it. It is
// idempotent and returns nil; later calls of the other methods return
// ErrClosed. Frames made by NewFrame stay valid until their own Close.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx != nil {
		C.rav1e_context_unref(e.ctx)
		e.ctx = nil
	}
	return nil
}

// A Frame is one picture for an Encoder, made by Encoder.NewFrame. Fill
// every plane, optionally ForceKeyframe, send it, and Close it. A Frame is
// for one goroutine at a time.
type Frame struct {
	f      *C.RaFrame // nil once closed
	layout frameLayout
	sent   bool
}

// FillPlane copies one plane into the frame (rav1e_frame_fill_plane).
// plane is 0 for luma, 1 and 2 for chroma (4:0:0 frames have only plane
// 0); stride is the distance between rows of data in bytes; bytesPerSample
// is 1, or 2 for little-endian 16-bit samples, which frames above 8 bits
// require. data must hold the plane's rows: at least
// stride*(rows-1) + width*bytesPerSample bytes. FillPlane panics when an
// argument does not fit the frame (librav1e would abort the process) and
// when the frame was already sent or closed.
func (f *Frame) FillPlane(plane int, data []byte, stride, bytesPerSample int) {
	if err := f.fillPlane(plane, data, stride, bytesPerSample); err != nil {
		panic(err)
	}
}

func (f *Frame) fillPlane(plane int, data []byte, stride, bps int) error {
	switch {
	case f.f == nil:
		return ErrClosed
	case f.sent:
		return ErrFrameSent
	}
	w, h := f.layout.planeSize(plane)
	if plane < 0 || plane > 2 || w == 0 {
		return fmt.Errorf("rav1e: fill_plane: no plane %d in a %v frame", plane, f.layout.chroma)
	}
	if bps != 1 && bps != 2 || bps == 2 && f.layout.bitDepth == 8 {
		return fmt.Errorf("rav1e: fill_plane: %d bytes per sample for a %d-bit frame", bps, f.layout.bitDepth)
	}
	if stride < w*bps {
		return fmt.Errorf("rav1e: fill_plane: stride %d below the row length %d", stride, w*bps)
	}
	if need := stride*(h-1) + w*bps; len(data) < need {
		return fmt.Errorf("rav1e: fill_plane: %d bytes for plane %d, need %d", len(data), plane, need)
	}
	// librav1e copies the data before returning and keeps no pointer to it.
	C.rav1e_frame_fill_plane(f.f, C.int(plane), (*C.uint8_t)(unsafe.Pointer(&data[0])),
		C.size_t(len(data)), C.ptrdiff_t(stride), C.int(bps))
	return nil
}

// FillY4M fills every plane from one frame's planes laid out as in a Y4M
// FRAME payload: the luma plane, then the chroma planes, each tightly
// packed, with 16-bit little-endian samples above 8 bits. Its length must
// be Config.FrameSize. It returns ErrFrameSent for a frame already sent.
func (f *Frame) FillY4M(planes []byte) error {
	if f.f == nil {
		return ErrClosed
	}
	if f.sent {
		return ErrFrameSent
	}
	if n := f.layout.size(); len(planes) != n {
		return fmt.Errorf("rav1e: Y4M frame of %d bytes, want %d for %v", len(planes), n, f.layout)
	}
	bps := f.layout.bytesPerSample()
	for p := 0; p < 3; p++ {
		w, h := f.layout.planeSize(p)
		if w == 0 {
			break
		}
		n := w * h * bps
		if err := f.fillPlane(p, planes[:n], w*bps, bps); err != nil {
			return err
		}
		planes = planes[n:]
	}
	return nil
}

// ForceKeyframe makes the frame a keyframe (rav1e_frame_set_type with
// RA_FRAME_TYPE_OVERRIDE_KEY); call it before sending the frame.
func (f *Frame) ForceKeyframe() {
	if f.f != nil {
		C.rav1e_frame_set_type(f.f, C.RA_FRAME_TYPE_OVERRIDE_KEY)
	}
}

// Close frees the frame (rav1e_frame_unref); the encoder keeps its own
// reference to a frame it was sent. Close is idempotent.
func (f *Frame) Close() {
	if f.f != nil {
		C.rav1e_frame_unref(f.f)
		f.f = nil
	}
}

// clone returns a copy of c that shares nothing with it: an Encoder keeps
// its configuration as it was opened, whatever the caller does to its own.
func (c Config) clone() Config {
	c.Params = append([][2]string(nil), c.Params...)
	if c.Color != nil {
		v := *c.Color
		c.Color = &v
	}
	if c.Mastering != nil {
		v := *c.Mastering
		c.Mastering = &v
	}
	if c.ContentLight != nil {
		v := *c.ContentLight
		c.ContentLight = &v
	}
	return c
}
