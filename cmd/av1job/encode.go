package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/av1job/av1job"
)

func newEncodeCmd() *cobra.Command {
	o := av1job.NewOptions("", "")
	var quiet, detach bool
	cmd := &cobra.Command{
		Use:   "encode INPUT -o OUTPUT [flags] [-- ENCODER ARGS]",
		Short: "Encode (or resume encoding) INPUT to OUTPUT",
		Long: `Encode INPUT to AV1 in OUTPUT, whose extension picks the container
(.mkv, .webm, .mp4, or .ivf for the video alone).

The source is split into chunks at scene cuts; chunks are encoded in parallel
and recorded in a job directory beside the output (OUTPUT.av1job). If the
command is stopped, crashes or the machine goes down, running the same command
again continues where it left off. Arguments after -- go to the encoder, in
its own spelling; those that would break the chunking are refused.

Encoders (--encoder), with their --speed and --quantizer (--crf) scales:
` + encoderTable(),
		Args: oneInput("encode"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := inputArgs(cmd, args, &o); err != nil {
				return err
			}
			if o.JobDir == "" && o.Output != "" {
				o.JobDir = av1job.NewOptions("", o.Output).JobDir
			}
			o.Command = resumeArgs(rawArgs)
			o.Dir, _ = os.Getwd()
			if detach {
				return startDetached(cmd.Context(), o.JobDir, o.Output, rawArgs)
			}
			return runEncode(cmd.Context(), o, quiet)
		},
	}
	f := cmd.Flags()
	addJobFlags(f, &o, "chunks encoded at once (default: from cores and memory)")
	f.StringVar(&o.JobDir, "job-dir", "", "job directory (default OUTPUT.av1job)")
	f.BoolVar(&o.Restart, "restart", false, "discard an existing job for this output and start again")
	f.BoolVar(&quiet, "quiet", false, "print nothing but errors")
	f.BoolVar(&detach, "detach", false, "run the job in the background (log in the job directory)")
	cmd.Flags().SetInterspersed(true)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	return cmd
}

// oneInput accepts one INPUT before "--" (and encoder arguments after).
func oneInput(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		n := len(args)
		if at := cmd.ArgsLenAtDash(); at >= 0 {
			n = at
		}
		if n != 1 {
			return &usageErr{fmt.Errorf("%s takes one INPUT file (got %d)", name, n)}
		}
		return nil
	}
}

// inputArgs sets o's input and encoder arguments from the command line
// and checks the flags.
func inputArgs(cmd *cobra.Command, args []string, o *av1job.Options) error {
	o.Input = args[0]
	if at := cmd.ArgsLenAtDash(); at >= 0 {
		o.Extra = args[at:]
	}
	return checkFlags(cmd.Flags(), o)
}

// checkFlags refuses flag values that the options would read as "use the
// default": a zero given on purpose is a mistake, not a default.
func checkFlags(f *pflag.FlagSet, o *av1job.Options) error {
	if f.Changed("bitrate") && f.Changed("quantizer") {
		return &usageErr{errors.New("--quantizer and --bitrate exclude each other")}
	}
	if f.Changed("target-quality") && f.Changed("quantizer") {
		return &usageErr{errors.New("--quantizer and --target-quality exclude each other (use --quantizer-range to bound the search)")}
	}
	for _, name := range []string{"quantizer", "bitrate", "min-scene-len", "max-scene-len", "scene-threshold", "target-quality", "probes"} {
		if !f.Changed(name) {
			continue
		}
		if v := f.Lookup(name).Value.String(); v == "0" {
			return &usageErr{fmt.Errorf("--%s 0: must be more than 0 (leave it out for the default)", name)}
		}
	}
	if f.Changed("backend") && !f.Changed("encoder") {
		o.Encoder = "" // from --backend
	}
	return nil
}

// addJobFlags adds the flags that say what a job makes, shared by encode
// and submit. Speed and quantizer start unset: a job takes its encoder's
// defaults for them.
func addJobFlags(f *pflag.FlagSet, o *av1job.Options, workers string) {
	o.Speed, o.Quantizer = av1job.Speed{}, 0
	f.StringVarP(&o.Output, "output", "o", "", "output file (.mkv, .webm, .mp4 or .ivf)")
	f.VarP(speedFlag{&o.Speed}, "speed", "s", "the encoder's speed, lower is slower and better: rav1e 0-10 (default 6), svt-av1's preset 0-13 (default 10), aomenc's cpu-used 0-10 (default 6; 7-10 is its realtime mode)")
	f.IntVarP(&o.Quantizer, "quantizer", "q", 0, "the encoder's quality scale, lower is better (alias --crf): rav1e's quantizer 1-255 (default 100), svt-av1's CRF 1-63 (default 35), aomenc's cq-level 1-63 (default 30)")
	f.IntVarP(&o.Bitrate, "bitrate", "b", 0, "target bitrate in kbit/s instead of a quantizer, through the encoder's own rate control")
	f.IntVar(&o.FilmGrain, "film-grain", 0, "svt-av1 only: denoise at this level (1-50) and signal matching film grain")
	f.IntVar(&o.PhotonNoise, "photon-noise", 0, "aomenc only: synthetic film grain of this ISO-like strength (a grain table made for the source)")
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "crf" {
			name = "quantizer"
		}
		return pflag.NormalizedName(name)
	})
	f.IntVarP(&o.Workers, "workers", "w", 0, workers)
	f.StringVar(&o.Audio, "audio", "", "audio: copy, opus[:KBPS] or none (default: copy what the container takes, Opus for the rest)")
	f.Float64Var(&o.TargetQuality, "target-quality", 0, "encode each chunk at the highest quantizer that reaches this score (SSIMULACRA2: 90 visually lossless, 70 high, 50 medium)")
	f.StringVar(&o.Metric, "metric", "", "the score --target-quality aims at: ssimulacra2 (default), psnr (dB) or ssim (0-1, ffmpeg's filter)")
	f.StringVar(&o.QualityStat, "quality-stat", "", "how a chunk's frames are summed up for --target-quality: mean (default), p5 (95 % of frames reach it) or min")
	f.Var(&quantizerRange{o}, "quantizer-range", "quantizers --target-quality searches, MIN-MAX (default: rav1e 40-255, svt-av1 and aomenc 10-63)")
	f.IntVar(&o.Probes, "probes", 0, fmt.Sprintf("probe encodes per chunk for --target-quality (default %d)", av1job.DefaultProbes))
	f.IntVar(&o.ProbeSpeed, "probe-speed", 0, "encoder speed of the probes (default: --speed)")
	addSceneFlags(f, o)
	f.StringVar(&o.Scenes, "scenes", "", "use the scene cuts saved by av1job scenes --save FILE instead of detecting them")
	f.StringVar(&o.Encoder, "encoder", "rav1e", "the encoder: rav1e (the rav1e program, one process per chunk), librav1e (in-process), svt-av1 (SvtAv1EncApp) or aomenc")
	f.StringVar(&o.Backend, "backend", "", "the older name of --encoder: process (rav1e) or lib (librav1e)")
	f.BoolVarP(&o.Overwrite, "overwrite", "y", false, "overwrite an existing output")
	f.BoolVar(&o.Keep, "keep", false, "keep the job directory after success")
}

// speedFlag is the value of --speed: a number, 0 included (SpeedOf).
type speedFlag struct{ s *av1job.Speed }

func (f speedFlag) String() string {
	if f.s == nil || f.s.IsZero() {
		return ""
	}
	return f.s.String()
}

func (f speedFlag) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	*f.s = av1job.SpeedOf(n)
	return nil
}

func (f speedFlag) Type() string { return "int" }

// quantizerRange is the value of --quantizer-range: MIN-MAX.
type quantizerRange struct{ o *av1job.Options }

func (r *quantizerRange) String() string {
	if r.o == nil || r.o.MinQuantizer == 0 {
		return ""
	}
	return fmt.Sprintf("%d-%d", r.o.MinQuantizer, r.o.MaxQuantizer)
}

func (r *quantizerRange) Set(s string) error {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%q is not MIN-MAX, for example 40-255", s)
	}
	r.o.MinQuantizer, r.o.MaxQuantizer = a, b
	return nil
}

func (r *quantizerRange) Type() string { return "MIN-MAX" }

// encoderTable lists the encoders and their scales, a line each.
func encoderTable() string {
	var b strings.Builder
	for _, e := range av1job.Encoders() {
		fmt.Fprintf(&b, "  %-9s --speed: %s %d-%d (default %d); --quantizer: %s %d-%d (default %d)\n", e.Name,
			e.Speed.Name, e.Speed.Min, e.Speed.Max, e.Speed.Default, e.Quantizer.Name, e.Quantizer.Min, e.Quantizer.Max, e.Quantizer.Default)
	}
	return strings.TrimRight(b.String(), "\n")
}

// addSceneFlags adds the planning flags that encode and scenes share.
func addSceneFlags(f *pflag.FlagSet, o *av1job.Options) {
	f.IntVar(&o.MinSceneLen, "min-scene-len", o.MinSceneLen, "shortest chunk, in frames; a shorter scene joins a neighbour")
	f.Float64Var(&o.MaxSceneLen, "max-scene-len", o.MaxSceneLen, "longest chunk, in seconds; a longer scene is split where a keyframe fits best")
	f.Float64Var(&o.SceneThreshold, "scene-threshold", o.SceneThreshold, "scene detector sensitivity: the score from which a frame starts a scene (lower finds more cuts)")
}

// rawArgs are av1job's arguments after "encode", kept for resume.
var rawArgs []string

// resumeArgs drops the flags that must not be repeated by a resume.
func resumeArgs(args []string) []string { return without(args, "--detach", "--restart") }

// without drops the boolean flags names from av1job's arguments (those
// before "--").
func without(args []string, names ...string) []string {
	var out []string
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		drop := false
		for _, n := range names {
			drop = drop || a == n || a == n+"=true"
		}
		if !drop {
			out = append(out, a)
		}
	}
	return out
}
