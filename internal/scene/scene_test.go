package scene

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
)

// sample is what the metadata filter prints: a line per frame, then the
// frame's metadata.
const sample = `frame:0    pts:0       pts_time:0
av1job=1
frame:1    pts:42      pts_time:0.042
av1job=1
frame:2    pts:83      pts_time:0.083
av1job=1
frame:3    pts:125     pts_time:0.125
av1job=1
`

func TestReadPTS(t *testing.T) {
	pts, err := readPTS(strings.NewReader(sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pts, []int64{0, 42, 83, 125}) {
		t.Fatalf("parsed %v", pts)
	}
	if _, err := readPTS(strings.NewReader("frame:0 pts:1 pts_time:1\nframe:1 pts:0 pts_time:0.5\n"), nil); err == nil {
		t.Fatal("decreasing timestamps must be an error")
	}
	if _, err := readPTS(strings.NewReader("frame:0 pts:NOPTS pts_time:NOPTS\n"), nil); err == nil {
		t.Fatal("a frame without a timestamp must be an error")
	}
}

func TestVariableRate(t *testing.T) {
	ms := big.NewRat(1, 1000)
	cfr := &Analysis{PTS: []int64{0, 42, 83, 125, 167, 209}, TimeBase: ms} // Matroska ms rounding of 24000/1001
	if vfr, _ := cfr.VariableRate(24000.0 / 1001); vfr {
		t.Fatal("ms-rounded 23.976 fps reported as variable")
	}
	vfr := &Analysis{PTS: []int64{0, 42, 83, 200, 250}, TimeBase: ms}
	if v, at := vfr.VariableRate(24000.0 / 1001); !v || at != 3 {
		t.Fatalf("variable rate not found: %v %d", v, at)
	}
}
