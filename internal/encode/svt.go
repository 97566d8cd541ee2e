package encode

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/tools"
)

// SVT encodes with the SVT-AV1 program (SvtAv1EncApp 1.4.1), one process
// per chunk. Speed is its preset and Quantizer its CRF.
//
// Each chunk has one keyframe, at its start, and a closed GOP: --keyint -1
// (no periodic keyframe; VBR refuses it and gets svtKeyintVBR instead), --scd 0 (no scene-change keyframes), --irefresh-type 2 (key
// frames, not forward ones). --pin 0, since the default pins each
// process to the first --lp cores: two chunks with --lp 1 took 5.8 s
// where they take 2.6 s unpinned (640x360, preset 8, 2 cores). Its bits
// do not depend on --lp (measured with --lp 0, 1 and 2), so a worker with
// another thread count makes the same stream.
type SVT struct{}

// Name returns "svt-av1".
func (SVT) Name() string { return "svt-av1" }

// InProcess returns false: each chunk runs an SvtAv1EncApp process.
func (SVT) InProcess() bool { return false }

// Programs returns SvtAv1EncApp.
func (SVT) Programs() []string { return []string{tools.SvtAv1} }

// svtScales are SvtAv1EncApp's preset and CRF, with its own defaults
// (preset 10, CRF 35). Presets below 0 are for debugging and are not
// offered.
var svtScales = Scales{
	Speed:     Scale{Name: "preset", Min: 0, Max: 13, Default: 10},
	Quantizer: Scale{Name: "crf", Min: 1, Max: 63, Default: 35},
	TargetMin: 10, TargetMax: 63,
}

// Scales returns SVT-AV1's preset (0-13, default 10) and CRF (1-63,
// default 35).
func (SVT) Scales() Scales { return svtScales }

// Check validates the settings and the pass-through arguments against
// SvtAv1EncApp's option table.
func (e SVT) Check(s Settings) error {
	if err := checkRange(e, s); err != nil {
		return err
	}
	switch {
	case s.FilmGrain > 50:
		return fmt.Errorf("--film-grain %d: svt-av1's film grain level is 1-50", s.FilmGrain)
	case s.PhotonNoise > 0 || s.GrainTable != "":
		return fmt.Errorf("--photon-noise %d: SVT-AV1 1.4.1 takes no film grain table (use --film-grain N, its denoise-and-synthesise)", s.PhotonNoise)
	}
	_, err := svtOptions.parse(s.Extra)
	return err
}

// Memory estimates an SvtAv1EncApp process's resident memory with --lp 1:
// measured 101-157 MB at 640x360 and 181-288 MB at 1280x720 (presets
// 12-4), 245-411 MB at 1280x720 10-bit; more threads take more (155 MB
// with --lp 0 on 2 cores at 640x360, preset 8).
func (SVT) Memory(width, height, bitDepth int) int64 {
	return 112<<20 + frameBytes(width, height, bitDepth)*130
}

// frameBytes is the size of a 4:2:0 frame of this size and depth.
func frameBytes(width, height, bitDepth int) int64 {
	sample := int64(1)
	if bitDepth > 8 {
		sample = 2
	}
	return int64(width) * int64(height) * 3 / 2 * sample
}

// Trial runs SvtAv1EncApp on one black frame with the job's settings: it
// refuses a bad value, or a source it cannot take (SVT-AV1 1.4.1 encodes
// 4:2:0 only, at least 64x64), before any chunk starts.
func (e SVT) Trial(ctx context.Context, hdr source.Header, s Settings) error {
	size, err := hdr.FrameSize()
	if err != nil {
		return err
	}
	s.Threads = max(s.Threads, 1)
	return trialProgram(ctx, e.Name(), tools.SvtAv1, SVTArgs(s), hdr, size)
}

// Version returns "X.Y.Z" from `SvtAv1EncApp --version` ("SVT-AV1
// v1.4.1 (release)").
func (SVT) Version(ctx context.Context) (string, error) {
	out, err := tools.Output(ctx, tools.SvtAv1, "--version")
	if err != nil {
		return "", err
	}
	line := strings.TrimPrefix(strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), "SVT-AV1 ")
	return semver(line), nil
}

// svtKeyintVBR is the keyframe interval of a VBR encode, which refuses
// -1 (and exits 0 with no output): longer than a chunk of the default
// planning (10 s). Its rate control works through the whole interval:
// with 2^31-1 it took 7.3 s of CPU for 24 frames at 160x90, with 9999
// 0.07 s. A chunk longer than 9999 frames (--max-scene-len above 416 s at
// 24 fps) gets a keyframe every 9999 frames.
const svtKeyintVBR = "9999"

// SVTArgs returns SvtAv1EncApp's arguments for s: Y4M from stdin, IVF to
// stdout, one keyframe at the first frame. An option the pass-through
// arguments also give is left to them.
func SVTArgs(s Settings) []string {
	user := svtOptions.given(s.Extra)
	args := []string{"-i", "stdin", "-b", "stdout", "--preset", strconv.Itoa(s.Speed),
		"--scd", "0", "--irefresh-type", "2", "--pin", "0"}
	if s.Bitrate > 0 {
		args = append(args, "--rc", "1", "--tbr", strconv.Itoa(s.Bitrate), "--keyint", svtKeyintVBR)
	} else {
		args = append(args, "--crf", strconv.Itoa(s.Quantizer), "--keyint", "-1")
	}
	add := func(flag, v string) {
		if !user[flag] {
			args = append(args, flag, v)
		}
	}
	add("--progress", "0")
	if s.Threads > 0 {
		add("--lp", strconv.Itoa(s.Threads))
	}
	for _, c := range []struct {
		flag string
		k    colourKind
		v    string
	}{{"--color-primaries", kPrim, s.Color.Primaries}, {"--transfer-characteristics", kTran, s.Color.Transfer}, {"--matrix-coefficients", kMat, s.Color.Matrix}} {
		if code, ok := codes[c.k][c.v]; ok {
			add(c.flag, strconv.Itoa(code))
		}
	}
	if s.FullRange {
		add("--color-range", "1")
	}
	// HDR10 static metadata, in rav1e's notation (SVT-AV1's parser reads
	// the same), unless the pass-through arguments give their own.
	if s.HDR.Static() {
		add("--enable-hdr", "1")
		if m := s.HDR.Mastering; m != nil {
			add("--mastering-display", m.String())
		}
		if l := s.HDR.Light; l != nil {
			add("--content-light", l.String())
		}
	}
	if s.FilmGrain > 0 {
		args = append(args, "--film-grain", strconv.Itoa(s.FilmGrain))
	}
	return append(args, s.Extra...)
}

// Start runs SvtAv1EncApp for one chunk.
func (e SVT) Start(ctx context.Context, hdr source.Header, s Settings, sink Sink) (Session, error) {
	return startProgram(ctx, e.Name(), tools.SvtAv1, SVTArgs(s), hdr, sink)
}

// svtOptions is SvtAv1EncApp 1.4.1's option table (SvtAv1EncApp --help).
// Its parser takes "--name value" and "-n value" only (not "--name=value"),
// and every option but --help and --version takes a value.
var svtOptions = optionTable{program: "SvtAv1EncApp 1.4.1", spaced: true, options: svtOptionList(), refused: map[string]string{
	"--help": "not an encoding option", "--version": "not an encoding option",
	"--input": "av1job gives the encoder its input", "--output": "av1job writes the output",
	"--config": "its options could not be checked", "--svtav1-params": "its options could not be checked (give each as an option)",
	"--errlog": "av1job reads the encoder's messages", "--recon": "av1job writes only the stream", "--stat-file": "av1job writes only the stream",
	"--frames": "av1job feeds each chunk's frames", "--nb": "av1job feeds each chunk's frames",
	"--inj": "av1job feeds each chunk's frames", "--inj-frm-rt": "av1job feeds each chunk's frames",
	"--width": "av1job gives the source's size", "--height": "av1job gives the source's size",
	"--fps": "av1job sets the frame rate from the source", "--fps-num": "av1job sets the frame rate from the source", "--fps-denom": "av1job sets the frame rate from the source",
	"--input-depth": "av1job gives the source's bit depth", "--color-format": "av1job gives the source's chroma format",
	"--preset": "use av1job's --speed", "--crf": "use av1job's --quantizer (--crf)", "--qp": "use av1job's --quantizer (--crf)",
	"--rc": "use av1job's --quantizer or --bitrate", "--tbr": "use av1job's --bitrate",
	"--pass": "two-pass encoding is not supported yet", "--passes": "two-pass encoding is not supported yet", "--stats": "two-pass encoding is not supported yet",
	"--keyint": "each chunk has one keyframe at its start", "--irefresh-type": "each chunk has one keyframe at its start",
	"--scd": "each chunk has one keyframe at its start", "--force-key-frames": "each chunk has one keyframe at its start",
	"--sframe-dist": "each chunk has one keyframe at its start", "--sframe-mode": "each chunk has one keyframe at its start",
	"--pin": "av1job runs several encoders side by side, unpinned", "--ss": "av1job runs several encoders side by side, unpinned",
	"--film-grain": "use av1job's --film-grain",
}}

func svtOptionList() []option {
	var out []option
	for _, n := range strings.Fields(`--progress --no-progress --preset --svtav1-params --config --errlog --recon --stat-file
		--forced-max-frame-width --forced-max-frame-height --frames --nb --color-format --profile --level --enable-hdr
		--fps --fps-num --fps-denom --input-depth --compressed-ten-bit-format --inj --inj-frm-rt --enable-stat-report --asm
		--lp --pin --ss --rc --qp --crf --tbr --mbr --use-q-file --qpfile --max-qp --min-qp --aq-mode
		--use-fixed-qindex-offsets --key-frame-qindex-offset --key-frame-chroma-qindex-offset --qindex-offsets
		--chroma-qindex-offsets --luma-y-dc-qindex-offset --chroma-u-dc-qindex-offset --chroma-u-ac-qindex-offset
		--chroma-v-dc-qindex-offset --chroma-v-ac-qindex-offset --undershoot-pct --overshoot-pct --mbr-overshoot-pct
		--gop-constraint-rc --buf-sz --buf-initial-sz --buf-optimal-sz --recode-loop --bias-pct --minsection-pct
		--maxsection-pct --enable-qm --qm-min --qm-max --pass --stats --passes --keyint --irefresh-type --scd --lookahead
		--hierarchical-levels --pred-struct --force-key-frames --tile-rows --tile-columns --enable-dlf --enable-cdef
		--enable-restoration --enable-tpl-la --enable-mfmv --fast-decode --enable-tf --enable-overlays --tune --scm --rmv
		--film-grain --film-grain-denoise --superres-mode --superres-denom --superres-kf-denom --superres-qthres
		--superres-kf-qthres --sframe-dist --sframe-mode --resize-mode --resize-denom --resize-kf-denom
		--color-primaries --transfer-characteristics --matrix-coefficients --color-range --chroma-sample-position
		--mastering-display --content-light --input --output --width --height`) {
		out = append(out, option{long: n, value: true})
	}
	short := map[string]string{"--input": "i", "--output": "b", "--config": "c", "--recon": "o", "--width": "w", "--height": "h", "--frames": "n", "--qp": "q"}
	for i, o := range out {
		out[i].short = short[o.long]
	}
	return append(out, option{long: "--help"}, option{long: "--version"})
}
