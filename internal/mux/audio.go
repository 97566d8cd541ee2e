package mux

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/probe"
)

// Audio modes.
const (
	// AudioAuto copies each audio stream the container can carry and
	// converts the others to Opus.
	AudioAuto = ""
	// AudioCopy copies every audio stream; one the container cannot carry
	// is an error before anything starts.
	AudioCopy = "copy"
	// AudioOpus converts every audio stream that is not Opus to Opus.
	AudioOpus = "opus"
	// AudioNone leaves the audio out.
	AudioNone = "none"
)

// Audio says what happens to the source's audio streams: the --audio
// option. The zero value is the default, AudioAuto.
type Audio struct {
	Mode string // AudioAuto, AudioCopy, AudioOpus or AudioNone
	Kbps int    // Opus bit rate per stream, kbit/s; 0 picks it by channel count (OpusKbps)
}

// ParseAudio parses --audio's value: "copy", "opus", "opus:KBPS", "none";
// "" is AudioAuto.
func ParseAudio(s string) (Audio, error) {
	mode, rate, hasRate := strings.Cut(s, ":")
	switch mode {
	case AudioAuto, AudioCopy, AudioNone:
		if !hasRate {
			return Audio{Mode: mode}, nil
		}
	case AudioOpus:
		if !hasRate {
			return Audio{Mode: mode}, nil
		}
		k, err := strconv.Atoi(rate)
		if err != nil || k < 6 || k > 510 {
			return Audio{}, fmt.Errorf("--audio %s: the Opus bit rate must be 6-510 kbit/s per stream", s)
		}
		return Audio{Mode: mode, Kbps: k}, nil
	}
	return Audio{}, fmt.Errorf("--audio %s: use copy, opus, opus:KBPS or none", s)
}

// String is the option's value, "" for AudioAuto.
func (a Audio) String() string {
	if a.Mode == AudioOpus && a.Kbps > 0 {
		return fmt.Sprintf("opus:%d", a.Kbps)
	}
	return a.Mode
}

// A CopyError is --audio copy with an audio stream the output's container
// cannot carry as it is.
type CopyError struct {
	Stream int
	Codec  string
	Format string
}

func (e *CopyError) Error() string {
	return fmt.Sprintf("--audio copy: %s cannot carry audio stream %d (%s); use --audio opus, or an .mkv output", containerName(e.Format), e.Stream, e.Codec)
}

func containerName(format string) string {
	return map[string]string{"webm": "WebM", "mp4": "MP4", "matroska": "Matroska"}[format]
}

// allows reports whether a container carries an audio codec as it is.
func allows(format, codec string) bool {
	switch format {
	case "webm":
		return webmAudio[codec]
	case "mp4":
		return mp4Audio[codec]
	}
	return true
}

// transcode reports whether a stream of this codec is converted to Opus.
func (a Audio) transcode(format, codec string) bool {
	if a.Mode == AudioOpus {
		return codec != "opus"
	}
	return !allows(format, codec)
}

// why says why a stream is converted.
func (a Audio) why(format string) string {
	if a.Mode == AudioOpus {
		return "--audio opus"
	}
	if format == "webm" {
		return "WebM allows only Opus and Vorbis audio"
	}
	return containerName(format) + " cannot carry this audio codec"
}

// opus returns the Opus bit rate and the channel layout a stream is
// converted with: libopus takes only the Vorbis channel layouts, so
// another one (5.1(side), say) is remixed to the one of its channel count.
func (a Audio) opus(s probe.Stream) (kbps int, layout string) {
	ch := max(s.Channels, 1)
	kbps = a.Kbps
	if kbps == 0 {
		kbps = OpusKbps(ch)
	}
	layouts := []string{"mono", "stereo", "3.0", "quad", "5.0", "5.1", "6.1", "7.1"}
	layout = layouts[min(ch, len(layouts))-1]
	if s.Layout == "" && ch <= 2 {
		layout = ""
	}
	return kbps, layout
}

// OpusKbps is the Opus bit rate av1job gives an audio stream of ch
// channels when --audio names none: 64 kbit/s for mono, 32*(ch+2) for
// more (stereo 128, 5.1 256, 7.1 320), and no more than 7.1's for more
// channels than 8 (libopus mixes them down to 7.1).
func OpusKbps(ch int) int {
	if ch <= 1 {
		return 64
	}
	return 32 * (min(ch, 8) + 2)
}

// Kept returns the indexes of the source streams the plan maps into the
// output, in the output's order (cover art attached from files excluded).
func (p Plan) Kept() map[int]bool {
	k := map[int]bool{}
	for _, m := range p.Maps {
		var i int
		if _, err := fmt.Sscanf(m, "1:%d", &i); err == nil {
			k[i] = true
		}
	}
	return k
}
