package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/scenebench"
	"github.com/av1job/av1job/internal/stats"
)

// benchLong encodes the long clip (scenebench.Long: 2 minutes, 24 scenes
// of very different cost) as benchDetail does.
func benchLong(ctx context.Context, dir string, speed, rounds int, floor bool) {
	cache, err := scenebench.CacheDir()
	check(err)
	clip := scenebench.Long(360)
	src, err := scenebench.Generate(ctx, clip, cache)
	check(err)
	fmt.Printf("long clip: %dx%d, %d frames (%.0f s) in %d scenes of very different cost, speed %d, quantizer 100\n",
		clip.Frame.W, clip.Frame.H, clip.Truth().Frames, float64(clip.Truth().Frames)/float64(clip.Frame.Rate), len(clip.Shots), speed)
	benchDetail(ctx, dir, "long", src, speed, rounds, floor)
}

// benchDetail encodes src with av1job and with plain rav1e fed by ffmpeg,
// and prints the ratio, each chunk's predicted and measured cost, the
// cores used over time, and where the CPU time went. The two alternate
// for -rounds rounds in the order plain, av1job, av1job, plain, ... so
// that a machine whose speed drifts over the run favours neither; the
// ratio is that of their total times, and the details are the last
// av1job run's.
func benchDetail(ctx context.Context, dir, name, src string, speed, rounds int, floor bool) {
	var runs []jobRun
	var plains []result
	var together time.Duration
	for r := range 2 * rounds {
		if r == rounds && floor {
			together = benchTogether(ctx, dir, name, src, speed)
		}
		if r%4 == 0 || r%4 == 3 {
			plains = append(plains, benchPiped(ctx, src, filepath.Join(dir, name+"-rav1e.ivf"), speed))
		} else {
			runs = append(runs, benchJob(ctx, dir, name, src, speed))
		}
	}
	var wall, plain time.Duration
	var each []string
	for i, j := range runs {
		wall += j.wall
		plain += plains[i].wall
	}
	for i := range runs {
		each = append(each, fmt.Sprintf("%.1f s / %.1f s = %.3fx", runs[i].wall.Seconds(), plains[i].wall.Seconds(), runs[i].wall.Seconds()/plains[i].wall.Seconds()))
	}
	j := runs[len(runs)-1]
	fmt.Printf("  av1job: %.1f s wall (first encoder %.2f s after the start, plan written %.2f s after it), no encoder running %.1f s (%.1f %%)\n",
		j.wall.Seconds(), j.first.Seconds(), j.planned.Seconds(), j.idle.Seconds(), 100*j.idle.Seconds()/j.wall.Seconds())
	fmt.Printf("  plain rav1e (default threads, fed by ffmpeg): %.1f s wall\n", plains[len(plains)-1].wall.Seconds())
	if len(runs) > 1 {
		fmt.Printf("  rounds (av1job / plain rav1e, run alternately): %s\n", strings.Join(each, ", "))
	}
	fmt.Printf("  av1job / rav1e: %.3fx wall over %d round(s); video %d vs %d bytes (%+.1f %%)\n", wall.Seconds()/plain.Seconds(), len(runs),
		j.size, plains[0].size, 100*(float64(j.size)/float64(plains[0].size)-1))
	if together > 0 {
		n := runtime.NumCPU()
		one := plain.Seconds() / float64(len(runs))
		fmt.Printf("  the machine: %d plain rav1e at once took %.1f s against %.1f s for one (mean of the plain rounds): the whole clip split evenly over the cores with nothing else running would take %.3fx\n",
			n, together.Seconds(), one, together.Seconds()/(float64(n)*one))
	}
	var pred, meas []float64
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  chunk\tframes\tpredicted s\tmeasured s\tstarted at s\t")
	for _, c := range j.chunks {
		pred, meas = append(pred, c.predicted), append(meas, c.measured)
		fmt.Fprintf(tw, "  %d\t%d\t%.1f\t%.1f\t%.1f\t\n", c.id, c.frames, c.predicted, c.measured, c.started)
	}
	tw.Flush()
	fmt.Printf("  Spearman predicted vs measured chunk time: %.3f (%d chunks)\n", stats.Spearman(pred, meas), len(pred))
	j.usage.print(j.wall)
	fmt.Println()
}

// benchTogether runs plain rav1e on src once per core, all at once, and
// returns the wall time of the last to finish. Against one plain run it
// shows what the machine gives when every core encodes: the floor for
// av1job's ratio, which shared caches, turbo clocks and the host of a
// virtual machine put above 1/cores.
func benchTogether(ctx context.Context, dir, name, src string, speed int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for i := range runtime.NumCPU() {
		wg.Go(func() { benchPiped(ctx, src, filepath.Join(dir, fmt.Sprintf("%s-rav1e-%d.ivf", name, i)), speed) })
	}
	wg.Wait()
	return time.Since(start)
}

// A jobRun is what benchJob measured of one av1job run.
type jobRun struct {
	wall, first, planned, idle time.Duration // first: the first chunk's start; idle: no encoder running
	size                       int64
	chunks                     []chunkRun
	usage                      *sampler
}

type chunkRun struct {
	id, frames          int
	predicted, measured float64 // seconds
	started             float64 // seconds after the job's start
}

// benchJob runs one av1job encode of src in-process and measures it.
func benchJob(ctx context.Context, dir, name, src string, speed int) jobRun {
	out := filepath.Join(dir, fmt.Sprintf("%s-s%d.ivf", name, speed))
	o := av1job.NewOptions(src, out)
	o.Speed, o.Overwrite, o.Restart, o.Keep = av1job.SpeedOf(speed), true, true, true
	o.JobDir = out + ".job"
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	spans := map[int]*span{}
	var firstStart, planned time.Time
	active := 0
	var busy time.Duration
	var since time.Time
	o.Events = func(e av1job.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case av1job.EventChunkStart:
			if firstStart.IsZero() {
				firstStart = e.Time
			}
			spans[e.Chunk] = &span{start: e.Time}
			if active == 0 {
				since = e.Time
			}
			active++
		case av1job.EventChunkDone, av1job.EventRetry:
			if s := spans[e.Chunk]; s != nil && e.Kind == av1job.EventChunkDone {
				s.end = e.Time
			}
			active--
			if active == 0 {
				busy += e.Time.Sub(since)
			}
		case av1job.EventPlanned:
			planned = e.Time
		}
	}
	sampler := startSampler()
	start := time.Now()
	check(av1job.Run(ctx, o))
	wall := time.Since(start)
	run := jobRun{wall: wall, first: firstStart.Sub(start), planned: planned.Sub(start), idle: wall - busy, size: videoSize(out), usage: sampler.stop()}

	// Predicted and measured cost of each chunk.
	b, err := os.ReadFile(filepath.Join(o.JobDir, "job.json"))
	check(err)
	var st struct {
		Chunks []struct {
			ID         int
			Start, End int
			Cost       float64
		} `json:"chunks"`
	}
	check(json.Unmarshal(b, &st))
	for _, c := range st.Chunks {
		s := spans[c.ID]
		if s == nil || s.end.IsZero() {
			continue
		}
		run.chunks = append(run.chunks, chunkRun{id: c.ID, frames: c.End - c.Start, predicted: c.Cost,
			measured: s.end.Sub(s.start).Seconds(), started: s.start.Sub(start).Seconds()})
	}
	check(os.RemoveAll(o.JobDir))
	return run
}

// benchPiped times ffmpeg | rav1e on the whole clip.
func benchPiped(ctx context.Context, src, out string, speed int) result {
	sh := fmt.Sprintf("ffmpeg -v error -i %s -map 0:v:0 -pix_fmt yuv420p -f yuv4mpegpipe - | rav1e - -o %s -y --quiet --speed %d --quantizer 100",
		strconv.Quote(src), strconv.Quote(out), speed)
	cmd := exec.CommandContext(ctx, "sh", "-c", sh)
	start := time.Now()
	check(runQuiet(cmd))
	return result{name: "rav1e", wall: time.Since(start), size: videoSize(out)}
}

// A sampler reads the CPU time of this process and of each of its
// children every 100 ms: the cores used over time and by which program.
type sampler struct {
	done    chan struct{}
	mu      sync.Mutex
	byComm  map[string]float64 // seconds, by program name ("av1job" for this process)
	seen    map[int]procSample
	buckets []float64 // CPU seconds per second of wall time
}

type procSample struct {
	comm string
	cpu  float64
}

func startSampler() *sampler {
	s := &sampler{done: make(chan struct{}), byComm: map[string]float64{}, seen: map[int]procSample{}}
	go s.run()
	return s
}

func (s *sampler) run() {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	_, self0 := procCPU(os.Getpid()) // all threads: the job runs in this process
	total0 := self0
	last := time.Now()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		cs := children()
		s.mu.Lock()
		_, self := procCPU(os.Getpid())
		s.byComm["av1job"] = self - self0
		total := self
		for _, pid := range cs {
			comm, cpu := procCPU(pid)
			if cpu > s.seen[pid].cpu {
				if p, ok := s.seen[pid]; ok && p.comm != "" {
					comm = p.comm // named on first sight
				} else {
					comm = role(pid, comm)
				}
				s.seen[pid] = procSample{comm, cpu}
			}
		}
		for _, p := range s.seen {
			total += p.cpu
		}
		if time.Since(last) >= time.Second {
			s.buckets = append(s.buckets, (total-total0)/time.Since(last).Seconds())
			total0, last = total, time.Now()
		}
		s.mu.Unlock()
	}
}

func (s *sampler) stop() *sampler {
	close(s.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.seen {
		s.byComm[p.comm] += p.cpu
	}
	return s
}

// children lists this process's children from its threads' children
// files: a few reads, where a scan of every process's stat file ten times a
// second costs the job it measures a share of a core.
func children() []int {
	files, _ := filepath.Glob("/proc/self/task/*/children")
	var pids []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(w); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// role names what a child process does for the job, from its command
// line: ffmpeg and ffprobe run for several stages.
func role(pid int, comm string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	args := strings.ReplaceAll(string(b), "\x00", " ")
	switch {
	case comm == "ffmpeg" && strings.Contains(args, "showinfo"):
		return "ffmpeg chunk readers"
	case comm == "ffmpeg" && strings.Contains(args, "format=gray"):
		return "ffmpeg scene pass"
	case comm == "ffmpeg" && strings.Contains(args, "-map_metadata"):
		return "ffmpeg mux"
	case comm == "ffprobe" && strings.Contains(args, "-count_packets"):
		return "ffprobe final count"
	case comm == "dav1d":
		return "dav1d chunk checks"
	}
	return comm
}

// procCPU returns a process's name and CPU seconds from /proc/PID/stat.
func procCPU(pid int) (string, float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0
	}
	str := string(b)
	i, j := strings.IndexByte(str, '('), strings.LastIndexByte(str, ')')
	if i < 0 || j < i {
		return "", 0
	}
	f := strings.Fields(str[j+2:])
	if len(f) < 13 {
		return "", 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return str[i+1 : j], (u + k) / 100 // clock ticks of 10 ms
}

func (s *sampler) print(wall time.Duration) {
	var total float64
	var names []string
	for n, v := range s.byComm {
		total += v
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return s.byComm[names[i]] > s.byComm[names[j]] })
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s (%.1f %%)", n, s.byComm[n], 100*s.byComm[n]/total))
	}
	fmt.Printf("  CPU by program (sampled every 100 ms): %s; %.2f cores on average\n", strings.Join(parts, ", "), total/wall.Seconds())
	// Cores used, one figure per 5 s.
	var row []string
	for i := 0; i < len(s.buckets); i += 5 {
		var sum float64
		n := 0
		for k := i; k < min(i+5, len(s.buckets)); k++ {
			sum += s.buckets[k]
			n++
		}
		row = append(row, fmt.Sprintf("%.1f", sum/float64(n)))
	}
	fmt.Printf("  cores used, per 5 s: %s\n", strings.Join(row, " "))
}
