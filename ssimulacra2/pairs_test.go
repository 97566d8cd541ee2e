package ssimulacra2

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"
)

// A pairSpec is a reference/distorted pair generated at test time with
// ffmpeg (and rav1e for AV1 distortions, decoded by ffmpeg's libdav1d), so
// that no media is kept in the repository.
//
// For kind "png" both sides are RGB PNGs (8-bit rgb24 or 16-bit rgb48be),
// the reference tool's input, scored by both implementations.
//
// For kind "y4m" both sides are single-frame Y4M files that this package
// scores directly with the pair's Color; the reference tool scores 16-bit
// PNGs converted from them by FFmpeg with the same matrix, range and
// chroma siting (see toRGBFilter).
type pairSpec struct {
	name   string
	kind   string // "png" or "y4m"
	source string // lavfi source graph, e.g. "testsrc2=s=320x180"
	pixFmt string // png: rgb24 or rgb48be; y4m: the Y'CbCr pix_fmt
	// dist is the distortion: "vf:FILTER" (an ffmpeg filter graph),
	// "rav1e:Q" (an AV1 round trip at quantizer Q), "jpeg:Q" (an MJPEG
	// round trip at -q:v Q) or "same".
	dist string

	// y4m pairs only.
	matrix string // swscale name: bt709, bt601 (bt470bg), bt2020
	full   bool   // full range, tagged XCOLORRANGE=FULL
	tag    string // the C tag written to both files, e.g. "420paldv"
	color  Color  // what this package is told
}

func (p pairSpec) recipe() string {
	r := p.source + " " + p.pixFmt + " | " + p.dist
	if p.kind == "y4m" {
		rng := "limited"
		if p.full {
			rng = "full"
		}
		r += fmt.Sprintf(" | C%s %s %s", p.tag, p.matrix, rng)
	}
	return r
}

// pairSpecs are the validation pairs. Sizes include odd ones, and some too
// small for all six scales, which changes how the weights are applied.
var pairSpecs = []pairSpec{
	{name: "testsrc2-same", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "same"},
	{name: "testsrc2-gblur0.7", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:gblur=sigma=0.7"},
	{name: "testsrc2-gblur2", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:gblur=sigma=2"},
	{name: "testsrc2-noise10", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:noise=alls=10:allf=t:all_seed=11"},
	{name: "testsrc2-noise30", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:noise=alls=30:allf=t:all_seed=12"},
	{name: "testsrc2-rav1e40", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "rav1e:40"},
	{name: "testsrc2-rav1e120", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "rav1e:120"},
	{name: "testsrc2-rav1e200", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "rav1e:200"},
	{name: "testsrc2-rav1e255", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "rav1e:255"},
	{name: "testsrc2-yuv420", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:format=yuv420p,format=rgb24"},
	{name: "testsrc2-band3bit", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:lutrgb=r=bitand(val\\,224):g=bitand(val\\,224):b=bitand(val\\,224)"},
	{name: "mandelbrot-161x91-gblur1", kind: "png", source: "mandelbrot=s=161x91", pixFmt: "rgb24", dist: "vf:gblur=sigma=1"},
	{name: "mandelbrot-161x91-noise20", kind: "png", source: "mandelbrot=s=161x91", pixFmt: "rgb24", dist: "vf:noise=alls=20:allf=t:all_seed=13"},
	{name: "mandelbrot-161x91-rav1e100", kind: "png", source: "mandelbrot=s=161x91", pixFmt: "rgb24", dist: "rav1e:100"},
	{name: "mandelbrot-161x91-jpeg8", kind: "png", source: "mandelbrot=s=161x91", pixFmt: "rgb24", dist: "jpeg:8"},
	{name: "smptehdbars-255x143-yuv420", kind: "png", source: "smptehdbars=s=255x143", pixFmt: "rgb24", dist: "vf:format=yuv420p,format=rgb24"},
	{name: "smptehdbars-255x143-rav1e150", kind: "png", source: "smptehdbars=s=255x143", pixFmt: "rgb24", dist: "rav1e:150"},
	{name: "smptehdbars-255x143-band4bit", kind: "png", source: "smptehdbars=s=255x143", pixFmt: "rgb24", dist: "vf:lutrgb=r=bitand(val\\,240):g=bitand(val\\,240):b=bitand(val\\,240)"},
	{name: "cellauto-200x120-gblur1.5", kind: "png", source: "cellauto=s=200x120:rule=110:seed=5", pixFmt: "rgb24", dist: "vf:gblur=sigma=1.5"},
	{name: "cellauto-200x120-jpeg20", kind: "png", source: "cellauto=s=200x120:rule=110:seed=5", pixFmt: "rgb24", dist: "jpeg:20"},
	{name: "life-160x90-rav1e80", kind: "png", source: "life=s=160x90:seed=7:ratio=0.3:mold=10:life_color=#00ff80:death_color=#402000:mold_color=#a0a0ff", pixFmt: "rgb24", dist: "rav1e:80"},
	{name: "life-160x90-noise15", kind: "png", source: "life=s=160x90:seed=7:ratio=0.3:mold=10:life_color=#00ff80:death_color=#402000:mold_color=#a0a0ff", pixFmt: "rgb24", dist: "vf:noise=alls=15:allf=t:all_seed=14"},
	{name: "testsrc2-64x36-gblur1", kind: "png", source: "testsrc2=s=64x36", pixFmt: "rgb24", dist: "vf:gblur=sigma=1"},
	{name: "testsrc2-gray-rav1e100", kind: "png", source: "testsrc2=s=240x136,format=gray", pixFmt: "rgb24", dist: "rav1e:100"},
	{name: "testsrc2-rgb48-gblur1", kind: "png", source: "testsrc2=s=320x180,format=yuv444p10le", pixFmt: "rgb48be", dist: "vf:gblur=sigma=1"},
	{name: "testsrc2-rgb48-rav1e100", kind: "png", source: "testsrc2=s=320x180,format=yuv444p10le", pixFmt: "rgb48be", dist: "rav1e:100"},
	{name: "mandelbrot-rgb48-noise10", kind: "png", source: "mandelbrot=s=256x143,format=yuv444p10le", pixFmt: "rgb48be", dist: "vf:noise=alls=10:allf=t:all_seed=15"},
	{name: "mandelbrot-rgb48-rav1e180", kind: "png", source: "mandelbrot=s=256x143,format=yuv444p10le", pixFmt: "rgb48be", dist: "rav1e:180"},
	{name: "smptehdbars-rgb48-band", kind: "png", source: "smptehdbars=s=320x180,format=yuv444p10le", pixFmt: "rgb48be", dist: "vf:format=rgb24,format=rgb48be"},
	{name: "testsrc2-hue", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:hue=h=12:s=0.8"},
	{name: "testsrc2-scale-half", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:scale=160:90:flags=bilinear,scale=320:180:flags=bicubic"},
	{name: "testsrc2-sharpen", kind: "png", source: "testsrc2=s=320x180", pixFmt: "rgb24", dist: "vf:unsharp=5:5:1.5:5:5:0"},

	{name: "y4m-444-709-rav1e120", kind: "y4m", source: "testsrc2=s=320x180", pixFmt: "yuv444p", dist: "rav1e:120",
		matrix: "bt709", tag: "444", color: Color{Matrix: BT709}},
	{name: "y4m-444p10-709-full-noise", kind: "y4m", source: "mandelbrot=s=255x143", pixFmt: "yuv444p10le", dist: "vf:noise=alls=12:allf=t:all_seed=16",
		matrix: "bt709", full: true, tag: "444p10", color: Color{}},
	{name: "y4m-444-601-rav1e150", kind: "y4m", source: "testsrc2=s=320x180", pixFmt: "yuv444p", dist: "rav1e:150",
		matrix: "bt601", tag: "444", color: Color{Matrix: BT601}},
	{name: "y4m-444-2020-gblur1", kind: "y4m", source: "smptehdbars=s=320x180", pixFmt: "yuv444p", dist: "vf:gblur=sigma=1",
		matrix: "bt2020", tag: "444", color: Color{Matrix: BT2020}},
	{name: "y4m-420paldv-709-rav1e100", kind: "y4m", source: "testsrc2=s=320x180", pixFmt: "yuv420p", dist: "rav1e:100",
		matrix: "bt709", tag: "420paldv", color: Color{}},
	{name: "y4m-420paldv-256x144-rav1e160", kind: "y4m", source: "mandelbrot=s=256x144", pixFmt: "yuv420p", dist: "rav1e:160",
		matrix: "bt709", tag: "420paldv", color: Color{Matrix: BT709, Range: RangeLimited}},
	{name: "y4m-420p10-709-rav1e120", kind: "y4m", source: "testsrc2=s=320x180", pixFmt: "yuv420p10le", dist: "rav1e:120",
		matrix: "bt709", tag: "420p10", color: Color{}},
	{name: "y4m-420jpeg-709-rav1e100", kind: "y4m", source: "mandelbrot=s=320x180", pixFmt: "yuv420p", dist: "rav1e:100",
		matrix: "bt709", tag: "420jpeg", color: Color{}},
	{name: "y4m-420mpeg2-709-gblur1", kind: "y4m", source: "testsrc2=s=320x180", pixFmt: "yuv420p", dist: "vf:gblur=sigma=1",
		matrix: "bt709", tag: "420mpeg2", color: Color{}},
	{name: "y4m-422-709-gblur1", kind: "y4m", source: "testsrc2=s=320x180", pixFmt: "yuv422p", dist: "vf:gblur=sigma=1",
		matrix: "bt709", tag: "422", color: Color{}},
}

// toRGBFilter returns the ffmpeg filter that converts a Y4M pair's frames
// to 16-bit RGB for the reference tool. swscale upsamples the chroma
// bilinearly at the tag's siting (in_h_chr_pos and in_v_chr_pos are in
// 1/256 of a luma sample), which it does exactly as this package does; zimg
// then applies the matrix and range in floating point. (swscale's own
// Y'CbCr to RGB conversion is off by about 255/256 in range, and zimg's
// chroma upsampling in FFmpeg 5.1 is not bilinear.)
func toRGBFilter(p pairSpec) string {
	rng := "limited"
	if p.full {
		rng = "full"
	}
	matrix := map[string]string{"bt709": "709", "bt601": "470bg", "bt2020": "2020_ncl"}[p.matrix]
	rgb := fmt.Sprintf("zscale=m=gbr:min=%s:rin=%s:d=none,format=gbrp16le", matrix, rng)
	var h, v int
	switch {
	case strings.HasPrefix(p.tag, "444"):
		return rgb
	case strings.HasPrefix(p.tag, "422"), p.tag == "420paldv":
		h, v = 0, 0
	case p.tag == "420mpeg2":
		h, v = 0, 128
	default: // 420, 420jpeg, 420p10
		h, v = 128, 128
	}
	// swscale derives the chroma scale factor from the plane sizes, which
	// is not exactly 2 for odd sizes: Y4M pairs with chroma subsampling are
	// even-sized.
	return fmt.Sprintf("scale=in_h_chr_pos=%d:in_v_chr_pos=%d:out_h_chr_pos=0:out_v_chr_pos=0:%s,format=yuv444p16le,%s",
		h, v, swsFlags, rgb)
}

// A pairFiles is a generated pair: the files this package scores and the
// files the reference tool scores (the same for PNG pairs).
type pairFiles struct {
	ref, dist       string
	refPNG, distPNG string
	md5             string // of ref and dist, "refmd5/distmd5"
}

// needTools skips the test when ffmpeg or rav1e is not installed, and
// under -short.
func needTools(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs ffmpeg and rav1e: skipped under -short")
	}
	for _, tool := range []string{"ffmpeg", "rav1e"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found in PATH: the reference pairs are generated with ffmpeg and rav1e", tool)
		}
	}
}

var (
	genOnce  sync.Once
	genDir   string
	genFiles []pairFiles
	genErr   error
)

// generateAll returns the files of every pair of pairSpecs, in order,
// generating them on first use in a directory shared by the tests of this
// run (TestMain removes it).
func generateAll(t testing.TB) []pairFiles {
	t.Helper()
	genOnce.Do(func() {
		genDir, genErr = os.MkdirTemp("", "ssimulacra2-pairs-")
		if genErr == nil {
			genFiles, genErr = generatePairs(context.Background(), genDir, pairSpecs)
		}
	})
	if genErr != nil {
		t.Fatalf("generate pairs: %v", genErr)
	}
	return genFiles
}

// A genPlan collects the work of generating pairs. Starting ffmpeg costs
// more than making a small frame, so one ffmpeg run makes every reference
// and every filtered distortion, rav1e encodes, and a second ffmpeg run
// decodes the JPEG and AV1 files.
type genPlan struct {
	dir    string
	inputs []string // lavfi sources of the first run
	graph  []string // its filter chains
	outs   []string // its output options and files
	labels int

	encodes [][]string // rav1e arguments

	decIn, decGraph, decOuts []string // the second run
}

func (g *genPlan) label() string {
	g.labels++
	return fmt.Sprintf("[l%d]", g.labels)
}

// split returns n labels fed by the chain from in through filters.
func (g *genPlan) split(graph *[]string, in, filters string, n int) []string {
	ls := make([]string, n)
	chain := in + filters + fmt.Sprintf(",split=%d", n)
	for i := range ls {
		ls[i] = g.label()
		chain += ls[i]
	}
	*graph = append(*graph, chain)
	return ls
}

// generatePairs writes the files of specs into dir.
func generatePairs(ctx context.Context, dir string, specs []pairSpec) ([]pairFiles, error) {
	g := &genPlan{dir: dir}
	files := make([]pairFiles, len(specs))

	// PNG pairs, grouped by source.
	type group struct {
		source, pixFmt string
		idx            []int
	}
	var groups []*group
	for i, p := range specs {
		if p.kind != "png" {
			continue
		}
		var gr *group
		for _, x := range groups {
			if x.source == p.source && x.pixFmt == p.pixFmt {
				gr = x
			}
		}
		if gr == nil {
			gr = &group{source: p.source, pixFmt: p.pixFmt}
			groups = append(groups, gr)
		}
		gr.idx = append(gr.idx, i)
	}
	for gi, gr := range groups {
		in := fmt.Sprintf("[%d:v]", len(g.inputs))
		g.inputs = append(g.inputs, gr.source)
		ls := g.split(&g.graph, in, "format="+gr.pixFmt, len(gr.idx)+1)
		ref := filepath.Join(dir, fmt.Sprintf("g%d-ref.png", gi))
		g.outs = append(g.outs, "-map", ls[0], "-frames:v", "1", ref)
		for k, i := range gr.idx {
			p := specs[i]
			dist := filepath.Join(dir, p.name+".png")
			files[i] = pairFiles{ref: ref, dist: dist, refPNG: ref, distPNG: dist}
			if err := g.addPNG(p, ls[k+1], dist); err != nil {
				return nil, err
			}
		}
	}

	// Y4M pairs, one lavfi input each.
	for i, p := range specs {
		if p.kind != "y4m" {
			continue
		}
		f := pairFiles{
			ref:     filepath.Join(dir, p.name+"-ref.y4m"),
			dist:    filepath.Join(dir, p.name+"-dist.y4m"),
			refPNG:  filepath.Join(dir, p.name+"-ref.png"),
			distPNG: filepath.Join(dir, p.name+"-dist.png"),
		}
		files[i] = f
		if err := g.addY4M(p, f); err != nil {
			return nil, err
		}
	}

	var args []string
	for _, src := range g.inputs {
		args = append(args, "-f", "lavfi", "-i", src)
	}
	args = append(args, "-filter_complex", strings.Join(g.graph, ";"))
	if err := ffmpeg(ctx, append(args, g.outs...)...); err != nil {
		return nil, err
	}
	// rav1e reads the Y4M tags, so they are set before encoding.
	for i, p := range specs {
		if p.kind == "y4m" {
			if err := setY4MHeader(files[i].ref, y4mHeader(p)); err != nil {
				return nil, err
			}
		}
	}
	enc, ectx := errgroup.WithContext(ctx)
	enc.SetLimit(runtime.GOMAXPROCS(0))
	for _, e := range g.encodes {
		enc.Go(func() error { return run(ectx, "rav1e", e...) })
	}
	if err := enc.Wait(); err != nil {
		return nil, err
	}
	if len(g.decIn) > 0 {
		args := append(slices.Clone(g.decIn), "-filter_complex", strings.Join(g.decGraph, ";"))
		if err := ffmpeg(ctx, append(args, g.decOuts...)...); err != nil {
			return nil, err
		}
	}
	for i, p := range specs {
		if p.kind == "y4m" {
			if err := setY4MHeader(files[i].dist, y4mHeader(p)); err != nil {
				return nil, err
			}
		}
		var err error
		if files[i].md5, err = md5Pair(files[i].ref, files[i].dist); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// addPNG plans the distorted PNG of a PNG pair from the reference frame at
// label src.
func (g *genPlan) addPNG(p pairSpec, src, dist string) error {
	kind, arg, _ := strings.Cut(p.dist, ":")
	switch kind {
	case "same":
		g.outs = append(g.outs, "-map", src, "-frames:v", "1", dist)
	case "vf":
		l := g.label()
		g.graph = append(g.graph, src+arg+",format="+p.pixFmt+l)
		g.outs = append(g.outs, "-map", l, "-frames:v", "1", dist)
	case "jpeg":
		jpg := filepath.Join(g.dir, p.name+".jpg")
		g.outs = append(g.outs, "-map", src, "-frames:v", "1", "-q:v", arg, jpg)
		g.decode(jpg, "format="+p.pixFmt, "-frames:v", "1", dist)
	case "rav1e":
		// What ffmpeg makes of the reference PNG: BT.709 limited-range
		// 4:2:0, 10-bit for 16-bit sources.
		yuv := "yuv420p"
		if p.pixFmt == "rgb48be" {
			yuv = "yuv420p10le"
		}
		y4m := filepath.Join(g.dir, p.name+".y4m")
		ivf := filepath.Join(g.dir, p.name+".ivf")
		l := g.label()
		g.graph = append(g.graph, fmt.Sprintf("%sscale=out_color_matrix=bt709:out_range=tv:%s,format=%s%s", src, swsFlags, yuv, l))
		g.outs = append(g.outs, "-map", l, "-frames:v", "1", "-strict", "-1", y4m)
		g.encodes = append(g.encodes, []string{y4m, "-o", ivf, "--speed", "10", "--quantizer", arg, "--threads", "1", "-y"})
		g.decode(ivf, "scale=in_color_matrix=bt709:in_range=tv:"+swsFlags+",format="+p.pixFmt, "-frames:v", "1", dist)
	default:
		return fmt.Errorf("%s: unknown distortion %q", p.name, p.dist)
	}
	return nil
}

// decode plans the second run's conversion of file through filters to out
// (output options then the output file).
func (g *genPlan) decode(file, filters string, out ...string) {
	in := fmt.Sprintf("[%d:v]", len(g.decIn)/2)
	g.decIn = append(g.decIn, "-i", file)
	l := g.label()
	g.decGraph = append(g.decGraph, in+filters+l)
	g.decOuts = append(g.decOuts, "-map", l)
	g.decOuts = append(g.decOuts, out...)
}

// addY4M plans a Y4M pair: the reference Y4M from the lavfi source, the
// distorted Y4M from it, and their 16-bit RGB conversions.
func (g *genPlan) addY4M(p pairSpec, f pairFiles) error {
	rng := "tv"
	if p.full {
		rng = "pc"
	}
	toRGB := toRGBFilter(p)
	yuvOut := []string{"-frames:v", "1", "-pix_fmt", p.pixFmt, "-color_range", rng, "-strict", "-1"}
	in := fmt.Sprintf("[%d:v]", len(g.inputs))
	g.inputs = append(g.inputs, p.source)
	toYUV := fmt.Sprintf("scale=out_color_matrix=%s:out_range=%s:%s,format=%s", p.matrix, rng, swsFlags, p.pixFmt)

	kind, arg, _ := strings.Cut(p.dist, ":")
	ls := g.split(&g.graph, in, toYUV, 3)
	g.outs = append(g.outs, "-map", ls[0])
	g.outs = append(g.outs, yuvOut...)
	g.outs = append(g.outs, f.ref)
	rgb := g.label()
	g.graph = append(g.graph, ls[1]+toRGB+rgb)
	g.outs = append(g.outs, "-map", rgb, "-frames:v", "1", "-pix_fmt", "rgb48be", f.refPNG)

	// The distorted frame, from label src of graph, to the Y4M and RGB.
	distOut := func(graph *[]string, outs *[]string, src, filters string) {
		ds := g.split(graph, src, filters+"format="+p.pixFmt, 2)
		*outs = append(*outs, "-map", ds[0])
		*outs = append(*outs, yuvOut...)
		*outs = append(*outs, f.dist)
		rgb := g.label()
		*graph = append(*graph, ds[1]+toRGB+rgb)
		*outs = append(*outs, "-map", rgb, "-frames:v", "1", "-pix_fmt", "rgb48be", f.distPNG)
	}
	switch kind {
	case "vf":
		distOut(&g.graph, &g.outs, ls[2], arg+",")
	case "rav1e":
		g.graph = append(g.graph, ls[2]+"nullsink")
		ivf := filepath.Join(g.dir, p.name+".ivf")
		g.encodes = append(g.encodes, []string{f.ref, "-o", ivf, "--speed", "10", "--quantizer", arg, "--threads", "1", "-y"})
		src := fmt.Sprintf("[%d:v]", len(g.decIn)/2)
		g.decIn = append(g.decIn, "-i", ivf)
		distOut(&g.decGraph, &g.decOuts, src, "")
	default:
		return fmt.Errorf("%s: unknown distortion %q", p.name, p.dist)
	}
	return nil
}

// swsFlags makes swscale interpolate chroma bilinearly at full resolution
// and round accurately.
const swsFlags = "flags=bilinear+accurate_rnd+full_chroma_int+full_chroma_inp"

// y4mHeader is the header both files of a Y4M pair get: the pair's C tag
// and, for full range, FFmpeg's range tag.
func y4mHeader(p pairSpec) string {
	var w, h string
	for _, opt := range strings.Split(strings.SplitN(p.source, "=", 2)[1], ":") {
		if size, ok := strings.CutPrefix(opt, "s="); ok {
			w, h, _ = strings.Cut(strings.SplitN(size, ",", 2)[0], "x")
		}
	}
	hdr := fmt.Sprintf("YUV4MPEG2 W%s H%s F25:1 Ip A1:1 C%s", w, h, p.tag)
	if p.full {
		hdr += " XCOLORRANGE=FULL"
	}
	return hdr
}

// md5Pair returns "refmd5/distmd5".
func md5Pair(ref, dist string) (string, error) {
	a, err := md5File(ref)
	if err != nil {
		return "", err
	}
	b, err := md5File(dist)
	if err != nil {
		return "", err
	}
	return a + "/" + b, nil
}

// setY4MHeader replaces the header line of a Y4M file.
func setY4MHeader(path, hdr string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return fmt.Errorf("%s: no header", path)
	}
	return os.WriteFile(path, append([]byte(hdr+"\n"), rest...), 0o644)
}

func ffmpeg(ctx context.Context, args ...string) error {
	return run(ctx, "ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...)
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func md5File(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:]), nil
}

// loadPNG reads a PNG file as an Image.
func loadPNG(t testing.TB, path string) *Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return FromImage(im)
}
