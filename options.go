package av1job

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/quality"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/tools"
)

// Options describe a job. A field left at its zero value takes its
// default, so Options{Input: in, Output: out} is a job with rav1e at its
// speed 6 and quantizer 100 and av1job's planning defaults (NewOptions
// returns them filled in); with another Encoder, Speed and Quantizer
// default to that encoder's (encode.Scales). Speed is the one setting
// whose 0 is a value of its own (the slowest speed): it is a Speed, set
// with SpeedOf.
type Options struct {
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`  // its extension picks the container: .mkv, .webm, .mp4 or .ivf
	JobDir string `json:"job_dir,omitempty"` // default Output + ".av1job"

	// Encoder names the encoder: "rav1e" (the default) runs the rav1e
	// program for each chunk, "librav1e" encodes in-process, "svt-av1"
	// runs SvtAv1EncApp and "aomenc" aomenc for each chunk. rav1e and
	// librav1e give the same bits only with the pass-through argument
	// --tune Psnr (see package encode), so a job resumes only with the
	// encoder it started with.
	Encoder string `json:"encoder,omitempty"`
	// Speed and Quantizer are on the encoder's own scales: rav1e's speed
	// 0-10 (default 6) and quantizer 1-255 (default 100); SVT-AV1's
	// preset 0-13 (default 10) and CRF 1-63 (default 35); aomenc's
	// cpu-used 0-10 (default 6; 7-10 is its realtime mode) and cq-level
	// 1-63 (default 30). Unset, they take the encoder's default.
	Speed     Speed    `json:"speed,omitzero"`
	Quantizer int      `json:"quantizer,omitempty"` // ignored when Bitrate is set
	Bitrate   int      `json:"bitrate,omitempty"`   // kbit/s through the encoder's own rate control; 0 for constant quantizer
	Extra     []string `json:"extra,omitempty"`     // arguments passed through to the encoder, in its own spelling
	// FilmGrain is SVT-AV1's film grain (--film-grain 1-50): it denoises
	// the source and signals grain to match. PhotonNoise is the ISO-like
	// strength of the film grain table aomenc is given. rav1e 0.5.1 has
	// neither.
	FilmGrain   int `json:"film_grain,omitempty"`
	PhotonNoise int `json:"photon_noise,omitempty"`
	// TargetQuality, when above 0, replaces the fixed quantizer: each chunk
	// is encoded at the highest quantizer in [MinQuantizer, MaxQuantizer]
	// at which it reaches this score of Metric, its frames summed up with
	// QualityStat; the quantizer is found with at most Probes probe
	// encodes per chunk, at ProbeSpeed (0: Speed). Zero fields take the
	// defaults below (ssimulacra2, mean, DefaultMinQuantizer to
	// DefaultMaxQuantizer, DefaultProbes).
	TargetQuality float64 `json:"target_quality,omitempty"`
	Metric        string  `json:"metric,omitempty"`       // "ssimulacra2" (default), "psnr" or "ssim"
	QualityStat   string  `json:"quality_stat,omitempty"` // "mean" (default), "p5" or "min"
	MinQuantizer  int     `json:"min_quantizer,omitempty"`
	MaxQuantizer  int     `json:"max_quantizer,omitempty"`
	Probes        int     `json:"probes,omitempty"`
	ProbeSpeed    int     `json:"probe_speed,omitempty"`
	// Audio says what becomes of the source's audio: "" (the default)
	// copies each stream the output's container can carry and converts
	// the others to Opus (at mux.OpusKbps of its channel count); "copy"
	// copies every stream and refuses a job whose container cannot carry
	// one; "opus" or "opus:KBPS" converts every stream that is not Opus,
	// at KBPS kbit/s per stream when given; "none" leaves the audio out.
	// It changes only the final mux, so it is not part of the fingerprint.
	Audio string `json:"audio,omitempty"`
	// Backend is the older name of Encoder: "process" for rav1e, "lib" for
	// librav1e. It is read when Encoder is empty.
	Backend string `json:"backend,omitempty"`

	Workers        int     `json:"workers,omitempty"`         // parallel encoders; 0 chooses from cores and memory
	MinSceneLen    int     `json:"min_scene_len,omitempty"`   // frames; default 24
	MaxSceneLen    float64 `json:"max_scene_len,omitempty"`   // seconds; default 10
	SceneThreshold float64 `json:"scene_threshold,omitempty"` // detector score from which a frame starts a scene; default scene.DefaultThreshold
	// Scenes is a file of scene cuts saved by `av1job scenes --save` (or
	// Scenes.Save), used instead of detecting them again.
	Scenes    string `json:"scenes,omitempty"`
	Overwrite bool   `json:"overwrite,omitempty"` // replace an existing output
	Restart   bool   `json:"-"`                   // discard an existing job directory whose settings differ
	Keep      bool   `json:"keep,omitempty"`      // keep the job directory after success

	// Command and Dir are the command line that started the job and its
	// working directory, kept in the job directory so that `av1job resume`
	// can continue the job without being told the settings again.
	Command []string `json:"-"`
	Dir     string   `json:"-"`

	// Events, when set, receives the job's events in order, on a goroutine
	// of its own: a slow function never holds up the encoders (progress
	// events are then coalesced; no other event is dropped), and it may
	// call the job's methods, Stop included. Run returns after the last
	// call.
	Events func(Event) `json:"-"`

	// Executor runs the job's tasks; nil runs them on this machine
	// (LocalExecutor). With another executor (cluster.RemoteExecutor), Workers is
	// how many tasks are in flight at once, default 8. The output is the
	// same bits whichever runs them.
	Executor Executor `json:"-"`
}

// Target-quality defaults: the quantizer range is rav1e's; another
// encoder's is its Scales' TargetMin-TargetMax.
const (
	DefaultMinQuantizer = 40
	DefaultMaxQuantizer = 255
	DefaultProbes       = 4
)

// remoteInFlight is how many tasks another executor gets at once unless
// told.
const remoteInFlight = 8

// NewOptions returns options with the defaults a zero field stands for
// filled in: rav1e's own speed and quantizer (DefaultSpeed,
// DefaultQuantizer) and av1job's planning defaults. A program that shows
// or edits the defaults (a command's flags, a form) starts from them.
func NewOptions(input, output string) Options {
	o := Options{Input: input, Output: output}
	o.encoderDefaults()
	o.planningDefaults()
	return o
}

// defaults fills unset fields: the encoder's name (from Backend, when
// set), the encoder settings and the planning fields.
func (o *Options) defaults() {
	if o.Encoder == "" {
		if name, err := encode.Backend(o.Backend); err == nil {
			o.Encoder = name
		}
	}
	o.encoderDefaults()
	o.planningDefaults()
}

// scales are the scales of the options' encoder (rav1e's when it is
// unknown: validate refuses it).
func (o *Options) scales() encode.Scales {
	enc, err := encode.Lookup(o.Encoder)
	if err != nil {
		enc, _ = encode.Lookup(encode.Default)
	}
	return enc.Scales()
}

// encoderDefaults fills an unset speed and quantizer with the encoder's.
func (o *Options) encoderDefaults() {
	sc := o.scales()
	if o.Speed.IsZero() {
		o.Speed = SpeedOf(sc.Speed.Default)
	}
	if o.Quantizer == 0 {
		o.Quantizer = sc.Quantizer.Default
	}
}

// planningDefaults fills unset planning fields.
func (o *Options) planningDefaults() {
	if o.MinSceneLen == 0 {
		o.MinSceneLen = 24
	}
	if o.MaxSceneLen == 0 {
		o.MaxSceneLen = 10
	}
	if o.SceneThreshold == 0 {
		o.SceneThreshold = scene.DefaultThreshold
	}
	if o.JobDir == "" && o.Output != "" {
		o.JobDir = jobdir.Default(o.Output).Path()
	}
	if o.TargetQuality != 0 {
		if o.Metric == "" {
			o.Metric = quality.SSIMULACRA2
		}
		if o.QualityStat == "" {
			o.QualityStat = quality.StatMean
		}
		if o.MinQuantizer == 0 && o.MaxQuantizer == 0 {
			sc := o.scales()
			o.MinQuantizer, o.MaxQuantizer = sc.TargetMin, sc.TargetMax
		}
		if o.Probes == 0 {
			o.Probes = DefaultProbes
		}
	}
}

// target is the tasks' target quality, nil without one.
func (o *Options) target() *TargetQuality {
	if o.TargetQuality == 0 {
		return nil
	}
	return &TargetQuality{Score: o.TargetQuality, Metric: o.Metric, Stat: o.QualityStat, MinQ: o.MinQuantizer, MaxQ: o.MaxQuantizer,
		Probes: o.Probes, ProbeSpeed: o.ProbeSpeed}
}

// Validate checks the options, their unset fields taken as their
// defaults, without touching the disk or running anything; its error is a
// *UsageError naming the option.
func (o *Options) Validate() error {
	d := *o
	d.defaults()
	return d.validate()
}

// validate checks options whose defaults are filled in.
func (o *Options) validate() error {
	if o.Input == "" {
		return usagef("no input file given")
	}
	if o.Output == "" {
		return usagef("no output file given (use -o)")
	}
	for _, p := range []struct{ what, path string }{{"input", o.Input}, {"output", o.Output}, {"job directory", o.JobDir}, {"scenes file", o.Scenes}} {
		if strings.ContainsRune(p.path, 0) {
			// The system would refuse it only when the file is made: an
			// output's, after every chunk is encoded.
			return usagef("%q: %s path holds a NUL byte, which no file name can", p.path, p.what)
		}
	}
	if mux.Format(o.Output) == "" {
		return usagef("%s: unsupported output extension %q (use .mkv, .webm, .mp4 or .ivf)", o.Output, strings.ToLower(filepath.Ext(o.Output)))
	}
	if o.Workers < 0 {
		return usagef("--workers %d: must be 0 (automatic) or more", o.Workers)
	}
	if _, err := mux.ParseAudio(o.Audio); err != nil {
		return usage(err)
	}
	if o.Backend != "" {
		name, err := encode.Backend(o.Backend)
		if err != nil {
			return usage(err)
		}
		if o.Encoder != "" && o.Encoder != name {
			return usagef("--backend %s and --encoder %s disagree (use --encoder alone)", o.Backend, o.Encoder)
		}
	}
	enc, err := encode.Lookup(o.Encoder)
	if err != nil {
		return usagef("--encoder: %v", err)
	}
	if err := enc.Check(o.settings()); err != nil {
		if enc.InProcess() {
			return usagef("--encoder %s: %v", enc.Name(), err)
		}
		return usage(err)
	}
	if err := o.validatePlanning(); err != nil {
		return err
	}
	if err := o.validateTarget(); err != nil {
		return err
	}
	return nil
}

// validateTarget checks the target-quality options.
func (o *Options) validateTarget() error {
	if o.TargetQuality == 0 {
		if o.Metric != "" || o.QualityStat != "" || o.Probes != 0 || o.ProbeSpeed != 0 || o.MinQuantizer != 0 || o.MaxQuantizer != 0 {
			return usagef("--metric, --quality-stat, --probes, --probe-speed and --quantizer-range need --target-quality")
		}
		return nil
	}
	d := *o
	d.planningDefaults()
	tq := d.target()
	sc := o.scales()
	switch {
	case math.IsNaN(o.TargetQuality) || math.IsInf(o.TargetQuality, 0) || o.TargetQuality < 0 || o.TargetQuality > 100:
		return usagef("--target-quality %g: must be a score above 0, at most 100", o.TargetQuality)
	case o.Bitrate > 0:
		return usagef("--target-quality and --bitrate %d: choose one", o.Bitrate)
	case quality.CheckMetric(tq.Metric) != nil:
		return usagef("--metric %s: %v", tq.Metric, quality.CheckMetric(tq.Metric))
	case quality.CheckStat(tq.Stat) != nil:
		return usagef("--quality-stat %s: %v", tq.Stat, quality.CheckStat(tq.Stat))
	case !sc.Quantizer.Contains(tq.MinQ) || !sc.Quantizer.Contains(tq.MaxQ) || tq.MinQ > tq.MaxQ:
		return usagef("--quantizer-range %d-%d: must be within %s's %s %d-%d, low to high", tq.MinQ, tq.MaxQ, o.Encoder, sc.Quantizer.Name, sc.Quantizer.Min, sc.Quantizer.Max)
	case tq.Probes < 1 || tq.Probes > 16:
		return usagef("--probes %d: must be 1-16", tq.Probes)
	case tq.ProbeSpeed < 0 || (tq.ProbeSpeed > 0 && !sc.Speed.Contains(tq.ProbeSpeed)):
		return usagef("--probe-speed %d: must be within %s's %s %d-%d", tq.ProbeSpeed, o.Encoder, sc.Speed.Name, max(1, sc.Speed.Min), sc.Speed.Max)
	}
	return nil
}

// validatePlanning checks the scene and chunk options.
func (o *Options) validatePlanning() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case o.MinSceneLen < 1:
		return usagef("--min-scene-len %d: must be at least 1 frame", o.MinSceneLen)
	case !finite(o.MaxSceneLen) || o.MaxSceneLen <= 0:
		return usagef("--max-scene-len %g: must be a positive number of seconds", o.MaxSceneLen)
	case !finite(o.SceneThreshold) || o.SceneThreshold <= 0:
		return usagef("--scene-threshold %g: must be a positive number", o.SceneThreshold)
	}
	return nil
}

func (o *Options) format() string { return mux.Format(o.Output) }

// audio is the parsed Audio option (checked by Validate).
func (o *Options) audio() mux.Audio {
	a, _ := mux.ParseAudio(o.Audio)
	return a
}

// streams is the output's stream plan for src; a source whose audio the
// container cannot carry as --audio copy asks is a *UsageError naming it.
func (o *Options) streams(src *probe.Source) (mux.Plan, error) {
	pl, err := mux.Streams(src, o.format(), o.audio())
	if err != nil {
		return pl, usagef("%s: %v", src.Path, err)
	}
	return pl, nil
}

// settings are the encoder settings the options give (without the
// source's colour description).
func (o *Options) settings() encode.Settings {
	return encode.Settings{Speed: o.Speed.Int(), Quantizer: o.Quantizer, Bitrate: o.Bitrate, Extra: o.Extra,
		FilmGrain: o.FilmGrain, PhotonNoise: o.PhotonNoise}
}

// rateControl describes the rate control in the fingerprint.
func (o *Options) rateControl() string {
	if tq := o.target(); tq != nil {
		s := fmt.Sprintf("target %s %s %g, quantizer %d-%d, %d probes", tq.Metric, tq.Stat, tq.Score, tq.MinQ, tq.MaxQ, tq.Probes)
		if tq.ProbeSpeed > 0 {
			s += fmt.Sprintf(" at speed %d", tq.ProbeSpeed)
		}
		return s
	}
	if o.Bitrate > 0 {
		return fmt.Sprintf("bitrate %d kbit/s", o.Bitrate)
	}
	return fmt.Sprintf("quantizer %d", o.Quantizer)
}

// Check does what Run checks before it changes anything: the options, the
// programs the encoder needs, the input (a video file ffprobe reads), the
// output (absent, or -y), the job directory, and the encoder arguments
// (one frame encoded with them, as Run does). It writes nothing; a queue
// calls it so that a bad job is refused when it is submitted, not when its
// turn comes. Its error is a *UsageError naming the file and the problem,
// or ctx's error.
func Check(ctx context.Context, o Options) error {
	o.defaults()
	enc, err := o.check(jobdir.At(o.JobDir))
	if err != nil {
		return err
	}
	src, err := probe.Probe(ctx, o.Input)
	if err != nil {
		return classify(err)
	}
	if _, err := o.streams(src); err != nil {
		return err
	}
	p := &prepared{opts: o, src: src, enc: enc, layout: probe.LayoutFor(src.Video)}
	if err := enc.Check(p.settings()); err != nil {
		return usagef("%s: %v", o.Input, err)
	}
	return p.trial(ctx)
}

// check makes the checks that need no probe of the input: the options,
// the programs the encoder needs, the input file, the output and the job
// directory dir. It returns the encoder.
func (o *Options) check(dir jobdir.Dir) (encode.Encoder, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	enc, err := encode.Lookup(o.Encoder)
	if err != nil {
		return nil, usage(err)
	}
	if err := tools.Check(append([]string{tools.FFprobe, tools.FFmpeg}, enc.Programs()...)...); err != nil {
		return nil, usage(err)
	}
	if err := preflight(o, dir); err != nil {
		return nil, err
	}
	return enc, nil
}
