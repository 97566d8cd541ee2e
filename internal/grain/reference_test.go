package grain

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// referenceTSV holds luma scaling values from libaom 3.6.0's
// examples/photon_noise_table, one table a line: width, height, ISO, the
// tool's --transfer-function name, then the 14 scaling values (their x are
// always 0, 20, 39, ... 255). Lines starting with # are comments. The flag
// points the test at a larger sweep made the same way.
var referenceTSV = flag.String("grain.reference", "testdata/reference.tsv", "reference scaling values to compare with")

func TestPhotonNoiseMatchesReference(t *testing.T) {
	f, err := os.Open(*referenceTSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	lines, tables, mismatches := 0, 0, 0
	for s.Scan() {
		lines++
		line := s.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		tables++
		p, want, err := parseReferenceLine(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", *referenceTSV, lines, err)
		}
		tab, err := PhotonNoise(p)
		if err != nil {
			t.Fatalf("%s:%d: PhotonNoise(%+v): %v", *referenceTSV, lines, p, err)
		}
		got := tab.Entries[0].Grain.ScalingY
		if len(got) != len(want) {
			t.Fatalf("%s:%d: %d points, want %d", *referenceTSV, lines, len(got), len(want))
		}
		for i := range want {
			if got[i].X != referenceX[i] || got[i].Y != want[i] {
				mismatches++
				t.Errorf("%+v: point %d is (%d, %d), reference (%d, %d)", p, i, got[i].X, got[i].Y, referenceX[i], want[i])
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if tables == 0 {
		t.Fatalf("%s holds no tables", *referenceTSV)
	}
	t.Logf("%d tables compared, %d points differ", tables, mismatches)
}

var referenceX = [14]uint8{0, 20, 39, 59, 78, 98, 118, 137, 157, 177, 196, 216, 235, 255}

func parseReferenceLine(line string) (Params, []uint8, error) {
	f := strings.Fields(line)
	if len(f) != 4+14 {
		return Params{}, nil, fmt.Errorf("%d fields, want 18", len(f))
	}
	var nums [3]int
	for i := range nums {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return Params{}, nil, err
		}
		nums[i] = n
	}
	tr, err := ParseTransfer(f[3])
	if err != nil {
		return Params{}, nil, err
	}
	ys := make([]uint8, 14)
	for i := range ys {
		n, err := strconv.ParseUint(f[4+i], 10, 8)
		if err != nil {
			return Params{}, nil, err
		}
		ys[i] = uint8(n)
	}
	return Params{Width: nums[0], Height: nums[1], ISO: nums[2], Transfer: tr}, ys, nil
}
