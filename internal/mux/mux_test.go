package mux

import (
	"reflect"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/probe"
)

func TestStreams(t *testing.T) {
	src := &probe.Source{Path: "in.mkv", Video: probe.Video{Index: 0}, Streams: []probe.Stream{
		{Index: 0, Type: "video", Codec: "h264"},
		{Index: 1, Type: "audio", Codec: "opus"},
		{Index: 2, Type: "audio", Codec: "aac"},
		{Index: 3, Type: "subtitle", Codec: "subrip"},
		{Index: 4, Type: "subtitle", Codec: "webvtt"},
		{Index: 5, Type: "attachment", Codec: "ttf"},
		{Index: 6, Type: "data", Codec: "bin_data"},
	}}
	cases := []struct {
		format   string
		maps     []string
		codecs   []string
		warnings int
	}{
		{"matroska", []string{"1:1", "1:2", "1:3", "1:4", "1:5"}, nil, 1},
		{"webm", []string{"1:1", "1:4"}, nil, 4},
		{"mp4", []string{"1:1", "1:2", "1:3", "1:4"}, []string{"-c:s:0", "mov_text", "-c:s:1", "mov_text"}, 4},
		{"ivf", nil, nil, 6},
	}
	for _, tc := range cases {
		p := Streams(src, tc.format)
		if !reflect.DeepEqual(p.Maps, tc.maps) || !reflect.DeepEqual(p.Codecs, tc.codecs) || len(p.Warnings) != tc.warnings {
			t.Errorf("%s: maps %v codecs %v warnings %q", tc.format, p.Maps, p.Codecs, p.Warnings)
		}
		args := strings.Join(p.Args("v.ivf", src, probe.Color{}, "out"), " ")
		if tc.format != "ivf" && !strings.Contains(args, "-f "+tc.format+" file:out") {
			t.Errorf("%s: args %s", tc.format, args)
		}
	}
}
