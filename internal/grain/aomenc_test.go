package grain

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// aomenc takes a table PhotonNoise wrote, and the stream it makes carries
// the grain: dav1d's output with film grain applied differs from its
// output without by luma noise of the strength the table gives (a scaling
// value s adds noise of standard deviation about s/7.88, the reference's
// factor), and by nothing in chroma, which the table leaves clean.
func TestAomencAppliesTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs aomenc and dav1d")
	}
	for _, prog := range []string{"aomenc", "dav1d"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s not installed", prog)
		}
	}
	const w, h, frames, grey = 64, 64, 4, 128
	dir := t.TempDir()

	// The grain of a 7680x4320 frame at ISO 6400, strong enough to measure
	// on a few thousand samples.
	tab, err := PhotonNoise(Params{Width: 7680, Height: 4320, ISO: MaxISO, Transfer: SDR})
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	if _, err := tab.WriteTo(&tbl); err != nil {
		t.Fatal(err)
	}
	tblPath := filepath.Join(dir, "grain.tbl")
	if err := os.WriteFile(tblPath, tbl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// A flat grey 4:2:0 clip: the decoded frames are flat, so the grain is
	// all that differs.
	var y4m bytes.Buffer
	fmt.Fprintf(&y4m, "YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\n", w, h)
	for range frames {
		y4m.WriteString("FRAME\n")
		y4m.Write(bytes.Repeat([]byte{grey}, w*h*3/2))
	}
	in := filepath.Join(dir, "in.y4m")
	if err := os.WriteFile(in, y4m.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ivf := filepath.Join(dir, "out.ivf")
	run(t, "aomenc", "--ivf", "-o", ivf, "--passes=1", "--cpu-used=6", "--end-usage=q", "--cq-level=30",
		"--film-grain-table="+tblPath, in)

	decode := func(grain string) []byte {
		out := filepath.Join(dir, "grain"+grain+".yuv")
		run(t, "dav1d", "-q", "-i", ivf, "-o", out, "--muxer", "yuv", "--filmgrain", grain)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != frames*w*h*3/2 {
			t.Fatalf("dav1d wrote %d bytes, want %d frames of %dx%d", len(b), frames, w, h)
		}
		return b
	}
	on, off := decode("1"), decode("0")

	var sum, sq float64
	n := 0
	for f := range frames {
		frame := f * w * h * 3 / 2
		for i := frame; i < frame+w*h; i++ {
			d := float64(on[i]) - float64(off[i])
			sum += d
			sq += d * d
			n++
		}
		if chroma := frame + w*h; !bytes.Equal(on[chroma:chroma+w*h/2], off[chroma:chroma+w*h/2]) {
			t.Errorf("frame %d: film grain changed chroma; the table has none", f)
		}
	}
	mean := sum / float64(n)
	std := math.Sqrt(sq/float64(n) - mean*mean)
	scaling := interpolate(tab.Entries[0].Grain.ScalingY, grey)
	want := scaling / 7.88
	t.Logf("luma grain: mean %.2f, standard deviation %.2f; scaling %.1f at %d, expected %.2f", mean, std, scaling, grey, want)
	if math.Abs(std-want) > 0.15*want {
		t.Errorf("luma grain has standard deviation %.2f, want %.2f ± 15 %%", std, want)
	}
	if math.Abs(mean) > 0.5 {
		t.Errorf("luma grain has mean %.2f, want about 0", mean)
	}
}

// interpolate is the scaling function at x: the points joined by lines.
func interpolate(ps []Point, x int) float64 {
	for i := 1; i < len(ps); i++ {
		if x <= int(ps[i].X) {
			a, b := ps[i-1], ps[i]
			return float64(a.Y) + float64(int(b.Y)-int(a.Y))*float64(x-int(a.X))/float64(int(b.X)-int(a.X))
		}
	}
	return float64(ps[len(ps)-1].Y)
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.Bytes())
	}
}
