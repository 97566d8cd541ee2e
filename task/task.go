package task

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"syscall"
	"time"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/grain"
	"github.com/av1job/av1job/internal/probe"
)

// A Task is one chunk's work as a plain value: everything an Executor
// needs to encode frames [Start, End) of a source, and nothing that ties
// it to the job directory, so it can cross a network as JSON. The
// coordinator makes tasks; an Executor runs them.
type Task struct {
	Job     string `json:"job"`     // the job: its fingerprint's digest, "-", its job directory's (unique in a cluster, the same across runs)
	Chunk   int    `json:"chunk"`   // chunk ID in the job's ledger
	Attempt int    `json:"attempt"` // 1 for the first try; a result must name the attempt it answers
	Start   int    `json:"start"`   // first frame of the chunk
	End     int    `json:"end"`     // frame after its last
	// PTS are the timestamps of frames Start..End-1 in Source.TimeBase
	// units: the frames are picked by them, exactly.
	PTS      []int64        `json:"pts"`
	Source   SourceRef      `json:"source"`
	Encoder  EncoderRef     `json:"encoder"`
	Settings EncoderOptions `json:"settings"`
	// Target, when set, makes the task search for its quantizer (probe
	// encodes) and encode at the one found; Settings.Quantizer is then
	// ignored.
	Target *TargetQuality `json:"target,omitempty"`
}

// SourceRef identifies a task's source and says how to read it.
type SourceRef struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	Content string `json:"content"` // a hash of its first and last MiB (plan.SourceIdentity)
	Stream  int    `json:"stream"`  // index of the video stream
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	PixFmt  string `json:"pix_fmt"`          // pixel format handed to the encoder
	Filter  string `json:"filter,omitempty"` // ffmpeg filter converting the source to PixFmt, when needed
	// TimeBase is the stream's time base, "num/den"; FirstPTS the
	// timestamp of its first frame.
	TimeBase string `json:"time_base"`
	FirstPTS int64  `json:"first_pts"`
}

// EncoderRef names an encoder and the version a task must be encoded
// with: another version may give other bits.
type EncoderRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// EncoderOptions are the encoder settings of a task.
type EncoderOptions struct {
	Speed     int      `json:"speed"`
	Quantizer int      `json:"quantizer,omitempty"`
	Bitrate   int      `json:"bitrate,omitempty"` // kbit/s; 0 for constant quantizer
	Extra     []string `json:"extra,omitempty"`   // pass-through arguments
	Primaries string   `json:"primaries,omitempty"`
	Transfer  string   `json:"transfer,omitempty"`
	Matrix    string   `json:"matrix,omitempty"`
	FullRange bool     `json:"full_range,omitempty"`
	// HDR is the HDR10 static metadata written into the stream; nil for
	// none.
	HDR *HDR `json:"hdr,omitempty"`
	// FilmGrain is SVT-AV1's film grain level; PhotonNoise the ISO-like
	// strength of the AV1 film grain table aomenc gets (GrainTable makes
	// it for the task's source and chunk).
	FilmGrain   int `json:"film_grain,omitempty"`
	PhotonNoise int `json:"photon_noise,omitempty"`
}

// HDR is a source's HDR10 static metadata in AV1's fixed-point units: its
// mastering display (Mastering) and content light level (ContentLight),
// either of which may be absent. The names are this package's, so that an
// Executor outside this module can build and read them.
type (
	HDR          = probe.HDR
	Mastering    = probe.Mastering
	ContentLight = probe.ContentLight
)

// A Result is the outcome of a task as the coordinator commits it: frames
// [Start, End) of chunk Chunk are in File, whose size and SHA-256 are Size
// and SHA256. End is the task's End, or less when the task was stopped.
type Result struct {
	Job     string `json:"job"`
	Chunk   int    `json:"chunk"`
	Attempt int    `json:"attempt"`
	Start   int    `json:"start"`
	End     int    `json:"end"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	File    string `json:"file"`
	// Worker and Took, when known, say where the chunk was encoded and
	// for how long (the journal keeps them for display).
	Worker string        `json:"worker,omitempty"`
	Took   time.Duration `json:"took,omitempty"`
	// Quantizer and Score, for a target-quality task: the quantizer its
	// search chose and, when Scored, the score measured on File.
	Quantizer int     `json:"q,omitempty"`
	Score     float64 `json:"score,omitempty"`
	Scored    bool    `json:"scored,omitempty"`
}

// Frames is the number of frames in the result.
func (r Result) Frames() int { return r.End - r.Start }

// TaskError reports a task that cannot be run as it is: trying it again
// cannot help. Err, when set, is the cause (Msg then says it, and
// errors.Is and errors.As see it through Unwrap).
type TaskError struct {
	Task Task
	Msg  string
	Err  error
}

func (e *TaskError) Error() string {
	return fmt.Sprintf("task for chunk %d [%d,%d) of job %s: %s", e.Task.Chunk, e.Task.Start, e.Task.End, e.Task.Job, e.Msg)
}

// Unwrap returns the cause, if any.
func (e *TaskError) Unwrap() error { return e.Err }

// Validate checks that a task holds together, without touching its source
// or running anything: a task that arrives from elsewhere is checked
// before any work starts. The error is a *TaskError.
func (t Task) Validate() error {
	bad := func(format string, a ...any) error { return &TaskError{Task: t, Msg: fmt.Sprintf(format, a...)} }
	switch {
	case t.Job == "":
		return bad("no job ID")
	case t.Chunk < 0 || t.Attempt < 1:
		return bad("chunk %d, attempt %d", t.Chunk, t.Attempt)
	case t.Start < 0 || t.End <= t.Start:
		return bad("empty or negative frame range")
	case len(t.PTS) != t.End-t.Start:
		return bad("%d timestamps for %d frames", len(t.PTS), t.End-t.Start)
	case t.Source.Path == "" || t.Source.Size <= 0 || t.Source.Content == "":
		return bad("no source identity")
	case t.Source.Width <= 0 || t.Source.Height <= 0 || t.Source.Width > 65535 || t.Source.Height > 65535:
		return bad("source size %dx%d", t.Source.Width, t.Source.Height)
	case t.Source.PixFmt == "" || t.Source.Stream < 0:
		return bad("no pixel format or stream")
	case t.Encoder.Name == "" || t.Encoder.Version == "":
		return bad("no encoder name or version")
	case !jobIDRE.MatchString(t.Job):
		return bad("job ID %q is not 1-64 letters, digits, - or _", t.Job)
	case !pixFmtRE.MatchString(t.Source.PixFmt):
		return bad("pixel format %q", t.Source.PixFmt)
	case t.Source.Filter != "" && !filterRE.MatchString(t.Source.Filter):
		// A filter can read and write files: only the conversions
		// package probe makes are run.
		return bad("filter %q is not a pixel format conversion", t.Source.Filter)
	}
	if tb, ok := new(big.Rat).SetString(t.Source.TimeBase); !ok || tb.Sign() <= 0 {
		return bad("time base %q", t.Source.TimeBase)
	}
	for i := 1; i < len(t.PTS); i++ {
		if t.PTS[i] <= t.PTS[i-1] {
			return bad("timestamps not increasing at frame %d", t.Start+i)
		}
	}
	if t.Start > 0 && t.PTS[0] <= t.Source.FirstPTS {
		return bad("frame %d's timestamp is not after the first frame's", t.Start)
	}
	enc, err := encode.Lookup(t.Encoder.Name)
	if err != nil {
		return bad("%v", err)
	}
	if t.Target != nil {
		if err := t.Target.check(); err != nil {
			return bad("target quality: %v", err)
		}
		if t.Settings.Bitrate > 0 {
			return bad("target quality with a bitrate")
		}
		sc := enc.Scales()
		if !sc.Quantizer.Contains(t.Target.MinQ) || !sc.Quantizer.Contains(t.Target.MaxQ) {
			return bad("target quality: quantizer range %d-%d is not within %s's %s %d-%d", t.Target.MinQ, t.Target.MaxQ, enc.Name(), sc.Quantizer.Name, sc.Quantizer.Min, sc.Quantizer.Max)
		}
		if t.Target.ProbeSpeed > 0 && !sc.Speed.Contains(t.Target.ProbeSpeed) {
			return bad("target quality: probe speed %d is not within %s's %s %d-%d", t.Target.ProbeSpeed, enc.Name(), sc.Speed.Name, sc.Speed.Min, sc.Speed.Max)
		}
	}
	s, err := t.EncodeSettings()
	if err != nil {
		return bad("%v", err)
	}
	if err := enc.Check(s); err != nil {
		return bad("%v", err)
	}
	return nil
}

var (
	jobIDRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	pixFmtRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	filterRE = regexp.MustCompile(`^scale=(out_color_matrix=bt709:)?out_range=tv,format=[a-z0-9_]{1,32}$`)
)

// EncodeSettings converts the options to package encode's.
func (o EncoderOptions) EncodeSettings() encode.Settings {
	s := encode.Settings{Speed: o.Speed, Quantizer: o.Quantizer, Bitrate: o.Bitrate, Extra: o.Extra, FullRange: o.FullRange,
		FilmGrain: o.FilmGrain, PhotonNoise: o.PhotonNoise}
	s.Color.Primaries, s.Color.Transfer, s.Color.Matrix = o.Primaries, o.Transfer, o.Matrix
	if o.HDR != nil {
		s.HDR = *o.HDR
	}
	return s
}

// EncodeSettings returns the encoder settings the task runs with: its
// options' (EncoderOptions.EncodeSettings) and, for a task with
// PhotonNoise, its film grain table (GrainTable) for its source's size
// and transfer, seeded for its first frame. The table is made from the
// task alone, so a remote worker makes the same one.
func (t Task) EncodeSettings() (encode.Settings, error) {
	s := t.Settings.EncodeSettings()
	if t.Settings.PhotonNoise > 0 {
		tbl, err := GrainTable(t.Settings.PhotonNoise, t.Source.Width, t.Source.Height, t.Settings.Transfer, t.Start)
		if err != nil {
			return s, err
		}
		s.GrainTable = tbl
	}
	return s, nil
}

// GrainTable returns the AV1 film grain table, in aomenc's
// --film-grain-table text, of a photon noise of strength iso (an ISO
// setting, grain.MinISO to grain.MaxISO) on a width x height source coded
// with transfer (ffprobe's name for it; "" is SDR), for a chunk that
// starts at frame start: each chunk gets the grain seed aomenc would have
// reached there in one piece (grain.ChunkSeed), so that chunks do not
// repeat one another's grain.
func GrainTable(iso, width, height int, transfer string, start int) (string, error) {
	tr, err := grain.ParseTransfer(transfer)
	if err != nil {
		return "", err
	}
	tbl, err := grain.PhotonNoise(grain.Params{Width: width, Height: height, ISO: iso, Transfer: tr})
	if err != nil {
		return "", err
	}
	for i := range tbl.Entries {
		tbl.Entries[i].Grain.Seed = grain.ChunkSeed(start)
	}
	b, err := tbl.MarshalText()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// StreamHeader describes an encoded stream: the picture size and the frame
// rate (the time base of the units' timestamps is one frame).
type StreamHeader struct {
	Width, Height    int
	RateNum, RateDen uint32
}

// A StreamWriter takes an encoder's output for one task: the header once,
// then each temporal unit in order, each holding exactly one shown frame,
// the first a keyframe with a sequence header, with timestamps 0, 1, 2 ...
type StreamWriter interface {
	Header(StreamHeader) error
	Unit(pts uint64, data []byte) error
}

// Steer is how the coordinator steers a running task.
type Steer interface {
	// Stopping is closed when the task must end at its current frame:
	// feed no more frames, let the encoder flush what it was given, and
	// return.
	Stopping() <-chan struct{}
	// Attach makes an in-process encoder pause and resume with the job
	// until detach is called. (Processes a task starts are frozen through
	// the context's process group.)
	Attach(Pauser) (detach func())
}

// An Executor runs tasks, several at once. It writes the encoded stream to
// out and never touches the job directory: the coordinator owns the file
// out writes, and commits it. Execute returns the frame the stream ends
// at: t.End, or less when steer stopped it (with no frame encoded it
// returns t.Start and ErrStopped). While the job is paused the task makes
// no progress, also when it starts paused: its processes are in ctx's
// process group, an in-process encoder is attached to steer. A cancelled
// ctx makes Execute return promptly with an error, and ends the processes
// it started (a remote worker's, once the worker hears of it). An error
// for which trying again cannot help wraps a *TaskError or a
// *SourceChangedError (or is a full disk, a missing program: see package
// documentation). When out is also a Placed, Execute tells it where the
// task runs as soon as it knows; when it is a QualityRecorder, a
// target-quality task reports its probes and score through it.
// Package internal/executortest checks executors against this contract.
type Executor interface {
	Execute(ctx context.Context, t Task, out StreamWriter, steer Steer) (end int, err error)
}

// A Placed is a StreamWriter that keeps where its task runs: the name of
// the machine or worker, told by the executor once it knows it (a remote
// task's worker is known when the worker claims the task).
type Placed interface {
	RunsOn(worker string)
}

// A Pauser is an encoder that pauses without signals: an in-process
// encoder halts between two calls into its library.
type Pauser interface {
	// Pause returns once the encoder does no work; it is idempotent.
	Pause()
	// Resume lets a paused encoder continue.
	Resume()
}

// ErrStopped is returned by Run when the job was stopped on request
// (Job.Stop, or a signal the caller turned into Stop): everything encoded
// until then is recorded, and running the job again continues it.
var ErrStopped = errors.New("job stopped")

// A Recoverer is an Executor whose tasks' output can outlive the
// coordinator: cluster.RemoteExecutor's workers send their units through
// JetStream, which keeps them. When a run of a job ends before writing
// all that a task sent (the server was killed), salvage asks the next
// run's executor for what its tasks sent.
type Recoverer interface {
	// Recover returns the streams that tasks of the chunk sent, each
	// from its header and first unit on, in order and without a gap.
	Recover(ctx context.Context, job string, chunk int) ([]SentStream, error)
}

// SentStream is a chunk's stream as a task sent it: it may end anywhere.
type SentStream struct {
	Header StreamHeader
	Units  [][]byte
}

// A SourceChangedError reports that the file at a job's source path is no
// longer the file the job was planned from: another file was renamed over
// it, it was truncated or rewritten, or it changed while it was being
// read. Nothing read from it is kept, and trying again cannot help: the
// job fails (see permanent).
type SourceChangedError struct {
	Path string
	Why  string // what differs
}

func (e *SourceChangedError) Error() string {
	return fmt.Sprintf("%s is not the job's source any more (%s)", e.Path, e.Why)
}

// A StoreError is a NATS store that takes no writes (it failed one, or its
// disk is full), as a cluster.RemoteExecutor's StoreChecker says: no chunk can be
// sent or received until it is mended, so trying a chunk again cannot
// help.
type StoreError struct{ Err error }

func (e *StoreError) Error() string {
	if errors.Is(e.Err, syscall.ENOSPC) || errors.Is(e.Err, syscall.EDQUOT) {
		return e.Err.Error() + "; free some space and resume the job (finished chunks are kept)"
	}
	return e.Err.Error()
}

func (e *StoreError) Unwrap() error { return e.Err }
