package verify

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/quality"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/ssimulacra2"
)

// metricClips are the files TestMeasure and TestPlot share: a lossless
// 48-frame source and AV1 encodes of it, made once.
type metricClips struct {
	dir, src string
	lo, hi   string // rav1e at quantizers 40 and 200, a keyframe every 16 frames
	mkv      string // librav1e in Matroska, a keyframe every 24 frames
	short    string // the first 40 frames only
	once     sync.Once
	err      error
}

var clips metricClips

// metricFiles makes the clips on first use; it skips the test unless
// ffmpeg with librav1e, rav1e and dav1d are installed.
func metricFiles(t *testing.T) *metricClips {
	t.Helper()
	needFFmpeg(t)
	if err := tools.Check(tools.Rav1e, tools.Dav1d); err != nil {
		t.Skip(err)
	}
	clips.once.Do(func() {
		dir, err := os.MkdirTemp("", "av1job-metric-")
		if err != nil {
			clips.err = err
			return
		}
		c := &clips
		c.dir = dir
		c.src = filepath.Join(dir, "source.mkv")
		y4m := filepath.Join(dir, "source.y4m")
		c.lo, c.hi = filepath.Join(dir, "q40.ivf"), filepath.Join(dir, "q200.ivf")
		c.mkv, c.short = filepath.Join(dir, "g24.mkv"), filepath.Join(dir, "short.ivf")
		run := func(name string, args ...string) {
			if c.err == nil {
				if _, err := tools.Output(context.Background(), name, args...); err != nil {
					c.err = err
				}
			}
		}
		ff := []string{"-nostdin", "-v", "error", "-y"}
		run(tools.FFmpeg, append(ff, "-f", "lavfi", "-i", "testsrc2="+clipSize, "-frames:v", "48",
			"-pix_fmt", "yuv420p", "-c:v", "ffv1", "-g", "1", c.src)...)
		run(tools.FFmpeg, append(ff, "-i", c.src, "-f", "yuv4mpegpipe", y4m)...)
		rav1e := []string{"-q", "-y", "-s", "10", "--keyint", "16", "--min-keyint", "16", "--threads", "1"}
		run(tools.Rav1e, append(rav1e, "--quantizer", "40", "-o", c.lo, y4m)...)
		run(tools.Rav1e, append(rav1e, "--quantizer", "200", "-o", c.hi, y4m)...)
		run(tools.FFmpeg, append(ff, "-i", c.lo, "-c", "copy", "-frames:v", "40", c.short)...)
		run(tools.FFmpeg, append(ff, "-i", c.src, "-c:v", "librav1e", "-speed", "10", "-qp", "80", "-g", "24", c.mkv)...)
	})
	if clips.err != nil {
		t.Fatal(clips.err)
	}
	return &clips
}

func TestMain(m *testing.M) {
	code := m.Run()
	if clips.dir != "" {
		os.RemoveAll(clips.dir)
	}
	os.Exit(code)
}

func TestMeasure(t *testing.T) {
	c := metricFiles(t)
	results := map[string]*Quality{}
	cases := []struct {
		name, out, metric, stat string
		starts                  []int   // the chunks' first frames
		atLeast                 float64 // the lowest acceptable score of any frame
	}{
		{name: "rav1e q40", out: c.lo, metric: quality.SSIMULACRA2, starts: []int{0, 16, 32}},
		{name: "rav1e q200", out: c.hi, metric: quality.SSIMULACRA2, starts: []int{0, 16, 32}},
		{name: "librav1e mkv", out: c.mkv, metric: quality.SSIMULACRA2, stat: quality.StatP5, starts: []int{0, 24}},
		// ffv1 makes every frame a keyframe: a chunk each.
		{name: "identical", out: c.src, metric: quality.SSIMULACRA2, stat: quality.StatMin, starts: seq(48), atLeast: 99},
		{name: "identical psnr", out: c.src, metric: quality.PSNR, starts: seq(48), atLeast: 100},
	}
	// Not parallel: scoring keeps the CPU busy.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Measure(context.Background(), c.src, tc.out, MetricOptions{Metric: tc.metric, Stat: tc.stat})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(q.Summary())
			results[tc.name] = q
			if len(q.Scores) != 48 {
				t.Fatalf("%d scores, want 48", len(q.Scores))
			}
			var starts []int
			end := 0
			for _, ch := range q.Chunks {
				starts = append(starts, ch.Start)
				if ch.Start != end || ch.End <= ch.Start || ch.Bytes <= 0 || ch.Kbps <= 0 {
					t.Errorf("chunk %+v after frame %d", ch, end)
				}
				end = ch.End
			}
			if end != 48 || !reflect.DeepEqual(starts, tc.starts) {
				t.Errorf("chunks start at %v and end at %d, want %v and 48", starts, end, tc.starts)
			}
			stat := tc.stat
			if stat == "" {
				stat = quality.StatMean
			}
			w := q.Chunks[q.Worst]
			for _, ch := range q.Chunks {
				if ch.Score < w.Score {
					t.Errorf("chunk at %d scores %.2f, below the worst %.2f", ch.Start, ch.Score, w.Score)
				}
				if want := quality.Stat(q.Scores[ch.Start:ch.End], stat); ch.Score != want {
					t.Errorf("chunk at %d scores %.2f, want %s %.2f", ch.Start, ch.Score, stat, want)
				}
			}
			if q.Min < tc.atLeast || !(q.Min <= q.P5 && q.P5 <= q.Mean) {
				t.Errorf("min %.2f p5 %.2f mean %.2f, want min at least %g", q.Min, q.P5, q.Mean, tc.atLeast)
			}
		})
	}
	// A higher quantizer scores lower, on the whole and in every chunk,
	// with fewer bytes.
	if lo, hi := results["rav1e q40"], results["rav1e q200"]; lo != nil && hi != nil {
		if hi.Mean >= lo.Mean-1 {
			t.Errorf("q200 mean %.2f, q40 mean %.2f: want clearly lower", hi.Mean, lo.Mean)
		}
		for i := range lo.Chunks {
			if hi.Chunks[i].Score >= lo.Chunks[i].Score || hi.Chunks[i].Bytes >= lo.Chunks[i].Bytes {
				t.Errorf("chunk %d: q200 %+v, q40 %+v", i, hi.Chunks[i], lo.Chunks[i])
			}
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestMeasureBadInput(t *testing.T) {
	c := metricFiles(t)
	text := filepath.Join(t.TempDir(), "notes.mkv")
	if err := os.WriteFile(text, []byte("not a video\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.mkv")
	cases := []struct {
		name, src, out string
		opt            MetricOptions
		inputErr       string // the path the *probe.InputError names, or ""
		want           string // in the error's message
		is             error
	}{
		{name: "missing output", src: c.src, out: missing, opt: MetricOptions{Metric: quality.PSNR}, inputErr: missing},
		{name: "missing source", src: missing, out: c.lo, opt: MetricOptions{Metric: quality.PSNR}, inputErr: missing},
		{name: "not a video", src: c.src, out: text, opt: MetricOptions{Metric: quality.PSNR}, inputErr: text},
		{name: "unknown metric", src: c.src, out: c.lo, opt: MetricOptions{Metric: "vmaf"}, want: `unknown metric "vmaf"`},
		{name: "unknown stat", src: c.src, out: c.lo, opt: MetricOptions{Metric: quality.PSNR, Stat: "median"}, want: `unknown statistic "median"`},
		{name: "fewer frames", src: c.src, out: c.short, opt: MetricOptions{Metric: quality.PSNR}, is: ssimulacra2.ErrFrameCount},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Measure(context.Background(), tc.src, tc.out, tc.opt)
			if err == nil {
				t.Fatalf("no error: %s", q.Summary())
			}
			t.Log(err)
			var ie *probe.InputError
			switch {
			case tc.inputErr != "" && (!errors.As(err, &ie) || ie.Path != tc.inputErr):
				t.Errorf("error %v, want a *probe.InputError for %s", err, tc.inputErr)
			case tc.inputErr == "" && errors.As(err, &ie):
				t.Errorf("error %v is an input error", err)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %v, want %q", err, tc.want)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("error %v, want %v", err, tc.is)
			}
		})
	}
}

func TestChunks(t *testing.T) {
	key := func(size int64) packet { return packet{size: size, key: true} }
	inter := func(size int64) packet { return packet{size: size} }
	scores := []float64{10, 20, 30, 40, 50, 60}
	cases := []struct {
		name    string
		packets []packet
		fps     float64
		want    []ChunkQuality
	}{
		{name: "two chunks", packets: []packet{key(100), inter(10), inter(10), key(200), inter(20), inter(20)}, fps: 3,
			want: []ChunkQuality{{0, 3, 20, 120, 0.96}, {3, 6, 50, 240, 1.92}}},
		{name: "no keyframe flags", packets: []packet{inter(1), inter(1), inter(1), inter(1), inter(1), inter(1)}, fps: 6,
			want: []ChunkQuality{{0, 6, 35, 6, 0.048}}},
		{name: "no packets", fps: 6, want: []ChunkQuality{{0, 6, 35, 0, 0}}},
		{name: "frame rate unknown", packets: []packet{key(100), inter(10), inter(10), inter(10), inter(10), inter(10)},
			want: []ChunkQuality{{0, 6, 35, 150, 0}}},
		{name: "more packets than frames", packets: []packet{key(10), inter(10), inter(10), key(10), inter(10), inter(10), key(10), inter(10)}, fps: 1,
			want: []ChunkQuality{{0, 3, 20, 30, 0.08}, {3, 6, 50, 50, 0.08}}},
		{name: "fewer packets than frames", packets: []packet{key(10), inter(10), inter(10), key(10)}, fps: 1,
			want: []ChunkQuality{{0, 3, 20, 30, 0.08}, {3, 6, 50, 10, 0.08}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := chunks(scores, tc.packets, quality.StatMean, tc.fps)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Start != w.Start || g.End != w.End || g.Score != w.Score || g.Bytes != w.Bytes || math.Abs(g.Kbps-w.Kbps) > 1e-9 {
					t.Errorf("chunk %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParsePackets(t *testing.T) {
	got, err := parsePackets("size=4846|flags=K_\nsize=3|flags=__\n\nsize=12|flags=KD\n")
	want := []packet{{4846, true}, {3, false}, {12, true}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"flags=K_", "size=x|flags=K_"} {
		if _, err := parsePackets(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// svgCounts counts the elements of an SVG document by name and class, and
// collects its text; it fails the test unless the document is well-formed
// XML with an svg root.
func svgCounts(t *testing.T, doc []byte) (counts map[string]int, text string) {
	t.Helper()
	counts = map[string]int{}
	var b strings.Builder
	d := xml.NewDecoder(bytes.NewReader(doc))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			counts[tok.Name.Local]++
			for _, a := range tok.Attr {
				if a.Name.Local == "class" {
					counts[tok.Name.Local+"."+a.Value]++
				}
			}
		case xml.CharData:
			b.Write(tok)
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return counts, b.String()
}

func TestPlot(t *testing.T) {
	c := metricFiles(t)
	q, err := Measure(context.Background(), c.src, c.lo, MetricOptions{Metric: quality.SSIMULACRA2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "plot.svg")
	if err := WritePlot(path, q); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts, text := svgCounts(t, doc)
	if counts["line.boundary"] != 2 || counts["rect"] < 3 || counts["polyline.score"] != 1 {
		t.Errorf("elements %v: want 2 boundary lines, a bar per chunk and a score line", counts)
	}
	for _, w := range []string{"SSIMULACRA2 of q40.ivf against source.mkv", "frame", "kbit/s per chunk"} {
		if !strings.Contains(text, w) {
			t.Errorf("no %q in the SVG's text", w)
		}
	}

	// File names are escaped; every chunk boundary is drawn.
	names := *q
	names.Source, names.Output = `a&b <"c">.mkv`, "d'e.ivf"
	names.Chunks = []ChunkQuality{{0, 10, 70, 10, 1}, {10, 20, 60, 10, 2}, {20, 30, 50, 10, 3}, {30, 48, 40, 10, 4}}
	counts, text = svgCounts(t, names.SVG())
	if counts["line.boundary"] != 3 || !strings.Contains(text, `of d'e.ivf against a&b <"c">.mkv`) {
		t.Errorf("elements %v, text %q", counts, text)
	}
	// No frames at all still draws.
	svgCounts(t, (&Quality{Metric: quality.PSNR, Worst: -1}).SVG())

	t.Run("failing path leaves no file", func(t *testing.T) {
		sub := filepath.Join(dir, "taken.svg") // a directory where the file should go
		if err := os.Mkdir(sub, 0o777); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(dir, "missing", "plot.svg"), sub} {
			if err := WritePlot(p, q); err == nil {
				t.Errorf("%s: no error", p)
			} else {
				t.Log(err)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !reflect.DeepEqual(names, []string{"plot.svg", "taken.svg"}) {
			t.Errorf("directory holds %q, want the first plot and the directory only", names)
		}
		if st, err := os.Stat(sub); err != nil || !st.IsDir() {
			t.Errorf("%s is no longer a directory", sub)
		}
	})
}

func TestNiceTicks(t *testing.T) {
	cases := []struct {
		lo, hi   float64
		n        int
		want     []float64
		from, to float64
	}{
		{60.8, 83.3, 5, []float64{60, 65, 70, 75, 80, 85}, 60, 85},
		{0, 72, 8, []float64{0, 10, 20, 30, 40, 50, 60, 70, 80}, 0, 80},
		{0, 0, 5, []float64{-1, -0.5, 0, 0.5, 1}, -1, 1},
		{100, 100, 5, []float64{99, 99.5, 100, 100.5, 101}, 99, 101},
		{math.NaN(), 3, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, 0, 1},
	}
	for _, tc := range cases {
		got, from, to := niceTicks(tc.lo, tc.hi, tc.n)
		if !reflect.DeepEqual(got, tc.want) || from != tc.from || to != tc.to {
			t.Errorf("niceTicks(%g, %g, %d) = %v, %g, %g; want %v, %g, %g", tc.lo, tc.hi, tc.n, got, from, to, tc.want, tc.from, tc.to)
		}
	}
	if s := tickText(0.5, []float64{0, 0.5}); s != "0.5" {
		t.Errorf("tickText 0.5 = %q", s)
	}
	if s := tickText(200, []float64{0, 200}); s != strconv.Itoa(200) {
		t.Errorf("tickText 200 = %q", s)
	}
}
