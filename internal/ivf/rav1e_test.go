package ivf

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

var clip48 = clip{size: "160x90", from: 0, to: 48}

// readAll returns the header and frames of the IVF file at path.
func readAll(t testing.TB, path string) (Header, []Frame) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames []Frame
	for {
		fr, err := r.Next()
		if err == io.EOF {
			return r.Header(), frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, fr)
	}
}

func obuTypes(obus []OBU) string {
	var s []string
	for _, o := range obus {
		s = append(s, fmt.Sprint(o.Type))
	}
	return strings.Join(s, ",")
}

func TestRav1eOutput(t *testing.T) {
	path := encode(t, clip48)
	h, frames := readAll(t, path)
	want := Header{FourCC: [4]byte{'A', 'V', '0', '1'}, Width: 160, Height: 90, RateNum: 24, RateDen: 1}
	if h != want {
		t.Errorf("header %+v, want %+v", h, want)
	}
	if len(frames) != 48 {
		t.Fatalf("%d frames, want 48", len(frames))
	}
	layouts := map[string]int{}
	for i, f := range frames {
		if f.PTS != uint64(i) {
			t.Errorf("frame %d: pts %d", i, f.PTS)
		}
		obus, err := ParseOBUs(f.Data)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if err := ValidTU(f.Data); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if obus[0].Type != OBUTemporalDelimiter {
			t.Errorf("frame %d does not start with a temporal delimiter: %s", i, obuTypes(obus))
		}
		if got := IsKeyframe(f.Data); got != (i == 0) {
			t.Errorf("frame %d: IsKeyframe = %v", i, got)
		}
		if got := SequenceHeader(f.Data) != nil; got != (i == 0) {
			t.Errorf("frame %d: has sequence header = %v", i, got)
		}
		// Each TU holds exactly one shown frame: a shown OBU_FRAME or
		// a show_existing_frame header, after any hidden frames.
		shown, existing := 0, 0
		for _, o := range obus {
			if o.Type != OBUFrame && o.Type != OBUFrameHeader {
				continue
			}
			fi, err := readFrameInfo(o.Payload, false)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if fi.showFrame {
				shown++
			}
			if fi.showExisting {
				existing++
			}
		}
		if shown != 1 {
			t.Errorf("frame %d: %d shown frames (%s)", i, shown, obuTypes(obus))
		}
		layout := obuTypes(obus)
		if existing > 0 {
			layout += "(show_existing)"
		}
		layouts[layout]++
	}
	seq := SequenceHeader(frames[0].Data)
	if !bytes.Contains(frames[0].Data, seq) || seq[0] != 0x0a {
		t.Errorf("sequence header % x is not a whole OBU of frame 0", seq)
	}
	t.Logf("OBU type layouts (count): %v; sequence header % x", layouts, seq)
}

// TestIsKeyframeMatchesFFprobe encodes with periodic keyframes and checks
// IsKeyframe against the key_frame flag ffprobe reports for each decoded
// frame (one shown frame per TU, so TU i is displayed frame i).
func TestIsKeyframeMatchesFFprobe(t *testing.T) {
	needTools(t, "ffprobe")
	path := encode(t, clip{size: "160x90", from: 0, to: 40, keyint: "12", rav1e: []string{"--min-keyint", "12"}})
	_, frames := readAll(t, path)
	out := strings.Fields(run(t, "ffprobe", "-v", "error", "-show_entries", "frame=key_frame", "-of", "csv=p=0", path))
	if len(out) != len(frames) {
		t.Fatalf("ffprobe reports %d frames, reader %d", len(out), len(frames))
	}
	keys := 0
	for i, f := range frames {
		want := out[i] == "1"
		if got := IsKeyframe(f.Data); got != want {
			t.Errorf("frame %d: IsKeyframe = %v, ffprobe key_frame = %s", i, got, out[i])
		}
		if want {
			keys++
			if !bytes.Equal(SequenceHeader(f.Data), SequenceHeader(frames[0].Data)) {
				t.Errorf("frame %d: sequence header differs from frame 0's", i)
			}
		}
	}
	if keys < 3 {
		t.Errorf("only %d keyframes in 40 frames with --keyint 12", keys)
	}
}
