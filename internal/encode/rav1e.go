package encode

import (
	"context"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/tools"
)

// Rav1e encodes with the rav1e command-line program, one process per chunk.
type Rav1e struct{}

// Name returns "rav1e".
func (Rav1e) Name() string { return "rav1e" }

// InProcess returns false: each chunk runs a rav1e process.
func (Rav1e) InProcess() bool { return false }

// Programs returns the rav1e program.
func (Rav1e) Programs() []string { return []string{tools.Rav1e} }

// Check validates the settings and the pass-through arguments against the
// program's option table.
func (r Rav1e) Check(s Settings) error {
	if err := checkRange(r, s); err != nil {
		return err
	}
	if err := noGrain("rav1e 0.5.1", s); err != nil {
		return err
	}
	return CheckExtra(s.Extra)
}

// rav1eScales are the rav1e program's own speed and quantizer scales and
// defaults. Quantizer 0 is refused: rav1e 0.5.1 panics at it (it has no
// lossless mode).
var rav1eScales = Scales{
	Speed:     Scale{Name: "speed", Min: 0, Max: 10, Default: 6},
	Quantizer: Scale{Name: "quantizer", Min: 1, Max: 255, Default: 100},
	TargetMin: 40, TargetMax: 255,
}

// Scales returns rav1e's speed (0-10, default 6) and quantizer (1-255,
// default 100).
func (Rav1e) Scales() Scales { return rav1eScales }

// Memory estimates a rav1e process's resident memory: a fixed part plus
// frame buffers for the lookahead and reference frames, and ffmpeg's
// decoder.
func (Rav1e) Memory(width, height, bitDepth int) int64 {
	sample := int64(1)
	if bitDepth > 8 {
		sample = 2
	}
	frame := int64(width) * int64(height) * 3 / 2 * sample
	return 64<<20 + frame*120
}

// Trial runs rav1e on one grey frame with the job's settings: the program
// refuses a bad value, or panics on settings it cannot encode, before any
// chunk starts.
func (r Rav1e) Trial(ctx context.Context, hdr source.Header, s Settings) error {
	size, err := hdr.FrameSize()
	if err != nil {
		return err
	}
	s.Threads = max(s.Threads, 1) // as a chunk is run
	return trialProgram(ctx, "rav1e", tools.Rav1e, Args(s), hdr, size)
}

// Version returns "X.Y.Z" from `rav1e --version`.
func (Rav1e) Version(ctx context.Context) (string, error) {
	out, err := tools.Output(ctx, tools.Rav1e, "--version")
	if err != nil {
		return "", err
	}
	return semver(strings.SplitN(string(out), "\n", 2)[0]), nil
}

// Args returns rav1e's arguments for s: read Y4M from stdin, write IVF to
// stdout, one keyframe at the first frame. rav1e refuses an option given
// twice, so an option the pass-through arguments also give is left to
// them (--threads, --quiet, --no-scene-detection, the colour description).
func Args(s Settings) []string {
	user := map[string]bool{}
	parsed, _ := parseArgs(s.Extra) // checked by Check
	for _, a := range parsed {
		user[a.Name] = true
	}
	args := []string{"-", "-o", "-", "--keyint", "0", "--speed", strconv.Itoa(s.Speed)}
	for _, flag := range []string{"--quiet", "--no-scene-detection"} {
		if !user[flag] {
			args = append(args, flag)
		}
	}
	if s.Bitrate > 0 {
		args = append(args, "--bitrate", strconv.Itoa(s.Bitrate))
	} else {
		args = append(args, "--quantizer", strconv.Itoa(s.Quantizer))
	}
	if s.Threads > 0 && !user["--threads"] {
		args = append(args, "--threads", strconv.Itoa(s.Threads))
	}
	args = append(args, colorArgs(s, user)...)
	return append(args, s.Extra...)
}

// colorArgs signals the source's colour description in the AV1 sequence
// header, and its HDR10 static metadata in metadata OBUs, unless the
// pass-through arguments set them.
func colorArgs(s Settings, user map[string]bool) []string {
	var args []string
	add := func(flag string, table map[string]string, v string) {
		if r, ok := table[v]; ok && !user[flag] {
			args = append(args, flag, r)
		}
	}
	add("--primaries", primaries, s.Color.Primaries)
	add("--transfer", transfers, s.Color.Transfer)
	add("--matrix", matrices, s.Color.Matrix)
	if s.FullRange && !user["--range"] {
		args = append(args, "--range", "Full")
	}
	if m := s.HDR.Mastering; m != nil && !user["--mastering-display"] {
		args = append(args, "--mastering-display", m.String())
	}
	if l := s.HDR.Light; l != nil && !user["--content-light"] {
		args = append(args, "--content-light", l.String())
	}
	return args
}

// Start runs rav1e for one chunk.
func (Rav1e) Start(ctx context.Context, hdr source.Header, s Settings, sink Sink) (Session, error) {
	return startProgram(ctx, "rav1e", tools.Rav1e, Args(s), hdr, sink)
}
