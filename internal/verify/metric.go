package verify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/quality"
	"github.com/av1job/av1job/internal/tools"
)

// MetricOptions tune Measure.
type MetricOptions struct {
	// Metric is quality.SSIMULACRA2 or quality.PSNR.
	Metric string
	// Stat sums up a chunk's per-frame scores: quality.StatMean (the
	// default when empty), quality.StatP5 or quality.StatMin.
	Stat string
}

// A Quality is the outcome of Measure: the output's score, frame by frame
// and chunk by chunk.
type Quality struct {
	Metric, Stat   string
	Source, Output string // the paths measured
	// Scores holds one score per output frame, in display order.
	Scores []float64
	// Chunks are the output's keyframe intervals, in order; together they
	// cover the scored frames.
	Chunks []ChunkQuality
	// Mean, P5 and Min sum up all the frames' scores.
	Mean, P5, Min float64
	// Worst is the index in Chunks of the chunk with the lowest Score (the
	// first of equals); -1 when there is no chunk.
	Worst int
}

// A ChunkQuality is one keyframe interval of the output: frames [Start,
// End), numbered from 0, with their scores summed up by the Stat of its
// Quality, the bytes of its packets and their bit rate in kbit/s (0 when
// the frame rate is unknown).
type ChunkQuality struct {
	Start, End int
	Score      float64
	Bytes      int64
	Kbps       float64
}

// Measure scores every frame of the output at outputPath against the same
// frame of the source at sourcePath with opt.Metric, and sums the scores up
// per chunk, a chunk being the frames from one keyframe of the output to
// the next.
//
// The source is decoded by ffmpeg to the pixel format the encoder is fed
// (see probe.LayoutFor), through the same conversion filter, and scaled to
// the output's size when that differs; the output is decoded to the same
// pixel format, by dav1d for an IVF file when its format already matches,
// else by ffmpeg. The two streams are scored as they are decoded; only a
// few frames are in memory at any time. SSIMULACRA2 converts the pixels to
// RGB with the matrix and range of the pixels the encoder got (the
// source's, BT.709 limited range when it states none).
//
// A file that cannot be read or decoded at all gives a *probe.InputError
// naming it; an unknown metric or statistic an error saying so. Outputs
// whose frame count differs from the source's cannot be scored: the error
// wraps ssimulacra2.ErrFrameCount.
func Measure(ctx context.Context, sourcePath, outputPath string, opt MetricOptions) (*Quality, error) {
	if opt.Stat == "" {
		opt.Stat = quality.StatMean
	}
	if err := quality.CheckMetric(opt.Metric); err != nil {
		return nil, err
	}
	if err := quality.CheckStat(opt.Stat); err != nil {
		return nil, err
	}
	src, err := probe.Probe(ctx, sourcePath)
	if err != nil {
		return nil, err
	}
	out, err := probe.Probe(ctx, outputPath)
	if err != nil {
		return nil, err
	}
	packets, err := readPackets(ctx, outputPath)
	if err != nil {
		return nil, err
	}
	layout := probe.LayoutFor(src.Video)
	color := quality.Color(layout.Color.Matrix, layout.FullRange())

	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ref, err := startY4M(dctx, sourcePath, tools.FFmpeg, sourceY4MArgs(sourcePath, src.Video.Index, layout, out.Video.Width, out.Video.Height))
	if err != nil {
		return nil, err
	}
	var dist *y4mStream
	if out.Format == "ivf" && out.Video.PixFmt == layout.PixFmt {
		if _, derr := tools.Path(tools.Dav1d); derr == nil {
			dist, err = startY4M(dctx, outputPath, tools.Dav1d, []string{"-q", "--demuxer", "ivf", "-i", outputPath,
				"-o", "-", "--muxer", "yuv4mpeg2", "--threads", "1"})
		}
	}
	if dist == nil && err == nil {
		dist, err = startY4M(dctx, outputPath, tools.FFmpeg, decodeY4MArgs(outputPath, out.Video.Index, "", layout.PixFmt))
	}
	if err != nil {
		ref.abort()
		return nil, err
	}

	scores, serr := quality.Scores(ctx, opt.Metric, ref.r, dist.r, color, quality.ScoreOptions{})
	if serr != nil {
		// The decoders get EPIPE instead of blocking on a full pipe.
		ref.abort()
		dist.abort()
	}
	rerr, derr := ref.wait(), dist.wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if serr != nil {
		// A decoder that failed on its own (its stream ended before the
		// abort) cut its stream short, and its error says why; else the
		// metric's error does (streams of different sizes or lengths).
		if ref.ended && rerr != nil {
			return nil, decodeError(sourcePath, rerr, len(scores))
		}
		if dist.ended && derr != nil {
			return nil, decodeError(outputPath, derr, len(scores))
		}
		return nil, fmt.Errorf("%s of %s against %s: %w", opt.Metric, outputPath, sourcePath, serr)
	}
	if rerr != nil {
		return nil, decodeError(sourcePath, rerr, len(scores))
	}
	if derr != nil {
		return nil, decodeError(outputPath, derr, len(scores))
	}

	fps := frameRate(out)
	if fps == 0 {
		fps = frameRate(src)
	}
	q := &Quality{Metric: opt.Metric, Stat: opt.Stat, Source: sourcePath, Output: outputPath, Scores: scores,
		Mean:  quality.Stat(scores, quality.StatMean),
		P5:    quality.Stat(scores, quality.StatP5),
		Min:   quality.Stat(scores, quality.StatMin),
		Worst: -1,
	}
	q.Chunks = chunks(scores, packets, opt.Stat, fps)
	for i, c := range q.Chunks {
		if q.Worst < 0 || c.Score < q.Chunks[q.Worst].Score {
			q.Worst = i
		}
	}
	return q, nil
}

// decodeError describes a decoder that failed on path after frames frames:
// a *probe.InputError when it decoded none.
func decodeError(path string, err error, frames int) error {
	if frames == 0 {
		return &probe.InputError{Path: path, Msg: "cannot decode video: " + err.Error()}
	}
	return fmt.Errorf("decode %s: %w", path, err)
}

// Summary returns the quality on one line:
//
//	ssimulacra2: mean 78.41, p5 71.02, min 66.10 over 240 frames; 6 chunks, worst chunk 3 (frames 96-143) 72.55 (mean)
//
// Chunks are numbered from 0, frames from 0, both ends included.
func (q *Quality) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: mean %.4g, p5 %.4g, min %.4g over %d %s", q.Metric, q.Mean, q.P5, q.Min,
		len(q.Scores), plural(len(q.Scores), "frame"))
	fmt.Fprintf(&b, "; %d %s", len(q.Chunks), plural(len(q.Chunks), "chunk"))
	if q.Worst >= 0 {
		c := q.Chunks[q.Worst]
		fmt.Fprintf(&b, ", worst chunk %d (frames %d-%d) %.4g (%s)", q.Worst, c.Start, c.End-1, c.Score, q.Stat)
	}
	return b.String()
}

// Table returns one line per chunk, under a heading: its number, frames,
// score and bit rate.
func (q *Quality) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5s  %-13s  %8s  %9s  %10s\n", "chunk", "frames", q.Stat, "kbit/s", "bytes")
	for i, c := range q.Chunks {
		mark := ""
		if i == q.Worst {
			mark = "  worst"
		}
		fmt.Fprintf(&b, "%5d  %-13s  %8.2f  %9.1f  %10d%s\n", i, fmt.Sprintf("%d-%d", c.Start, c.End-1), c.Score, c.Kbps, c.Bytes, mark)
	}
	return b.String()
}

// A packet is one packet of the output's video stream, in file order.
type packet struct {
	size int64
	key  bool
}

// readPackets lists the packets of the first video stream of path with
// ffprobe, reading the container only.
func readPackets(ctx context.Context, path string) ([]packet, error) {
	out, err := tools.Output(ctx, tools.FFprobe, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=size,flags", "-of", "compact=p=0", "file:"+path)
	if err != nil {
		return nil, &probe.InputError{Path: path, Msg: "cannot read packets: " + err.Error()}
	}
	return parsePackets(string(out))
}

// parsePackets parses ffprobe's compact packet lines, "size=4846|flags=K_".
func parsePackets(s string) ([]packet, error) {
	var ps []packet
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var p packet
		seen := false
		for _, kv := range strings.Split(line, "|") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "size":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("packet %d: size %q: %w", len(ps), v, err)
				}
				p.size, seen = n, true
			case "flags":
				p.key = strings.HasPrefix(v, "K")
			}
		}
		if !seen {
			return nil, fmt.Errorf("packet %d: no size in %q", len(ps), line)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// chunks splits the scored frames at the keyframes, one AV1 packet (a
// temporal unit) per frame. A chunk's bytes and bit rate count its
// packets; its score its frames that were scored. Packets beyond the
// scored frames count towards the last chunk.
func chunks(scores []float64, packets []packet, stat string, fps float64) []ChunkQuality {
	if len(scores) == 0 {
		return nil
	}
	var starts []int
	for i, p := range packets {
		if i == 0 || p.key {
			starts = append(starts, i)
		}
	}
	if len(starts) == 0 {
		starts = []int{0} // no packets listed: one chunk
	}
	var cs []ChunkQuality
	for i, start := range starts {
		if start >= len(scores) {
			break
		}
		c := ChunkQuality{Start: start, End: len(scores)}
		end := len(packets) // of the chunk's packets
		if i+1 < len(starts) && starts[i+1] < len(scores) {
			c.End, end = starts[i+1], starts[i+1]
		}
		for _, p := range packets[min(start, end):end] {
			c.Bytes += p.size
		}
		if n := end - start; fps > 0 && n > 0 {
			c.Kbps = float64(c.Bytes) * 8 / (float64(n) / fps) / 1000
		}
		c.Score = quality.Stat(scores[c.Start:c.End], stat)
		cs = append(cs, c)
	}
	return cs
}

// sourceY4MArgs returns ffmpeg's arguments to decode a source's video
// stream as the encoder gets it (layout's pixel format and filter), scaled
// to width x height, to YUV4MPEG2 on stdout.
func sourceY4MArgs(path string, stream int, l probe.Layout, width, height int) []string {
	var vf []string
	if l.Filter != "" {
		vf = append(vf, l.Filter)
	}
	if width > 0 && height > 0 {
		// A no-op when the size already matches.
		vf = append(vf, fmt.Sprintf("scale=%d:%d:flags=bicubic", width, height))
	}
	return decodeY4MArgs(path, stream, strings.Join(vf, ","), l.PixFmt)
}

// decodeY4MArgs returns ffmpeg's arguments to decode stream of path as
// stored (a rotation is metadata), through filter when not empty, to
// YUV4MPEG2 in pixel format pixFmt on stdout.
func decodeY4MArgs(path string, stream int, filter, pixFmt string) []string {
	// "file:" keeps ffmpeg from reading a name like "-" or "x:y" as a pipe
	// or a protocol.
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-noautorotate", "-i", "file:" + path,
		"-map", fmt.Sprintf("0:%d", stream), "-fps_mode", "passthrough"}
	if filter != "" {
		args = append(args, "-vf", filter)
	}
	return append(args, "-pix_fmt", pixFmt, "-strict", "-1", "-f", "yuv4mpegpipe", "-")
}

// A y4mStream is a decoder process writing YUV4MPEG2 to a pipe.
type y4mStream struct {
	name   string // the program
	cmd    *tools.Cmd
	pipe   io.ReadCloser
	r      *bufio.Reader
	stderr *tools.Tail
	// ended is set when a read from the pipe met its end: the decoder
	// closed it, having finished or failed.
	ended bool
}

// Read implements io.Reader on the pipe, setting ended.
func (s *y4mStream) Read(p []byte) (int, error) {
	n, err := s.pipe.Read(p)
	if err == io.EOF {
		s.ended = true
	}
	return n, err
}

// startY4M starts the program name with args, decoding path.
func startY4M(ctx context.Context, path, name string, args []string) (*y4mStream, error) {
	cmd, err := tools.Command(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	s := &y4mStream{name: name, cmd: cmd, stderr: tools.NewTail(4096)}
	cmd.Stderr = s.stderr
	if s.pipe, err = cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("decode %s: start %s: %w", path, name, err)
	}
	s.r = bufio.NewReaderSize(s, 1<<20)
	return s, nil
}

// abort closes the pipe: the decoder gets EPIPE on its next write and
// exits. Call wait after it.
func (s *y4mStream) abort() { s.pipe.Close() }

// wait waits for the decoder to exit and returns its failure with the
// telling line of its standard error, or nil.
func (s *y4mStream) wait() error {
	if err := s.cmd.Wait(); err != nil {
		return tools.RunError(s.name, err, s.stderr)
	}
	return nil
}
