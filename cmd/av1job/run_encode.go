package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/jobdir"
)

// runEncode runs a job in the foreground: progress on stderr, "p" to
// pause on a terminal, Ctrl+C to stop.
func runEncode(ctx context.Context, o av1job.Options, quiet bool) error {
	var rep *reporter
	if !quiet {
		rep = newReporter(os.Stderr)
		o.Events = rep.handle
	}
	jb := av1job.New(o)
	sig.setStopper(jb.Stop)
	defer sig.setStopper(nil)
	if term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stderr.Fd())) {
		// keys handles Ctrl+Z too, restoring the terminal around it.
		restore := keys(jb, func(bool) {})
		sig.onExit(restore)
		defer restore()
		if rep != nil {
			rep.printf("av1job: press p to pause or resume, Ctrl+C to stop")
		}
	} else {
		defer suspendable(jb, func() {}, func() {})()
	}
	err := jb.Run(ctx)
	if rep != nil {
		rep.close(err == nil)
	}
	switch {
	case errors.Is(err, av1job.ErrStopped):
		st, serr := av1job.Status(ctx, o.JobDir)
		if serr != nil {
			if jobdir.At(o.JobDir).HasParts() {
				return &exitError{code: exitStopped, err: fmt.Errorf("stopped while scenes were detected; the frames encoded so far are kept in %s: run the same command to resume", o.JobDir)}
			}
			return &exitError{code: exitStopped, err: errors.New("stopped before the job was planned; nothing to resume, run the same command to start again")}
		}
		// The job is found by its output unless it lives elsewhere.
		name := o.Output
		if av1job.JobDir(o.Output) != filepath.Clean(o.JobDir) {
			name = o.JobDir
		}
		return &exitError{code: exitStopped, err: fmt.Errorf("stopped: %d/%d frames done; resume with: av1job resume %s", st.FramesDone, st.FramesTotal, name)}
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted; finished chunks are kept in %s; run the same command to resume", o.JobDir)}
	case err == nil && !quiet && rep.done != "":
		fmt.Fprintf(os.Stderr, "av1job: %s\n", rep.done)
	case err == nil && !quiet && rep.summary != nil:
		fmt.Fprintf(os.Stderr, "av1job: %s\n", rep.summary.Line())
		if w := largerWarning(*rep.summary, o); w != "" {
			fmt.Fprintf(os.Stderr, "av1job: warning: %s\n", w)
		}
	case err == nil && !quiet:
		fmt.Fprintf(os.Stderr, "av1job: wrote %s\n", o.Output)
	}
	if err == nil && !quiet && o.TargetQuality > 0 {
		if line := qualityLine(jb.Chunks(), o.TargetQuality, o.Metric); line != "" {
			if o.Keep {
				line += "; per chunk: av1job status " + o.Output + " --chunks"
			}
			fmt.Fprintf(os.Stderr, "av1job: %s\n", line)
		}
	}
	return err
}

// startDetached starts the same encode command in a new session with its
// output going to the job directory's log, waits until the job answers
// on its control socket (or the command fails), and returns.
func startDetached(ctx context.Context, jobDir, output string, args []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// The log lives in the job directory: make it (a folder that is not
	// a job directory is refused), and remove it again if the job fails
	// before it is planned.
	d, created, err := jobdir.Create(jobDir)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	logPath := d.Log()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("job log: %w", err)}
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- %s av1job encode %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	// The same command without --detach (a --restart still restarts).
	cmd := exec.Command(self, append([]string{"encode"}, without(args, "--detach")...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		if st, err := av1job.Status(ctx, jobDir); err == nil && st.PID == cmd.Process.Pid {
			fmt.Printf("%s (pid %d): running in the background; log: %s\n", output, cmd.Process.Pid, logPath)
			fmt.Printf("  av1job status %s | pause | resume | stop\n", output)
			return nil
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			msg := lastLine(string(b))
			if _, serr := os.Stat(d.State()); created && err != nil && serr != nil {
				_ = d.Remove()
			}
			code := exitFailed
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code == 0 {
				fmt.Printf("%s: done (log: %s)\n", output, logPath)
				return nil
			}
			return &exitError{code: code, err: fmt.Errorf("%s", strings.TrimPrefix(msg, "av1job: "))}
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// qualityLine sums up a target-quality job's chunks: their quantizers and
// measured scores against the target (and, for SSIMULACRA2, how many are
// within 2 points of it).
func qualityLine(chunks []av1job.ChunkInfo, target float64, metric string) string {
	var qs []int
	var scores []float64
	within := 0
	for _, c := range chunks {
		if c.Quantizer > 0 {
			qs = append(qs, c.Quantizer)
		}
		if c.Score != nil {
			scores = append(scores, *c.Score)
			if math.Abs(*c.Score-target) <= 2 {
				within++
			}
		}
	}
	if len(qs) == 0 || len(scores) == 0 {
		return ""
	}
	if metric == "" {
		metric = "ssimulacra2"
	}
	line := fmt.Sprintf("target %s %g: %d chunks at quantizers %d-%d; scores %.4g-%.4g (mean of chunks %.4g)",
		metric, target, len(qs), slices.Min(qs), slices.Max(qs), slices.Min(scores), slices.Max(scores), mean(scores))
	if metric == "ssimulacra2" {
		line += fmt.Sprintf(", %d of %d within ±2", within, len(scores))
	}
	return line
}

// quantizerOf is the quantizer a job ran with: its options', or its
// encoder's default when they leave it unset.
func quantizerOf(o av1job.Options) int {
	if o.Quantizer != 0 {
		return o.Quantizer
	}
	name := o.Encoder
	if name == "" {
		name = "rav1e"
	}
	for _, e := range av1job.Encoders() {
		if e.Name == name {
			return e.Quantizer.Default
		}
	}
	return 0
}

// largerWarning says what to change when the output came out larger than
// its source; "" when it did not.
func largerWarning(s av1job.Summary, o av1job.Options) string {
	if !s.Larger() {
		return ""
	}
	hint := fmt.Sprintf("raise --quantizer (this job's: %d; higher makes it smaller) or use --target-quality", quantizerOf(o))
	switch {
	case o.TargetQuality > 0:
		hint = fmt.Sprintf("lower --target-quality (this job's: %g)", o.TargetQuality)
	case o.Bitrate > 0:
		hint = fmt.Sprintf("lower --bitrate (this job's: %d kbit/s) or use --target-quality", o.Bitrate)
	}
	return fmt.Sprintf("%s (%s) is larger than its source (%s): %s", s.Output, av1job.Size(s.OutputBytes), av1job.Size(s.SourceBytes), hint)
}
