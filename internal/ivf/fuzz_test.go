package ivf

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzSeeds are hand-built IVF images: valid, torn and damaged.
func fuzzSeeds() [][]byte {
	s := synthStream(3)
	return [][]byte{
		nil,
		Header{}.Marshal(),
		s,
		s[:len(s)-1],
		s[:HeaderSize+5],
		cat(s, make([]byte, 12)),
		cat(s, []byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0}),
		cat(s[:HeaderSize], []byte{5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, obuTD, obuShowExisting),
		cat(s[:HeaderSize], []byte{7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, obuSeqReduced, []byte{0x32, 0x00}),
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			if len(b) >= HeaderSize && errors.Is(err, ErrTruncated) {
				t.Fatalf("header of %d bytes reported truncated: %v", len(b), err)
			}
			return
		}
		consumed := HeaderSize
		for {
			fr, err := r.Next()
			if err == io.EOF {
				if consumed != len(b) {
					t.Fatalf("io.EOF after %d of %d bytes", consumed, len(b))
				}
				return
			}
			if err != nil {
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			consumed += FrameHeaderSize + len(fr.Data)
			if consumed > len(b) {
				t.Fatalf("frames cover %d bytes of %d", consumed, len(b))
			}
		}
	})
}

func FuzzParseOBUs(f *testing.F) {
	for _, s := range [][]byte{
		nil, obuTD, cat(obuTD, obuSeq, obuKey), cat(obuSeqReduced, obuKeyHdr, obuTiles),
		cat(obuTD, obuShowExisting), cat(obuTD, obuHiddenKey, obuInter), obuPadding,
		{0x36, 0x28, 0x02, 0x10, 0x00}, {0x32, 0x82, 0x80, 0x00, 0x10, 0x00},
		{0x12, 0x80, 0x80, 0x80, 0x80, 0x10},
		[]byte("\n\x038002\x00"), // reduced still picture, empty OBU_FRAME
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tu []byte) {
		obus, err := ParseOBUs(tu)
		seq := SequenceHeader(tu)
		key := IsKeyframe(tu)
		verr := ValidTU(tu)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || seq != nil || key || verr == nil {
				t.Fatalf("inconsistent results for unparsable TU: %v %x %v %v", err, seq, key, verr)
			}
			return
		}
		// The OBUs tile the input: header, size field, payload, in order.
		off := 0
		hasFrame := false
		for _, o := range obus {
			if len(o.Header) != 1 && len(o.Header) != 2 || o.Header[0]&0x80 != 0 || o.Header[0]&0x02 == 0 {
				t.Fatalf("bad header % x", o.Header)
			}
			if !bytes.Equal(tu[off:off+len(o.Header)], o.Header) {
				t.Fatalf("header not at offset %d", off)
			}
			off += len(o.Header)
			size, n, err := leb128(tu[off:])
			if err != nil || size != uint64(len(o.Payload)) {
				t.Fatalf("size field at %d: %d, %v; payload %d", off, size, err, len(o.Payload))
			}
			off += n + len(o.Payload)
			if o.Type == OBUFrame || o.Type == OBUFrameHeader {
				hasFrame = hasFrame || len(o.Payload) > 0
			}
		}
		if off != len(tu) {
			t.Fatalf("OBUs cover %d of %d bytes", off, len(tu))
		}
		if (verr == nil) != (len(obus) > 0 && hasFrame) {
			t.Fatalf("ValidTU = %v for %d OBUs, frame %v", verr, len(obus), hasFrame)
		}
		if key && (seq == nil || verr != nil) {
			t.Fatalf("keyframe without sequence header or invalid: %v", verr)
		}
		if seq != nil && !bytes.Contains(tu, seq) {
			t.Fatal("sequence header not from the input")
		}
	})
}

func FuzzScan(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Scan(bytes.NewReader(b))
		if err != nil {
			if len(b) >= HeaderSize {
				if _, perr := ParseHeader(b); perr == nil {
					t.Fatalf("Scan failed on a valid header: %v", err)
				}
			}
			return
		}
		if res.ValidSize < HeaderSize || res.ValidSize > int64(len(b)) {
			t.Fatalf("ValidSize %d of %d bytes", res.ValidSize, len(b))
		}
		if (res.Err == nil) != (res.ValidSize == int64(len(b))) {
			t.Fatalf("Err %v with ValidSize %d of %d", res.Err, res.ValidSize, len(b))
		}
		// The valid prefix scans clean, with the same frame count.
		again, err := Scan(bytes.NewReader(b[:res.ValidSize]))
		if err != nil || again.Err != nil || again.Frames != res.Frames || again.ValidSize != res.ValidSize {
			t.Fatalf("rescan of prefix: %+v, %v; first %+v", again, err, res)
		}
	})
}
