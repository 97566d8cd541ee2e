package av1job_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/testfs"
)

// TestBadInput: each bad input ends with one line naming the file and the
// problem, a non-zero exit, no output, and existing files untouched.
func TestBadInput(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	good := clip(t, dir, "good.mkv", small)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a video\n"), 0o644)
	audio := filepath.Join(dir, "tone.ogg")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", audio).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// A truncated file: the first 60 % of a clip.
	b, _ := os.ReadFile(good)
	trunc := filepath.Join(dir, "cut.mkv")
	os.WriteFile(trunc, b[:len(b)*6/10], 0o644)
	truncMP4 := filepath.Join(dir, "cut.mp4")
	mp4 := clip(t, dir, "whole.mp4", small)
	b, _ = os.ReadFile(mp4)
	os.WriteFile(truncMP4, b[:len(b)*6/10], 0o644)
	existing := filepath.Join(dir, "existing.mkv")
	os.WriteFile(existing, []byte("precious"), 0o644)
	hdr10 := filepath.Join(dir, "hdr10.mkv")
	if err := testclip.HDR10(context.Background(), hdr10, 4); err != nil {
		t.Fatal(err)
	}

	// A PATH with ffmpeg and ffprobe but no rav1e.
	noRav1e := pathWithoutRav1e(t)

	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want []string // parts of the error line
	}{
		{"not a video", nil, []string{"encode", text, "-o", filepath.Join(dir, "o1.mkv")}, 2, []string{text, "not a video"}},
		{"audio only", nil, []string{"encode", audio, "-o", filepath.Join(dir, "o2.mkv")}, 2, []string{audio, "no video stream"}},
		{"truncated mkv", nil, []string{"encode", trunc, "-o", filepath.Join(dir, "o3.mkv")}, 2, []string{trunc}},
		{"truncated mp4", nil, []string{"encode", truncMP4, "-o", filepath.Join(dir, "o4.mkv")}, 2, []string{truncMP4}},
		{"missing input", nil, []string{"encode", filepath.Join(dir, "nope.mkv"), "-o", filepath.Join(dir, "o5.mkv")}, 2, []string{"nope.mkv", "no such file"}},
		{"missing rav1e", []string{"PATH=" + noRav1e}, []string{"encode", good, "-o", filepath.Join(dir, "o6.mkv")}, 2, []string{"rav1e not found", "Debian package rav1e"}},
		{"output is input", nil, []string{"encode", good, "-o", good, "-y"}, 2, []string{good, "same file as the input"}},
		{"output exists", nil, []string{"encode", good, "-o", existing}, 2, []string{existing, "exists", "-y"}},
		{"bad extension", nil, []string{"encode", good, "-o", filepath.Join(dir, "o7.avi")}, 2, []string{"o7.avi", "unsupported output extension"}},
		{"output directory missing", nil, []string{"encode", good, "-o", filepath.Join(dir, "no", "dir", "o8.mkv")}, 2, []string{"output directory is not writable"}},
		{"unknown backend", nil, []string{"encode", good, "-o", filepath.Join(dir, "o13.mkv"), "--backend", "gpu"}, 2, []string{"--backend \"gpu\"", "process or lib"}},
		{"scenes file missing", nil, []string{"encode", good, "-o", filepath.Join(dir, "o14.mkv"), "--scenes", filepath.Join(dir, "nope.json")}, 2, []string{"nope.json", "no such scenes file"}},
		{"scenes file not json", nil, []string{"encode", good, "-o", filepath.Join(dir, "o15.mkv"), "--scenes", text}, 2, []string{text, "not a scenes file"}},
		{"refused rav1e arg", nil, []string{"encode", good, "-o", filepath.Join(dir, "o9.mkv"), "--", "--limit", "5"}, 2, []string{"--limit", "not allowed"}},
		{"bad speed", nil, []string{"encode", good, "-o", filepath.Join(dir, "o10.mkv"), "--speed", "11"}, 2, []string{"--speed 11"}},
		{"unknown flag", nil, []string{"encode", good, "-o", filepath.Join(dir, "o11.mkv"), "--sped", "3"}, 2, []string{"unknown flag"}},
		{"target above 100", nil, []string{"encode", good, "-o", filepath.Join(dir, "t1.mkv"), "--target-quality", "120"}, 2, []string{"--target-quality 120", "at most 100"}},
		{"target and bitrate", nil, []string{"encode", good, "-o", filepath.Join(dir, "t2.mkv"), "--target-quality", "70", "-b", "300"}, 2, []string{"--target-quality", "--bitrate 300"}},
		{"target and quantizer", nil, []string{"encode", good, "-o", filepath.Join(dir, "t3.mkv"), "--target-quality", "70", "-q", "80"}, 2, []string{"--quantizer and --target-quality"}},
		{"unknown metric", nil, []string{"encode", good, "-o", filepath.Join(dir, "t4.mkv"), "--target-quality", "70", "--metric", "vmaf"}, 2, []string{"--metric vmaf", "unknown metric"}},
		{"range upside down", nil, []string{"encode", good, "-o", filepath.Join(dir, "t5.mkv"), "--target-quality", "70", "--quantizer-range", "200-40"}, 2, []string{"--quantizer-range 200-40"}},
		{"range not a range", nil, []string{"encode", good, "-o", filepath.Join(dir, "t6.mkv"), "--target-quality", "70", "--quantizer-range", "40"}, 2, []string{"--quantizer-range", "MIN-MAX"}},
		{"no probes", nil, []string{"encode", good, "-o", filepath.Join(dir, "t7.mkv"), "--target-quality", "70", "--probes", "0"}, 2, []string{"--probes 0"}},
		{"metric without target", nil, []string{"encode", good, "-o", filepath.Join(dir, "t8.mkv"), "--metric", "psnr"}, 2, []string{"need --target-quality"}},
		{"audio copy into webm", nil, []string{"encode", mp4, "-o", filepath.Join(dir, "a1.webm"), "--audio", "copy"}, 2, []string{mp4, "--audio copy: WebM cannot carry audio stream 1 (aac)", "--audio opus"}},
		{"bad audio mode", nil, []string{"encode", good, "-o", filepath.Join(dir, "a2.mkv"), "--audio", "mp3"}, 2, []string{"--audio mp3", "copy, opus, opus:KBPS or none"}},
		{"unknown statistic", nil, []string{"encode", good, "-o", filepath.Join(dir, "t9.mkv"), "--target-quality", "70", "--quality-stat", "median"}, 2, []string{"--quality-stat median"}},
		// The other encoders: their own scales, option tables and film grain.
		{"svt preset off its scale", nil, []string{"encode", good, "-o", filepath.Join(dir, "e1.mkv"), "--encoder", "svt-av1", "--speed", "14"}, 2, []string{"--speed 14", "svt-av1's preset is 0-13"}},
		{"svt crf off its scale", nil, []string{"encode", good, "-o", filepath.Join(dir, "e2.mkv"), "--encoder", "svt-av1", "--crf", "64"}, 2, []string{"--quantizer 64", "crf is 1-63"}},
		{"aomenc keyframes refused", nil, []string{"encode", good, "-o", filepath.Join(dir, "e3.mkv"), "--encoder", "aomenc", "--", "--kf-max-dist=30"}, 2, []string{"--kf-max-dist=30", "one keyframe"}},
		{"svt spelling refused", nil, []string{"encode", good, "-o", filepath.Join(dir, "e4.mkv"), "--encoder", "svt-av1", "--", "--tile-columns=1"}, 2, []string{"--tile-columns=1", "--tile-columns VALUE"}},
		{"svt refuses a value", nil, []string{"encode", good, "-o", filepath.Join(dir, "e5.mkv"), "--encoder", "svt-av1", "--", "--tune", "7"}, 2, []string{"--tune 7", "refused by svt-av1"}},
		{"film grain with rav1e", nil, []string{"encode", good, "-o", filepath.Join(dir, "e6.mkv"), "--film-grain", "8"}, 2, []string{"--film-grain", "rav1e 0.5.1 has no film grain"}},
		{"photon noise with librav1e", nil, []string{"encode", good, "-o", filepath.Join(dir, "e7.mkv"), "--encoder", "librav1e", "--photon-noise", "400"}, 2, []string{"--photon-noise", "no film grain"}},
		{"hdr10 with aomenc", nil, []string{"encode", hdr10, "-o", filepath.Join(dir, "e9.mkv"), "--encoder", "aomenc"}, 2, []string{hdr10, "HDR10", "aomenc 3.6 has no option"}},
		{"photon noise off the model's range", nil, []string{"encode", good, "-o", filepath.Join(dir, "e10.mkv"), "--encoder", "aomenc", "--photon-noise", "50"}, 2, []string{"--photon-noise 50", "100 to 6400"}},
		{"range off svt's scale", nil, []string{"encode", good, "-o", filepath.Join(dir, "e8.mkv"), "--encoder", "svt-av1", "--target-quality", "70", "--quantizer-range", "40-255"}, 2, []string{"--quantizer-range 40-255", "svt-av1's crf 1-63"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := listDir(t, dir)
			r := run(t, tc.env, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.code, r.stderr)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if after := listDir(t, dir); after != before {
				t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
			}
			if b, _ := os.ReadFile(existing); string(b) != "precious" {
				t.Error("existing output clobbered")
			}
		})
	}
}

// listDir describes dir's entries with their sizes.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, e := range es {
		fi, _ := e.Info()
		parts = append(parts, e.Name()+":"+fi.ModTime().String()+":"+string(rune('0'+fi.Size()%10)))
	}
	return strings.Join(parts, " ")
}

// TestDiskErrors needs root to mount small file systems: a read-only one
// (unwritable output directory) and a tiny one (full disk).
func TestDiskErrors(t *testing.T) {
	needTools(t)
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	mount := func(name, opts string) string { return testfs.Tmpfs(t, filepath.Join(dir, name), opts) }
	ro := mount("ro", "ro,size=1m")
	r := run(t, nil, "encode", in, "-o", filepath.Join(ro, "out.mkv"))
	if r.code != 2 || !strings.Contains(r.stderr, ro) || !strings.Contains(r.stderr, "not writable") {
		t.Errorf("read-only: exit %d: %s", r.code, r.stderr)
	}

	full := mount("full", "size=96k")
	keep := filepath.Join(full, "old.mkv")
	os.WriteFile(keep, []byte("precious"), 0o644)
	r = run(t, nil, "encode", in, "-o", filepath.Join(full, "out.mkv"), "--speed", "10")
	// Progress lines come first; the error is the last line.
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; r.code != 1 || !strings.Contains(last, "no space left on device") || !strings.Contains(last, full) || !strings.Contains(last, "disk is full") {
		t.Errorf("full disk: exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "trying again") {
		t.Errorf("full disk: retried a chunk that cannot succeed: %s", r.stderr)
	}
	if b, _ := os.ReadFile(keep); string(b) != "precious" {
		t.Error("full disk: existing file clobbered")
	}
	if _, err := os.Stat(filepath.Join(full, "out.mkv")); err == nil {
		t.Error("full disk: output written")
	}

	// Full from the start: not even the job directory can be made. That
	// is not bad input (exit 1), and nothing is left behind.
	tiny := mount("tiny", "size=4k")
	r = run(t, nil, "encode", in, "-o", filepath.Join(tiny, "out.mkv"), "--speed", "10")
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Errorf("full at the start: exit %d: %s", r.code, r.stderr)
	}
	if es, _ := os.ReadDir(tiny); len(es) != 0 {
		t.Errorf("full at the start: left %v", es)
	}

	// Full while muxing: the chunks fit, the output (with its large
	// audio) does not, and ffmpeg exits 0 all the same. The message says
	// the disk is full, and where; after space is freed the same command
	// finishes.
	pcm := filepath.Join(dir, "pcm.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x96:r=24:d=2", "-f", "lavfi", "-i", "sine=d=2:sample_rate=96000",
		"-ac", "2", "-c:v", "libx264", "-c:a", "pcm_s32le", pcm).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	muxFull := mount("muxfull", "size=300k")
	jobDir := filepath.Join(dir, "muxfull.av1job")
	args := []string{"encode", pcm, "-o", filepath.Join(muxFull, "out.mkv"), "--speed", "10", "--job-dir", jobDir}
	r = run(t, nil, args...)
	lines = strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; r.code != 1 || !strings.Contains(last, "disk is full in "+muxFull) {
		t.Errorf("full while muxing: exit %d: %s", r.code, r.stderr)
	}
	if es, _ := os.ReadDir(muxFull); len(es) != 0 {
		t.Errorf("full while muxing: left %v", es)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=8m", muxFull).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	if r := run(t, nil, args...); r.code != 0 || !strings.Contains(r.stderr, "resuming") {
		t.Errorf("after freeing space: exit %d: %s", r.code, r.stderr)
	}

	// An IVF output whose job directory is on another file system: the
	// joined stream is written beside the output, never renamed across.
	other := mount("other", "size=8m")
	ivfOut := filepath.Join(dir, "cross.ivf")
	if r := run(t, nil, "encode", in, "-o", ivfOut, "--speed", "10", "--job-dir", filepath.Join(other, "job")); r.code != 0 {
		t.Errorf("ivf with the job directory on another file system: exit %d: %s", r.code, r.stderr)
	}
	if n := decodeFrames(t, ivfOut); n != small.Frames() {
		t.Errorf("cross.ivf decodes to %d frames, want %d", n, small.Frames())
	}
}
