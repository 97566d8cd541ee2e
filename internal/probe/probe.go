// Package probe reads what av1job needs to know about a source file from
// ffprobe: its streams, the video's size, exact frame rate, pixel format and
// colour description. It decodes nothing; frame counting and timestamps come
// from the scene pass (package scene).
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/tools"
)

// Source describes an input file.
type Source struct {
	Path     string
	Size     int64
	Format   string  // ffprobe's format_name, e.g. "matroska,webm"
	Duration float64 // seconds, from the container; 0 when unknown
	Video    Video
	Streams  []Stream // every stream, the video included, in file order
}

// Video describes the source's first video stream (cover art excluded).
type Video struct {
	Index     int
	Codec     string
	Width     int
	Height    int
	PixFmt    string // ffmpeg's pixel format name
	FrameRate *big.Rat
	TimeBase  *big.Rat // of the stream's timestamps
	Duration  float64  // seconds; 0 when unknown
	NbFrames  int      // from the container; 0 when unknown
	Color     Color
	// Rotation is the display rotation in degrees, counter-clockwise,
	// from the stream's display matrix (a phone's portrait video is
	// stored landscape with 90 or -90); 0 when none.
	Rotation int
	// FieldOrder is ffprobe's field order: "progressive", "tt", "bb",
	// "tb", "bt"; "" or "unknown" when not given.
	FieldOrder string
	// BitRate is the video stream's bit rate in bits per second: the
	// stream's own, else the container's (which counts the other streams
	// too), else the file's size over its duration; 0 when unknown.
	BitRate float64
	// OwnBitRate reports whether BitRate is the stream's own (not the
	// container's or the file's).
	OwnBitRate bool
	// HDR is the stream's HDR10 static metadata: the container's, else
	// (for a PQ or HLG stream) its first frame's; and the dynamic HDR
	// metadata it carries.
	HDR HDR
}

// BitsPerPixel is the stream's mean compressed size per pixel, from its
// bit rate; 0 when unknown.
func (v Video) BitsPerPixel() float64 {
	fps, _ := v.FrameRate.Float64()
	if v.BitRate <= 0 || fps <= 0 || v.Width <= 0 || v.Height <= 0 {
		return 0
	}
	return v.BitRate / fps / float64(v.Width*v.Height)
}

// Interlaced reports whether the stream says its frames are interlaced.
func (v Video) Interlaced() bool {
	switch v.FieldOrder {
	case "tt", "bb", "tb", "bt":
		return true
	}
	return false
}

// Color is a video's colour description in ffmpeg's names; empty fields are
// unspecified.
type Color struct {
	Range     string // "tv" or "pc"
	Primaries string
	Transfer  string
	Matrix    string
}

// Stream is one stream of the source.
type Stream struct {
	Index    int
	Type     string // video, audio, subtitle, attachment, data
	Codec    string
	Language string
	CoverArt bool   // a video stream that is an attached picture
	Filename string // an attachment's or cover's file name, when it has one
	Mimetype string // its MIME type, when given
	Title    string // its title tag, when given
	// Channels and Layout are an audio stream's channel count and
	// ffmpeg's name of its layout ("stereo", "5.1(side)"; "" when unknown).
	Channels int
	Layout   string
	// Default and Forced are the stream's dispositions.
	Default, Forced bool
	// Start is the stream's start time in seconds (an audio delay shows
	// here); Duration its duration in seconds (or Matroska's DURATION tag),
	// 0 when unknown.
	Start, Duration float64
	// BitRate is the stream's bit rate in bits per second (its own, or
	// Matroska's BPS tag); 0 when unknown.
	BitRate float64
}

// InputError is a problem with an input file: it names the file and what is
// wrong with it. Retrying does not help.
type InputError struct {
	Path string
	Msg  string
}

func (e *InputError) Error() string { return e.Path + ": " + e.Msg }

type ffStream struct {
	Index        int               `json:"index"`
	CodecType    string            `json:"codec_type"`
	CodecName    string            `json:"codec_name"`
	Width        int               `json:"width"`
	Height       int               `json:"height"`
	PixFmt       string            `json:"pix_fmt"`
	RFrameRate   string            `json:"r_frame_rate"`
	AvgFrameRate string            `json:"avg_frame_rate"`
	TimeBase     string            `json:"time_base"`
	Duration     string            `json:"duration"`
	NbFrames     string            `json:"nb_frames"`
	ColorRange   string            `json:"color_range"`
	ColorSpace   string            `json:"color_space"`
	ColorTrans   string            `json:"color_transfer"`
	ColorPrim    string            `json:"color_primaries"`
	FieldOrder   string            `json:"field_order"`
	BitRate      string            `json:"bit_rate"`
	Channels     int               `json:"channels"`
	Layout       string            `json:"channel_layout"`
	StartTime    string            `json:"start_time"`
	Disposition  map[string]int    `json:"disposition"`
	Tags         map[string]string `json:"tags"`
	SideData     []ffSideData      `json:"side_data_list"`
}

type ffOutput struct {
	Streams []ffStream `json:"streams"`
	Format  struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
}

// Probe runs ffprobe on path. A file ffprobe cannot read, or one with no
// video stream, gives an *InputError.
func Probe(ctx context.Context, path string) (*Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &InputError{Path: path, Msg: errMsg(err)}
	}
	if fi.IsDir() {
		return nil, &InputError{Path: path, Msg: "is a directory, not a video file"}
	}
	if !fi.Mode().IsRegular() {
		return nil, &InputError{Path: path, Msg: "is not a regular file (" + FileKind(fi.Mode()) + "); av1job reads its input several times, so it needs a file"}
	}
	// "file:" keeps ffprobe from reading a name like "a:b.mkv" as a protocol.
	out, err := tools.Output(ctx, tools.FFprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", "file:"+path)
	if err != nil {
		var miss *tools.MissingError
		if errors.As(err, &miss) || ctx.Err() != nil {
			return nil, err
		}
		return nil, &InputError{Path: path, Msg: "not a video file, or damaged (ffprobe: " + tools.Clean(tools.LastLine(stderrOf(err)), "file:"+path) + ")"}
	}
	src, err := parse(path, fi.Size(), out)
	if err != nil {
		return nil, err
	}
	if v := &src.Video; hdrTransfer(v.Color.Transfer) && (v.HDR.Mastering == nil || v.HDR.Light == nil) {
		// A first frame that does not decode is the scene pass's to
		// report, as damage; here it only carries no metadata.
		fh, err := FrameHDR(ctx, path, v.Index)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if v.HDR.Mastering == nil {
			v.HDR.Mastering = fh.Mastering
		}
		if v.HDR.Light == nil {
			v.HDR.Light = fh.Light
		}
		for _, d := range fh.Dynamic {
			v.HDR.addDynamic(d)
		}
	}
	return src, nil
}

func parse(path string, size int64, out []byte) (*Source, error) {
	var ff ffOutput
	if err := json.Unmarshal(out, &ff); err != nil {
		return nil, fmt.Errorf("probe: %s: parse ffprobe output: %w", path, err)
	}
	src := &Source{Path: path, Size: size, Format: ff.Format.FormatName, Duration: parseFloat(ff.Format.Duration)}
	found := false
	for _, s := range ff.Streams {
		st := Stream{Index: s.Index, Type: s.CodecType, Codec: s.CodecName, Language: tag(s.Tags, "language"),
			CoverArt: s.CodecType == "video" && s.Disposition["attached_pic"] == 1,
			Filename: tag(s.Tags, "filename"), Mimetype: tag(s.Tags, "mimetype"), Title: tag(s.Tags, "title"),
			Channels: s.Channels, Layout: s.Layout, Default: s.Disposition["default"] == 1, Forced: s.Disposition["forced"] == 1,
			Start: parseFloat(s.StartTime), Duration: parseFloat(s.Duration), BitRate: parseFloat(s.BitRate)}
		if st.BitRate == 0 {
			st.BitRate = parseFloat(tag(s.Tags, "BPS"))
		}
		if st.Duration == 0 {
			// Matroska's tag is where the stream ends, from the file's
			// zero.
			if end := parseClock(tag(s.Tags, "DURATION")); end > 0 {
				st.Duration = max(0, end-st.Start)
			}
		}
		src.Streams = append(src.Streams, st)
		if s.CodecType != "video" || st.CoverArt || found {
			continue
		}
		found = true
		v := Video{Index: s.Index, Codec: s.CodecName, Width: s.Width, Height: s.Height, PixFmt: s.PixFmt,
			Duration: parseFloat(s.Duration), Color: Color{Range: s.ColorRange, Primaries: s.ColorPrim, Transfer: s.ColorTrans, Matrix: s.ColorSpace},
			FieldOrder: s.FieldOrder, BitRate: parseFloat(s.BitRate)}
		for _, sd := range s.SideData {
			if sd.Type == "Display Matrix" {
				v.Rotation = int(math.Round(sd.Rotation))
			}
		}
		hdrFrom(&v.HDR, s.SideData)
		v.NbFrames, _ = strconv.Atoi(s.NbFrames)
		if v.Duration == 0 {
			if d, ok := s.Tags["DURATION"]; ok {
				v.Duration = parseClock(d)
			}
		}
		v.TimeBase = rate(s.TimeBase)
		v.FrameRate = rate(s.RFrameRate)
		if v.FrameRate == nil {
			v.FrameRate = rate(s.AvgFrameRate)
		}
		src.Video = v
	}
	if !found {
		if len(ff.Streams) == 0 {
			return nil, &InputError{Path: path, Msg: "not a video file (no streams)"}
		}
		return nil, &InputError{Path: path, Msg: "has no video stream"}
	}
	src.Video.OwnBitRate = src.Video.BitRate > 0
	if src.Video.BitRate <= 0 {
		src.Video.BitRate = parseFloat(ff.Format.BitRate)
	}
	if src.Video.BitRate <= 0 && src.Duration > 0 {
		src.Video.BitRate = float64(size) * 8 / src.Duration
	}
	v := src.Video
	if v.Width <= 0 || v.Height <= 0 || v.PixFmt == "" {
		return nil, &InputError{Path: path, Msg: fmt.Sprintf("video stream %d has no size or pixel format (%s)", v.Index, v.Codec)}
	}
	if v.FrameRate == nil {
		return nil, &InputError{Path: path, Msg: "video stream has no frame rate"}
	}
	if v.TimeBase == nil {
		return nil, &InputError{Path: path, Msg: "video stream has no time base"}
	}
	return src, nil
}

// tag returns a stream tag by name, whatever its case.
func tag(tags map[string]string, name string) string {
	for k, v := range tags {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// rate parses "num/den"; nil when absent or zero.
func rate(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 {
		return nil
	}
	return r
}

func parseFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// parseClock parses Matroska's "HH:MM:SS.nnnnnnnnn" duration tag.
func parseClock(s string) float64 {
	var h, m int
	var sec float64
	if _, err := fmt.Sscanf(s, "%d:%d:%f", &h, &m, &sec); err != nil {
		return 0
	}
	return float64(h*3600+m*60) + sec
}

// stderrOf extracts the program's message from a tools.Output error of the
// form "ffprobe: MESSAGE: exit status N".
func stderrOf(err error) string {
	s := strings.TrimPrefix(err.Error(), "ffprobe: ")
	if i := strings.LastIndex(s, ": exit status"); i >= 0 {
		s = s[:i]
	}
	return s
}

// FileKind names a file type that is not a regular file: "a named pipe",
// "a socket", ...
func FileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	}
	return "not a file"
}

func errMsg(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ExpectedFrames is the frame count the container promises, or its
// duration implies; 0 when neither is known. Only decoding gives the
// exact count.
func (v *Video) ExpectedFrames() int {
	if v.NbFrames > 0 {
		return v.NbFrames
	}
	if fps, _ := v.FrameRate.Float64(); fps > 0 && v.Duration > 0 {
		return int(v.Duration*fps + 0.5)
	}
	return 0
}
