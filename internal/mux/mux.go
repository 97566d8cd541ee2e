// Package mux puts a finished AV1 video stream together with the source's
// other streams (audio, subtitles, attachments), its chapters and its
// metadata into the output container, copying every stream unchanged where
// the container allows it.
package mux

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// A Plan says which source streams go into the output and how.
type Plan struct {
	Format   string      // ffmpeg muxer: matroska, webm, mp4
	Maps     []string    // ffmpeg -map arguments for the source (input 1)
	Codecs   []string    // per-stream codec options (-c:s:N mov_text)
	Covers   []Cover     // cover art to attach from files (Matroska)
	Rotation int         // display rotation written to the output, degrees counter-clockwise
	Warnings []string    // streams dropped or converted, one line each
	Opus     map[int]int // audio streams converted to Opus: source index to kbit/s

	attachments  int  // attachment streams mapped from the source
	experimental bool // ffmpeg 5.1 writes a stream only with -strict experimental (FLAC in MP4)
	coverOut     int  // cover pictures mapped as video streams (MP4)
}

// A Cover is a cover picture of the source that Matroska carries as an
// attachment: Extract writes it to File, which Args attaches.
type Cover struct {
	Stream int    // its stream in the source
	Name   string // file name in the output
	Mime   string
	File   string // where it was extracted to; set by the caller
}

// Expected counts the streams the output must hold by type (audio,
// subtitle, attachment; cover art counts as an attachment), for verify.
func (p Plan) Expected(src *probe.Source) map[string]int {
	c := map[string]int{"audio": 0, "subtitle": 0, "attachment": len(p.Covers)}
	kept := map[string]bool{}
	for _, m := range p.Maps {
		kept[m] = true
	}
	for _, s := range src.Streams {
		if !kept[fmt.Sprintf("1:%d", s.Index)] {
			continue
		}
		switch {
		case s.CoverArt || s.Type == "attachment":
			c["attachment"]++
		case s.Type == "audio" || s.Type == "subtitle":
			c[s.Type]++
		}
	}
	return c
}

// Format returns the muxer for an output file name's extension: matroska,
// webm, mp4 or ivf; "" for another extension.
func Format(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mkv":
		return "matroska"
	case ".webm":
		return "webm"
	case ".mp4":
		return "mp4"
	case ".ivf":
		return "ivf"
	}
	return ""
}

// allowed codecs of the containers that restrict them.
var (
	webmAudio = set("opus", "vorbis")
	webmText  = set("subrip", "ass", "ssa", "webvtt", "text", "mov_text")
	mp4Audio  = set("aac", "mp3", "mp2", "opus", "flac", "ac3", "eac3", "alac", "dts", "truehd")
	// mp4Experimental are the audio codecs ffmpeg 5.1 puts into MP4 only
	// with -strict experimental, though the format defines them.
	mp4Experimental = set("flac", "truehd")
	mp4Text         = set("subrip", "ass", "ssa", "webvtt", "text", "mov_text")
)

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Streams decides which of src's non-video streams the format can carry,
// how (copied, or converted: audio to Opus as audio says, text subtitles
// to the container's text format), and what of the video's description
// goes along. format is one of matroska, webm, mp4 or ivf. Stream tags
// (language, title), dispositions (default, forced) and start times
// (delays) are kept, converted streams' included. The only error is a
// *CopyError: audio.Mode "copy" and an audio stream the format cannot
// carry as it is.
func Streams(src *probe.Source, format string, audio Audio) (Plan, error) {
	p := Plan{Format: format}
	subOut, audioOut := 0, 0
	for _, s := range src.Streams {
		if s.Index == src.Video.Index {
			continue
		}
		what := fmt.Sprintf("stream %d (%s %s)", s.Index, s.Type, s.Codec)
		keep, why := true, ""
		switch {
		case format == "ivf":
			keep, why = false, "IVF holds only the video"
		case s.CoverArt && format == "webm":
			keep, why = false, "WebM has no attachments"
		case s.CoverArt && format == "matroska":
			p.Covers = append(p.Covers, cover(s))
			continue
		case s.CoverArt && format == "mp4" && !mp4Cover[s.Codec]:
			keep, why = false, "MP4 cover art must be PNG, JPEG or BMP"
		case s.CoverArt:
			p.coverOut++
		case s.Type == "video":
			keep, why = false, "only one video stream is encoded"
		case s.Type == "data" || s.Type == "":
			keep, why = false, "data streams are not carried over"
		case s.Type == "audio" && format != "ivf":
			if audio.Mode == AudioNone {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s dropped: --audio none", what))
				continue
			}
			if !audio.transcode(format, s.Codec) {
				break
			}
			if audio.Mode == AudioCopy {
				return Plan{}, &CopyError{Stream: s.Index, Codec: s.Codec, Format: format}
			}
			kbps, layout := audio.opus(s)
			if p.Opus == nil {
				p.Opus = map[int]int{}
			}
			p.Opus[s.Index] = kbps
			p.Maps = append(p.Maps, fmt.Sprintf("1:%d", s.Index))
			p.Codecs = append(p.Codecs, fmt.Sprintf("-c:a:%d", audioOut), "libopus", fmt.Sprintf("-b:a:%d", audioOut), fmt.Sprintf("%dk", kbps))
			note := ""
			if layout != s.Layout {
				p.Codecs = append(p.Codecs, fmt.Sprintf("-filter:a:%d", audioOut), "aformat=channel_layouts="+layout)
				note = fmt.Sprintf(", channel layout %s as %s (Opus's own)", orUnknown(s.Layout), layout)
			}
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s converted to Opus at %d kbit/s%s: %s", what, kbps, note, audio.why(format)))
			audioOut++
			continue
		case format == "webm" && s.Type == "subtitle" && !webmText[s.Codec]:
			keep, why = false, "WebM carries only text subtitles (as WebVTT)"
		case format == "webm" && s.Type == "attachment":
			keep, why = false, "WebM has no attachments"
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
		switch s.Type {
		case "audio":
			if format == "mp4" && mp4Experimental[s.Codec] {
				p.experimental = true
			}
			audioOut++
		case "subtitle":
			if format == "mp4" && s.Codec != "mov_text" {
				p.Codecs = append(p.Codecs, fmt.Sprintf("-c:s:%d", subOut), "mov_text")
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s converted to mov_text: MP4 carries only mov_text subtitles%s", what, styling(s.Codec)))
			}
			if format == "matroska" && s.Codec == "mov_text" {
				p.Codecs = append(p.Codecs, fmt.Sprintf("-c:s:%d", subOut), "srt")
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s converted to SubRip: Matroska cannot carry mov_text", what))
			}
			if format == "webm" && s.Codec != "webvtt" {
				p.Codecs = append(p.Codecs, fmt.Sprintf("-c:s:%d", subOut), "webvtt")
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s converted to WebVTT: WebM carries only WebVTT subtitles%s", what, styling(s.Codec)))
			}
			subOut++
		case "attachment":
			p.attachments++
		}
	}
	v := src.Video
	if r := ((v.Rotation % 360) + 360) % 360; r != 0 {
		if format == "mp4" {
			p.Rotation = r
		} else {
			p.Warnings = append(p.Warnings, fmt.Sprintf("video rotation of %d degrees dropped: this ffmpeg writes it only to MP4 (the pixels are kept as stored; use an .mp4 output to keep it)", v.Rotation))
		}
	}
	if len(v.HDR.Dynamic) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("dynamic HDR metadata (%s) dropped: the base layer is encoded with its HDR10 static metadata; no encoder here can carry dynamic metadata chunk by chunk", strings.Join(v.HDR.Dynamic, ", ")))
	}
	if v.Interlaced() {
		p.Warnings = append(p.Warnings, fmt.Sprintf("interlaced video (field order %s) is encoded as whole frames and its field order is not kept: AV1 has no interlaced coding; deinterlace first (e.g. ffmpeg -vf bwdif) for smooth motion", v.FieldOrder))
	}
	return p, nil
}

// styling notes what a text subtitle loses in a conversion.
func styling(codec string) string {
	if codec == "ass" || codec == "ssa" {
		return " (ASS styling and positioning dropped)"
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// mp4Cover are the picture codecs MP4's cover art takes.
var mp4Cover = set("png", "mjpeg", "bmp")

// cover describes a cover picture to attach to Matroska.
func cover(s probe.Stream) Cover {
	c := Cover{Stream: s.Index, Name: s.Filename, Mime: s.Mimetype}
	ext := map[string]string{"png": ".png", "mjpeg": ".jpg", "bmp": ".bmp", "gif": ".gif", "webp": ".webp"}[s.Codec]
	if ext == "" {
		ext = ".bin"
	}
	if c.Name == "" {
		c.Name = "cover" + ext
	}
	if c.Mime == "" {
		c.Mime = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".bmp": "image/bmp", ".gif": "image/gif", ".webp": "image/webp"}[ext]
		if c.Mime == "" {
			c.Mime = "application/octet-stream"
		}
	}
	return c
}

// Ext returns the file extension to extract c with.
func (c Cover) Ext() string { return filepath.Ext(c.Name) }

// ExtractCover writes the picture of cover c of src to c.File.
func ExtractCover(ctx context.Context, src *probe.Source, c Cover) error {
	_, err := tools.Output(ctx, tools.FFmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", "file:"+src.Path,
		"-map", fmt.Sprintf("0:%d", c.Stream), "-c", "copy", "-frames:v", "1", "-f", "image2", "-update", "1", "file:"+c.File)
	if err != nil {
		return fmt.Errorf("mux: cover art of %s: %w", src.Path, err)
	}
	return nil
}

// Args returns ffmpeg's arguments to mux video (an IVF file) with the
// streams of src chosen by p into out. color describes the video's pixels
// (after any conversion for the encoder).
func (p Plan) Args(video string, src *probe.Source, color probe.Color, out string) []string {
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-y",
		"-i", "file:" + video, "-i", "file:" + src.Path,
		"-map", "0:v:0"}
	for _, m := range p.Maps {
		args = append(args, "-map", m)
	}
	args = append(args, "-map_metadata", "1", "-map_chapters", "1", "-c", "copy")
	args = append(args, p.Codecs...)
	for i := range p.coverOut {
		args = append(args, fmt.Sprintf("-disposition:v:%d", i+1), "attached_pic")
	}
	for i, c := range p.Covers {
		k := p.attachments + i
		args = append(args, "-attach", c.File,
			fmt.Sprintf("-metadata:s:t:%d", k), "mimetype="+c.Mime, fmt.Sprintf("-metadata:s:t:%d", k), "filename="+c.Name)
	}
	if lang := language(src); lang != "" {
		args = append(args, "-metadata:s:v:0", "language="+lang)
	}
	if p.Rotation != 0 {
		args = append(args, "-metadata:s:v:0", fmt.Sprintf("rotate=%d", p.Rotation))
	}
	for _, kv := range [][2]string{{"-color_primaries", color.Primaries}, {"-color_trc", color.Transfer}, {"-colorspace", color.Matrix}, {"-color_range", color.Range}} {
		if kv[1] != "" && kv[1] != "unknown" && kv[1] != "reserved" {
			args = append(args, kv[0], kv[1])
		}
	}
	if p.Format == "mp4" {
		args = append(args, "-movflags", "+faststart")
	}
	if p.experimental {
		args = append(args, "-strict", "experimental")
	}
	// The same streams give the same file: no random identifier or date
	// goes into it.
	args = append(args, "-fflags", "+bitexact")
	return append(args, "-f", p.Format, "file:"+out)
}

func language(src *probe.Source) string {
	for _, s := range src.Streams {
		if s.Index == src.Video.Index && s.Language != "" && s.Language != "und" {
			return s.Language
		}
	}
	return ""
}

// Mux writes out from video and src's other streams. ffmpeg may report a
// full disk and still exit 0: such an error wraps syscall.ENOSPC (or
// EDQUOT, EIO) and names the output.
func Mux(ctx context.Context, p Plan, video string, src *probe.Source, color probe.Color, out string) error {
	cmd, err := tools.Command(ctx, tools.FFmpeg, p.Args(video, src, color, out)...)
	if err != nil {
		return err
	}
	stderr := tools.NewTail(8192)
	cmd.Stderr = stderr
	err = cmd.Run()
	msg := stderr.String()
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO} {
		if strings.Contains(strings.ToLower(msg), e.Error()) {
			return fmt.Errorf("mux: write %s: %w", out, e)
		}
	}
	if err != nil {
		return fmt.Errorf("mux: %s: %w", out, tools.RunError("ffmpeg", err, stderr))
	}
	return nil
}
