// Command costfit calibrates the chunk cost model of package plan: it
// renders clips of hard-cut shots from varied sources (package scenebench),
// measures each shot's features with av1job's scene pass, times rav1e
// (--threads 1, CPU seconds) on each shot at speeds 10 and 6 and at three
// quantizers, fits the model's coefficients by least squares, and reports
// the fit, and the rank correlation (Spearman) of predicted and measured
// cost on held-out shots it was not fitted on.
//
//	go run ./tools/costfit            # about 6 minutes on 2 cores; clips cached
//
// Paste the printed coefficients into internal/plan/cost.go.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/scenebench"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/stats"
)

// shot is one measured shot.
type shot struct {
	file    string // the clip's cached file: its name holds the recipe's hash
	clip    string
	name    string
	frames  int
	w, h    int
	feat    plan.Features
	cpu     map[[2]int]float64 // {speed, quantizer} -> CPU seconds
	heldOut bool
}

func main() {
	jobs := flag.Int("j", 2, "encodes at once")
	flag.Parse()
	ctx := context.Background()
	dir, err := scenebench.CacheDir()
	check(err)
	work, err := os.MkdirTemp("", "av1job-costfit-")
	check(err)
	defer os.RemoveAll(work)

	f := scenebench.Frame{W: 640, H: 360, Rate: 24}
	fit := scenebench.Clip{Name: "costfit", Frame: f}
	for _, s := range fitSources() {
		fit.Shots = append(fit.Shots, scenebench.Shot{Src: s, Frames: 48})
	}
	clips := []scenebench.Clip{fit}
	for _, c := range scenebench.HeldOut(7, 3, 360) {
		// Hard cuts only: a shot is then exactly a chunk.
		for i := range c.Shots {
			c.Shots[i].How, c.Shots[i].In, c.Shots[i].Flashes = scenebench.Cut, 0, nil
		}
		c.Name = "costfit-" + c.Name
		clips = append(clips, c)
	}

	var shots []*shot
	var encodes []func()
	for ci, c := range clips {
		path, err := scenebench.Generate(ctx, c, dir)
		check(err)
		src, err := probe.Probe(ctx, path)
		check(err)
		a, err := scene.Analyze(ctx, src, scene.Options{})
		check(err)
		start := 0
		for k, s := range c.Shots {
			sh := &shot{file: filepath.Base(path), clip: c.Name, name: fmt.Sprintf("%s/%d", c.Name, k), frames: s.Frames, w: src.Video.Width, h: src.Video.Height,
				feat: plan.Measure(a.Detail, a.Motion, a.Bytes, src.Video.Width, src.Video.Height, start, start+s.Frames), cpu: map[[2]int]float64{}, heldOut: ci > 0}
			shots = append(shots, sh)
			y4m := filepath.Join(work, fmt.Sprintf("%d-%d.y4m", ci, k))
			check(extract(ctx, src, a, start, start+s.Frames, y4m))
			for _, sp := range []int{10, 6} {
				qs := []int{100}
				if !sh.heldOut && k%3 == 0 {
					qs = []int{60, 100, 150}
				}
				for _, q := range qs {
					encodes = append(encodes, func() { sh.cpu[[2]int{sp, q}] = encode(y4m, sp, q) })
				}
			}
			start += s.Frames
		}
	}
	fmt.Fprintf(os.Stderr, "costfit: %d shots, %d encodes\n", len(shots), len(encodes))
	timings := filepath.Join(dir, "costfit-timings.json")
	if !loadTimings(timings, shots) {
		run(encodes, *jobs)
		saveTimings(timings, shots)
	}

	for _, sp := range []int{10, 6} {
		m := fitSpeed(shots, sp)
		fmt.Printf("speed %d: %s\n", sp, m)
		report(shots, sp, m)
	}
}

// loadTimings reads the measured CPU times of an earlier run (the clips are
// the same: their names hold their recipes' hashes); false when there are
// none for these shots.
func loadTimings(path string, shots []*shot) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var t map[string]map[string]float64
	if json.Unmarshal(b, &t) != nil {
		return false
	}
	for _, s := range shots {
		m, ok := t[s.key()]
		if !ok {
			return false
		}
		for k, v := range m {
			var sp, q int
			fmt.Sscanf(k, "%d/%d", &sp, &q)
			s.cpu[[2]int{sp, q}] = v
		}
	}
	return true
}

func saveTimings(path string, shots []*shot) {
	t := map[string]map[string]float64{}
	for _, s := range shots {
		m := map[string]float64{}
		for k, v := range s.cpu {
			m[fmt.Sprintf("%d/%d", k[0], k[1])] = v
		}
		t[s.key()] = m
	}
	b, _ := json.Marshal(t)
	check(os.WriteFile(path, b, 0o644))
}

// fitSources are the shots the model is fitted on: cheap and expensive
// pictures, still and moving, fine and coarse.
func fitSources() []scenebench.Source {
	sb := scenebench.Lavfi
	return []scenebench.Source{
		scenebench.Testsrc2, scenebench.Testsrc, scenebench.HDBars, scenebench.SDBars,
		scenebench.Mandelbrot, scenebench.MandelbrotZoom, scenebench.Life(1), scenebench.LifeRaw(1),
		scenebench.Cellauto, scenebench.Sierpinski(1), scenebench.Noisy(scenebench.Testsrc2, 12),
		scenebench.Noisy(scenebench.HDBars, 30), scenebench.OnTwos(scenebench.Mandelbrot),
		scenebench.Shake(scenebench.Testsrc2, 0.02), sb("rgbtestsrc", ""), sb("pal75bars", ""),
		sb("colorspectrum", ""), sb("yuvtestsrc", ""), scenebench.With(scenebench.Testsrc2, "hue=H=t"),
		scenebench.Noisy(sb("color", "c=gray"), 4), scenebench.LifeRaw(2), scenebench.Sierpinski(3),
	}
}

// extract writes frames [start,end) of src as Y4M, exactly, as av1job reads
// a chunk.
func extract(ctx context.Context, src *probe.Source, a *scene.Analysis, start, end int, out string) error {
	r := source.Range{Path: src.Path, Stream: src.Video.Index, PixFmt: "yuv420p", PTS: a.PTS, TimeBase: new(big.Rat).Set(a.TimeBase), Start: start, End: end}
	fr, err := source.Open(ctx, r)
	if err != nil {
		return err
	}
	defer fr.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\n", fr.Header().Raw)
	buf := make([]byte, fr.FrameSize())
	for range end - start {
		if err := fr.ReadFrame(buf); err != nil {
			return err
		}
		f.WriteString("FRAME\n")
		f.Write(buf)
	}
	return fr.Close()
}

// encode runs rav1e on one shot and returns its CPU time in seconds.
func encode(y4m string, speed, q int) float64 {
	cmd := exec.Command("rav1e", y4m, "-o", "/dev/null", "-y", "--quiet", "--threads", "1", "--no-scene-detection", "--keyint", "0",
		"--speed", strconv.Itoa(speed), "--quantizer", strconv.Itoa(q))
	out, err := cmd.CombinedOutput()
	if err != nil {
		check(fmt.Errorf("rav1e %s: %v: %s", y4m, err, out))
	}
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

func (s *shot) key() string { return fmt.Sprintf("%s/%s/%d", s.file, s.name, s.frames) }

func run(fs []func(), n int) {
	ch := make(chan func())
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range ch {
				f()
			}
		}()
	}
	start := time.Now()
	for i, f := range fs {
		ch <- f
		if i%20 == 0 {
			fmt.Fprintf(os.Stderr, "costfit: %d/%d encodes, %s\n", i, len(fs), time.Since(start).Round(time.Second))
		}
	}
	close(ch)
	wg.Wait()
}

// fitSpeed fits the model's coefficients for one speed on the fit shots by
// least squares on log(CPU per frame and megapixel).
func fitSpeed(shots []*shot, speed int) plan.CostModel {
	var xs [][]float64
	var ys []float64
	for _, s := range shots {
		if s.heldOut {
			continue
		}
		for k, cpu := range s.cpu {
			if k[0] != speed {
				continue
			}
			xs = append(xs, plan.Regressors(s.feat, k[1]))
			ys = append(ys, math.Log(cpu/(float64(s.frames)*float64(s.w*s.h)/1e6)))
		}
	}
	c := leastSquares(xs, ys)
	return plan.CostModel{Speed: speed, Coef: [4]float64(c)}
}

// leastSquares solves the normal equations for y = X c.
func leastSquares(xs [][]float64, ys []float64) []float64 {
	n := len(xs[0])
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n+1)
	}
	for r, x := range xs {
		for i := range n {
			for j := range n {
				a[i][j] += x[i] * x[j]
			}
			a[i][n] += x[i] * ys[r]
		}
	}
	// Gauss-Jordan with partial pivoting.
	for col := range n {
		p := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		a[col], a[p] = a[p], a[col]
		for r := range n {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for k := col; k <= n; k++ {
				a[r][k] -= f * a[col][k]
			}
		}
	}
	c := make([]float64, n)
	for i := range n {
		c[i] = a[i][n] / a[i][i]
	}
	return c
}

// report prints measured and predicted costs and the rank correlations.
func report(shots []*shot, speed int, m plan.CostModel) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shot\tframes\tbpp\tdetail\tmotion\tmeasured s\tpredicted s\tset\t")
	var fitM, fitP, heldM, heldP []float64
	for _, s := range shots {
		cpu, ok := s.cpu[[2]int{speed, 100}]
		if !ok {
			continue
		}
		p := m.Predict(s.feat, s.frames, s.w, s.h, 100)
		set := "fit"
		if s.heldOut {
			set = "held out"
			heldM, heldP = append(heldM, cpu), append(heldP, p)
		} else {
			fitM, fitP = append(fitM, cpu), append(fitP, p)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.1f\t%.1f\t%.2f\t%.2f\t%s\t\n", s.name, s.frames, s.feat.BPP, s.feat.Detail, s.feat.Motion, cpu, p, set)
	}
	tw.Flush()
	fmt.Printf("speed %d: Spearman predicted vs measured: fit %.3f (%d shots), held out %.3f (%d shots)\n\n",
		speed, stats.Spearman(fitP, fitM), len(fitM), stats.Spearman(heldP, heldM), len(heldM))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "costfit:", err)
		os.Exit(1)
	}
}
