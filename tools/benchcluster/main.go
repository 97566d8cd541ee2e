// Command benchcluster runs the same job on clusters of `av1job worker`
// processes (one task at a time each) over an embedded NATS JetStream
// server, and prints wall time, speed-up, scaling efficiency, the
// coordinator's own CPU per chunk, and messages and bytes per chunk.
//
// Two series: 1 and 2 workers with the machine's cores; then simulated
// machines, each worker limited to a share of a core with a cgroup
// (cpu.max on cgroup v2, cpu.cfs_quota_us on v1; needs root), 2, 4 and 8
// of them. The coordinator (this process: the job, the embedded NATS
// server) runs outside the limits, as it would on its own machine.
//
// Run it with `make bench-cluster`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/cluster"
	"github.com/av1job/av1job/internal/broker"
	"github.com/av1job/av1job/internal/testclip"
)

func main() {
	seconds := flag.Float64("t", 60, "clip length in seconds")
	share := flag.Float64("share", 0.125, "CPU share of a core each simulated machine gets")
	speed := flag.Int("speed", 10, "rav1e speed")
	chunk := flag.Float64("chunk", 1.5, "longest chunk, in seconds (--max-scene-len)")
	scaling := flag.Bool("scaling", true, "measure scaling over workers")
	sent := flag.Bool("bytes", true, "measure the bytes sent to workers for sources of several keyframe intervals")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "av1job-benchcluster-")
	check(err)
	defer os.RemoveAll(dir)

	bin := filepath.Join(dir, "av1job")
	check(run(exec.Command("go", "build", "-o", bin, "./cmd/av1job")))
	if *scaling {
		benchScaling(ctx, dir, bin, *seconds, *share, *speed, *chunk)
	}
	if *sent {
		segmentBytes(ctx, dir, bin)
	}
}

// benchScaling runs the job on 1 and 2 workers, then on 2, 4 and 8
// simulated machines.
func benchScaling(ctx context.Context, dir, bin string, seconds, share float64, speed int, chunk float64) {
	segs := []string{"testsrc2", "mandelbrot", "life", "testsrc", "cellauto", "rgbtestsrc"}
	spec := testclip.Spec{Width: 320, Height: 180, Rate: "24", Segments: segs, SegFrames: int(seconds * 24 / float64(len(segs)))}
	src := filepath.Join(dir, "clip.mkv")
	check(testclip.Make(ctx, spec, src))
	// The scenes are found once: the bench times the chunks.
	o := av1job.NewOptions(src, filepath.Join(dir, "out.mkv"))
	o.MaxSceneLen, o.Speed = chunk, av1job.SpeedOf(speed)
	sc, err := av1job.DetectScenes(ctx, src, o, nil)
	check(err)
	scenes := filepath.Join(dir, "scenes.json")
	check(sc.Save(scenes))
	o.Scenes = scenes
	fmt.Printf("clip: %dx%d, %d frames (%.0f s) of %d kinds of content, chunks of at most %.1f s, speed %d, quantizer 100\n",
		spec.Width, spec.Height, spec.Frames(), float64(spec.Frames())/24, len(segs), chunk, speed)
	fmt.Printf("machine: %d cores; coordinator and NATS in this process, workers are `av1job worker --workers 1` processes\n\n", runtime.NumCPU())

	limit := cgroupKind()
	type row struct {
		label   string
		workers int
		share   float64
	}
	rows := []row{{"full cores", 1, 0}, {"full cores", 2, 0}}
	if limit != "" {
		for _, n := range []int{2, 4, 8} {
			rows = append(rows, row{fmt.Sprintf("%.3g core each (%s)", share, limit), n, share})
		}
	} else {
		fmt.Println("no cgroup cpu controller to write to (root and cgroup v1 or v2 needed): the simulated machines are left out")
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "machines\tworkers\twall s\tspeed-up\tefficiency\tcoord CPU ms/chunk\tcoord children ms/chunk\tmsgs/chunk\tKiB/chunk\tsegment/source bytes\t")
	type first struct {
		workers int
		wall    time.Duration
	}
	firsts := map[string]first{}
	for _, r := range rows {
		res := runCluster(ctx, dir, bin, o, r.workers, r.share)
		f, ok := firsts[r.label]
		if !ok {
			f = first{r.workers, res.wall}
			firsts[r.label] = f
		}
		speedup := float64(f.wall) / float64(res.wall)
		eff := speedup / (float64(r.workers) / float64(f.workers))
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.2f\t%.1f\t%.1f\t%.0f\t%.0f\t%.2f\t\n", r.label, r.workers, res.wall.Seconds(), speedup, eff,
			ms(res.self)/float64(res.chunks), ms(res.children)/float64(res.chunks),
			float64(res.traffic.InMsgs+res.traffic.OutMsgs)/float64(res.chunks),
			float64(res.traffic.InBytes+res.traffic.OutBytes)/1024/float64(res.chunks), res.segRatio)
		fmt.Fprintf(os.Stderr, "benchcluster: %s, %d workers: %.1f s\n", r.label, r.workers, res.wall.Seconds())
	}
	tw.Flush()
	fmt.Println()
	fmt.Println("speed-up is against the first row of the same kind of machine; efficiency is speed-up / (workers / that row's workers).")
	fmt.Println("coord CPU is this process (the job's coordinator and the NATS server); its children are segment cuts and dav1d checks.")
	fmt.Println("msgs and KiB per chunk count both directions through the NATS server; segment/source: bytes sent to workers per byte of source.")
	fmt.Println()
}

// segmentBytes measures the bytes sent to workers per byte of source, for
// sources whose keyframes come every 2, 5 and 10 s (and at scene cuts, as
// encoders place them), chunked with the default settings.
func segmentBytes(ctx context.Context, dir, bin string) {
	fmt.Println("bytes sent to workers per byte of source: 160x90, 60 s in 12 scenes of 5 s, libx264 veryfast, default chunking, 2 workers")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "keyframes	chunks	source KiB	sent KiB	sent/source	")
	segs := []string{"testsrc2", "mandelbrot", "life", "testsrc", "cellauto", "rgbtestsrc",
		"smptebars", "mandelbrot", "testsrc2", "life", "smptehdbars", "cellauto"}
	for _, gop := range []struct {
		label string
		args  []string
	}{
		{"every 2 s and at cuts", []string{"-preset", "veryfast", "-g", "48"}},
		{"every 5 s and at cuts", []string{"-preset", "veryfast", "-g", "120"}},
		{"every 10 s and at cuts", []string{"-preset", "veryfast", "-g", "240"}},
		{"every 10 s only", []string{"-preset", "veryfast", "-g", "240", "-sc_threshold", "0"}},
	} {
		spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: segs, SegFrames: 120, ExtraArgs: gop.args}
		src := filepath.Join(dir, "gop.mkv")
		check(testclip.Make(ctx, spec, src))
		o := av1job.NewOptions(src, "")
		o.Speed = av1job.SpeedOf(10)
		res := runCluster(ctx, dir, bin, o, 2, 0)
		fi, err := os.Stat(src)
		check(err)
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.2f\t\n", gop.label, res.chunks, float64(fi.Size())/1024, res.segRatio*float64(fi.Size())/1024, res.segRatio)
		fmt.Fprintf(os.Stderr, "benchcluster: keyframes %s: %.2f\n", gop.label, res.segRatio)
	}
	tw.Flush()
}

type result struct {
	wall, self, children time.Duration
	chunks               int
	traffic              broker.Traffic
	segRatio             float64
}

// runCluster runs the job on n workers, each limited to share of a core
// (0: no limit), with a fresh NATS server.
func runCluster(ctx context.Context, dir, bin string, o av1job.Options, n int, share float64) result {
	d, err := os.MkdirTemp(dir, "run-")
	check(err)
	defer os.RemoveAll(d)
	tokFile := filepath.Join(d, "token")
	tok, err := broker.Token(tokFile)
	check(err)
	srv, err := broker.Start(broker.Config{Dir: d, Listen: "127.0.0.1:0", Token: tok})
	check(err)
	defer srv.Shutdown()
	nc, err := cluster.Dial(srv.URL(), tokFile, "", "bench coordinator")
	check(err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	check(err)
	check(cluster.Setup(ctx, js))

	var workers []*exec.Cmd
	for i := range n {
		cmd := exec.Command(bin, "worker", "--connect", srv.URL(), "--token-file", tokFile, "--workers", "1", "--name", fmt.Sprintf("w%d", i))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		check(cmd.Start())
		if share > 0 {
			check(limitCPU(fmt.Sprintf("av1job-bench-w%d", i), cmd.Process.Pid, share))
		}
		workers = append(workers, cmd)
	}
	defer func() {
		for i, w := range workers {
			_ = syscall.Kill(-w.Process.Pid, syscall.SIGKILL)
			_ = w.Wait()
			if share > 0 {
				removeCgroup(fmt.Sprintf("av1job-bench-w%d", i))
			}
		}
	}()
	time.Sleep(time.Second) // the workers subscribe

	ex := &cluster.RemoteExecutor{NC: nc, JS: js}
	defer ex.Close()
	o.Output = filepath.Join(d, "out.mkv")
	o.JobDir = ""
	o.Executor, o.Workers = ex, n
	o.JobDir = av1job.NewOptions(o.Input, o.Output).JobDir
	chunks := 0
	o.Events = func(e av1job.Event) {
		if e.Kind == av1job.EventPlanned {
			chunks = e.ChunksTotal
		}
	}
	t0 := srv.Traffic()
	self0, child0 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
	start := time.Now()
	check(av1job.Run(ctx, o))
	wall := time.Since(start)
	t1 := srv.Traffic()
	st := ex.Stats()
	fi, err := os.Stat(o.Input)
	check(err)
	return result{wall: wall, self: rusage(syscall.RUSAGE_SELF) - self0, children: rusage(syscall.RUSAGE_CHILDREN) - child0,
		chunks: max(1, chunks),
		traffic: broker.Traffic{InMsgs: t1.InMsgs - t0.InMsgs, OutMsgs: t1.OutMsgs - t0.OutMsgs,
			InBytes: t1.InBytes - t0.InBytes, OutBytes: t1.OutBytes - t0.OutBytes},
		segRatio: float64(st.SegmentBytes) / float64(fi.Size())}
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(who, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cgroupKind says which cgroup CPU limit this machine offers: "cgroup v2",
// "cgroup v1", or "" for none.
func cgroupKind() string {
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(b), "cpu") {
		return "cgroup v2"
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil {
		if f, err := os.OpenFile("/sys/fs/cgroup/cpu/cgroup.procs", os.O_WRONLY, 0); err == nil {
			f.Close()
			return "cgroup v1"
		}
	}
	return ""
}

// limitCPU puts pid (and the children it will start) in a cgroup of its
// own limited to share of a core.
func limitCPU(name string, pid int, share float64) error {
	const period = 100000
	quota := strconv.Itoa(int(share * period))
	switch cgroupKind() {
	case "cgroup v2":
		_ = os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+cpu"), 0)
		dir := filepath.Join("/sys/fs/cgroup", name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(quota+" "+strconv.Itoa(period)), 0); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	default:
		dir := filepath.Join("/sys/fs/cgroup/cpu", name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(quota), 0); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	}
}

func removeCgroup(name string) {
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/cpu"} {
		_ = os.Remove(filepath.Join(root, name))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcluster:", err)
		os.Exit(1)
	}
}
