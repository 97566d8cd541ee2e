// Command benchscenes measures scene-cut detectors on the benchmark set of
// package scenebench (its recipes at 1080p and 360p, and four held-out
// clips at 360p): av1job's own (package scene), ffmpeg's scdet filter at
// its default threshold and ffmpeg's select filter with gt(scene,0.3),
// each run as a user would run it, on full-size frames. For each clip, for
// the recipes (all, and at each size) and for the held-out clips it
// prints precision, recall and F1 (a
// detection counts within one frame of a true cut) and the frames per
// second of the whole detection, decoding included (for av1job: probing
// the file and the scene pass, as `av1job scenes` does). Three decodes
// without detection are timed too: a plain one, the least any detector
// built on ffmpeg's usual decode can take; the same work spread over the
// cores, the best case for a detector that sees every frame through
// ffmpeg's software decoders; and one that leaves frames out, to show what
// that would buy. The detectors
// run in turn on each clip, -n times in a rotating order, and the median
// time counts, so that load from other programs falls on all of them
// alike.
//
// The clips are rendered on the first run into the cache directory
// (see scenebench.CacheDir) and reused while their recipes stay the same.
//
// Run it with `make bench-scenes`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/scenebench"
)

// A detector returns the cut frames it finds in path, a clip at fps.
type detector struct {
	name string
	run  func(ctx context.Context, path string, fps float64) ([]int, error)
	// copies is how many times run decodes the clip, at once; its time
	// counts divided by it. 0 means 1.
	copies int
	// reference marks a decode without detection: it has no cuts to score.
	reference bool
}

// cores is how many single-threaded decodes decodeEach runs at once.
var cores = runtime.NumCPU()

// The detectors, and three decodes without detection as references: a
// plain decode, as ffmpeg decodes for any detector that uses it; the same
// work spread over single-threaded ffmpegs, one per core, the best case
// for a detector that decodes every frame with ffmpeg's software decoder
// (as if the work split evenly and seeking cost nothing: each copy decodes
// the whole clip and the time is divided by the copies, start-up included);
// and a decode of the frames that other frames refer to (H.264 skips its
// non-reference B-frames), to show what leaving frames out would buy.
var detectors = []detector{
	{name: "av1job", run: av1job},
	{name: "ffmpeg scdet (t=10)", run: scdet},
	{name: "ffmpeg select gt(scene,0.3)", run: selectScene},
	{name: "(ffmpeg decode only, no detection)", run: decode, reference: true},
	{name: fmt.Sprintf("(decode only, spread over %d single-threaded ffmpegs)", cores), run: decodeEach, copies: cores, reference: true},
	{name: "(decode of reference frames only, -skip_frame noref)", run: decodeRef, reference: true},
}

func main() {
	reps := flag.Int("n", 3, "runs of each detector on each clip (the median time counts)")
	dir := flag.String("dir", "", "clip cache directory (default: the user cache directory's av1job/bench-scenes)")
	only := flag.String("only", "", "run only the clips whose name matches this regular expression")
	threshold := flag.Float64("threshold", scene.DefaultThreshold, "av1job's scene threshold")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	av1jobThreshold = *threshold

	if *dir == "" {
		d, err := scenebench.CacheDir()
		check(err)
		*dir = d
	}
	match := regexp.MustCompile(*only)
	var clips []scenebench.Clip
	for _, c := range append(scenebench.Set(), scenebench.HeldOut(heldOutSeed, 4, 360)...) {
		if match.MatchString(c.Name) {
			clips = append(clips, c)
		}
	}
	paths := make([]string, len(clips))
	for i, c := range clips {
		if _, err := os.Stat(filepath.Join(*dir, c.Key())); err != nil {
			fmt.Fprintf(os.Stderr, "rendering %s (%dx%d, %d frames) into %s ...\n", c.Name, c.Frame.W, c.Frame.H, c.Truth().Frames, *dir)
		}
		p, err := scenebench.Generate(ctx, c, *dir)
		check(err)
		paths[i] = p
	}
	if *only == "" {
		prune(*dir, paths)
	}

	fmt.Printf("%d clips, %d runs per detector and clip, %d cores (%s); av1job threshold %g\n\n", len(clips), *reps, runtime.NumCPU(), runtime.GOARCH, *threshold)
	type cell struct {
		res  scenebench.Result
		wall time.Duration
	}
	table := make([][]cell, len(clips))
	for i, c := range clips {
		table[i] = make([]cell, len(detectors))
		walls := make([][]time.Duration, len(detectors))
		for r := 0; r < *reps; r++ {
			for k := range detectors {
				j := (k + r) % len(detectors)
				start := time.Now()
				cuts, err := detectors[j].run(ctx, paths[i], float64(c.Frame.Rate))
				wall := time.Since(start) / time.Duration(max(1, detectors[j].copies))
				check(err)
				walls[j] = append(walls[j], wall)
				if r == 0 {
					table[i][j].res = scenebench.Score(c.Truth().Cuts, cuts)
				}
			}
		}
		for j := range detectors {
			table[i][j].wall = median(walls[j])
		}
		fmt.Fprintf(os.Stderr, "%s done\n", c.Name)
	}

	fmt.Println("| clip | frames | cuts | detector | TP | FP | FN | precision | recall | F1 | fps |")
	fmt.Println("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	row := func(clip string, frames, cuts int, det detector, r scenebench.Result, fps float64) {
		if det.reference {
			fmt.Printf("| %s | %d | %d | %s | | | | | | | %.0f |\n", clip, frames, cuts, det.name, fps)
			return
		}
		fmt.Printf("| %s | %d | %d | %s | %d | %d | %d | %.3f | %.3f | %.3f | %.0f |\n",
			clip, frames, cuts, det.name, r.TP, r.FP, r.FN, r.Precision(), r.Recall(), r.F1(), fps)
	}
	for i, c := range clips {
		t := c.Truth()
		for j, d := range detectors {
			row(c.Name, t.Frames, len(t.Cuts), d, table[i][j].res, float64(t.Frames)/table[i][j].wall.Seconds())
		}
	}
	groups := []struct {
		name string
		in   func(scenebench.Clip) bool
	}{
		{"**recipes**", func(c scenebench.Clip) bool { return !heldOut(c) }},
		{"**1080p**", func(c scenebench.Clip) bool { return c.Frame.H == 1080 && !heldOut(c) }},
		{"**360p**", func(c scenebench.Clip) bool { return c.Frame.H == 360 && !heldOut(c) }},
		{"**held-out**", heldOut},
	}
	fpsOf := make(map[string][]float64)
	for _, g := range groups {
		frames, cuts := 0, 0
		res := make([]scenebench.Result, len(detectors))
		walls := make([]time.Duration, len(detectors))
		for i, c := range clips {
			if !g.in(c) {
				continue
			}
			t := c.Truth()
			frames += t.Frames
			cuts += len(t.Cuts)
			for j := range detectors {
				res[j] = res[j].Add(table[i][j].res)
				walls[j] += table[i][j].wall
			}
		}
		if frames == 0 {
			continue
		}
		for j, d := range detectors {
			fps := float64(frames) / walls[j].Seconds()
			fpsOf[g.name] = append(fpsOf[g.name], fps)
			row(g.name, frames, cuts, d, res[j], fps)
		}
	}
	fmt.Println()
	for _, g := range groups {
		if f := fpsOf[g.name]; len(f) == len(detectors) {
			fmt.Printf("%s: av1job runs at %.2fx the fps of scdet and %.2fx that of select; a bare decode at %.2fx that of scdet, a decode spread over the cores at %.2fx, a decode of reference frames at %.2fx.\n",
				strings.Trim(g.name, "*"), f[0]/f[1], f[0]/f[2], f[3]/f[1], f[4]/f[1], f[5]/f[1])
		}
	}
}

var av1jobThreshold = scene.DefaultThreshold

// heldOutSeed draws the held-out clips (scenebench.HeldOut). It stays
// fixed: a new seed would be a new set, and the detector's settings were
// not chosen on this one.
const heldOutSeed = 1

func heldOut(c scenebench.Clip) bool { return strings.HasPrefix(c.Name, scenebench.HeldOutPrefix) }

// av1job runs av1job's scene pass as av1job does: probe, then Analyze.
func av1job(ctx context.Context, path string, _ float64) ([]int, error) {
	src, err := probe.Probe(ctx, path)
	if err != nil {
		return nil, err
	}
	a, err := scene.Analyze(ctx, src, scene.Options{})
	if err != nil {
		return nil, err
	}
	return a.Cuts(av1jobThreshold), nil
}

// scdet runs `ffmpeg -i clip -vf scdet -f null -` and reads the scene
// changes scdet logs ("lavfi.scd.score: 39.000, lavfi.scd.time: 4.04").
func scdet(ctx context.Context, path string, fps float64) ([]int, error) {
	out, err := ffmpeg(ctx, "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", path, "-vf", "scdet", "-f", "null", "-")
	if err != nil {
		return nil, err
	}
	return framesAt(out, "lavfi.scd.time: ", fps)
}

// selectScene runs `ffmpeg -i clip -vf "select='gt(scene,0.3)'" -f null -`
// with the metadata filter printing the frames that pass.
func selectScene(ctx context.Context, path string, fps float64) ([]int, error) {
	out, err := ffmpeg(ctx, "-nostdin", "-hide_banner", "-v", "error", "-i", path,
		"-vf", "select='gt(scene,0.3)',metadata=mode=print:file=-", "-f", "null", "-")
	if err != nil {
		return nil, err
	}
	return framesAt(out, "pts_time:", fps)
}

// decode runs `ffmpeg -i clip -f null -`.
func decode(ctx context.Context, path string, _ float64) ([]int, error) {
	_, err := ffmpeg(ctx, "-nostdin", "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-")
	return nil, err
}

// decodeEach decodes the clip with cores single-threaded ffmpegs at once:
// each decodes all of it, and the time counts divided by cores
// (detector.copies), as if each had decoded its share.
func decodeEach(ctx context.Context, path string, _ float64) ([]int, error) {
	g, gctx := errgroup.WithContext(ctx)
	for range cores {
		g.Go(func() error {
			_, err := ffmpeg(gctx, "-nostdin", "-hide_banner", "-v", "error", "-threads", "1", "-i", path, "-f", "null", "-")
			return err
		})
	}
	return nil, g.Wait()
}

// decodeRef decodes only the frames that other frames refer to.
func decodeRef(ctx context.Context, path string, _ float64) ([]int, error) {
	_, err := ffmpeg(ctx, "-nostdin", "-hide_banner", "-v", "error", "-skip_frame", "noref", "-i", path, "-f", "null", "-")
	return nil, err
}

func ffmpeg(ctx context.Context, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, out.Bytes())
	}
	return out.Bytes(), nil
}

// framesAt returns the frame numbers of the times that follow key in out,
// for a clip at a constant fps starting at time 0.
func framesAt(out []byte, key string, fps float64) ([]int, error) {
	var frames []int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		_, v, ok := strings.Cut(sc.Text(), key)
		if !ok {
			continue
		}
		v, _, _ = strings.Cut(strings.TrimSpace(v), " ")
		t, err := strconv.ParseFloat(strings.TrimSuffix(v, ","), 64)
		if err != nil {
			return nil, fmt.Errorf("bad time in %q", sc.Text())
		}
		f := t * fps
		if math.Abs(f-math.Round(f)) > 0.01 {
			return nil, fmt.Errorf("time %s is not on a frame at %g fps", v, fps)
		}
		frames = append(frames, int(math.Round(f)))
	}
	return frames, sc.Err()
}

// prune removes clips of earlier recipes from dir.
func prune(dir string, keep []string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if strings.HasSuffix(e.Name(), ".mp4") && !slices.Contains(keep, p) {
			_ = os.Remove(p)
		}
	}
}

func median(v []time.Duration) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscenes:", err)
		os.Exit(1)
	}
}
