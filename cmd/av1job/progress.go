package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/av1job/av1job"
)

// logInterval is how often progress is logged when stderr is not a terminal.
const logInterval = 5 * time.Second

// reporter shows a job's events: a progress bar on a terminal, a log line
// every few seconds otherwise.
type reporter struct {
	out io.Writer
	tty bool

	mu sync.Mutex // serializes handle and close

	// What line shows, read by mpb's render goroutine: guarded by dmu,
	// which is never held while calling into mpb.
	dmu       sync.Mutex
	last      av1job.Event
	start     time.Time     // when encoding began in this run
	startDone int           // frames done when encoding began
	pausedAt0 time.Duration // the job's paused time when encoding began
	paused    bool
	lastLog   time.Time

	p         *mpb.Progress
	scanBar   *mpb.Bar
	scanStart time.Time
	frameBar  *mpb.Bar
	done      string          // what EventDone said, if anything
	summary   *av1job.Summary // what EventDone summed up, if anything
}

func newReporter(out *os.File) *reporter {
	r := &reporter{out: out, tty: term.IsTerminal(int(out.Fd())), lastLog: time.Now()}
	if r.tty {
		r.p = mpb.New(mpb.WithOutput(out), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond))
	}
	return r
}

func (r *reporter) printf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if r.p != nil {
		fmt.Fprintln(r.p, msg)
		return
	}
	fmt.Fprintln(r.out, msg)
}

// scanLine describes the detection's progress: frames decoded, of how
// many when known, the rate and the time left.
func scanLine(st decor.Statistics, start time.Time) string {
	s := fmt.Sprintf("%d frames", st.Current)
	el := time.Since(start).Seconds()
	if el <= 0 || st.Current == 0 {
		return s
	}
	fps := float64(st.Current) / el
	s += fmt.Sprintf(", %.0f fps", fps)
	if st.Total > st.Current {
		s = fmt.Sprintf("%d/%d frames, %.0f fps, ETA %s", st.Current, st.Total, fps, (time.Duration(float64(st.Total-st.Current)/fps) * time.Second).Round(time.Second))
	}
	return s
}

func (r *reporter) handle(e av1job.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dmu.Lock()
	r.last = e
	switch e.Kind {
	case av1job.EventPlanned:
		r.start, r.startDone, r.pausedAt0 = e.Time, e.Frames, e.Paused
	case av1job.EventPaused:
		r.paused = true
	case av1job.EventResumed:
		r.paused = false
	}
	r.dmu.Unlock()
	switch e.Kind {
	case av1job.EventAnalyzing:
		if r.p != nil {
			if r.scanBar == nil {
				r.scanStart = time.Now()
				r.scanBar = r.p.AddBar(int64(e.FramesTotal), mpb.PrependDecorators(decor.Name("scenes ", decor.WCSyncSpaceR)),
					mpb.AppendDecorators(decor.Any(func(st decor.Statistics) string { return scanLine(st, r.scanStart) })), mpb.BarRemoveOnComplete())
			}
			if int64(e.Decoded) > int64(e.FramesTotal) && e.FramesTotal > 0 {
				r.scanBar.SetTotal(int64(e.Decoded), false)
			}
			r.scanBar.SetCurrent(int64(e.Decoded))
		} else if time.Since(r.lastLog) >= logInterval {
			r.lastLog = time.Now()
			if e.FramesTotal > e.Decoded {
				fmt.Fprintf(r.out, "av1job: detecting scenes: %d/%d frames decoded\n", e.Decoded, e.FramesTotal)
			} else {
				fmt.Fprintf(r.out, "av1job: detecting scenes: %d frames decoded\n", e.Decoded)
			}
		}
	case av1job.EventPlanned:
		if r.scanBar != nil {
			r.scanBar.SetTotal(-1, true)
		}
		if e.Resumed > 0 {
			r.printf("av1job: resuming: %d/%d frames, %d/%d chunks already done", e.Frames, e.FramesTotal, e.Chunks, e.ChunksTotal)
		} else {
			r.printf("av1job: %d frames in %d chunks", e.FramesTotal, e.ChunksTotal)
		}
		if r.p != nil {
			r.frameBar = r.p.AddBar(int64(e.FramesTotal),
				mpb.PrependDecorators(decor.Name("encode ", decor.WCSyncSpaceR)),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return r.line() })))
			r.frameBar.SetCurrent(int64(e.Frames))
		}
	case av1job.EventFrames, av1job.EventChunkDone:
		if r.start.IsZero() {
			// Encoding runs while the scenes are still being detected;
			// the encode bar starts once the plan is known.
			break
		}
		if r.frameBar != nil {
			r.frameBar.SetCurrent(int64(e.Frames))
		} else if time.Since(r.lastLog) >= logInterval || e.Kind == av1job.EventChunkDone && e.Chunks == e.ChunksTotal {
			r.lastLog = time.Now()
			fmt.Fprintf(r.out, "av1job: %s\n", r.line())
		}
	case av1job.EventPaused:
		if r.p == nil {
			fmt.Fprintf(r.out, "av1job: paused at %d/%d frames\n", e.Frames, e.FramesTotal)
		}
	case av1job.EventResumed:
		if r.p == nil {
			fmt.Fprintf(r.out, "av1job: resumed\n")
		}
	case av1job.EventStopping:
		r.printf("av1job: stopping: the encoders finish the frames they were given (Ctrl+C again kills at once; nothing recorded is lost)")
	case av1job.EventRetry:
		r.printf("av1job: chunk %d failed, trying again: %v", e.Chunk, e.Err)
	case av1job.EventFinishing:
		if r.frameBar != nil {
			r.frameBar.SetCurrent(int64(e.Frames))
		}
		if r.p == nil {
			fmt.Fprintf(r.out, "av1job: %s\n", e.Msg)
		}
	case av1job.EventWarning:
		r.printf("av1job: warning: %s", e.Msg)
	case av1job.EventDone:
		if e.Msg != "" {
			r.done = e.Msg
		}
		r.summary = e.Summary
	}
}

// line is the progress summary: frames, chunks, speed, ETA, size.
// Frames done before this run count in the totals but not in the speed.
func (r *reporter) line() string {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	e := r.last
	s := fmt.Sprintf("%d/%d frames  %d/%d chunks", e.Frames, e.FramesTotal, e.Chunks, e.ChunksTotal)
	if r.paused {
		return s + "  PAUSED (p to resume)"
	}
	el := (time.Since(r.start) - (e.Paused - r.pausedAt0)).Seconds()
	if n := e.Frames - r.startDone; n > 0 && el > 0 {
		fps := float64(n) / el
		eta := time.Duration(float64(e.FramesTotal-e.Frames) / fps * float64(time.Second)).Round(time.Second)
		s += fmt.Sprintf("  %.1f fps  ETA %s", fps, eta)
	}
	if e.Bytes > 0 {
		s += "  " + size(outputSoFar(e))
		// An estimate of the whole only once the frames written so far
		// cover half the source: before that, which scenes came first
		// says more than the bytes do.
		if e.BytesFrames > 0 && e.FramesTotal > 0 && 2*e.BytesFrames >= e.FramesTotal && e.BytesFrames < e.FramesTotal {
			s += " of ~" + size(float64(e.Bytes)/float64(e.BytesFrames)*float64(e.FramesTotal)+float64(e.OtherBytes))
		}
	}
	return s
}

// outputSoFar is the output's size for the frames encoded so far: the
// video's bytes and the other streams' share of the same part of the
// source (estimated from the source's).
func outputSoFar(e av1job.Event) float64 {
	b := float64(e.Bytes)
	if e.FramesTotal > 0 {
		b += float64(e.OtherBytes) * float64(min(e.BytesFrames, e.FramesTotal)) / float64(e.FramesTotal)
	}
	return b
}

func size(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", b/(1<<10))
}

// close ends the bars.
func (r *reporter) close(ok bool) {
	if r.p == nil {
		return
	}
	r.mu.Lock()
	for _, b := range []*mpb.Bar{r.scanBar, r.frameBar} {
		if b == nil {
			continue
		}
		if ok {
			b.SetTotal(-1, true)
		} else {
			b.Abort(false)
		}
	}
	r.mu.Unlock()
	r.p.Wait()
}
