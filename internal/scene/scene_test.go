package scene

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
)

const sample = `frame:0    pts:0       pts_time:0
lavfi.scd.mafd=0.000
lavfi.scd.score=0.000
frame:1    pts:42      pts_time:0.042
lavfi.scd.mafd=0.799
lavfi.scd.score=0.799
frame:2    pts:83      pts_time:0.083
lavfi.scd.mafd=30.1
lavfi.scd.score=29.3
frame:3    pts:125     pts_time:0.125
lavfi.scd.score=0.2
`

func TestParse(t *testing.T) {
	var seen []int
	a, err := parse(strings.NewReader(sample), func(n int) { seen = append(seen, n) })
	if err != nil {
		t.Fatal(err)
	}
	if a.Frames != 4 || !reflect.DeepEqual(a.PTS, []int64{0, 42, 83, 125}) || a.Scores[2] != 29.3 {
		t.Fatalf("parsed %+v", a)
	}
	if got := a.Cuts(10); !reflect.DeepEqual(got, []int{0, 2}) {
		t.Fatalf("cuts %v", got)
	}
	if len(seen) == 0 || seen[len(seen)-1] != 4 {
		t.Fatalf("progress %v", seen)
	}
	if _, err := parse(strings.NewReader("frame:0 pts:1 pts_time:1\nframe:1 pts:0 pts_time:0.5\n"), nil); err == nil {
		t.Fatal("decreasing timestamps must be an error")
	}
	if _, err := parse(strings.NewReader("frame:0 pts:NOPTS pts_time:NOPTS\n"), nil); err == nil {
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
