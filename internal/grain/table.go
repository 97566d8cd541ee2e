package grain

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// A Table is an AV1 film grain table: a list of entries, each giving the
// grain of the frames whose timestamps fall in its time range.
type Table struct {
	Entries []Entry
}

// An Entry is one time range of a Table and its grain. Start and End are
// aomenc's timestamps (10,000,000 a second, 0 at the first frame it
// encodes): the entry covers Start <= t < End.
type Entry struct {
	Start, End int64
	Grain      Grain
}

// A Point is a point of a piecewise-linear scaling function: the grain's
// strength Y at the 8-bit sample value X.
type Point struct {
	X, Y uint8
}

// Grain holds the film grain parameters of the AV1 specification (section
// 6.8.20), named after its syntax elements.
type Grain struct {
	Apply  bool   // apply_grain
	Seed   uint16 // grain_seed of the entry's first frame
	Update bool   // update_grain; when false, the other fields are not written

	ScalingY  []Point // point_y_value, point_y_scaling: at most 14, X increasing
	ScalingCb []Point // point_cb_*: at most 10, X increasing
	ScalingCr []Point // point_cr_*: at most 10, X increasing

	ScalingShift          int  // grain_scaling_minus_8 + 8: 8 to 11
	ARCoeffLag            int  // ar_coeff_lag: 0 to 3
	ARCoeffShift          int  // ar_coeff_shift_minus_6 + 6: 6 to 9
	GrainScaleShift       int  // grain_scale_shift: 0 to 3
	ChromaScalingFromLuma bool // chroma_scaling_from_luma
	Overlap               bool // overlap_flag

	// ARCoeffsY holds 2·lag·(lag+1) coefficients, ARCoeffsCb and
	// ARCoeffsCr one more each (the luma term), all -128 to 127.
	ARCoeffsY, ARCoeffsCb, ARCoeffsCr []int

	// The chroma multipliers (cb_mult, cb_luma_mult, cr_mult, cr_luma_mult)
	// are 0 to 255, the offsets (cb_offset, cr_offset) 0 to 511.
	CbMult, CbLumaMult, CbOffset int
	CrMult, CrLumaMult, CrOffset int
}

// WriteTo writes t in the text format of aomenc's --film-grain-table
// (libaom's aom_dsp/grain_table.c), as libaom writes it:
//
//	filmgrn1
//	E <start> <end> <apply> <seed> <update>
//		p <ar_coeff_lag> <ar_coeff_shift> <grain_scale_shift> <scaling_shift> <chroma_scaling_from_luma> <overlap> <cb_mult> <cb_luma_mult> <cb_offset> <cr_mult> <cr_luma_mult> <cr_offset>
//		sY <n>  <x> <y> ...
//		sCb <n> <x> <y> ...
//		sCr <n> <x> <y> ...
//		cY <coeff> ...
//		cCb <coeff> ...
//		cCr <coeff> ...
//
// It writes nothing and returns an error if an entry is out of the ranges
// that Grain documents, since aomenc would misread or reject it.
func (t Table) WriteTo(w io.Writer) (int64, error) {
	b, err := t.MarshalText()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	if err != nil {
		return int64(n), fmt.Errorf("write film grain table: %w", err)
	}
	return int64(n), nil
}

// MarshalText returns what WriteTo writes.
func (t Table) MarshalText() ([]byte, error) {
	if len(t.Entries) == 0 {
		return nil, fmt.Errorf("film grain table has no entries")
	}
	var b bytes.Buffer
	b.WriteString("filmgrn1\n")
	for i, e := range t.Entries {
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("film grain table entry %d: %w", i, err)
		}
		e.write(&b)
	}
	return b.Bytes(), nil
}

func (e Entry) check() error {
	g := e.Grain
	if e.Start < 0 || e.End <= e.Start {
		return fmt.Errorf("time range %d to %d is empty or negative", e.Start, e.End)
	}
	if !g.Update {
		return nil
	}
	for _, s := range []struct {
		name   string
		points []Point
		max    int
	}{{"sY", g.ScalingY, 14}, {"sCb", g.ScalingCb, 10}, {"sCr", g.ScalingCr, 10}} {
		if len(s.points) > s.max {
			return fmt.Errorf("%s has %d points, at most %d allowed", s.name, len(s.points), s.max)
		}
		for j := 1; j < len(s.points); j++ {
			if s.points[j].X <= s.points[j-1].X {
				return fmt.Errorf("%s point %d: x %d does not increase", s.name, j, s.points[j].X)
			}
		}
	}
	for _, r := range []struct {
		name      string
		v, lo, hi int
	}{
		{"scaling shift", g.ScalingShift, 8, 11},
		{"ar coeff lag", g.ARCoeffLag, 0, 3},
		{"ar coeff shift", g.ARCoeffShift, 6, 9},
		{"grain scale shift", g.GrainScaleShift, 0, 3},
		{"cb mult", g.CbMult, 0, 255}, {"cb luma mult", g.CbLumaMult, 0, 255}, {"cb offset", g.CbOffset, 0, 511},
		{"cr mult", g.CrMult, 0, 255}, {"cr luma mult", g.CrLumaMult, 0, 255}, {"cr offset", g.CrOffset, 0, 511},
	} {
		if r.v < r.lo || r.v > r.hi {
			return fmt.Errorf("%s %d is out of range %d to %d", r.name, r.v, r.lo, r.hi)
		}
	}
	n := 2 * g.ARCoeffLag * (g.ARCoeffLag + 1)
	for _, c := range []struct {
		name   string
		coeffs []int
		want   int
	}{{"cY", g.ARCoeffsY, n}, {"cCb", g.ARCoeffsCb, n + 1}, {"cCr", g.ARCoeffsCr, n + 1}} {
		if len(c.coeffs) != c.want {
			return fmt.Errorf("%s has %d coefficients, lag %d needs %d", c.name, len(c.coeffs), g.ARCoeffLag, c.want)
		}
		for _, v := range c.coeffs {
			if v < -128 || v > 127 {
				return fmt.Errorf("%s coefficient %d is out of range -128 to 127", c.name, v)
			}
		}
	}
	return nil
}

// write is libaom's grain_table_entry_write, spaces and tabs included.
func (e Entry) write(b *bytes.Buffer) {
	g := e.Grain
	fmt.Fprintf(b, "E %d %d %d %d %d\n", e.Start, e.End, b2i(g.Apply), g.Seed, b2i(g.Update))
	if !g.Update {
		return
	}
	fmt.Fprintf(b, "\tp %d %d %d %d %d %d %d %d %d %d %d %d\n",
		g.ARCoeffLag, g.ARCoeffShift, g.GrainScaleShift, g.ScalingShift,
		b2i(g.ChromaScalingFromLuma), b2i(g.Overlap),
		g.CbMult, g.CbLumaMult, g.CbOffset, g.CrMult, g.CrLumaMult, g.CrOffset)
	fmt.Fprintf(b, "\tsY %d ", len(g.ScalingY))
	writePoints(b, g.ScalingY)
	fmt.Fprintf(b, "\n\tsCb %d", len(g.ScalingCb))
	writePoints(b, g.ScalingCb)
	fmt.Fprintf(b, "\n\tsCr %d", len(g.ScalingCr))
	writePoints(b, g.ScalingCr)
	b.WriteString("\n\tcY")
	writeInts(b, g.ARCoeffsY)
	b.WriteString("\n\tcCb")
	writeInts(b, g.ARCoeffsCb)
	b.WriteString("\n\tcCr")
	writeInts(b, g.ARCoeffsCr)
	b.WriteString("\n")
}

func writePoints(b *bytes.Buffer, ps []Point) {
	for _, p := range ps {
		fmt.Fprintf(b, " %d %d", p.X, p.Y)
	}
}

func writeInts(b *bytes.Buffer, vs []int) {
	for _, v := range vs {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(v))
	}
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
