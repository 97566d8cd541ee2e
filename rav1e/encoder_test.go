package rav1e

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// synthFrames returns n frames of a moving gradient in cfg's layout.
func synthFrames(cfg Config, n int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = synthFrame(cfg, i)
	}
	return frames
}

func synthFrame(cfg Config, i int) []byte {
	b := make([]byte, cfg.FrameSize())
	for j := range b {
		b[j] = byte(i*3 + j%cfg.Width + j/cfg.Width)
	}
	if cfg.BitDepth > 8 {
		for j := 1; j < len(b); j += 2 {
			b[j] &= 3 // keep 10-bit samples in range
		}
	}
	return b
}

func tinyConfig() Config {
	c := DefaultConfig(64, 64)
	c.Speed = 10
	return c
}

// openEncoder opens an encoder for cfg, closed when the test ends.
func openEncoder(t testing.TB, cfg Config) *Encoder {
	t.Helper()
	enc, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

func TestNewEncoderNamesRefusedParams(t *testing.T) {
	requireLib(t)
	tests := []struct {
		name   string
		params [][2]string
		want   string
	}{
		{"unknown key", [][2]string{{"frobnicate", "1"}}, `frobnicate "1" refused by rav1e_config_parse`},
		{"bad value", [][2]string{{"speed", "fast"}}, `speed "fast" refused by rav1e_config_parse`},
		{"bad bool", [][2]string{{"low_latency", "1"}}, `low_latency "1" refused`},
		{"tile cols 3", [][2]string{{"tile_cols", "3"}}, "refused by rav1e_context_new"},
		{"reservoir 5", [][2]string{{"reservoir_frame_delay", "5"}}, "refused by rav1e_context_new"},
		{"switch frames without low latency", [][2]string{{"switch_frame_interval", "10"}}, "refused by rav1e_context_new"},
	}
	for _, tt := range tests {
		c := tinyConfig()
		c.Params = tt.params
		enc, err := NewEncoder(c)
		if err == nil {
			enc.Close()
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a *ConfigError with %q", tt.name, err, tt.want)
		}
	}
	c := tinyConfig()
	c.Params = [][2]string{{"tune", "psnr"}, {"low_latency", "true"}, {"enable_timing_info", "true"}, {"reservoir_frame_delay", "24"}}
	enc, err := NewEncoder(c)
	if err != nil {
		t.Fatalf("valid Params refused: %v", err)
	}
	enc.Close()
}

func TestVersion(t *testing.T) {
	requireLib(t)
	if v := Version(); !strings.HasPrefix(v, "0.5.1") {
		t.Errorf("Version() = %q, want 0.5.1", v)
	}
}

// TestStatusCodes checks what librav1e 0.5.1 really returns at each step
// of the push-pull loop.
func TestStatusCodes(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	enc := openEncoder(t, cfg)
	if _, err := enc.ReceivePacket(); err != ErrNeedMoreData {
		t.Fatalf("ReceivePacket before any frame: %v, want ErrNeedMoreData", err)
	}
	frames := synthFrames(cfg, 3)
	for _, fr := range frames {
		f, err := enc.NewFrame()
		if err != nil {
			t.Fatal(err)
		}
		if err := f.FillY4M(fr); err != nil {
			t.Fatal(err)
		}
		if err := enc.SendFrame(f); err != nil {
			t.Fatalf("SendFrame: %v", err)
		}
		f.Close()
	}
	if err := enc.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if err := enc.Flush(); err != nil {
		t.Fatalf("second Flush: %v", err)
	}

	// A frame after the flush is refused and stays usable.
	f, err := enc.NewFrame()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.FillY4M(frames[0]); err != nil {
		t.Fatal(err)
	}
	if err := enc.SendFrame(f); err != ErrEnoughData {
		t.Errorf("SendFrame after Flush: %v, want ErrEnoughData", err)
	}
	if err := f.FillY4M(frames[1]); err != nil {
		t.Errorf("FillY4M of a refused frame: %v", err)
	}
	f.Close()

	var pkts []*Packet
	for {
		p, err := enc.ReceivePacket()
		if err == ErrEncoded {
			continue
		}
		if err == ErrLimitReached {
			break
		}
		if err != nil {
			t.Fatalf("ReceivePacket: %v", err)
		}
		pkts = append(pkts, p)
	}
	if len(pkts) != 3 || frameTypes(pkts) != "K--" {
		t.Errorf("packets %s", frameTypes(pkts))
	}
	if _, err := enc.ReceivePacket(); err != ErrLimitReached {
		t.Errorf("ReceivePacket after the end: %v, want ErrLimitReached again", err)
	}
	if !errors.Is(ErrLimitReached, &Error{Status: StatusLimitReached}) {
		t.Error("errors.Is on a status sentinel")
	}

	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := enc.ReceivePacket(); err != ErrClosed {
		t.Errorf("ReceivePacket after Close: %v", err)
	}
	if _, err := enc.NewFrame(); err != ErrClosed {
		t.Errorf("NewFrame after Close: %v", err)
	}
	if err := enc.Flush(); err != ErrClosed {
		t.Errorf("Flush after Close: %v", err)
	}
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}

// TestFrameMisuse checks that what would abort the process in librav1e is
// an error or a Go panic instead.
func TestFrameMisuse(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	enc := openEncoder(t, cfg)
	f, err := enc.NewFrame()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.FillY4M(make([]byte, cfg.FrameSize()-1)); err == nil {
		t.Error("FillY4M accepted a short frame")
	}
	y := make([]byte, 64*64*2)
	mustPanic(t, "2 bytes per sample in an 8-bit frame", func() { f.FillPlane(0, y, 128, 2) })
	mustPanic(t, "plane 3", func() { f.FillPlane(3, y, 64, 1) })
	mustPanic(t, "short plane", func() { f.FillPlane(1, y[:32*31], 32, 1) })
	mustPanic(t, "stride below the width", func() { f.FillPlane(0, y, 32, 1) })
	f.FillPlane(0, y, 64, 1)
	f.FillPlane(1, y, 32, 1)
	f.FillPlane(2, y, 32, 1)
	if err := enc.SendFrame(f); err != nil {
		t.Fatal(err)
	}
	if err := f.FillY4M(make([]byte, cfg.FrameSize())); err != ErrFrameSent {
		t.Errorf("FillY4M after sending: %v, want ErrFrameSent", err)
	}
	mustPanic(t, "FillPlane after sending", func() { f.FillPlane(0, y, 64, 1) })

	// A frame of another size would make librav1e abort; it is an error.
	big := DefaultConfig(96, 64)
	enc2, err := NewEncoder(big)
	if err != nil {
		t.Fatal(err)
	}
	defer enc2.Close()
	g, err := enc2.NewFrame()
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SendFrame(g); err == nil || !strings.Contains(err.Error(), "96x64") {
		t.Errorf("SendFrame of a 96x64 frame to a 64x64 encoder: %v", err)
	}
	g.Close()
	g.Close()
	if err := g.FillY4M(nil); err != ErrClosed {
		t.Errorf("FillY4M on a closed frame: %v", err)
	}
	if err := enc.SendFrame(g); err != ErrClosed {
		t.Errorf("SendFrame of a closed frame: %v", err)
	}
	// The frame outlives its encoder.
	h, err := enc2.NewFrame()
	if err != nil {
		t.Fatal(err)
	}
	enc2.Close()
	if err := h.FillY4M(make([]byte, big.FrameSize())); err != nil {
		t.Errorf("FillY4M after the encoder closed: %v", err)
	}
	h.Close()
}

func TestForceKeyframe(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	cfg.KeyFrameInterval = 0
	cfg.NoSceneDetection = true
	enc, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var pkts []*Packet
	for i, fr := range synthFrames(cfg, 20) {
		f, err := enc.NewFrame()
		if err != nil {
			t.Fatal(err)
		}
		if err := f.FillY4M(fr); err != nil {
			t.Fatal(err)
		}
		if i == 7 || i == 15 {
			f.ForceKeyframe()
		}
		if err := enc.SendFrame(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		pkts = drainAll(t, enc, pkts)
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	pkts = drainAll(t, enc, pkts)
	if got, want := frameTypes(pkts), "K------K-------K----"; got != want {
		t.Errorf("frame types %s, want %s", got, want)
	}
}

// drainAll receives packets until the encoder needs data or is done.
func drainAll(t *testing.T, enc *Encoder, pkts []*Packet) []*Packet {
	t.Helper()
	for {
		p, err := enc.ReceivePacket()
		switch err {
		case nil:
			pkts = append(pkts, p)
		case ErrEncoded:
		case ErrNeedMoreData, ErrLimitReached:
			return pkts
		default:
			t.Fatal(err)
		}
	}
}

func TestSequenceHeader(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	enc := openEncoder(t, cfg)
	av1c, err := enc.SequenceHeader()
	if err != nil {
		t.Fatal(err)
	}
	// 0.5.1 gives the 4-byte av1C prefix only: marker and version 1.
	if len(av1c) != 4 || av1c[0] != 0x81 {
		t.Errorf("SequenceHeader = %x, want the 4-byte av1C prefix", av1c)
	}
	pkts := encodeAll(t, cfg, synthFrames(cfg, 4))
	obu := SequenceHeaderOBU(pkts[0].Data)
	if obu == nil {
		t.Fatal("no sequence header OBU in the keyframe packet")
	}
	if obu[0]>>3&0xf != obuSequenceHeader {
		t.Errorf("OBU header %x", obu[0])
	}
	if !bytes.Contains(pkts[0].Data, obu) {
		t.Error("the OBU is not part of the packet")
	}
	if SequenceHeaderOBU(pkts[1].Data) != nil {
		t.Error("a sequence header in an inter frame packet")
	}
}

func TestSequenceHeaderOBUParsing(t *testing.T) {
	td := []byte{0x12, 0x00}                    // temporal delimiter, size 0
	sh := []byte{0x0a, 0x03, 0xaa, 0xbb, 0xcc}  // sequence header, size 3
	fr := []byte{0x32, 0x02, 0x01, 0x02}        // frame, size 2
	ext := []byte{0x0e, 0x80, 0x02, 0xaa, 0xbb} // sequence header with extension byte
	noSize := []byte{0x08, 0xaa, 0xbb}          // sequence header without size field
	join := func(b ...[]byte) []byte { return bytes.Join(b, nil) }
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"td sh frame", join(td, sh, fr), sh},
		{"sh first", join(sh, fr), sh},
		{"none", join(td, fr), nil},
		{"extension", join(td, ext), ext},
		{"no size field", join(td, noSize), noSize},
		{"truncated", join(td, sh[:4]), nil},
		{"forbidden bit", []byte{0x8a, 0x00}, nil},
		{"bad leb128", []byte{0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		if got := SequenceHeaderOBU(tt.in); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: %x, want %x", tt.name, got, tt.want)
		}
	}
}

func FuzzSequenceHeaderOBU(f *testing.F) {
	f.Add([]byte{0x12, 0x00, 0x0a, 0x03, 0xaa, 0xbb, 0xcc})
	f.Add([]byte{0x0e, 0x80, 0x02, 0xaa, 0xbb})
	f.Add([]byte{0x08})
	f.Fuzz(func(t *testing.T, b []byte) {
		got := SequenceHeaderOBU(b)
		if got != nil && (!bytes.Contains(b, got) || got[0]>>3&0xf != obuSequenceHeader) {
			t.Errorf("%x from %x", got, b)
		}
	})
}

// TestTwoPass runs a first pass that collects statistics with TwoPassOut
// and a second pass that reads them with TwoPassIn.
func TestTwoPass(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	cfg.Bitrate = 200000
	cfg.Quantizer = 255
	frames := synthFrames(cfg, 30)

	first := cfg
	first.FirstPass = true
	enc, err := NewEncoder(first)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	next, n1 := 0, 0
	for done := false; !done; {
		d, err := enc.TwoPassOut()
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, d...)
		_, err = enc.ReceivePacket()
		switch err {
		case nil:
			n1++
		case ErrEncoded:
		case ErrNeedMoreData:
			next = sendNext(t, enc, frames, next)
		case ErrLimitReached:
			done = true
		default:
			t.Fatalf("first pass: %v", err)
		}
	}
	summary, err := enc.TwoPassOut()
	if err != nil {
		t.Fatal(err)
	}
	enc.Close()
	// 8 bytes per encoded frame, hidden ones included, then a 68-byte
	// summary; 0.5.1 emits no placeholder at the start.
	if len(data) == 0 || len(data)%8 != 0 || len(summary) != 68 {
		t.Fatalf("first pass: %d bytes of frame data, %d of summary", len(data), len(summary))
	}
	t.Logf("first pass: %d packets, %d bytes of frame statistics, %d-byte summary", n1, len(data), len(summary))
	stats := append(summary, data...)

	enc, err = NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	// Before it starts, the second pass needs the summary and one frame.
	if need, err := enc.TwoPassBytesNeeded(); err != nil || need != len(summary)+8 {
		t.Errorf("TwoPassBytesNeeded = %d, %v; want %d", need, err, len(summary)+8)
	}
	next = 0
	var pkts []*Packet
	for done := false; !done; {
		for {
			n, err := enc.TwoPassIn(stats)
			if err != nil {
				t.Fatalf("TwoPassIn: %v", err)
			}
			if n == 0 {
				break
			}
			stats = stats[n:]
		}
		p, err := enc.ReceivePacket()
		switch err {
		case nil:
			pkts = append(pkts, p)
		case ErrEncoded:
		case ErrNeedMoreData:
			next = sendNext(t, enc, frames, next)
		case ErrLimitReached:
			done = true
		default:
			t.Fatalf("second pass: %v", err)
		}
	}
	if len(pkts) != len(frames) || pkts[0].Type != KeyFrame {
		t.Fatalf("second pass: %d packets, types %s", len(pkts), frameTypes(pkts))
	}
	if len(stats) != 0 {
		t.Errorf("second pass left %d bytes of statistics", len(stats))
	}
}

func TestTwoPassNotReady(t *testing.T) {
	requireLib(t)
	cfg := tinyConfig()
	cfg.Bitrate = 200000
	cfg.FirstPass = true
	enc, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	frames := synthFrames(cfg, 30)
	next := 0
	for i := 0; i < 200; i++ {
		_, err := enc.ReceivePacket()
		switch err {
		case nil, ErrEncoded:
		case ErrNeedMoreData:
			next = sendNext(t, enc, frames, next)
		case ErrNotReady:
			return
		default:
			t.Fatalf("%v", err)
		}
	}
	t.Error("no ErrNotReady although TwoPassOut was never called")
}

// sendNext sends frames[next], or flushes after the last frame.
func sendNext(t *testing.T, enc *Encoder, frames [][]byte, next int) int {
	t.Helper()
	if next == len(frames) {
		if err := enc.Flush(); err != nil {
			t.Fatal(err)
		}
		return next
	}
	f, err := enc.NewFrame()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.FillY4M(frames[next]); err != nil {
		t.Fatal(err)
	}
	if err := enc.SendFrame(f); err != nil {
		t.Fatal(err)
	}
	return next + 1
}
