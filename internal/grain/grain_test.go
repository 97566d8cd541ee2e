package grain

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The .tbl files in testdata were written by libaom 3.6.0's
// examples/photon_noise_table with the same parameters.
func TestWriteToMatchesReferenceFiles(t *testing.T) {
	for _, tc := range []struct {
		file string
		p    Params
	}{
		{"sdr-1920x1080-iso6400.tbl", Params{Width: 1920, Height: 1080, ISO: 6400, Transfer: SDR}},
		{"pq-3840x2160-iso800.tbl", Params{Width: 3840, Height: 2160, ISO: 800, Transfer: PQ}},
		{"hlg-320x180-iso100.tbl", Params{Width: 320, Height: 180, ISO: 100, Transfer: HLG}},
		{"bt470bg-1280x720-iso3200.tbl", Params{Width: 1280, Height: 720, ISO: 3200, Transfer: BT470BG}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tab, err := PhotonNoise(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			n, err := tab.WriteTo(&got)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(got.Len()) {
				t.Errorf("WriteTo returned %d, wrote %d bytes", n, got.Len())
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("table differs from the reference:\n got: %q\nwant: %q", got.Bytes(), want)
			}
		})
	}
}

// testdata/general.tbl was written by libaom 3.6.0's own table writer
// (aom_film_grain_table_write) from these values: every field away from
// the photon noise defaults, lag 3, chroma points, and an entry without
// parameters.
func TestWriteToMatchesLibaomWriter(t *testing.T) {
	g := Grain{
		Apply: true, Update: true, Seed: 65535,
		ScalingShift: 11, ARCoeffLag: 3, ARCoeffShift: 9, GrainScaleShift: 2,
		CbMult: 255, CbLumaMult: 1, CbOffset: 511, CrMult: 2, CrLumaMult: 254, CrOffset: 256,
	}
	for i := range 8 {
		g.ScalingY = append(g.ScalingY, Point{X: uint8(i * 36), Y: uint8(255 - i*30)})
	}
	for i := range 4 {
		g.ScalingCb = append(g.ScalingCb, Point{X: uint8(10 + i*80), Y: uint8(i * 7)})
	}
	for i := range 3 {
		g.ScalingCr = append(g.ScalingCr, Point{X: uint8(1 + i*127), Y: uint8(200 - i)})
	}
	for i := range 24 {
		g.ARCoeffsY = append(g.ARCoeffsY, i*37%256-128)
	}
	for i := range 25 {
		g.ARCoeffsCb = append(g.ARCoeffsCb, 127-i*5)
		g.ARCoeffsCr = append(g.ARCoeffsCr, -128+i*9)
	}
	tab := Table{Entries: []Entry{
		{Start: 0, End: 5000000, Grain: g},
		{Start: 5000000, End: 9000000, Grain: Grain{Seed: 1}},
	}}
	got, err := tab.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/general.tbl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("table differs from libaom's:\n got: %q\nwant: %q", got, want)
	}
}

func TestParamsErrors(t *testing.T) {
	ok := Params{Width: 1920, Height: 1080, ISO: 800, Transfer: SDR}
	for _, tc := range []struct {
		name string
		edit func(*Params)
		want string // in the message; "" for no error
	}{
		{"valid", func(*Params) {}, ""},
		{"lowest ISO", func(p *Params) { p.ISO = MinISO }, ""},
		{"highest ISO", func(p *Params) { p.ISO = MaxISO }, ""},
		{"largest frame", func(p *Params) { p.Width, p.Height = 65536, 65536 }, ""},
		{"ISO 0", func(p *Params) { p.ISO = 0 }, "ISO 0 is out of range 100 to 6400"},
		{"ISO below", func(p *Params) { p.ISO = 99 }, "ISO 99 is out of range"},
		{"ISO above", func(p *Params) { p.ISO = 6401 }, "ISO 6401 is out of range"},
		{"negative ISO", func(p *Params) { p.ISO = -800 }, "ISO -800 is out of range"},
		{"no width", func(p *Params) { p.Width = 0 }, "size 0x1080 is out of range"},
		{"negative height", func(p *Params) { p.Height = -1 }, "size 1920x-1 is out of range"},
		{"too wide", func(p *Params) { p.Width, p.Height = 65537, 1 }, "size 65537x1 is out of range 1x1 to 65536x65536"},
		{"too high", func(p *Params) { p.Height = 65537 }, "size 1920x65537 is out of range"},
		{"unknown transfer", func(p *Params) { p.Transfer = HLG + 1 }, "transfer Transfer(5) is not one of"},
		{"negative transfer", func(p *Params) { p.Transfer = -1 }, "transfer Transfer(-1) is not one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			tab, err := PhotonNoise(p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("PhotonNoise(%+v): %v", p, err)
				}
				if len(tab.Entries) != 1 || len(tab.Entries[0].Grain.ScalingY) != 14 {
					t.Fatalf("PhotonNoise(%+v) = %+v, want one entry of 14 luma points", p, tab)
				}
				return
			}
			if err == nil {
				t.Fatalf("PhotonNoise(%+v) succeeded, want an error with %q", p, tc.want)
			}
			if !errors.Is(err, ErrParams) {
				t.Errorf("error %q does not wrap ErrParams", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, tc.want)
			}
			if verr := p.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate() = %v, PhotonNoise's error %v", verr, err)
			}
		})
	}
}

func TestParseTransfer(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Transfer
		bad  bool
	}{
		{"", SDR, false},
		{"unknown", SDR, false},
		{"bt709", SDR, false},
		{"smpte170m", SDR, false},
		{"bt2020-10", SDR, false},
		{"iec61966-2-1", SDR, false},
		{" BT709 ", SDR, false},
		{"bt470m", BT470M, false},
		{"bt470bg", BT470BG, false},
		{"smpte2084", PQ, false},
		{"arib-std-b67", HLG, false},
		{"linear", 0, true},
		{"log100", 0, true},
		{"smpte428", 0, true},
		{"iec61966-2-4", SDR, false},
		{"reserved", SDR, false},
		{"hdr", 0, true},
	} {
		got, err := ParseTransfer(tc.name)
		if tc.bad {
			if err == nil || !errors.Is(err, ErrParams) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseTransfer(%q) = %v, %v; want a one-line error wrapping ErrParams", tc.name, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTransfer(%q) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	// Every Transfer's name reads back as itself.
	for tr := SDR; tr <= HLG; tr++ {
		if got, err := ParseTransfer(tr.String()); err != nil || got != tr {
			t.Errorf("ParseTransfer(%q) = %v, %v; want %v", tr.String(), got, err, tr)
		}
	}
}

// The grain grows with the ISO and with the pixel count at every level,
// for every transfer: the model's two knobs go the way the package
// comment says.
func TestGrainGrowsWithISOAndSize(t *testing.T) {
	sum := func(p Params) int {
		tab, err := PhotonNoise(p)
		if err != nil {
			t.Fatal(err)
		}
		s := 0
		for _, pt := range tab.Entries[0].Grain.ScalingY {
			s += int(pt.Y)
		}
		return s
	}
	for tr := SDR; tr <= HLG; tr++ {
		prev := 0
		for iso := MinISO; iso <= MaxISO; iso *= 2 {
			s := sum(Params{Width: 1920, Height: 1080, ISO: iso, Transfer: tr})
			if s < prev {
				t.Errorf("%v: ISO %d gives less grain (%d) than ISO %d (%d)", tr, iso, s, iso/2, prev)
			}
			prev = s
		}
		if lo, hi := sum(Params{Width: 320, Height: 180, ISO: 3200, Transfer: tr}), sum(Params{Width: 3840, Height: 2160, ISO: 3200, Transfer: tr}); hi <= lo {
			t.Errorf("%v: 3840x2160 gets no more grain (%d) than 320x180 (%d)", tr, hi, lo)
		}
	}
}

func TestMarshalTextRejects(t *testing.T) {
	good, err := PhotonNoise(Params{Width: 1920, Height: 1080, ISO: 800})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Entry)
		want string
	}{
		{"empty range", func(e *Entry) { e.End = e.Start }, "time range"},
		{"negative start", func(e *Entry) { e.Start = -1 }, "time range"},
		{"15 luma points", func(e *Entry) { e.Grain.ScalingY = append(e.Grain.ScalingY, Point{X: 255}) }, "sY has 15 points"},
		{"x not increasing", func(e *Entry) { e.Grain.ScalingY[3].X = e.Grain.ScalingY[2].X }, "sY point 3"},
		{"11 cb points", func(e *Entry) { e.Grain.ScalingCb = make([]Point, 11) }, "sCb has 11 points"},
		{"scaling shift", func(e *Entry) { e.Grain.ScalingShift = 12 }, "scaling shift 12"},
		{"lag", func(e *Entry) { e.Grain.ARCoeffLag = 4 }, "ar coeff lag 4"},
		{"coefficient count", func(e *Entry) { e.Grain.ARCoeffLag = 1 }, "cY has 0 coefficients, lag 1 needs 4"},
		{"coefficient range", func(e *Entry) { e.Grain.ARCoeffsCr = []int{128} }, "cCr coefficient 128"},
		{"cr offset", func(e *Entry) { e.Grain.CrOffset = 512 }, "cr offset 512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good.Entries[0]
			e.Grain.ScalingY = append([]Point(nil), e.Grain.ScalingY...)
			tc.edit(&e)
			var w bytes.Buffer
			_, err := Table{Entries: []Entry{e}}.WriteTo(&w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WriteTo: %v; want an error with %q", err, tc.want)
			}
			if w.Len() != 0 {
				t.Errorf("WriteTo wrote %d bytes before failing", w.Len())
			}
		})
	}
	if _, err := (Table{}).MarshalText(); err == nil {
		t.Error("an empty table was marshalled")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteToWrapsWriteError(t *testing.T) {
	tab, err := PhotonNoise(Params{Width: 640, Height: 360, ISO: 400})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tab.WriteTo(failWriter{})
	if err == nil || err.Error() != "write film grain table: disk full" {
		t.Errorf("WriteTo to a failing writer: %v", err)
	}
}

// ChunkSeed is the seed aomenc reaches by stepping from DefaultSeed frame
// by frame, its reset of 0 to DefaultSeed included, over a whole period
// and past it.
func TestChunkSeed(t *testing.T) {
	seed := uint16(DefaultSeed)
	for frame := 0; frame < 70000; frame++ {
		if got := ChunkSeed(frame); got != seed {
			t.Fatalf("ChunkSeed(%d) = %d, aomenc's seed %d", frame, got, seed)
		}
		if frame > 0 && (seed == DefaultSeed) != (uint64(frame)%seedPeriod == 0) {
			t.Fatalf("frame %d: seed %d, period %d", frame, seed, seedPeriod)
		}
		if seed += seedStep; seed == 0 {
			seed = DefaultSeed
		}
	}
	if ChunkSeed(-5) != DefaultSeed {
		t.Errorf("ChunkSeed(-5) = %d, want %d", ChunkSeed(-5), DefaultSeed)
	}
	if seedPeriod < 1000 || seedPeriod >= 70000 {
		t.Errorf("the seed comes back after %d frames", seedPeriod)
	}
}
