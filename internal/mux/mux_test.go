package mux

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/probe"
)

func TestStreams(t *testing.T) {
	src := &probe.Source{Path: "in.mkv", Video: probe.Video{Index: 0}, Streams: []probe.Stream{
		{Index: 0, Type: "video", Codec: "h264"},
		{Index: 1, Type: "audio", Codec: "opus", Channels: 2, Layout: "stereo"},
		{Index: 2, Type: "audio", Codec: "aac", Channels: 2, Layout: "stereo"},
		{Index: 3, Type: "subtitle", Codec: "subrip"},
		{Index: 4, Type: "subtitle", Codec: "webvtt"},
		{Index: 5, Type: "attachment", Codec: "ttf"},
		{Index: 6, Type: "data", Codec: "bin_data"},
		{Index: 7, Type: "audio", Codec: "ac3", Channels: 6, Layout: "5.1(side)"},
		{Index: 8, Type: "subtitle", Codec: "hdmv_pgs_subtitle"},
		{Index: 9, Type: "subtitle", Codec: "ass"},
		{Index: 10, Type: "audio", Codec: "pcm_s16le", Channels: 1, Layout: "mono"},
	}}
	cases := []struct {
		format   string
		audio    string
		maps     []string
		codecs   []string
		warnings int
		copyErr  bool
	}{
		{"matroska", "", []string{"1:1", "1:2", "1:3", "1:4", "1:5", "1:7", "1:8", "1:9", "1:10"}, nil, 1, false},
		{"webm", "", []string{"1:1", "1:2", "1:3", "1:4", "1:7", "1:9", "1:10"},
			[]string{"-c:a:1", "libopus", "-b:a:1", "128k", "-c:s:0", "webvtt", "-c:a:2", "libopus", "-b:a:2", "256k", "-filter:a:2", "aformat=channel_layouts=5.1",
				"-c:s:2", "webvtt", "-c:a:3", "libopus", "-b:a:3", "64k"}, 8, false},
		{"mp4", "", []string{"1:1", "1:2", "1:3", "1:4", "1:7", "1:9", "1:10"},
			[]string{"-c:s:0", "mov_text", "-c:s:1", "mov_text", "-c:s:2", "mov_text", "-c:a:3", "libopus", "-b:a:3", "64k"}, 7, false},
		{"mp4", "opus:96", []string{"1:1", "1:2", "1:3", "1:4", "1:7", "1:9", "1:10"},
			[]string{"-c:a:1", "libopus", "-b:a:1", "96k", "-c:s:0", "mov_text", "-c:s:1", "mov_text", "-c:a:2", "libopus", "-b:a:2", "96k", "-filter:a:2", "aformat=channel_layouts=5.1",
				"-c:s:2", "mov_text", "-c:a:3", "libopus", "-b:a:3", "96k"}, 9, false},
		{"webm", "none", []string{"1:3", "1:4", "1:9"}, []string{"-c:s:0", "webvtt", "-c:s:2", "webvtt"}, 9, false},
		{"matroska", "copy", []string{"1:1", "1:2", "1:3", "1:4", "1:5", "1:7", "1:8", "1:9", "1:10"}, nil, 1, false},
		{"webm", "copy", nil, nil, 0, true},
		{"ivf", "", nil, nil, 10, false},
	}
	for _, tc := range cases {
		t.Run(tc.format+" "+tc.audio, func(t *testing.T) {
			a, err := ParseAudio(tc.audio)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Streams(src, tc.format, a)
			var ce *CopyError
			if tc.copyErr {
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "WebM cannot carry audio stream 2 (aac)") {
					t.Fatalf("error %v, want a CopyError for stream 2", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Maps, tc.maps) || !reflect.DeepEqual(p.Codecs, tc.codecs) || len(p.Warnings) != tc.warnings {
				t.Errorf("maps %v codecs %v warnings %d:\n%s", p.Maps, p.Codecs, len(p.Warnings), strings.Join(p.Warnings, "\n"))
			}
			args := strings.Join(p.Args("v.ivf", src, probe.Color{}, "out"), " ")
			if tc.format != "ivf" && !strings.Contains(args, "-f "+tc.format+" file:out") {
				t.Errorf("args %s", args)
			}
		})
	}
}

func TestParseAudio(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Audio
		bad  bool
	}{
		{"", Audio{}, false}, {"copy", Audio{Mode: AudioCopy}, false}, {"none", Audio{Mode: AudioNone}, false},
		{"opus", Audio{Mode: AudioOpus}, false}, {"opus:160", Audio{Mode: AudioOpus, Kbps: 160}, false},
		{"opus:5", Audio{}, true}, {"opus:x", Audio{}, true}, {"copy:3", Audio{}, true}, {"aac", Audio{}, true},
	} {
		got, err := ParseAudio(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseAudio(%q) = %+v, %v", tc.in, got, err)
		}
	}
	for ch, want := range map[int]int{1: 64, 2: 128, 6: 256, 8: 320, 12: 320} {
		if got := OpusKbps(ch); got != want {
			t.Errorf("OpusKbps(%d) = %d, want %d", ch, got, want)
		}
	}
}

// TestStreamsDynamicHDR: an HDR10+ or Dolby Vision source gets one warning
// naming the dynamic metadata dropped.
func TestStreamsDynamicHDR(t *testing.T) {
	src := &probe.Source{Path: "in.mkv", Video: probe.Video{HDR: probe.HDR{Dynamic: []string{"HDR10+", "Dolby Vision"}}},
		Streams: []probe.Stream{{Index: 0, Type: "video", Codec: "hevc"}}}
	p, err := Streams(src, "matroska", Audio{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "dynamic HDR metadata (HDR10+, Dolby Vision) dropped") {
		t.Errorf("warnings %q", p.Warnings)
	}
}
