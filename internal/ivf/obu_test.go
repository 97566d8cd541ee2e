package ivf

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseOBUs(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		types   []int
		payload [][]byte // optional: expected payloads
		hdrLen  []int    // optional: expected header lengths
	}{
		{name: "empty", in: nil},
		{name: "temporal delimiter", in: obuTD, types: []int{OBUTemporalDelimiter}, payload: [][]byte{{}}},
		{name: "keyframe tu", in: cat(obuTD, obuSeq, obuKey),
			types:   []int{OBUTemporalDelimiter, OBUSequenceHeader, OBUFrame},
			payload: [][]byte{{}, {0, 0, 0}, {0x10, 0}}},
		{name: "frame header and tile group", in: cat(obuKeyHdr, obuTiles, obuPadding),
			types: []int{OBUFrameHeader, OBUTileGroup, OBUPadding}},
		{name: "extension byte", in: []byte{0x36, 0x28, 0x02, 0x10, 0x00},
			types: []int{OBUFrame}, payload: [][]byte{{0x10, 0x00}}, hdrLen: []int{2}},
		{name: "non-minimal leb128", in: []byte{0x32, 0x82, 0x80, 0x00, 0x10, 0x00},
			types: []int{OBUFrame}, payload: [][]byte{{0x10, 0x00}}},
		{name: "two-byte leb128", in: append([]byte{0x7a, 0x80, 0x01}, make([]byte, 128)...),
			types: []int{OBUPadding}},
		{name: "reserved bit ignored", in: []byte{0x13, 0x00}, types: []int{OBUTemporalDelimiter}},
		{name: "metadata, redundant header, tile list", in: []byte{0x2a, 0x00, 0x3a, 0x00, 0x42, 0x00},
			types: []int{OBUMetadata, OBURedundantFrameHeader, OBUTileList}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obus, err := ParseOBUs(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(obus) != len(tt.types) {
				t.Fatalf("got %d OBUs, want %d", len(obus), len(tt.types))
			}
			for i, o := range obus {
				if o.Type != tt.types[i] {
					t.Errorf("obu %d type %d, want %d", i, o.Type, tt.types[i])
				}
				if int(o.Header[0]>>3)&15 != o.Type {
					t.Errorf("obu %d header %x does not match type", i, o.Header)
				}
				if tt.payload != nil && !bytes.Equal(o.Payload, tt.payload[i]) {
					t.Errorf("obu %d payload % x, want % x", i, o.Payload, tt.payload[i])
				}
				want := 1
				if tt.hdrLen != nil {
					want = tt.hdrLen[i]
				}
				if len(o.Header) != want {
					t.Errorf("obu %d header length %d, want %d", i, len(o.Header), want)
				}
			}
		})
	}
}

func TestParseOBUsErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"forbidden bit", []byte{0x92, 0x00}},
		{"reserved type 0", []byte{0x02, 0x00}},
		{"reserved type 9", []byte{0x4a, 0x00}},
		{"reserved type 14", []byte{0x72, 0x00}},
		{"no size field", []byte{0x10}},
		{"no size field later", cat(obuTD, []byte{0x30, 0x10})},
		{"missing size", []byte{0x12}},
		{"missing extension byte", []byte{0x16}},
		{"size past end", []byte{0x32, 0x05, 0x10}},
		{"trailing byte", cat(obuTD, []byte{0x00})},
		{"leb128 cut short", []byte{0x12, 0x80}},
		{"leb128 over 8 bytes", []byte{0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}},
		{"leb128 over 2^32-1", []byte{0x12, 0x80, 0x80, 0x80, 0x80, 0x10}},
		{"zeros", make([]byte, 16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if obus, err := ParseOBUs(tt.in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ParseOBUs = %v, %v; want ErrCorrupt", obus, err)
			}
			if err := ValidTU(tt.in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ValidTU = %v, want ErrCorrupt", err)
			}
			if IsKeyframe(tt.in) || SequenceHeader(tt.in) != nil {
				t.Fatal("IsKeyframe or SequenceHeader accepted an unparsable TU")
			}
		})
	}
}

func TestIsKeyframeValidTU(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		key   bool
		valid bool
	}{
		{"shown key frame", cat(obuTD, obuSeq, obuKey), true, true},
		{"key frame without delimiter", cat(obuSeq, obuKey), true, true},
		{"key frame header and tiles", cat(obuTD, obuSeq, obuKeyHdr, obuTiles), true, true},
		{"key frame, padding before", cat(obuTD, obuSeq, obuPadding, obuKey), true, true},
		{"key frame without sequence header", cat(obuTD, obuKey), false, true},
		{"sequence header after frame", cat(obuTD, obuKey, obuSeq), false, true},
		{"hidden key frame", cat(obuTD, obuSeq, obuHiddenKey, obuInter), false, true},
		{"inter frame", cat(obuTD, obuInter), false, true},
		{"inter frame with sequence header", cat(obuTD, obuSeq, obuInter), false, true},
		{"show existing frame", cat(obuTD, obuShowExisting), false, true},
		{"show existing with sequence header", cat(obuTD, obuSeq, obuShowExisting), false, true},
		{"reduced still picture", cat(obuSeqReduced, []byte{0x32, 0x01, 0xff}), true, true},
		{"reduced still picture header", cat(obuSeqReduced, []byte{0x1a, 0x01, 0x80}, obuTiles), true, true},
		{"reduced still picture, empty frame", cat(obuSeqReduced, []byte{0x32, 0x00}), false, false},
		{"empty sequence header", cat(obuTD, []byte{0x0a, 0x00}, obuKey), false, true},
		{"empty frame header", cat(obuTD, obuSeq, []byte{0x1a, 0x00}), false, false},
		{"delimiter only", obuTD, false, false},
		{"sequence header only", cat(obuTD, obuSeq), false, false},
		{"tile group only", obuTiles, false, false},
		{"redundant header only", []byte{0x3a, 0x01, 0x10}, false, false},
		{"empty", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsKeyframe(tt.in); got != tt.key {
				t.Errorf("IsKeyframe = %v, want %v", got, tt.key)
			}
			err := ValidTU(tt.in)
			if (err == nil) != tt.valid {
				t.Errorf("ValidTU = %v, want valid %v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Errorf("ValidTU error %v does not wrap ErrCorrupt", err)
			}
		})
	}
}

func TestSequenceHeader(t *testing.T) {
	ext := []byte{0x0e, 0x00, 0x01, 0x00} // with extension byte
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"whole obu", cat(obuTD, obuSeq, obuKey), obuSeq},
		{"first of two", cat(obuSeq, obuSeqReduced, obuKey), obuSeq},
		{"extension byte", cat(obuTD, ext, obuKey), ext},
		{"none", cat(obuTD, obuInter), nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SequenceHeader(tt.in)
			if !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("SequenceHeader = % x, want % x", got, tt.want)
			}
		})
	}
}
