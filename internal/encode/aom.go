package encode

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/tools"
)

// Aom encodes with libaom's aomenc 3.6 program, one process per chunk.
// Speed is its cpu-used: 0-6 in its good-quality mode (--good; above 6
// that mode gives the same bits as 6), 7-10 in its realtime mode (--rt).
// Quantizer is its cq-level in constant-quality mode (--end-usage=q).
//
// Each chunk has one keyframe, at its start: --disable-kf (no periodic or
// scene-change keyframes) and --enable-fwd-kf=0 (no forward keyframes);
// one pass (--passes=1: its default two-pass mode cannot read a pipe).
// --row-mt=0: with row multithreading its bits differ between one thread
// and more (measured at 160x90 and 640x360); without it they are the same
// for any --threads, so a worker with another thread count makes the same
// stream.
type Aom struct{}

// Name returns "aomenc".
func (Aom) Name() string { return "aomenc" }

// InProcess returns false: each chunk runs an aomenc process.
func (Aom) InProcess() bool { return false }

// Programs returns aomenc.
func (Aom) Programs() []string { return []string{tools.Aomenc} }

// aomScales are aomenc's cpu-used and cq-level. aomenc's own defaults
// (cpu-used 0, two-pass VBR with cq-level 10) do not suit a chunked
// pipe: av1job's are cpu-used 6, the fastest good-quality speed, and
// cq-level 30.
var aomScales = Scales{
	Speed:     Scale{Name: "cpu-used", Min: 0, Max: 10, Default: 6},
	Quantizer: Scale{Name: "cq-level", Min: 1, Max: 63, Default: 30},
	TargetMin: 10, TargetMax: 63,
}

// Scales returns aomenc's cpu-used (0-10, default 6) and cq-level (1-63,
// default 30).
func (Aom) Scales() Scales { return aomScales }

// Check validates the settings and the pass-through arguments against
// aomenc's option table.
func (e Aom) Check(s Settings) error {
	if err := checkRange(e, s); err != nil {
		return err
	}
	if s.FilmGrain > 0 {
		return fmt.Errorf("--film-grain %d: aomenc takes a film grain table (use --photon-noise ISO)", s.FilmGrain)
	}
	if s.HDR.Static() {
		// Its output would lose what players need to show the source.
		return fmt.Errorf("HDR10 metadata (mastering display, content light level): aomenc 3.6 has no option to write it (use --encoder svt-av1, rav1e or librav1e)")
	}
	_, err := aomOptions.parse(s.Extra)
	return err
}

// Memory estimates an aomenc process's resident memory with one thread:
// measured 97 MB at 640x360, 224 MB at 1280x720 and 429 MB at 1280x720
// 10-bit (cpu-used 6; its lookahead is 35 frames).
func (Aom) Memory(width, height, bitDepth int) int64 {
	return 56<<20 + frameBytes(width, height, bitDepth)*136
}

// Trial runs aomenc on one black frame with the job's settings.
func (e Aom) Trial(ctx context.Context, hdr source.Header, s Settings) error {
	size, err := hdr.FrameSize()
	if err != nil {
		return err
	}
	s.Threads = max(s.Threads, 1)
	args, cleanup, err := AomArgs(s)
	if err != nil {
		return err
	}
	defer cleanup()
	return trialProgram(ctx, e.Name(), tools.Aomenc, args, hdr, size)
}

var aomVersion = regexp.MustCompile(`AV1 Encoder v(\d+\.\d+\.\d+)`)

// Version returns "X.Y.Z" from the encoder line of `aomenc --help`
// ("AOMedia Project AV1 Encoder v3.6.0"): aomenc has no --version.
func (Aom) Version(ctx context.Context) (string, error) {
	out, err := tools.Output(ctx, tools.Aomenc, "--help")
	if err != nil {
		return "", err
	}
	m := aomVersion.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("aomenc --help names no AV1 encoder version")
	}
	return string(m[1]), nil
}

// AomArgs returns aomenc's arguments for s: Y4M from stdin, IVF to stdout,
// one keyframe at the first frame. When s carries a film grain table, it
// is written to a temporary file for --film-grain-table, which cleanup
// removes once aomenc has read it (at its start; cleanup may run when the
// encode ends). An option the pass-through arguments also give is left to
// them.
func AomArgs(s Settings) (args []string, cleanup func(), err error) {
	user := aomOptions.given(s.Extra)
	mode := "--good"
	if s.Speed > 6 {
		mode = "--rt"
	}
	args = []string{"--ivf", "-o", "-", "--passes=1", mode, "--cpu-used=" + strconv.Itoa(s.Speed),
		"--disable-kf", "--enable-fwd-kf=0", "--row-mt=0"}
	if s.Bitrate > 0 {
		args = append(args, "--end-usage=vbr", "--target-bitrate="+strconv.Itoa(s.Bitrate))
	} else {
		args = append(args, "--end-usage=q", "--cq-level="+strconv.Itoa(s.Quantizer))
	}
	add := func(flag, v string) {
		if user[flag] {
			return
		}
		if v == "" {
			args = append(args, flag)
		} else {
			args = append(args, flag+"="+v)
		}
	}
	add("--quiet", "")
	if s.Threads > 0 {
		add("--threads", strconv.Itoa(s.Threads))
	}
	// The colour description; the range comes from the Y4M header's
	// XCOLORRANGE, which aomenc reads (it has no option for it).
	for _, c := range []struct {
		flag  string
		table map[string]string
		v     string
	}{{"--color-primaries", aomPrimaries, s.Color.Primaries}, {"--transfer-characteristics", aomTransfers, s.Color.Transfer}, {"--matrix-coefficients", aomMatrices, s.Color.Matrix}} {
		if name, ok := c.table[c.v]; ok {
			add(c.flag, name)
		}
	}
	cleanup = func() {}
	if s.GrainTable != "" {
		// The hook for --photon-noise: the job makes the table (package
		// grain) and aomenc reads it from a file.
		f, err := os.CreateTemp("", "av1job-grain-*.tbl")
		if err != nil {
			return nil, nil, fmt.Errorf("aomenc: film grain table: %w", err)
		}
		cleanup = func() { os.Remove(f.Name()) }
		if _, err := f.WriteString(s.GrainTable); err != nil {
			f.Close()
			cleanup()
			return nil, nil, fmt.Errorf("aomenc: film grain table: %w", err)
		}
		if err := f.Close(); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("aomenc: film grain table: %w", err)
		}
		args = append(args, "--film-grain-table="+f.Name())
	}
	args = append(args, s.Extra...)
	return append(args, "-"), cleanup, nil
}

// Start runs aomenc for one chunk.
func (e Aom) Start(ctx context.Context, hdr source.Header, s Settings, sink Sink) (Session, error) {
	args, cleanup, err := AomArgs(s)
	if err != nil {
		return nil, err
	}
	sess, err := startProgram(ctx, e.Name(), tools.Aomenc, args, hdr, sink)
	if err != nil {
		cleanup()
		return nil, err
	}
	return &cleanupSession{Session: sess, cleanup: cleanup}, nil
}

// cleanupSession runs cleanup once its encoder has ended.
type cleanupSession struct {
	Session
	cleanup func()
}

func (c *cleanupSession) Close() error { defer c.cleanup(); return c.Session.Close() }
func (c *cleanupSession) Abort()       { c.Session.Abort(); c.cleanup() }

// ffmpeg's colour names mapped to aomenc's.
var (
	aomPrimaries = map[string]string{
		"bt709": "bt709", "bt470m": "bt470m", "bt470bg": "bt470bg", "smpte170m": "bt601", "smpte240m": "smpte240",
		"film": "film", "bt2020": "bt2020", "smpte428": "xyz", "smpte431": "smpte431", "smpte432": "smpte432",
		"jedec-p22": "ebu3213", "ebu3213": "ebu3213",
	}
	aomTransfers = map[string]string{
		"bt709": "bt709", "gamma22": "bt470m", "gamma28": "bt470bg", "bt470m": "bt470m", "bt470bg": "bt470bg",
		"smpte170m": "bt601", "smpte240m": "smpte240", "linear": "lin", "log100": "log100", "log316": "log100sq10",
		"iec61966-2-4": "iec61966", "bt1361e": "bt1361", "iec61966-2-1": "srgb", "bt2020-10": "bt2020-10bit",
		"bt2020-12": "bt2020-12bit", "smpte2084": "smpte2084", "smpte428": "smpte428", "arib-std-b67": "hlg",
	}
	aomMatrices = map[string]string{
		"gbr": "identity", "bt709": "bt709", "fcc": "fcc73", "bt470bg": "bt470bg", "smpte170m": "bt601",
		"smpte240m": "smpte240", "ycgco": "ycgco", "bt2020nc": "bt2020ncl", "bt2020c": "bt2020cl",
		"smpte2085": "smpte2085", "chroma-derived-nc": "chromncl", "chroma-derived-c": "chromcl", "ictcp": "ictcp",
	}
)

// aomOptions is aomenc 3.6's option table (aomenc --help). Its parser
// takes "--name=value" only (not "--name value") and "-n value"; flags
// take no value; it takes no abbreviations.
var aomOptions = optionTable{program: "aomenc 3.6", equals: true, options: aomOptionList(), refused: map[string]string{
	"--help": "not an encoding option", "--output": "av1job writes the output", "--codec": "av1job encodes AV1",
	"--cfg": "its options could not be checked", "--partition-info-path": "av1job writes only the stream",
	"--passes": "two-pass encoding is not supported yet", "--pass": "two-pass encoding is not supported yet",
	"--fpf": "two-pass encoding is not supported yet", "--two-pass-output": "two-pass encoding is not supported yet",
	"--second-pass-log": "two-pass encoding is not supported yet",
	"--limit":           "av1job feeds each chunk's frames", "--skip": "av1job feeds each chunk's frames",
	"--drop-frame": "every frame must be kept",
	"--good":       "use av1job's --speed (0-6: good quality, 7-10: realtime)", "--rt": "use av1job's --speed (0-6: good quality, 7-10: realtime)",
	"--allintra": "av1job encodes video with one keyframe per chunk", "--usage": "use av1job's --speed (0-6: good quality, 7-10: realtime)",
	"--cpu-used": "use av1job's --speed", "--cq-level": "use av1job's --quantizer (--crf)", "--end-usage": "use av1job's --quantizer or --bitrate",
	"--target-bitrate": "use av1job's --bitrate", "--lossless": "use av1job's --quantizer",
	"--webm": "av1job reads IVF", "--ivf": "av1job reads IVF", "--obu": "av1job reads IVF", "--annexb": "av1job reads IVF",
	"--large-scale-tile": "av1job needs a stream any decoder reads",
	"--nv12":             "av1job gives the source's format", "--yv12": "av1job gives the source's format", "--i420": "av1job gives the source's format",
	"--i422": "av1job gives the source's format", "--i444": "av1job gives the source's format",
	"--input-chroma-subsampling-x": "av1job gives the source's format", "--input-chroma-subsampling-y": "av1job gives the source's format",
	"--width": "av1job gives the source's size", "--height": "av1job gives the source's size",
	"--fps": "av1job sets the frame rate from the source", "--timebase": "av1job sets the frame rate from the source",
	"--bit-depth": "av1job gives the source's bit depth", "--input-bit-depth": "av1job gives the source's bit depth",
	"--disable-kf": "each chunk has one keyframe at its start", "--enable-fwd-kf": "each chunk has one keyframe at its start",
	"--kf-min-dist": "each chunk has one keyframe at its start", "--kf-max-dist": "each chunk has one keyframe at its start",
	"--fwd-kf-dist": "each chunk has one keyframe at its start", "--sframe-dist": "each chunk has one keyframe at its start",
	"--sframe-mode": "each chunk has one keyframe at its start",
	"--row-mt":      "its bits would depend on the thread count", "--fp-mt": "its bits would depend on the thread count",
	"--film-grain-table": "use av1job's --photon-noise",
}}

func aomOptionList() []option {
	flags := `--help --good --rt --allintra --quiet --verbose --debug --webm --ivf --obu --disable-warnings
		--disable-warning-prompt --nv12 --yv12 --i420 --i422 --i444 --monochrome --full-still-picture-hdr
		--use-16bit-internal --disable-kf`
	values := `--cfg --output --codec --passes --pass --fpf --limit --skip --psnr --q-hist --rate-hist --test-decode
		--usage --threads --profile --width --height --forced_max_frame_width --forced_max_frame_height --stereo-mode
		--timebase --fps --global-error-resilient --bit-depth --input-bit-depth --lag-in-frames --large-scale-tile
		--annexb --drop-frame --resize-mode --resize-denominator --resize-kf-denominator --superres-mode
		--superres-denominator --superres-kf-denominator --superres-qthresh --superres-kf-qthresh --end-usage
		--target-bitrate --min-q --max-q --undershoot-pct --overshoot-pct --buf-sz --buf-initial-sz --buf-optimal-sz
		--bias-pct --minsection-pct --maxsection-pct --enable-fwd-kf --kf-min-dist --kf-max-dist --sframe-dist
		--sframe-mode --cpu-used --auto-alt-ref --sharpness --static-thresh --row-mt --fp-mt --tile-columns --tile-rows
		--enable-tpl-model --enable-keyframe-filtering --arnr-maxframes --arnr-strength --tune --cq-level
		--max-intra-rate --max-inter-rate --gf-cbr-boost --lossless --enable-cdef --enable-restoration
		--enable-rect-partitions --enable-ab-partitions --enable-1to4-partitions --min-partition-size
		--max-partition-size --enable-dual-filter --enable-chroma-deltaq --enable-intra-edge-filter
		--enable-order-hint --enable-tx64 --enable-flip-idtx --enable-rect-tx --enable-dist-wtd-comp
		--enable-masked-comp --enable-onesided-comp --enable-interintra-comp --enable-smooth-interintra
		--enable-diff-wtd-comp --enable-interinter-wedge --enable-interintra-wedge --enable-global-motion
		--enable-warped-motion --enable-filter-intra --enable-smooth-intra --enable-paeth-intra --enable-cfl-intra
		--enable-diagonal-intra --force-video-mode --enable-obmc --enable-overlay --enable-palette --enable-intrabc
		--enable-angle-delta --disable-trellis-quant --enable-qm --qm-min --qm-max --reduced-tx-type-set
		--use-intra-dct-only --use-inter-dct-only --use-intra-default-tx-only --quant-b-adapt --coeff-cost-upd-freq
		--mode-cost-upd-freq --mv-cost-upd-freq --frame-parallel --error-resilient --aq-mode --deltaq-mode
		--deltaq-strength --delta-lf-mode --frame-boost --noise-sensitivity --tune-content --cdf-update-mode
		--color-primaries --transfer-characteristics --matrix-coefficients --chroma-sample-position --min-gf-interval
		--max-gf-interval --gf-min-pyr-height --gf-max-pyr-height --sb-size --num-tile-groups --mtu-size --timing-info
		--film-grain-test --film-grain-table --denoise-noise-level --denoise-block-size --enable-dnl-denoising
		--max-reference-frames --reduced-reference-set --enable-ref-frame-mvs --target-seq-level-idx --set-tier-mask
		--min-cr --vbr-corpus-complexity-lap --input-chroma-subsampling-x --input-chroma-subsampling-y
		--dv-cost-upd-freq --partition-info-path --enable-directional-intra --enable-tx-size-search
		--loopfilter-control --auto-intra-tools-off --two-pass-output --second-pass-log --strict-level-conformance
		--sb-qp-sweep --dist-metric --kf-max-pyr-height`
	short := map[string]string{"--cfg": "c", "--debug": "D", "--output": "o", "--passes": "p", "--quiet": "q", "--verbose": "v",
		"--disable-warning-prompt": "y", "--usage": "u", "--threads": "t", "--width": "w", "--height": "h", "--bit-depth": "b",
		"--second-pass-log": "spf"}
	var out []option
	for _, n := range strings.Fields(flags) {
		out = append(out, option{long: n, short: short[n]})
	}
	for _, n := range strings.Fields(values) {
		out = append(out, option{long: n, short: short[n], value: true})
	}
	return out
}
