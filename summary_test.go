package av1job

import (
	"strings"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/probe"
)

func TestSummaryLine(t *testing.T) {
	s := Summary{Output: "o.webm", OutputBytes: 1070000, SourceBytes: 642000, VideoBytes: 1000000, Seconds: 10, Frames: 240, Chunks: 5,
		Wall: 42 * time.Second, Encoded: 240, FPS: 240 / 42.0}
	want := "wrote o.webm: 1.0 MiB, 167 % of the source's 627 KiB; video 800 kbit/s; 42s, 5.7 fps; 240 frames in 5 chunks"
	if got := s.Line(); got != want || !s.Larger() {
		t.Errorf("Line() = %q (larger %v)\nwant     %q", got, s.Larger(), want)
	}
	s.Encoded, s.OutputBytes = 120, 500000
	if got := s.Line(); !strings.Contains(got, "fps over the 120 frames this run encoded") || s.Larger() {
		t.Errorf("resumed: %q (larger %v)", got, s.Larger())
	}
}

// TestOtherBytes: the other streams' share of the output, from the
// source's streams: stated bit rates, Opus at the rate given, the rest of
// the file when only the video states its own.
func TestOtherBytes(t *testing.T) {
	video := probe.Stream{Index: 0, Type: "video"}
	for _, tc := range []struct {
		name   string
		src    probe.Source
		format string
		video  int64 // the video's packets' bytes, when known
		want   int64
	}{
		{"copied AAC at 128 kbit/s for 10 s", probe.Source{Duration: 10, Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "aac", Channels: 2, BitRate: 128000}}}, "mp4", 0, 160000},
		{"AAC to Opus stereo in WebM", probe.Source{Duration: 10, Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "aac", Channels: 2, BitRate: 64000}}}, "webm", 0, 160000},
		{"dropped", probe.Source{Duration: 10, Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "aac", BitRate: 128000}}}, "ivf", 0, 0},
		{"the rest of the file", probe.Source{Size: 1000000, Duration: 10, Video: probe.Video{BitRate: 400000, OwnBitRate: true},
			Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "flac"}}}, "matroska", 0, 500000},
		{"nothing known", probe.Source{Size: 1000000, Duration: 10, Video: probe.Video{BitRate: 800000},
			Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "flac"}}}, "matroska", 0, 0},
		{"the rest after the video's packets", probe.Source{Size: 1000000, Duration: 10, Video: probe.Video{BitRate: 800000},
			Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "flac"}}}, "matroska", 700000, 300000},
		{"known AC-3 and the rest FLAC", probe.Source{Size: 1000000, Duration: 10, Video: probe.Video{BitRate: 800000},
			Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "ac3", BitRate: 160000}, {Index: 2, Type: "audio", Codec: "flac"}}}, "matroska", 600000, 400000},
		{"a dropped stream of unknown size", probe.Source{Size: 1000000, Duration: 10, Video: probe.Video{BitRate: 800000},
			Streams: []probe.Stream{video, {Index: 1, Type: "audio", Codec: "ac3", BitRate: 160000}, {Index: 2, Type: "data", Codec: "bin"}}}, "matroska", 600000, 200000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := mux.Streams(&tc.src, tc.format, mux.Audio{})
			if err != nil {
				t.Fatal(err)
			}
			if got := otherBytes(&tc.src, pl, tc.video); got != tc.want {
				t.Errorf("otherBytes = %d, want %d", got, tc.want)
			}
		})
	}
}
