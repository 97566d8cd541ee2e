package av1job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/av1job/av1job/internal/control"
	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// attempts is how many times a chunk is encoded before the job fails.
const attempts = 4

// job is one run of a job.
type job struct {
	o           Options
	dir         string
	src         *probe.Source
	st          *state
	enc         encode.Encoder
	encSettings encode.Settings
	log         *journal.Log
	ctl         *controller
	led         *ledger
	ledMu       sync.Mutex // guards led and the order of journal appends

	emitMu      sync.Mutex
	framesDone  atomic.Int64
	bytesDone   atomic.Int64
	bytesFrames atomic.Int64 // frames of the chunks in bytesDone
	chunksDone  atomic.Int64
	resumed     atomic.Int64 // frames done before this run started
	framesTotal atomic.Int64 // the source's frames, once planned
	salvaged    int
	chunksTotal atomic.Int64
}

func (j *job) emit(e Event) {
	if j.o.Events == nil {
		return
	}
	e.Time = time.Now()
	e.FramesTotal = int(j.framesTotal.Load())
	e.Frames = int(j.framesDone.Load())
	e.Bytes = j.bytesDone.Load()
	e.BytesFrames = int(j.bytesFrames.Load())
	e.Chunks = int(j.chunksDone.Load())
	e.ChunksTotal = int(j.chunksTotal.Load())
	_, _, e.Paused = j.ctl.pauseState()
	e.Resumed = int(j.resumed.Load())
	j.emitMu.Lock()
	defer j.emitMu.Unlock()
	j.o.Events(e)
}

func (j *job) warn(format string, a ...any) {
	j.emit(Event{Kind: EventWarning, Msg: fmt.Sprintf(format, a...)})
}

// A Job encodes one input to one output. It can be paused, resumed and
// stopped from other goroutines while Run runs.
type Job struct {
	o   Options
	ctl *controller
}

// New returns a job for o; nothing happens until Run.
func New(o Options) *Job {
	jb := &Job{o: o, ctl: newController()}
	jb.ctl.setEvents(func(e Event) {
		if o.Events != nil {
			e.Time = time.Now()
			o.Events(e)
		}
	})
	return jb
}

// Pause freezes every process of the job (SIGSTOP), halts its in-process
// encoders between two librav1e calls, and holds back new chunks until
// Resume. The encoders keep their state in memory and use no CPU; the
// output is the same as if the job had never paused. Pause returns once
// every encoder has stopped.
func (jb *Job) Pause() error { return jb.ctl.pause(true) }

// Resume continues a paused job.
func (jb *Job) Resume() error { return jb.ctl.resume(true) }

// Stop ends the job without losing work: every chunk in flight stops at
// its current frame, the encoder flushes what it was given, the encoded
// part is recorded and the rest becomes a new chunk. Run then returns
// ErrStopped. Stop returns at once.
func (jb *Job) Stop() { jb.ctl.stop() }

// Run encodes o.Input to o.Output with a new Job; see Job.Run.
func Run(ctx context.Context, o Options) error { return New(o).Run(ctx) }

// Run encodes the job's input to its output, resuming the job in its job
// directory if there is one with the same fingerprint. It returns a
// *UsageError for bad options or inputs (nothing is changed on disk then),
// ErrStopped after Stop, ctx's error when cancelled (work in flight is
// salvaged by the next run), or the error that failed the job.
func (jb *Job) Run(ctx context.Context) error {
	o := jb.o
	o.defaults()
	if err := o.Validate(); err != nil {
		return err
	}
	need := []string{tools.FFprobe, tools.FFmpeg}
	if o.Backend != "lib" {
		need = append(need, tools.Rav1e)
	}
	if err := tools.Check(need...); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	enc, err := encode.New(o.Backend)
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	if err := preflight(&o); err != nil {
		return err
	}
	if o.Dir == "" {
		// Load resolves the stored relative paths against it.
		o.Dir, _ = os.Getwd()
	}
	ctx = tools.WithJob(ctx, jb.ctl.id)
	src, err := probe.Probe(ctx, o.Input)
	if err != nil {
		return asUsage(err)
	}
	j := &job{o: o, dir: o.JobDir, src: src, enc: enc, ctl: jb.ctl}
	jb.ctl.setEvents(j.emit)
	fp, err := j.fingerprint(ctx)
	if err != nil {
		return err
	}

	created, err := makeJobDir(j.dir)
	if err != nil {
		return err
	}
	lock, err := journal.Acquire(j.dir)
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	defer lock.Release() //nolint:errcheck // released on exit in any case
	srv, err := control.Listen(j.dir, j.handle)
	if err != nil {
		return err
	}
	defer srv.Close()

	err = j.run(ctx, fp, created)
	if err != nil && created && j.st == nil {
		// Nothing was planned: leave no empty job directory behind.
		srv.Close()
		_ = os.RemoveAll(j.dir)
	}
	return err
}

func asUsage(err error) error {
	var ie *probe.InputError
	if errors.As(err, &ie) {
		return &UsageError{Msg: ie.Error()}
	}
	return err
}

// preflight checks the paths before anything is written.
func preflight(o *Options) error {
	fi, err := os.Stat(o.Input)
	if err != nil {
		return usagef("%s: %v", o.Input, unwrapPath(err))
	}
	if fi.IsDir() {
		return usagef("%s: is a directory, not a video file", o.Input)
	}
	if ofi, err := os.Stat(o.Output); err == nil {
		if os.SameFile(fi, ofi) {
			return usagef("%s: output is the same file as the input", o.Output)
		}
		if ofi.IsDir() {
			return usagef("%s: output is a directory", o.Output)
		}
		if !o.Overwrite {
			return usagef("%s: output exists (use -y to overwrite it)", o.Output)
		}
	}
	outDir := filepath.Dir(o.Output)
	if err := writable(outDir); err != nil {
		return usagef("%s: output directory is not writable: %v", outDir, err)
	}
	jobDir := o.JobDir
	if _, err := os.Stat(jobDir); err != nil {
		jobDir = filepath.Dir(jobDir) // to be created
	}
	if err := writable(jobDir); err != nil {
		return usagef("%s: job directory is not writable: %v", jobDir, err)
	}
	return nil
}

// writable checks that a file can be created in dir.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".av1job-probe-*")
	if err != nil {
		return unwrapPath(err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func makeJobDir(dir string) (created bool, err error) {
	if _, err := os.Stat(dir); err == nil {
		return false, os.MkdirAll(filepath.Join(dir, chunkDir), 0o755)
	}
	if err := os.MkdirAll(filepath.Join(dir, chunkDir), 0o755); err != nil {
		return false, fmt.Errorf("job directory: %w", err)
	}
	return true, nil
}

// fingerprint identifies the source and every setting that changes the
// output.
func (j *job) fingerprint(ctx context.Context) (plan.Fingerprint, error) {
	size, mtime, sample, err := plan.SourceIdentity(j.src.Path)
	if err != nil {
		return nil, err
	}
	ver, err := j.enc.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("encoder version: %w", err)
	}
	o := j.o
	scenes := fmt.Sprintf("%s threshold %g", detector, o.SceneThreshold)
	if o.Scenes != "" {
		sf, err := loadScenes(o.Scenes)
		switch {
		case err == nil:
			scenes = "cuts " + sf.cutsSum()
		case o.Restart:
			return nil, &UsageError{Msg: err.Error()}
		default:
			// A planned job needs its scenes file no more.
			st, serr := readState(j.dir)
			if serr != nil || !strings.HasPrefix(st.Fingerprint["scene detector"], "cuts ") {
				return nil, &UsageError{Msg: err.Error()}
			}
			scenes = st.Fingerprint["scene detector"]
		}
	}
	rate := "quantizer " + fmt.Sprint(o.Quantizer)
	if o.Bitrate > 0 {
		rate = fmt.Sprintf("bitrate %d kbit/s", o.Bitrate)
	}
	return plan.Fingerprint{
		"source size":    size,
		"source mtime":   mtime,
		"source content": sample,
		"encoder":        j.enc.Name() + " " + ver,
		"speed":          fmt.Sprint(o.Speed),
		"rate control":   rate,
		"encoder args":   strings.Join(o.Extra, " "),
		"min scene len":  fmt.Sprint(o.MinSceneLen),
		"max scene len":  fmt.Sprint(o.MaxSceneLen),
		"scene detector": scenes,
	}, nil
}

func (j *job) run(ctx context.Context, fp plan.Fingerprint, created bool) error {
	st, err := readState(j.dir)
	switch {
	case err == nil && j.o.Restart:
		if err := j.reset(); err != nil {
			return err
		}
		st = nil
	case err == nil:
		if ch := plan.Diff(st.Fingerprint, fp); len(ch) > 0 {
			return usagef("%s: job was started with other settings (%s); use --restart to discard it and start again", j.dir, plan.FormatChanges(ch))
		}
	case errors.Is(err, fs.ErrNotExist):
		st = nil
	case j.o.Restart:
		if err := j.reset(); err != nil {
			return err
		}
		st = nil
	default:
		return err
	}
	if st == nil {
		if !created && !j.o.Restart {
			if err := j.reset(); err != nil { // leftovers of a job that never got planned
				return err
			}
		}
		pctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-j.ctl.stopped:
				cancel()
			case <-pctx.Done():
			}
		}()
		st, err = j.plan(pctx, fp)
		cancel()
		if err != nil {
			if j.ctl.isStopped() && ctx.Err() == nil {
				return ErrStopped
			}
			return err
		}
	}
	j.st = st
	j.framesTotal.Store(int64(st.Frames))
	j.chunksTotal.Store(int64(len(st.Chunks)))
	j.encSettings = j.encoderSettings()

	log, recs, err := journal.Open(filepath.Join(j.dir, journalFile))
	if err != nil {
		return err
	}
	defer log.Close()
	j.log = log
	for _, d := range log.Dropped() {
		j.warn("%s: ignored a damaged journal record at byte %d (%s)", filepath.Join(j.dir, journalFile), d.Offset, d.Reason)
	}
	j.led = newLedger(st)
	for _, r := range replay(recs) {
		j.led.apply(r)
	}
	j.led.checkFiles(j.dir, func(id int, why string) {
		j.warn("chunk %d will be encoded again: %s", id, why)
	})
	for _, r := range j.led.done {
		j.framesDone.Add(int64(r.End - r.Start))
		j.bytesDone.Add(r.Size)
		j.bytesFrames.Add(int64(r.End - r.Start))
		j.chunksDone.Add(1)
	}
	j.chunksTotal.Store(int64(len(j.led.chunks)))
	if err := j.salvage(ctx); err != nil {
		return err
	}
	j.removeStale()
	j.resumed.Store(j.framesDone.Load())
	j.emit(Event{Kind: EventPlanned})

	if err := j.encodeAll(ctx, j.led.pending()); err != nil {
		if ctx.Err() == nil && !errors.Is(err, ErrStopped) {
			_ = appendRecord(log, record{Type: recFailed, Error: err.Error()})
		}
		return err
	}
	if err := j.finish(ctx); err != nil {
		if ctx.Err() == nil {
			_ = appendRecord(log, record{Type: recFailed, Error: err.Error()})
		}
		return err
	}
	return nil
}

// reset empties the job directory, keeping the lock.
func (j *job) reset() error {
	for _, name := range []string{stateFile, journalFile, chunkDir, scratchIVF} {
		if err := os.RemoveAll(filepath.Join(j.dir, name)); err != nil {
			return fmt.Errorf("job directory: %w", err)
		}
	}
	return os.MkdirAll(filepath.Join(j.dir, chunkDir), 0o755)
}

// removeStale deletes chunk files that the journal does not vouch for.
func (j *job) removeStale() {
	entries, _ := os.ReadDir(filepath.Join(j.dir, chunkDir))
	for _, e := range entries {
		var id int
		if _, err := fmt.Sscanf(e.Name(), "%05d.ivf", &id); err == nil && strings.HasSuffix(e.Name(), ".ivf") {
			if _, ok := j.led.done[id]; ok {
				continue
			}
		}
		_ = os.Remove(filepath.Join(j.dir, chunkDir, e.Name()))
	}
}

// plan runs scene detection, plans the chunks and writes the job state.
func (j *job) plan(ctx context.Context, fp plan.Fingerprint) (*state, error) {
	v := j.src.Video
	// The frame count the container promises (or its duration implies)
	// lets the detection's progress show a total; the decode sets the
	// exact count.
	j.framesTotal.Store(int64(v.ExpectedFrames()))
	sf, err := findScenes(ctx, j.src, j.o, j.dir, func(n int) {
		j.emit(Event{Kind: EventAnalyzing, Decoded: n})
	})
	if err != nil {
		return nil, err
	}
	a := sf.analysis()
	fps, _ := v.FrameRate.Float64()
	if vfr, at := a.VariableRate(fps); vfr {
		return nil, usagef("%s: variable frame rate (frame %d is %.3f s after the one before, %s fps expects %.3f s); convert it first, e.g. ffmpeg -i %s -fps_mode cfr -r %s -c:a copy fixed.mkv",
			j.src.Path, at, a.Seconds(at)-a.Seconds(at-1), v.FrameRate.RatString(), 1/fps, j.src.Path, v.FrameRate.RatString())
	}
	layout := probe.LayoutFor(v.PixFmt)
	if layout.Convert {
		j.warn("%s: pixel format %s is converted to %s for the encoder", j.src.Path, v.PixFmt, layout.PixFmt)
	}
	cuts := sf.Cuts
	bounds := plan.Scenes(cuts, a.Frames, j.o.MinSceneLen, maxLen(j.o, fps), a.Scores)
	st := &state{
		Version: stateVersion, Input: j.src.Path, Output: j.o.Output, Created: time.Now().UTC(),
		Fingerprint: fp, Command: j.o.Command, Dir: j.o.Dir, Options: &j.o, Stream: v.Index, PixFmt: layout.PixFmt,
		RateNum: v.FrameRate.Num().Int64(), RateDen: v.FrameRate.Denom().Int64(),
		Frames: a.Frames, PTS: a.PTS, TimeBase: a.TimeBase.RatString(), Cuts: cuts, Chunks: plan.Chunks(bounds, a.Frames),
	}
	if err := writeState(j.dir, st); err != nil {
		return nil, err
	}
	return st, nil
}

// encoderSettings are the job's encoder settings with the source's colour
// description; encodeAll sets the threads.
func (j *job) encoderSettings() encode.Settings {
	s := j.o.settings()
	s.Color = j.src.Video.Color
	s.FullRange = j.src.Video.FullRange()
	return s
}
