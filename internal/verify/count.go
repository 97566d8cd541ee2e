package verify

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/tools"
)

var dav1dDecoded = regexp.MustCompile(`Decoded (\d+)/(\d+) frames`)

// DecodeIVF decodes an AV1 IVF file completely and returns the number of
// frames it decodes to. It uses dav1d, an decoder independent of the
// encoder, when installed, and ffmpeg's decoder otherwise. A decode error
// is an error.
func DecodeIVF(ctx context.Context, path string) (int, error) {
	if _, err := tools.Path(tools.Dav1d); err == nil {
		cmd, err := tools.Command(ctx, tools.Dav1d, "--demuxer", "ivf", "-i", path, "-o", "/dev/null", "--muxer", "null", "--threads", "1")
		if err != nil {
			return 0, err
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("dav1d %s: %s: %w", path, tools.LastLine(string(out)), err)
		}
		m := dav1dDecoded.FindAllStringSubmatch(string(out), -1)
		if len(m) == 0 {
			return 0, fmt.Errorf("dav1d %s: no frame count in %q", path, tools.LastLine(string(out)))
		}
		n, _ := strconv.Atoi(m[len(m)-1][1])
		return n, nil
	}
	return countWith(ctx, "-count_frames", "nb_read_frames", "ivf", path)
}

// CountPackets returns the number of packets of the first video stream of
// a file, reading the container only.
func CountPackets(ctx context.Context, path string) (int, error) {
	return countWith(ctx, "-count_packets", "nb_read_packets", "", path)
}

func countWith(ctx context.Context, flag, field, format, path string) (int, error) {
	args := []string{"-v", "error", flag, "-select_streams", "v:0", "-show_entries", "stream=" + field, "-of", "csv=p=0"}
	if format != "" {
		args = append(args, "-f", format)
	}
	// "file:" keeps ffprobe from reading a name like "a:b.mkv" as a protocol.
	out, err := tools.Output(ctx, tools.FFprobe, append(args, "file:"+path)...)
	if err != nil {
		return 0, fmt.Errorf("count frames of %s: %w", path, err)
	}
	// The first field of the first line: ffprobe may add side data (a
	// rotation) after it.
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	first, _, _ = strings.Cut(first, ",")
	n, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("count frames of %s: ffprobe said %q", path, strings.TrimSpace(string(out)))
	}
	return n, nil
}
