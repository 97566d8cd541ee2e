package av1job

import (
	"fmt"
	"time"

	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/probe"
)

// A Summary is what a finished job made: the figures of the line `encode`
// ends with, and of the server's job view. It is set on EventDone and in
// StatusInfo once the output is in place.
type Summary struct {
	Output      string  `json:"output"`
	OutputBytes int64   `json:"output_bytes"` // the output file's size
	SourceBytes int64   `json:"source_bytes"` // the source file's size
	VideoBytes  int64   `json:"video_bytes"`  // the AV1 stream's: the chunks' sum
	Seconds     float64 `json:"seconds"`      // the video's duration: frames over the frame rate
	Frames      int     `json:"frames"`
	Chunks      int     `json:"chunks"`
	// Wall is the wall time of the run that finished the job, and
	// Encoded the frames it encoded (fewer than Frames when it resumed a
	// job); FPS is Encoded over Wall.
	Wall    time.Duration `json:"wall_ns"`
	Encoded int           `json:"encoded"`
	FPS     float64       `json:"fps"`
}

// Ratio is the output's size over the source's; 0 when the source's is
// unknown.
func (s Summary) Ratio() float64 {
	if s.SourceBytes <= 0 {
		return 0
	}
	return float64(s.OutputBytes) / float64(s.SourceBytes)
}

// VideoKbps is the AV1 stream's mean bit rate in kbit/s; 0 when the
// duration is unknown.
func (s Summary) VideoKbps() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.VideoBytes) * 8 / s.Seconds / 1000
}

// Larger reports whether the output is larger than its source.
func (s Summary) Larger() bool { return s.SourceBytes > 0 && s.OutputBytes > s.SourceBytes }

// Line is the summary on one line: "wrote OUT: 1.0 MiB, 163 % of the
// source's 627 KiB; video 812 kbit/s; 42 s, 14.3 fps; 12 chunks".
func (s Summary) Line() string {
	line := fmt.Sprintf("wrote %s: %s", s.Output, Size(s.OutputBytes))
	if r := s.Ratio(); r > 0 {
		line += fmt.Sprintf(", %.0f %% of the source's %s", 100*r, Size(s.SourceBytes))
	}
	if k := s.VideoKbps(); k > 0 {
		line += fmt.Sprintf("; video %.0f kbit/s", k)
	}
	line += fmt.Sprintf("; %s", s.Wall.Round(time.Second/10))
	if s.Encoded > 0 && s.FPS > 0 {
		line += fmt.Sprintf(", %.1f fps", s.FPS)
		if s.Encoded < s.Frames {
			line += fmt.Sprintf(" over the %d frames this run encoded", s.Encoded)
		}
	}
	chunks := "chunks"
	if s.Chunks == 1 {
		chunks = "chunk"
	}
	return line + fmt.Sprintf("; %d frames in %d %s", s.Frames, s.Chunks, chunks)
}

// Size formats a byte count for people: "627 KiB", "1.0 MiB", "2.31 GiB".
func Size(b int64) string {
	f := float64(b)
	switch {
	case f >= 1<<30:
		return fmt.Sprintf("%.2f GiB", f/(1<<30))
	case f >= 1<<20:
		return fmt.Sprintf("%.1f MiB", f/(1<<20))
	case f >= 1<<10:
		return fmt.Sprintf("%.0f KiB", f/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// otherBytes estimates the bytes the output's streams other than the
// video will take, from the source's: a copied stream's size is its bit
// rate times its duration, an Opus one's the bit rate it is given. Copied
// streams that state no bit rate share what is left of the file after the
// video (videoBytes, the sum of its packets; else its own bit rate times
// the duration) and the streams that state one, when that is known and no
// other stream of unknown size (dropped, or converted) is in it. 0 when
// unknown.
func otherBytes(src *probe.Source, pl mux.Plan, videoBytes int64) int64 {
	dur := func(s probe.Stream) float64 {
		if s.Duration > 0 {
			return s.Duration
		}
		return src.Duration
	}
	kept := pl.Kept()
	var out, srcKnown float64
	unknown, ambiguous := 0, false
	for _, s := range src.Streams {
		if s.Index == src.Video.Index {
			continue
		}
		b := s.BitRate / 8 * dur(s)
		srcKnown += b
		k := pl.Opus[s.Index]
		switch {
		case !kept[s.Index] || k > 0:
			ambiguous = ambiguous || s.BitRate == 0
			if kept[s.Index] {
				out += float64(k) * 1000 / 8 * dur(s)
			}
		case s.BitRate > 0:
			out += b
		default:
			unknown++
		}
	}
	v := float64(videoBytes)
	if v == 0 && src.Video.OwnBitRate {
		v = src.Video.BitRate / 8 * src.Duration
	}
	if unknown > 0 && !ambiguous && v > 0 {
		out += max(0, float64(src.Size)-v-srcKnown)
	}
	return int64(out)
}

// estimateOther estimates the output's other streams again once the scene
// pass has read the size of every video packet (frameBytes): streams
// that state no bit rate are then the rest of the file.
func (jb *Job) estimateOther(o *Options, p *prepared, frameBytes []int64) {
	var v int64
	for _, b := range frameBytes {
		v += b
	}
	pl, err := o.streams(p.src)
	if err != nil || v == 0 {
		return
	}
	jb.mu.Lock()
	defer jb.mu.Unlock()
	jb.other = max(jb.other, otherBytes(p.src, pl, v))
}
