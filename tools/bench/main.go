// Command bench compares av1job, with the rav1e program and with librav1e
// in-process as its encoder, with plain rav1e and with ffmpeg's librav1e on a
// generated clip with scene cuts, and prints wall time, CPU time and
// output size, the first row's ratio to each, av1job's own overhead (the
// wall time during which no encoder was running: probing, scene
// detection, joining, muxing, checking) and the job's peak memory. For
// SVT-AV1 and aomenc it compares av1job with the encoder alone (its own
// threads, the clip in one piece) and the machine's floor, with the CPU
// time by program. Then it measures pause, resume and stop with rav1e and
// librav1e.
//
// Run it with `make bench`; BENCH_SLOW=1 adds speed 6.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/procs"
	"github.com/av1job/av1job/internal/testclip"
)

type result struct {
	name     string
	wall     time.Duration
	cpu      time.Duration
	size     int64
	overhead time.Duration // av1job only
	rss      int64         // av1job only: peak resident memory of the job's processes, bytes
	baseRSS  int64         // av1job only: the bench process's resident memory before the job
	workers  int
	// byProgram is the CPU time by program (benchAv1jobWith only).
	byProgram string
}

func main() {
	seconds := flag.Float64("t", 21, "clip length in seconds")
	width := flag.Int("w", 640, "clip width")
	height := flag.Int("h", 360, "clip height")
	keep := flag.String("dir", "", "work directory (default: a temporary one, removed)")
	long := flag.Bool("long", true, "also encode the 2-minute clip of 24 scenes of very different cost")
	short := flag.Bool("short", true, "compare the tools on the short clip and time live control")
	only := flag.Int("speed", 0, "only this speed (default 10, and 6 with BENCH_SLOW=1)")
	table := flag.Bool("table", true, "with -short: also the table of four tools and the live control timings")
	rounds := flag.Int("rounds", 2, "rounds of av1job and plain rav1e, run alternately, in the detailed comparisons")
	floor := flag.Bool("floor", true, "in the detailed comparisons, also run plain rav1e once per core, all at once: what the machine gives when every core encodes")
	encoders := flag.Bool("encoders", true, "compare av1job with SVT-AV1 and aomenc alone")
	encSeconds := flag.Float64("encoders-t", 8, "clip length in seconds of the encoders' comparison")
	encOnly := flag.String("encoder", "", "only this encoder in the encoders' comparison (svt-av1 or aomenc)")
	flag.Parse()
	ctx := context.Background()

	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "av1job-bench-")
		check(err)
		defer os.RemoveAll(d)
		dir = d
	}
	segs := testclip.DefaultSegments
	spec := testclip.Spec{Width: *width, Height: *height, Rate: "24", Segments: segs, SegFrames: int(*seconds * 24 / float64(len(segs))), Audio: true}
	src := filepath.Join(dir, "clip.mkv")
	y4m := filepath.Join(dir, "clip.y4m")
	check(testclip.Make(ctx, spec, src))
	check(runQuiet(exec.Command("ffmpeg", "-v", "error", "-y", "-i", src, "-map", "0:v:0", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", y4m)))
	fmt.Printf("clip: %dx%d, %d frames (%.1f s) in %d scenes, quantizer 100; machine: %d cores, %s\n\n",
		*width, *height, spec.Frames(), float64(spec.Frames())/24, len(segs), runtime.NumCPU(), runtime.GOARCH)

	speeds := []int{10}
	if os.Getenv("BENCH_SLOW") == "1" {
		speeds = append(speeds, 6)
	}
	if *only != 0 {
		speeds = []int{*only}
	}
	if *short && *table {
		for _, speed := range speeds {
			rs := []result{
				benchAv1job(ctx, dir, src, speed, "rav1e", *width, *height),
				benchAv1job(ctx, dir, src, speed, "librav1e", *width, *height),
				benchCmd("rav1e (default threads)", filepath.Join(dir, "rav1e.ivf"), "rav1e", y4m, "-o", filepath.Join(dir, "rav1e.ivf"), "-y", "--quiet", "--speed", fmt.Sprint(speed), "--quantizer", "100"),
				benchCmd("ffmpeg -c:v librav1e", filepath.Join(dir, "ffmpeg.mkv"), "ffmpeg", "-v", "error", "-y", "-i", src, "-map", "0:v:0", "-c:v", "librav1e", "-speed", fmt.Sprint(speed), "-qp", "100", filepath.Join(dir, "ffmpeg.mkv")),
			}
			report(speed, rs)
		}
	}
	if *short {
		for _, speed := range speeds {
			fmt.Printf("the same clip, in detail, speed %d\n", speed)
			benchDetail(ctx, dir, "clip", src, speed, *rounds, *floor)
		}
	}
	if *encoders {
		benchEncoders(ctx, dir, *encSeconds, *width, *height, *encOnly)
	}
	if *long {
		for _, speed := range speeds {
			benchLong(ctx, dir, speed, *rounds, *floor)
		}
	}
	if !*short || !*table {
		return
	}
	fmt.Println("live control (job run by the bench process, 2 workers; CPU from /proc/PID/schedstat of the bench process,")
	fmt.Println("whose threads run the job (and librav1e's encoders), and of its children, in the second after Pause returned)")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "encoder\tspeed\tpause ms\tCPU while paused 1 s\tresume ms\tstop ms\tframes kept by stop\t")
	for _, backend := range []string{"rav1e", "librav1e"} {
		for _, speed := range []int{10, 6} {
			l := benchControl(ctx, dir, src, speed, backend)
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f ms\t%.1f\t%.0f\t%d of %d encoded\t\n", backend, speed, ms(l.pause), ms(l.pausedCPU), ms(l.resume), ms(l.stop), l.kept, l.encoded)
		}
	}
	tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type latencies struct {
	pause, pausedCPU, resume, stop time.Duration
	kept, encoded                  int
}

// benchControl runs a job until it has encoded some frames, then pauses it
// (until every process is stopped), checks that no CPU is used while
// paused, resumes it (until the processes run again), and stops it (until
// Run returns).
func benchControl(ctx context.Context, dir, src string, speed int, backend string) latencies {
	out := filepath.Join(dir, fmt.Sprintf("control-%s-s%d.ivf", backend, speed))
	o := av1job.NewOptions(src, out)
	o.Speed, o.Overwrite, o.Restart, o.Workers, o.Encoder = av1job.SpeedOf(speed), true, true, 2, backend
	childrenCPU := func() time.Duration { return selfCPU() + childCPU() }
	var mu sync.Mutex
	frames := 0
	o.Events = func(e av1job.Event) {
		mu.Lock()
		frames = e.Frames
		mu.Unlock()
	}
	jb := av1job.New(o)
	done := make(chan error, 1)
	go func() { done <- jb.Run(ctx) }()
	for {
		mu.Lock()
		f := frames
		mu.Unlock()
		if f >= 8 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var l latencies
	t0 := time.Now()
	check(jb.Pause())
	l.pause = time.Since(t0)
	c0 := childrenCPU()
	time.Sleep(time.Second)
	l.pausedCPU = childrenCPU() - c0
	c1 := childrenCPU()
	t0 = time.Now()
	check(jb.Resume())
	for childrenCPU() == c1 && time.Since(t0) < 5*time.Second {
		time.Sleep(100 * time.Microsecond)
	}
	l.resume = time.Since(t0)
	time.Sleep(2 * time.Second)
	mu.Lock()
	l.encoded = frames
	mu.Unlock()
	t0 = time.Now()
	jb.Stop()
	if err := <-done; err != av1job.ErrStopped {
		check(fmt.Errorf("stop: %v", err))
	}
	l.stop = time.Since(t0)
	st, err := av1job.Status(context.Background(), out)
	check(err)
	l.kept = st.FramesDone
	return l
}

// selfCPU is this process's CPU time (all its threads), from
// /proc/self/schedstat.
func selfCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/schedstat")
	check(err)
	var ns int64
	fmt.Sscan(string(b), &ns)
	return time.Duration(ns)
}

var childCPU = childrenCPU

// childrenCPU sums the CPU time of this process's children, from
// /proc/PID/schedstat (nanoseconds).
func childrenCPU() time.Duration {
	cs, err := procs.Children()
	check(err)
	var total time.Duration
	for _, c := range cs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", c.PID))
		if err != nil {
			continue
		}
		var ns int64
		fmt.Sscan(string(b), &ns)
		total += time.Duration(ns)
	}
	return total
}

// benchAv1job runs a job in-process and measures the time during which at
// least one chunk was being encoded.
func benchAv1job(ctx context.Context, dir, src string, speed int, backend string, width, height int) result {
	out := filepath.Join(dir, fmt.Sprintf("av1job-%s-s%d.mkv", backend, speed))
	o := av1job.NewOptions(src, out)
	o.Speed, o.Overwrite, o.Restart, o.Encoder = av1job.SpeedOf(speed), true, true, backend
	var mu sync.Mutex
	active := 0
	var busy time.Duration
	var since time.Time
	o.Events = func(e av1job.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case av1job.EventChunkStart:
			if active == 0 {
				since = e.Time
			}
			active++
		case av1job.EventChunkDone, av1job.EventRetry:
			active--
			if active == 0 {
				busy += e.Time.Sub(since)
			}
		}
	}
	runtime.GC()
	base := rss(os.Getpid())
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var max int64
		for {
			if r := treeRSS(); r > max {
				max = r
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	cpu0 := cpuTime()
	start := time.Now()
	check(av1job.Run(ctx, o))
	wall := time.Since(start)
	close(stop)
	workers := av1job.AutoWorkers(width, height, 8)
	return result{name: "av1job --encoder " + backend, wall: wall, cpu: cpuTime() - cpu0, size: videoSize(out), overhead: wall - busy,
		rss: <-peak, baseRSS: base, workers: workers}
}

// rss returns the resident memory of a process in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return res * int64(os.Getpagesize())
}

// treeRSS is the resident memory of this process and its children.
func treeRSS() int64 {
	total := rss(os.Getpid())
	cs, err := procs.Children()
	check(err)
	for _, c := range cs {
		total += rss(c.PID)
	}
	return total
}

func benchCmd(name, out string, prog string, args ...string) result {
	cmd := exec.Command(prog, args...)
	start := time.Now()
	check(runQuiet(cmd))
	wall := time.Since(start)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return result{name: name, wall: wall, cpu: cpu, size: videoSize(out)}
}

// videoSize is the size of the video stream's packets, so that containers
// and audio do not count.
func videoSize(path string) int64 {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size", "-of", "csv=p=0", path).Output()
	check(err)
	var total, n int64
	for _, b := range out {
		switch {
		case b >= '0' && b <= '9':
			n = n*10 + int64(b-'0')
		case b == '\n':
			total += n
			n = 0
		}
	}
	return total + n
}

func report(speed int, rs []result) {
	fmt.Printf("speed %d\n", speed)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\twall s\tCPU s\tvideo bytes\tav1job wall ratio\tav1job size ratio\t")
	a := rs[0]
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%d\t%.2fx\t%+.1f %%\t\n", r.name, r.wall.Seconds(), r.cpu.Seconds(), r.size,
			a.wall.Seconds()/r.wall.Seconds(), 100*(float64(a.size)/float64(r.size)-1))
	}
	tw.Flush()
	for _, r := range rs {
		if r.rss == 0 {
			continue
		}
		fmt.Printf("%s: overhead (no encoder running) %.2f s of %.2f s = %.1f %%; peak memory of the job %.0f MiB (bench process %.0f MiB before), %.0f MiB per worker (%d workers)\n",
			r.name, r.overhead.Seconds(), r.wall.Seconds(), 100*r.overhead.Seconds()/r.wall.Seconds(),
			mib(r.rss), mib(r.baseRSS), mib(r.rss-r.baseRSS)/float64(r.workers), r.workers)
	}
	fmt.Println()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func cpuTime() time.Duration {
	var self, children syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &self))
	check(syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children))
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

func runQuiet(cmd *exec.Cmd) error {
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", cmd.Path, err, out)
	}
	return nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
