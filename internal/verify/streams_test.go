package verify

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/testclip"
)

// TestRunStreams muxes an AV1 video with a phone-like MP4's streams (AAC
// stereo, AC-3 5.1 with a delay, mov_text forced) and a Matroska file's
// (FLAC with a title, ASS default+forced) into every container with each
// --audio mode, and checks what each output stream kept of its source
// stream: codec, channels, language, title, dispositions, start, and that
// verify passes it, and fails it when a stream is missing.
func TestRunStreams(t *testing.T) {
	needFFmpeg(t)
	ctx := context.Background()
	dir := t.TempDir()
	phone, styled := filepath.Join(dir, "phone.mp4"), filepath.Join(dir, "styled.mkv")
	if err := testclip.Phone(ctx, phone, 12); err != nil {
		t.Fatal(err)
	}
	if err := testclip.Styled(ctx, styled, 12); err != nil {
		t.Fatal(err)
	}
	type want struct{ codec, layout, lang, title, disp string } // disp: "d" default, "f" forced
	cases := []struct {
		src, out, audio string
		want            []want // audio and subtitle streams of the output, in order
	}{
		{phone, "webm", "", []want{{"opus", "stereo", "eng", "", "d"}, {"opus", "5.1", "fra", "", ""}, {"webvtt", "", "eng", "", "df"}}},
		{phone, "mkv", "opus:96", []want{{"opus", "stereo", "eng", "", "d"}, {"opus", "5.1", "fra", "", ""}, {"subrip", "", "eng", "", "df"}}},
		{phone, "mp4", "none", []want{{"mov_text", "", "eng", "", "df"}}},
		{styled, "webm", "", []want{{"opus", "stereo", "ger", "Commentary", ""}, {"webvtt", "", "eng", "Signs", "df"}}},
		{styled, "mp4", "", []want{{"flac", "stereo", "ger", "", "d"}, {"mov_text", "", "eng", "", "df"}}},
	}
	srcIVF := map[string]string{}
	for i, tc := range cases {
		name := fmt.Sprintf("%s to %s audio %q", filepath.Base(tc.src), tc.out, tc.audio)
		t.Run(name, func(t *testing.T) {
			if srcIVF[tc.src] == "" {
				srcIVF[tc.src] = filepath.Join(dir, filepath.Base(tc.src)+".ivf")
				ffmpeg(t, append(append([]string{"-i", tc.src, "-map", "0:v"}, av1...), srcIVF[tc.src])...)
			}
			src, err := probe.Probe(ctx, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := mux.ParseAudio(tc.audio)
			out := filepath.Join(dir, fmt.Sprintf("out%d.%s", i, tc.out))
			p, err := mux.Streams(src, mux.Format(out), a)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("warnings: %s", strings.Join(p.Warnings, "; "))
			if err := mux.Mux(ctx, p, srcIVF[tc.src], src, probe.Color{}, out); err != nil {
				t.Fatal(err)
			}
			o, err := probe.Probe(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			var outStreams []probe.Stream
			for _, s := range o.Streams {
				if s.Type != "audio" && s.Type != "subtitle" {
					continue
				}
				d := ""
				if s.Default {
					d += "d"
				}
				if s.Forced {
					d += "f"
				}
				got = append(got, want{s.Codec, s.Layout, s.Language, s.Title, d})
				outStreams = append(outStreams, s)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("streams\n got %v\nwant %v", got, tc.want)
			}
			// The AC-3 track's delay survives, converted or not.
			for k, s := range outStreams {
				if tc.want[k].lang == "fra" && math.Abs(s.Start-0.094) > 0.03 {
					t.Errorf("stream %d starts at %.3f s, source at 0.094", s.Index, s.Start)
				}
			}
			r, err := Run(ctx, tc.src, out, Options{Audio: a})
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() {
				t.Errorf("verify: %s", r.Summary())
			}
			if tc.audio == "" && tc.src == phone {
				// The same output checked as if --audio none had been
				// asked for: the audio is extra.
				r, err := Run(ctx, tc.src, out, Options{Audio: mux.Audio{Mode: mux.AudioNone}})
				if err != nil {
					t.Fatal(err)
				}
				if r.OK() || !strings.Contains(r.Summary(), "audio streams: output 2, expected 0") {
					t.Errorf("verify with --audio none: %s", r.Summary())
				}
			}
		})
	}
}
