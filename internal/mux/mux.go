// Package mux puts a finished AV1 video stream together with the source's
// other streams (audio, subtitles, attachments), its chapters and its
// metadata into the output container, copying every stream unchanged where
// the container allows it.
package mux

import (
	"context"
	"fmt"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// A Plan says which source streams go into the output and how.
type Plan struct {
	Format   string   // ffmpeg muxer: matroska, webm, mp4
	Maps     []string // ffmpeg -map arguments for the source (input 1)
	Codecs   []string // per-stream codec options (-c:s:N mov_text)
	Warnings []string // streams dropped or converted, one line each
}

// allowed codecs of the containers that restrict them.
var (
	webmAudio = set("opus", "vorbis")
	webmSubs  = set("webvtt")
	mp4Audio  = set("aac", "mp3", "mp2", "opus", "flac", "ac3", "eac3", "alac", "dts", "truehd")
	mp4Text   = set("subrip", "ass", "ssa", "webvtt", "text", "mov_text")
)

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Streams decides which of src's non-video streams the format can carry.
// format is one of matroska, webm, mp4 or ivf.
func Streams(src *probe.Source, format string) Plan {
	p := Plan{Format: format}
	subOut := 0
	for _, s := range src.Streams {
		if s.Index == src.Video.Index {
			continue
		}
		what := fmt.Sprintf("stream %d (%s %s)", s.Index, s.Type, s.Codec)
		keep, why := true, ""
		switch {
		case format == "ivf":
			keep, why = false, "IVF holds only the video"
		case s.Type == "video" && s.CoverArt && format != "mp4":
			keep, why = false, "cover art is not carried over"
		case s.Type == "video":
			keep, why = false, "only one video stream is encoded"
		case s.Type == "data" || s.Type == "":
			keep, why = false, "data streams are not carried over"
		case format == "webm" && s.Type == "audio" && !webmAudio[s.Codec]:
			keep, why = false, "WebM allows only Opus and Vorbis audio"
		case format == "webm" && s.Type == "subtitle" && !webmSubs[s.Codec]:
			keep, why = false, "WebM allows only WebVTT subtitles"
		case format == "webm" && s.Type == "attachment":
			keep, why = false, "WebM has no attachments"
		case format == "mp4" && s.Type == "audio" && !mp4Audio[s.Codec]:
			keep, why = false, "MP4 cannot carry this audio codec"
		case format == "mp4" && s.Type == "subtitle" && !mp4Text[s.Codec]:
			keep, why = false, "MP4 carries only text subtitles"
		case format == "mp4" && s.Type == "attachment":
			keep, why = false, "MP4 has no attachments"
		}
		if !keep {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s dropped: %s", what, why))
			continue
		}
		p.Maps = append(p.Maps, fmt.Sprintf("1:%d", s.Index))
		if s.Type == "subtitle" {
			if format == "mp4" && s.Codec != "mov_text" {
				p.Codecs = append(p.Codecs, fmt.Sprintf("-c:s:%d", subOut), "mov_text")
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s converted to mov_text: MP4 carries only mov_text subtitles", what))
			}
			subOut++
		}
	}
	return p
}

// Args returns ffmpeg's arguments to mux video (an IVF file) with the
// streams of src chosen by p into out.
func (p Plan) Args(video string, src *probe.Source, out string) []string {
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-y",
		"-i", video, "-i", src.Path,
		"-map", "0:v:0"}
	for _, m := range p.Maps {
		args = append(args, "-map", m)
	}
	args = append(args, "-map_metadata", "1", "-map_chapters", "1", "-c", "copy")
	args = append(args, p.Codecs...)
	if lang := language(src); lang != "" {
		args = append(args, "-metadata:s:v:0", "language="+lang)
	}
	c := src.Video.Color
	for _, kv := range [][2]string{{"-color_primaries", c.Primaries}, {"-color_trc", c.Transfer}, {"-colorspace", c.Matrix}, {"-color_range", c.Range}} {
		if kv[1] != "" && kv[1] != "unknown" && kv[1] != "reserved" {
			args = append(args, kv[0], kv[1])
		}
	}
	if p.Format == "mp4" {
		args = append(args, "-movflags", "+faststart")
	}
	return append(args, "-f", p.Format, out)
}

func language(src *probe.Source) string {
	for _, s := range src.Streams {
		if s.Index == src.Video.Index && s.Language != "" && s.Language != "und" {
			return s.Language
		}
	}
	return ""
}

// Mux writes out from video and src's other streams.
func Mux(ctx context.Context, p Plan, video string, src *probe.Source, out string) error {
	if _, err := tools.Output(ctx, tools.FFmpeg, p.Args(video, src, out)...); err != nil {
		return fmt.Errorf("mux: %s: %w", out, err)
	}
	return nil
}
