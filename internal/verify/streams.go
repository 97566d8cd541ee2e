package verify

import (
	"fmt"
	"math"

	"github.com/av1job/av1job/internal/probe"
)

// streamTolerance is how far, in seconds, an output audio or subtitle
// stream's duration may be from its source stream's: an audio codec's
// frame (AC-3 32 ms, Opus 20 ms plus its pre-skip) and Matroska's
// millisecond timestamps fit in it, a lost second does not.
const streamTolerance = 0.1

// matchStreams pairs the source's audio and subtitle streams that the
// output keeps (kept, by source index) with the output's, the k-th of a
// type with the k-th (muxing keeps their order), and checks each pair:
// language, channels, and for audio the duration (when both are known). Each mismatch is one
// problem.
func matchStreams(src, out *probe.Source, kept map[int]bool) []string {
	var problems []string
	for _, typ := range []string{Audio, Subtitle} {
		var ss, os []probe.Stream
		for _, s := range src.Streams {
			if s.Type == typ && kept[s.Index] {
				ss = append(ss, s)
			}
		}
		for _, s := range out.Streams {
			if s.Type == typ {
				os = append(os, s)
			}
		}
		for k := range min(len(ss), len(os)) {
			s, o := ss[k], os[k]
			what := fmt.Sprintf("%s stream %d (source stream %d)", typ, o.Index, s.Index)
			if lang(s.Language) != lang(o.Language) {
				problems = append(problems, fmt.Sprintf("%s: language %s, source %s", what, lang(o.Language), lang(s.Language)))
			}
			if typ == Audio && s.Channels != o.Channels {
				problems = append(problems, fmt.Sprintf("%s: %d channels, source %d", what, o.Channels, s.Channels))
			}
			// A subtitle stream's duration means something else in each
			// container (the last cue's end, the file's end), so only
			// audio's is compared.
			if typ == Audio && s.Duration > 0 && o.Duration > 0 && math.Abs(s.Duration-o.Duration) > streamTolerance {
				problems = append(problems, fmt.Sprintf("%s: duration %.3f s, source %.3f s", what, o.Duration, s.Duration))
			}
		}
	}
	return problems
}

// lang normalizes an unset language to "und".
func lang(l string) string {
	if l == "" {
		return "und"
	}
	return l
}
