// Package encode drives AV1 encoders for av1job, one chunk at a time. Each
// encoder (the rav1e program, librav1e in-process, SvtAv1EncApp, aomenc)
// implements Encoder and is registered by name (Lookup); it owns its
// speed and quantizer scales, its settings validation, the pass-through
// arguments it refuses (its program's option table), its version and its
// memory estimate. suite_test.go is the one conformance suite every
// encoder passes.
//
// av1job sits in the middle of both of the encoder's pipes: it writes the
// chunk's frames itself (Session.WriteFrame), so it knows how many went in,
// and it receives every temporal unit the encoder emits (Sink.Frame), so it
// knows how many came out and writes the chunk file itself.
package encode

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/source"
)

// Settings are the encoder settings of a job.
type Settings struct {
	Speed     int      // on the encoder's own scale (Scales().Speed)
	Quantizer int      // on the encoder's own scale (Scales().Quantizer); used when Bitrate is 0
	Bitrate   int      // kbit/s; 0 for constant quantizer
	Extra     []string // passed through to the encoder, checked against its option table
	Threads   int      // encoder threads per chunk; 0 lets the encoder choose
	Color     probe.Color
	FullRange bool
	// HDR is the HDR10 static metadata (mastering display, content light
	// level) each encoder writes into the stream, in AV1's units; its
	// zero value writes none. Every encoder maps it to its own options
	// (rav1e: --mastering-display, --content-light), and pass-through
	// arguments that set the same take precedence.
	HDR probe.HDR

	// FilmGrain is SVT-AV1's film grain: it denoises the source at this
	// level (1-50) and signals grain matching what it removed; 0 is off.
	FilmGrain int
	// PhotonNoise is the ISO-like strength of synthetic grain (0: none);
	// GrainTable is the AV1 film grain table made from it for the source
	// (aomenc's --film-grain-table file's text), filled in by the job.
	PhotonNoise int
	GrainTable  string
}

// A Scale is one of an encoder's own numeric settings: what the encoder
// calls it, its range and av1job's default.
type Scale struct {
	Name     string // "preset", "crf", "cpu-used", ...
	Min, Max int
	Default  int
}

// Contains reports whether v is on the scale.
func (c Scale) Contains(v int) bool { return v >= c.Min && v <= c.Max }

// Scales are an encoder's speed and quantizer scales (for both, a higher
// value is faster, or smaller and worse) and the quantizer range a
// target-quality search covers unless told.
type Scales struct {
	Speed, Quantizer Scale
	TargetMin        int
	TargetMax        int
}

// A Sink receives an encoder's output: the stream header once, then each
// temporal unit in order.
type Sink interface {
	Header(ivf.Header) error
	Frame(ivf.Frame) error
}

// A Session encodes one chunk.
type Session interface {
	// WriteFrame hands the encoder one frame's planes, laid out as in Y4M.
	WriteFrame(planes []byte) error
	// Close ends the input, waits until the encoder has flushed every
	// temporal unit to the sink, and returns the encoder's error, if any.
	Close() error
	// Abort stops the encoder at once; output already in the sink is kept.
	Abort()
}

// An Encoder is one AV1 encoder av1job can drive. Each owns its rules: the
// settings it takes, the pass-through arguments it refuses, its version
// and its memory estimate. Adding an encoder means implementing this
// interface in one file and registering it in encoders.
type Encoder interface {
	// Name identifies the encoder in options, tasks and the fingerprint,
	// e.g. "rav1e".
	Name() string
	// InProcess reports whether the encoder runs inside av1job (it
	// pauses between calls) rather than as a program per chunk (frozen
	// with SIGSTOP).
	InProcess() bool
	// Programs lists the external programs the encoder runs.
	Programs() []string
	// Version identifies the encoder's build; a different version may give
	// different bits, so it is part of the fingerprint.
	Version(ctx context.Context) (string, error)
	// Check validates settings without running anything: value ranges
	// and pass-through arguments. Its error names the setting.
	Check(s Settings) error
	// Trial encodes one frame of a stream described by hdr with s, to let
	// the encoder itself refuse what Check cannot judge (an argument's
	// value, a tile layout for this size) before any work starts.
	Trial(ctx context.Context, hdr source.Header, s Settings) error
	// Scales returns the encoder's speed and quantizer scales, which
	// Check applies to Settings.Speed and Settings.Quantizer.
	Scales() Scales
	// Memory estimates one encoder's resident memory, in bytes, for a
	// stream of this size and bit depth (what it reads included), with
	// the threads Settings.Threads gives a chunk (1 when 0).
	Memory(width, height, bitDepth int) int64
	// Start begins encoding a stream whose frames are described by hdr.
	Start(ctx context.Context, hdr source.Header, s Settings, sink Sink) (Session, error)
}

// encoders are the registered encoders, by name.
var encoders = map[string]Encoder{}

func register(e Encoder) { encoders[e.Name()] = e }

func init() {
	register(Rav1e{})
	register(Lib{})
	register(SVT{})
	register(Aom{})
}

// Default is the encoder used when none is named.
const Default = "rav1e"

// Names lists the registered encoders' names, sorted.
func Names() []string {
	out := make([]string, 0, len(encoders))
	for n := range encoders {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the encoder named name ("" is Default).
func Lookup(name string) (Encoder, error) {
	if name == "" {
		name = Default
	}
	if e, ok := encoders[name]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("unknown encoder %q (use %s)", name, strings.Join(Names(), " or "))
}

// Backend names the encoder an older option names: "process" is the
// rav1e program, "lib" librav1e in-process.
func Backend(b string) (string, error) {
	switch b {
	case "", "process":
		return Rav1e{}.Name(), nil
	case "lib":
		return Lib{}.Name(), nil
	}
	return "", fmt.Errorf("--backend %q: use process or lib", b)
}

// checkRange validates the settings on the encoder's scales: enc's name
// and its scale's name are in the error, e.g. "--speed 14: svt-av1's
// preset is 0-13".
func checkRange(enc Encoder, s Settings) error {
	sc := enc.Scales()
	switch {
	case !sc.Speed.Contains(s.Speed):
		return fmt.Errorf("--speed %d: %s's %s is %d-%d", s.Speed, enc.Name(), sc.Speed.Name, sc.Speed.Min, sc.Speed.Max)
	case s.Bitrate == 0 && !sc.Quantizer.Contains(s.Quantizer):
		return fmt.Errorf("--quantizer %d: %s's %s is %d-%d", s.Quantizer, enc.Name(), sc.Quantizer.Name, sc.Quantizer.Min, sc.Quantizer.Max)
	case s.Bitrate < 0:
		return fmt.Errorf("--bitrate %d: must be at least 1 kbit/s", s.Bitrate)
	case s.Threads < 0:
		return fmt.Errorf("threads %d: must not be negative", s.Threads)
	case s.FilmGrain < 0 || s.PhotonNoise < 0:
		return fmt.Errorf("--film-grain %d, --photon-noise %d: must not be negative", s.FilmGrain, s.PhotonNoise)
	}
	return nil
}

// noGrain refuses film grain for an encoder without it: name is the
// encoder as the error calls it ("rav1e 0.5.1").
func noGrain(name string, s Settings) error {
	if s.FilmGrain > 0 || s.PhotonNoise > 0 || s.GrainTable != "" {
		return fmt.Errorf("--film-grain and --photon-noise: %s has no film grain synthesis (use --encoder svt-av1 or aomenc)", name)
	}
	return nil
}

// NeedsTrial reports whether a job must run enc's Trial before its
// chunks: with pass-through arguments or film grain (values Check cannot
// judge), and always for an encoder other than rav1e, which take only
// some of the sources av1job reads (SVT-AV1 1.4.1: 4:2:0 and at least
// 64x64).
func NeedsTrial(enc Encoder, s Settings) bool {
	switch {
	case len(s.Extra) > 0 || s.FilmGrain > 0 || s.GrainTable != "":
		return true
	case enc.Name() == (Rav1e{}).Name() || enc.Name() == (Lib{}).Name():
		return false
	}
	return true
}
