package testclip

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// HDR10Params are the x265 parameters of HDR10's clip: BT.2020, PQ, a
// mastering display of P3 primaries at D65 from 0.0001 to 1000 cd/m², and
// MaxCLL 1000, MaxFALL 400. In AV1's units the mastering
// display is R(44564,20972) G(17367,45220) B(9830,3932) WP(20493,21561)
// L(256000,2).
const HDR10Params = "hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400:" +
	"colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:log-level=error"

// HDR10 writes a 10-bit HEVC clip of frames 160x90 frames at 24 fps with
// HDR10 static metadata in its SEI (HDR10Params) to out (.mkv or .mp4):
// an HDR10 Blu-ray's video in small.
func HDR10(ctx context.Context, out string, frames int) error {
	return run(ctx, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=24", "-frames:v", strconv.Itoa(frames),
		"-pix_fmt", "yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", HDR10Params,
		"-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-fflags", "+bitexact", out)
}

// Phone writes a phone-like MP4 to out: frames 160x90 frames of H.264 at
// 24 fps; AAC stereo (English, default); AC-3 5.1 (French, starting 0.1 s
// late, not default); a mov_text subtitle (English, forced).
func Phone(ctx context.Context, out string, frames int) error {
	d := fmt.Sprintf("%.3f", float64(frames)/24)
	srt := out + ".srt"
	if err := os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:00,200\nhello\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(srt)
	return run(ctx, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=24", "-f", "lavfi", "-i", "sine=f=440:r=48000",
		"-itsoffset", "0.1", "-f", "lavfi", "-i", "sine=f=220:r=48000", "-i", srt,
		"-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-t", d,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a:0", "aac", "-ac:a:0", "2", "-b:a:0", "64k",
		"-c:a:1", "ac3", "-ac:a:1", "6", "-b:a:1", "192k", "-c:s", "mov_text",
		"-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-metadata:s:s:0", "language=eng",
		"-disposition:a:0", "default", "-disposition:a:1", "0", "-disposition:s:0", "forced",
		"-fflags", "+bitexact", out)
}

// Styled writes a Matroska clip to out: frames 160x90 frames of H.264 at
// 24 fps, FLAC stereo (German, title "Commentary") and an ASS subtitle
// with styling (English, title "Signs", default and forced).
func Styled(ctx context.Context, out string, frames int) error {
	d := fmt.Sprintf("%.3f", float64(frames)/24)
	ass := out + ".ass"
	const script = "[Script Info]\nScriptType: v4.00+\nPlayResX: 160\nPlayResY: 90\n\n[V4+ Styles]\n" +
		"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n" +
		"Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\n\n[Events]\n" +
		"Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:00.00,0:00:00.20,Default,,0,0,0,,{\\b1}sign{\\b0}\n"
	if err := os.WriteFile(ass, []byte(script), 0o644); err != nil {
		return err
	}
	defer os.Remove(ass)
	return run(ctx, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=24", "-f", "lavfi", "-i", "sine=f=440:r=48000", "-i", ass,
		"-map", "0:v", "-map", "1:a", "-map", "2:s", "-t", d,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "flac", "-ac", "2", "-c:s", "ass",
		"-metadata:s:a:0", "language=ger", "-metadata:s:a:0", "title=Commentary", "-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=Signs",
		"-disposition:s:0", "default+forced", "-fflags", "+bitexact", out)
}

func run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testclip: ffmpeg: %v: %s", err, b)
	}
	return nil
}
