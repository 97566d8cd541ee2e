package av1job

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/rav1e"
)

// Options describe a job.
type Options struct {
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`  // its extension picks the container: .mkv, .webm, .mp4 or .ivf
	JobDir string `json:"job_dir,omitempty"` // default Output + ".av1job"

	Speed     int      `json:"speed,omitempty"`     // rav1e speed, 0-10; default 6
	Quantizer int      `json:"quantizer,omitempty"` // 0-255; default 100; ignored when Bitrate is set
	Bitrate   int      `json:"bitrate,omitempty"`   // kbit/s; 0 for constant quantizer
	Extra     []string `json:"extra,omitempty"`     // arguments passed through to rav1e
	// Backend is how chunks are encoded: "process" (the default) runs the
	// rav1e program for each chunk, "lib" encodes in-process with
	// librav1e. They give the same bits only with the pass-through
	// argument --tune Psnr (see package encode), so a job resumes only
	// with the backend it started with.
	Backend string `json:"backend,omitempty"`

	Workers        int     `json:"workers,omitempty"`         // parallel encoders; 0 chooses from cores and memory
	MinSceneLen    int     `json:"min_scene_len,omitempty"`   // frames; default 24
	MaxSceneLen    float64 `json:"max_scene_len,omitempty"`   // seconds; default 10
	SceneThreshold float64 `json:"scene_threshold,omitempty"` // detector score from which a frame starts a scene; default scene.DefaultThreshold
	// Scenes is a file of scene cuts saved by `av1job scenes --save` (or
	// SaveScenes), used instead of detecting them again.
	Scenes    string `json:"scenes,omitempty"`
	Overwrite bool   `json:"overwrite,omitempty"` // replace an existing output
	Restart   bool   `json:"-"`                   // discard an existing job directory whose settings differ
	Keep      bool   `json:"keep,omitempty"`      // keep the job directory after success

	// Command and Dir are the command line that started the job and its
	// working directory, kept in the job directory so that `av1job resume`
	// can continue the job without being told the settings again.
	Command []string `json:"-"`
	Dir     string   `json:"-"`

	// Events, when set, receives progress and state events. It is called
	// from several goroutines, one call at a time.
	Events func(Event) `json:"-"`
}

// Containers av1job writes, by output extension.
var containers = map[string]string{".mkv": "matroska", ".webm": "webm", ".mp4": "mp4", ".ivf": "ivf"}

// NewOptions returns options with rav1e's own defaults (speed 6,
// quantizer 100) and av1job's planning defaults.
func NewOptions(input, output string) Options {
	o := Options{Input: input, Output: output, Speed: 6, Quantizer: 100}
	o.defaults()
	return o
}

// defaults fills unset planning fields; zero encoder settings are valid
// values and stay as they are.
func (o *Options) defaults() {
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
		o.JobDir = o.Output + ".av1job"
	}
}

// UsageError is a problem with the options or the input files: nothing was
// started, and nothing was changed on disk.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// IsUsage reports whether err is a *UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// Validate checks the options without touching the disk.
func (o *Options) Validate() error {
	if o.Input == "" {
		return usagef("no input file given")
	}
	if o.Output == "" {
		return usagef("no output file given (use -o)")
	}
	ext := strings.ToLower(filepath.Ext(o.Output))
	if _, ok := containers[ext]; !ok {
		return usagef("%s: unsupported output extension %q (use .mkv, .webm, .mp4 or .ivf)", o.Output, ext)
	}
	switch {
	case o.Speed < 0 || o.Speed > 10:
		return usagef("--speed %d: must be 0-10", o.Speed)
	case o.Quantizer < 0 || o.Quantizer > 255:
		return usagef("--quantizer %d: must be 0-255", o.Quantizer)
	case o.Bitrate < 0:
		return usagef("--bitrate %d: must be positive", o.Bitrate)
	case o.Workers < 0:
		return usagef("--workers %d: must be positive", o.Workers)
	case o.MinSceneLen < 1:
		return usagef("--min-scene-len %d: must be at least 1 frame", o.MinSceneLen)
	case o.MaxSceneLen <= 0:
		return usagef("--max-scene-len %g: must be positive", o.MaxSceneLen)
	}
	if err := encode.CheckExtra(o.Extra); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	switch o.Backend {
	case "", "process":
	case "lib":
		if !rav1e.Available() {
			return &UsageError{Msg: "--backend lib: " + encode.ErrNoLib.Error()}
		}
		if _, err := encode.LibConfig(source.Header{Width: 64, Height: 64, RateNum: 25, RateDen: 1, Colorspace: "420"}, o.settings()); err != nil {
			return usagef("--backend lib: %v", err)
		}
	default:
		return usagef("--backend %q: use process or lib", o.Backend)
	}
	return nil
}

func (o *Options) container() string { return containers[strings.ToLower(filepath.Ext(o.Output))] }

func (o *Options) settings() encode.Settings {
	return encode.Settings{Speed: o.Speed, Quantizer: o.Quantizer, Bitrate: o.Bitrate, Extra: o.Extra}
}
