package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/testclip"
)

// An encoderBench is one of the other encoders as the bench runs it:
// av1job's speed and quantizer, and the encoder alone, its whole input in
// one piece with its own default threads and keyframe placement, as a
// user would run it.
type encoderBench struct {
	name       string
	program    string
	speed, q   int
	alone      func(y4m, out string) []string // the one-piece encode's arguments
	floorAlone func(y4m, out string) []string // one of the floor's encodes: one thread
}

var encoderBenches = []encoderBench{
	{name: "svt-av1", program: "SvtAv1EncApp", speed: 8, q: 35,
		alone: func(in, out string) []string {
			return []string{"-i", in, "-b", out, "--preset", "8", "--crf", "35", "--progress", "0"}
		},
		floorAlone: func(in, out string) []string {
			return []string{"-i", in, "-b", out, "--preset", "8", "--crf", "35", "--progress", "0", "--lp", "1", "--pin", "0"}
		}},
	{name: "aomenc", program: "aomenc", speed: 6, q: 30,
		alone: func(in, out string) []string {
			return []string{"--ivf", "-o", out, "--passes=1", "--good", "--cpu-used=6", "--end-usage=q", "--cq-level=30", "-q", in}
		},
		floorAlone: func(in, out string) []string {
			return []string{"--ivf", "-o", out, "--passes=1", "--good", "--cpu-used=6", "--end-usage=q", "--cq-level=30", "-q", "--threads=1", in}
		}},
}

// benchEncoders compares, for SVT-AV1 and aomenc, av1job against the
// encoder alone on one clip at the same speed and quality: wall and CPU
// time, output size against the one-piece encode, CPU by program, and
// the machine's floor (the encoder once per core with one thread, all at
// once: the wall time per clip when every core encodes).
func benchEncoders(ctx context.Context, dir string, seconds float64, width, height int, only string) {
	segs := testclip.DefaultSegments
	spec := testclip.Spec{Width: width, Height: height, Rate: "24", Segments: segs, SegFrames: int(seconds * 24 / float64(len(segs))), Audio: true}
	src := filepath.Join(dir, "enc-clip.mkv")
	y4m := filepath.Join(dir, "enc-clip.y4m")
	check(testclip.Make(ctx, spec, src))
	// Frames as decoded (-fps_mode passthrough): a constant-rate output
	// would repeat the first frame of a source that starts after 0.
	check(runQuiet(exec.Command("ffmpeg", "-v", "error", "-y", "-i", src, "-map", "0:v:0", "-fps_mode", "passthrough", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", y4m)))
	fmt.Printf("encoders: clip %dx%d, %d frames (%.1f s) in %d scenes; machine: %d cores\n",
		width, height, spec.Frames(), float64(spec.Frames())/24, len(segs), runtime.NumCPU())
	for _, e := range encoderBenches {
		if only != "" && only != e.name {
			continue
		}
		if _, err := exec.LookPath(e.program); err != nil {
			fmt.Printf("%s: not installed (%v)\n", e.name, err)
			continue
		}
		alone := filepath.Join(dir, e.name+"-alone.ivf")
		rs := []result{
			benchAv1jobWith(ctx, dir, src, e.name, e.speed, e.q),
			benchCmd(e.program+" alone (default threads)", alone, e.program, e.alone(y4m, alone)...),
		}
		floor := benchFloor(e, y4m, dir)
		fmt.Printf("%s, speed %d, quantizer %d\n", e.name, e.speed, e.q)
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "tool\twall s\tCPU s\tvideo bytes\tY PSNR dB\tav1job wall ratio\tav1job size vs this\t")
		a := rs[0]
		outs := []string{filepath.Join(dir, "av1job-"+e.name+".mkv"), alone}
		for i, r := range rs {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%d\t%.2f\t%.2fx\t%+.1f %%\t\n", r.name, r.wall.Seconds(), r.cpu.Seconds(), r.size, psnrY(outs[i], y4m),
				a.wall.Seconds()/r.wall.Seconds(), 100*(float64(a.size)/float64(r.size)-1))
		}
		fmt.Fprintf(tw, "floor: %d x %s --threads 1 at once, per clip\t%.2f\t%.2f\t\t\t%.2fx\t\t\n", runtime.NumCPU(), e.program,
			floor.wall.Seconds()/float64(runtime.NumCPU()), floor.cpu.Seconds()/float64(runtime.NumCPU()), a.wall.Seconds()/(floor.wall.Seconds()/float64(runtime.NumCPU())))
		tw.Flush()
		fmt.Printf("av1job's CPU by program: %s\n\n", a.byProgram)
	}
}

// psnrY is the mean luma PSNR of an encode against its source's frames,
// frame n against frame n, by ffmpeg's psnr filter: the sizes compare
// only at like quality.
func psnrY(out, y4m string) float64 {
	b, err := exec.Command("ffmpeg", "-nostdin", "-i", out, "-i", y4m, "-lavfi",
		"[0:v]settb=1/24,setpts=N[a];[1:v]settb=1/24,setpts=N[b];[a][b]psnr", "-f", "null", "-").CombinedOutput()
	check(err)
	s := string(b)
	i := strings.LastIndex(s, "PSNR y:")
	if i < 0 {
		return 0
	}
	var y float64
	fmt.Sscan(strings.Fields(s[i+len("PSNR y:"):])[0], &y)
	return y
}

// benchFloor runs the encoder alone once per core, one thread each, all
// at once, and returns the wall time and the CPU time of them all.
func benchFloor(e encoderBench, y4m, dir string) result {
	n := runtime.NumCPU()
	cmds := make([]*exec.Cmd, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cmds {
		out := filepath.Join(dir, fmt.Sprintf("%s-floor-%d.ivf", e.name, i))
		cmds[i] = exec.Command(e.program, e.floorAlone(y4m, out)...)
		wg.Add(1)
		go func(c *exec.Cmd) { defer wg.Done(); check(runQuiet(c)) }(cmds[i])
	}
	wg.Wait()
	r := result{wall: time.Since(start)}
	for _, c := range cmds {
		r.cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	return r
}

// benchAv1jobWith runs a job in-process with an encoder at a speed and
// quantizer, and its CPU time by program: its child processes' are
// sampled from /proc/PID/stat every 20 ms (a process's last 20 ms may be
// missed), av1job's own is the rest (with the sampling's, which reads
// only this process's threads' children lists and the children's stat).
func benchAv1jobWith(ctx context.Context, dir, src, encoder string, speed, q int) result {
	out := filepath.Join(dir, fmt.Sprintf("av1job-%s.mkv", encoder))
	o := av1job.NewOptions(src, out)
	o.Speed, o.Quantizer, o.Overwrite, o.Restart, o.Encoder = av1job.SpeedOf(speed), q, true, true, encoder
	stop := make(chan struct{})
	byProg := make(chan map[string]time.Duration)
	go func() {
		last := map[int]time.Duration{}
		comm := map[int]string{}
		sample := func() {
			for _, c := range ownChildren() {
				if name, sec := procCPU(c); name != "" {
					last[c] = time.Duration(sec * float64(time.Second))
					comm[c] = name
				}
			}
		}
		for {
			select {
			case <-stop:
				sample()
				m := map[string]time.Duration{}
				for pid, d := range last {
					m[comm[pid]] += d
				}
				byProg <- m
				return
			case <-time.After(20 * time.Millisecond):
				sample()
			}
		}
	}()
	cpu0 := cpuTime()
	start := time.Now()
	check(av1job.Run(ctx, o))
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	close(stop)
	m := <-byProg
	var children time.Duration
	var parts []string
	for name, d := range m {
		children += d
		parts = append(parts, fmt.Sprintf("%s %.2f s", name, d.Seconds()))
	}
	sort.Strings(parts)
	parts = append(parts, fmt.Sprintf("av1job itself and what sampling missed %.2f s", (cpu-children).Seconds()))
	return result{name: "av1job --encoder " + encoder, wall: wall, cpu: cpu, size: videoSize(out), byProgram: strings.Join(parts, ", ")}
}

// ownChildren lists this process's children from its threads'
// /proc/self/task/TID/children: far cheaper every 20 ms than scanning
// every process in /proc (procs.Children), whose cost would count as
// av1job's.
func ownChildren() []int {
	files, _ := filepath.Glob("/proc/self/task/*/children")
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(string(b)) {
			var pid int
			if _, err := fmt.Sscan(w, &pid); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}
