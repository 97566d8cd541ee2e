// Package encode defines the Encoder interface through which av1job drives
// an AV1 encoder for one chunk, and the rav1e process backend.
//
// av1job sits in the middle of both of the encoder's pipes: it writes the
// chunk's frames itself (Session.WriteFrame), so it knows how many went in,
// and it receives every temporal unit the encoder emits (Sink.Frame), so it
// knows how many came out and writes the chunk file itself.
package encode

import (
	"context"
	"fmt"
	"strings"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/source"
)

// Settings are the encoder settings of a job.
type Settings struct {
	Speed     int
	Quantizer int      // used when Bitrate is 0
	Bitrate   int      // kbit/s; 0 for constant quantizer
	Extra     []string // passed through to the encoder, checked by CheckExtra
	Threads   int      // encoder threads per chunk; 0 lets the encoder choose
	Color     probe.Color
	FullRange bool
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

// An Encoder starts sessions.
type Encoder interface {
	// Name identifies the encoder in the fingerprint, e.g. "rav1e".
	Name() string
	// Version identifies the encoder's build; a different version may give
	// different bits, so it is part of the fingerprint.
	Version(ctx context.Context) (string, error)
	// Start begins encoding a stream whose frames are described by hdr.
	Start(ctx context.Context, hdr source.Header, s Settings, sink Sink) (Session, error)
}

// Backends are the names New takes: "process" runs the rav1e program for
// each chunk, "lib" encodes in-process with librav1e.
var Backends = []string{"process", "lib"}

// New returns the encoder of a backend by name.
func New(backend string) (Encoder, error) {
	switch backend {
	case "", "process":
		return Rav1e{}, nil
	case "lib":
		return Lib{}, nil
	}
	return nil, fmt.Errorf("unknown encoder backend %q (use process or lib)", backend)
}

// refused lists encoder arguments that would break the pipeline, with the
// reason given to the user.
var refused = map[string]string{
	"-o": "av1job writes the output", "--output": "av1job writes the output",
	"-y": "av1job writes the output", "--overwrite": "av1job writes the output",
	"--skip": "av1job feeds each chunk's frames", "-l": "av1job feeds each chunk's frames", "--limit": "av1job feeds each chunk's frames",
	"-I": "each chunk has one keyframe at its start", "--keyint": "each chunk has one keyframe at its start",
	"-i": "each chunk has one keyframe at its start", "--min-keyint": "each chunk has one keyframe at its start",
	"-S": "each chunk has one keyframe at its start", "--switch-frame-interval": "each chunk has one keyframe at its start",
	"--first-pass": "two-pass encoding is not supported yet", "--second-pass": "two-pass encoding is not supported yet",
	"--still-picture": "av1job encodes video",
	"-s":              "use av1job's --speed", "--speed": "use av1job's --speed",
	"--quantizer": "use av1job's --quantizer", "-b": "use av1job's --bitrate", "--bitrate": "use av1job's --bitrate",
	"-h": "not an encoding option", "--help": "not an encoding option", "-V": "not an encoding option", "--version": "not an encoding option",
	"--y4m": "not an encoding option",
}

// CheckExtra rejects pass-through arguments that would break the pipeline.
func CheckExtra(args []string) error {
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		if why, ok := refused[name]; ok {
			return fmt.Errorf("encoder argument %s is not allowed (%s)", a, why)
		}
		if !strings.HasPrefix(a, "-") && isFlagWithoutValue(args, a) {
			return fmt.Errorf("encoder argument %q is not allowed (av1job gives the encoder its input)", a)
		}
	}
	return nil
}

// flags of rav1e that take no value.
var boolFlags = map[string]bool{
	"--low-latency": true, "--no-scene-detection": true, "--benchmark": true, "-v": true, "--verbose": true,
	"-q": true, "--quiet": true, "--psnr": true, "--metrics": true,
}

// isFlagWithoutValue reports whether the bare word a follows a flag that
// takes no value (or nothing), which makes it a positional argument.
func isFlagWithoutValue(args []string, a string) bool {
	for i, x := range args {
		if x != a {
			continue
		}
		if i == 0 {
			return true
		}
		prev := args[i-1]
		return !strings.HasPrefix(prev, "-") || strings.Contains(prev, "=") || boolFlags[prev]
	}
	return false
}
