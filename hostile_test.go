package av1job_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ffmpegMake runs ffmpeg to make a test input.
func ffmpegMake(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v: %s", args, err, out)
	}
}

// probeField returns ffprobe's value of a stream entry (stream=NAME) of
// the first video stream, or the rotation of its display matrix.
func probeField(t *testing.T, path, name string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", "file:"+path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p struct {
		Streams []map[string]any `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) == 0 {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	s := p.Streams[0]
	if name == "rotation" {
		sd, _ := s["side_data_list"].([]any)
		for _, x := range sd {
			if m, ok := x.(map[string]any); ok && m["rotation"] != nil {
				return strconv.Itoa(int(m["rotation"].(float64)))
			}
		}
		return "0"
	}
	if v, ok := s[name]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

// TestInputsUsersHave encodes inputs that real users have and that are
// valid, if unusual: each must encode, pass verify, and keep what its
// container can carry.
func TestInputsUsersHave(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	src := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		ffmpegMake(t, append(args, "file:"+p)...)
		return p
	}
	base := src("base.mp4", "-f", "lavfi", "-i", "testsrc2=s=160x96:r=24:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p")
	phone := src("phone.mp4", "-i", base, "-c", "copy", "-metadata:s:v:0", "rotate=90")
	long := src("long.mp4", "-f", "lavfi", "-i", "testsrc2=s=160x96:r=25:d=6", "-c:v", "libx264", "-g", "50", "-bf", "3")
	cut := src("cut.mp4", "-ss", "2.3", "-i", long, "-c", "copy") // an edit list hides the frames before the cut
	cover := src("cover.png", "-f", "lavfi", "-i", "testsrc=s=64x64:d=1", "-frames:v", "1")
	audio := src("tone.m4a", "-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac")
	withCover := src("cover.mp4", "-i", base, "-i", audio, "-i", cover, "-map", "0", "-map", "1", "-map", "2", "-c", "copy", "-disposition:v:1", "attached_pic")
	colon := filepath.Join(dir, "clip:1.mkv")
	must(os.Link(base, colon))
	cases := []struct {
		name, in, out string
		warn          string            // part of a warning printed
		probe         map[string]string // ffprobe stream fields of the output
	}{
		{"phone video to mp4 keeps its rotation", phone, "phone.mp4", "", map[string]string{"rotation": "90", "width": "", "height": ""}},
		{"phone video to mkv says the rotation is dropped", phone, "phone.mkv", "rotation of 90 degrees dropped", nil},
		{"RGB (libx264rgb)", src("rgb.mkv", "-f", "lavfi", "-i", "testsrc2=s=160x96:r=24:d=2", "-c:v", "libx264rgb"), "rgb.mkv", "bt709 matrix", map[string]string{"color_space": "bt709", "pix_fmt": "yuv420p"}},
		{"RGB 10-bit", src("rgb10.mkv", "-f", "lavfi", "-i", "testsrc2=s=160x96:r=24:d=2", "-pix_fmt", "gbrp10le", "-c:v", "ffv1"), "rgb10.mkv", "bt709 matrix", map[string]string{"color_space": "bt709", "pix_fmt": "yuv420p10le"}},
		{"grey", src("grey.mkv", "-f", "lavfi", "-i", "testsrc2=s=160x96:r=24:d=2", "-pix_fmt", "gray", "-c:v", "ffv1"), "grey.mkv", "converted", nil},
		{"mp4 cut without re-encoding", cut, "cut.mkv", "", nil},
		{"cover art to mkv", withCover, "cover.mkv", "", nil},
		{"cover art to mp4", withCover, "cover.mp4", "", nil},
		{"a name with a colon", colon, "out:1.mkv", "", nil},
		{"a 240-byte output name", base, strings.Repeat("n", 236) + ".mkv", "", nil},
		{"interlaced", src("interlaced.mkv", "-f", "lavfi", "-i", "testsrc2=s=160x96:r=25:d=1", "-vf", "setfield=tff", "-flags", "+ildct+ilme", "-c:v", "libx264", "-x264-params", "interlaced=1"), "interlaced.mkv", "field order", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			outDir := t.TempDir()
			out := filepath.Join(outDir, tc.out)
			r := run(t, nil, "encode", tc.in, "-o", out, "--speed", "10")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if tc.warn != "" && (!strings.Contains(r.stderr, "warning: ") || !strings.Contains(r.stderr, tc.warn)) {
				t.Errorf("no warning %q in: %s", tc.warn, r.stderr)
			}
			mustVerify(t, tc.in, out, false)
			for k, want := range tc.probe {
				got := probeField(t, out, k)
				if want == "" {
					// The pixels are kept as stored: the same coded size
					// as the source.
					want = probeField(t, tc.in, k)
				}
				if got != want {
					t.Errorf("output %s = %q, want %q", k, got, want)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(outDir, ".*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestRefusedBeforeAnything: arguments that slip through to a failure
// later, and paths av1job must not use, are refused in one line naming
// the problem, with exit 2, before anything is created.
func TestRefusedBeforeAnything(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	work := filepath.Join(dir, "work")
	must(os.Mkdir(work, 0o755))
	must(os.WriteFile(filepath.Join(work, "notes.txt"), []byte("mine"), 0o644))
	fifo := filepath.Join(dir, "fifo")
	must(syscall.Mkfifo(fifo, 0o644))
	jobHome := filepath.Join(dir, "jobs")
	must(os.Mkdir(jobHome, 0o755))
	out := filepath.Join(dir, "out.mkv")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bitrate 0", []string{"--bitrate", "0"}, "--bitrate 0"},
		{"min scene length 0", []string{"--min-scene-len", "0"}, "--min-scene-len 0"},
		{"max scene length 0", []string{"--max-scene-len", "0"}, "--max-scene-len 0"},
		{"max scene length NaN", []string{"--max-scene-len", "NaN"}, "--max-scene-len NaN"},
		{"max scene length Inf", []string{"--max-scene-len", "Inf"}, "--max-scene-len +Inf"},
		{"threshold NaN", []string{"--scene-threshold", "NaN"}, "--scene-threshold NaN"},
		{"quantizer 0", []string{"--quantizer", "0"}, "--quantizer 0"},
		{"quantizer 256", []string{"--quantizer", "256"}, "--quantizer 256"},
		{"attached limit", []string{"--", "-l5"}, "-l5"},
		{"attached keyint", []string{"--", "-I10"}, "-I10"},
		{"attached speed", []string{"--", "-s3"}, "-s3"},
		{"attached output", []string{"--", "-o/tmp/x.ivf"}, "-o/tmp/x.ivf"},
		{"unknown encoder flag", []string{"--", "--no-such-flag"}, "--no-such-flag"},
		{"value the encoder refuses", []string{"--", "--tune", "Foo"}, "'Foo' isn't a valid value"},
		{"value the encoder panics on", []string{"--", "--tiles", "abc"}, "--tiles abc"},
		{"librav1e without an equivalent", []string{"--encoder", "librav1e", "--", "--mastering-display", "x"}, "--mastering-display"},
		{"unknown encoder", []string{"--encoder", "x265"}, "unknown encoder"},
		{"a folder as job directory", []string{"--job-dir", work}, "not an av1job job directory"},
		{"the working directory as job directory", []string{"--job-dir", "."}, "not an av1job job directory"},
		{"a file as job directory", []string{"--job-dir", in}, "is a file"},
		{"a job directory name too long", []string{"--job-dir", filepath.Join(dir, strings.Repeat("j", 300))}, "file name too long"},
		{"the output inside the job directory", []string{"-o", filepath.Join(jobHome, "out.mkv"), "--job-dir", jobHome}, "inside the job directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := listDir(t, dir)
			workBefore := listDir(t, work)
			r := run(t, nil, append([]string{"encode", in, "-o", out, "--speed", "10"}, tc.args...)...)
			msg := strings.TrimSpace(r.stderr)
			if r.code != 2 || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Fatalf("exit %d, want 2 and one line with %q: %s", r.code, tc.want, msg)
			}
			if after := listDir(t, dir); after != before {
				t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
			}
			if after := listDir(t, work); after != workBefore {
				t.Errorf("the folder changed:\nbefore %s\nafter  %s", workBefore, after)
			}
		})
	}
	t.Run("named pipe", func(t *testing.T) {
		start := time.Now()
		r := run(t, nil, "encode", fifo, "-o", out)
		if r.code != 2 || !strings.Contains(r.stderr, "named pipe") || time.Since(start) > 10*time.Second {
			t.Fatalf("exit %d after %s: %s", r.code, time.Since(start), r.stderr)
		}
	})
	t.Run("variable frame rate", func(t *testing.T) {
		// Half a second is missing after frame 150: found while the first
		// chunks already encode, and refused like any bad input.
		vfr := filepath.Join(dir, "vfr.mkv")
		ff := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=24:d=9",
			"-vf", `setpts=N/24/TB+gte(N\,150)*0.5/TB`, "-fps_mode", "passthrough", "-c:v", "libx264", "-g", "24", vfr)
		if b, err := ff.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v: %s", err, b)
		}
		o := filepath.Join(dir, "vfr-out.mkv")
		before := listDir(t, dir)
		r := run(t, nil, "encode", vfr, "-o", o, "--speed", "10", "--min-scene-len", "12", "--max-scene-len", "1")
		msg := strings.TrimSpace(r.stderr)
		if r.code != 2 || !strings.Contains(msg, vfr+": variable frame rate (frame 150") || strings.Contains(msg, "\n") {
			t.Fatalf("exit %d, want 2 and one line naming frame 150: %s", r.code, msg)
		}
		if after := listDir(t, dir); after != before {
			t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
		}
	})
	t.Run("damaged job state", func(t *testing.T) {
		o := filepath.Join(dir, "damaged.mkv")
		if r := run(t, nil, "encode", in, "-o", o, "--speed", "10", "--keep"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		must(os.Remove(o))
		state := filepath.Join(o+".av1job", "job.json")
		must(os.WriteFile(state, []byte(`{"version":1,`), 0o644))
		r := run(t, nil, "encode", in, "-o", o, "--speed", "10")
		if r.code != 2 || !strings.Contains(r.stderr, state) || !strings.Contains(r.stderr, "--restart") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if r := run(t, nil, "encode", in, "-o", o, "--speed", "10", "--restart"); r.code != 0 {
			t.Fatalf("--restart: exit %d: %s", r.code, r.stderr)
		}
	})
}

// TestJobDirectoryOwnership: av1job removes only what it made, one job at
// a time owns a job directory and an output, and neither depends on a
// file that can be deleted.
func TestJobDirectoryOwnership(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)

	t.Run("an empty folder is used and left", func(t *testing.T) {
		// Any clip will do: small, made once for the run.
		in := clip(t, dir, "small.mkv", small)
		empty := filepath.Join(dir, "empty")
		must(os.Mkdir(empty, 0o755))
		out := filepath.Join(dir, "empty.mkv")
		if r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--job-dir", empty); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if es, err := os.ReadDir(empty); err != nil || len(es) != 0 {
			t.Errorf("the folder after the job: %v %v", es, err)
		}
	})

	out := filepath.Join(dir, "out.mkv")
	jobA := filepath.Join(dir, "a.av1job")
	enc := startEncode(t, "encode", in, "-o", out, "--speed", "10", "--workers", "1", "--job-dir", jobA)
	waitFrames(t, jobA, 5)

	t.Run("a second job for the same output", func(t *testing.T) {
		r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--job-dir", filepath.Join(dir, "b.av1job"))
		if r.code != 2 || !strings.Contains(r.stderr, jobA) || !strings.Contains(r.stderr, strconv.Itoa(enc.cmd.Process.Pid)) {
			t.Fatalf("exit %d, want 2 naming %s: %s", r.code, jobA, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "b.av1job")); err == nil {
			t.Error("the refused job left a job directory")
		}
	})
	t.Run("the lock file deleted", func(t *testing.T) {
		must(os.Remove(filepath.Join(jobA, "lock")))
		r := run(t, nil, "encode", in, "-o", filepath.Join(dir, "other.mkv"), "--speed", "10", "--job-dir", jobA)
		if r.code != 2 || !strings.Contains(r.stderr, "in use") {
			t.Fatalf("exit %d, want 2 (in use): %s", r.code, r.stderr)
		}
	})
	if r := run(t, nil, "stop", jobA); r.code != 0 {
		t.Fatalf("stop: %s", r.stderr)
	}
	if c := enc.code(t); c != 3 {
		t.Fatalf("exit %d: %s", c, enc.stderr)
	}
	if !strings.Contains(enc.stderr.String(), "av1job resume "+jobA) {
		t.Errorf("the resume hint does not name the job directory: %s", enc.stderr)
	}
	if r := run(t, nil, "resume", jobA, "--quiet"); r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	mustVerify(t, in, out, false)
}

// TestStopWhileProbing: a stop reaches a job at every stage, also while a
// program it waits for does not answer.
func TestStopWhileProbing(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mkv")
	cmd := exec.Command(binPath, "encode", in, "-o", out)
	cmd.Env = append(os.Environ(), "AV1JOB_FFPROBE="+self, "AV1JOB_FAKE_HANG=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(cmd.Start())
	t.Cleanup(func() { _ = exec.Command("pkill", "-KILL", "-s", strconv.Itoa(cmd.Process.Pid)).Run() })
	time.Sleep(time.Second)
	start := time.Now()
	must(cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || time.Since(start) > 10*time.Second {
		t.Fatalf("after SIGTERM: %v after %s: %s", err, time.Since(start), stderr.String())
	}
	if _, err := os.Stat(out + ".av1job"); err == nil {
		t.Error("a job stopped before planning left a job directory")
	}
}

// TestFinishedOutputKnown: the output a job put in place is known for the
// job's own, also when a kill came between its rename and the job's last
// record, so that the same command says done instead of refusing.
func TestFinishedOutputKnown(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	out := filepath.Join(dir, "out.mkv")
	args := []string{"encode", in, "-o", out, "--speed", "10", "--keep"}
	if r := run(t, nil, args...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// A finished --keep job, run again.
	r := run(t, nil, args...)
	if r.code != 0 || !strings.Contains(r.stderr, "already done") {
		t.Fatalf("again: exit %d: %s", r.code, r.stderr)
	}
	// The state a kill after the rename leaves: the journal ends with the
	// output's record.
	journal := filepath.Join(out+".av1job", "journal.log")
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	var kept []string
	for _, l := range lines {
		if !strings.Contains(l, `"type":"finished"`) {
			kept = append(kept, l)
		}
	}
	if !strings.Contains(kept[len(kept)-1], `"type":"output"`) {
		t.Fatalf("the journal does not record the output before the end: %q", kept)
	}
	must(os.WriteFile(journal, []byte(strings.Join(kept, "")+"\n"), 0o644))
	if st := status(t, out); st.State == "done" {
		t.Fatalf("status before the rerun: %+v", st)
	}
	r = run(t, nil, "encode", in, "-o", out, "--speed", "10")
	if r.code != 0 || !strings.Contains(r.stderr, "already done") {
		t.Fatalf("after a kill at the end: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(out + ".av1job"); err == nil {
		t.Error("job directory kept without --keep")
	}
	mustVerify(t, in, out, false)
	// Other settings are another job: its output is not this one.
	r = run(t, nil, "encode", in, "-o", out, "--speed", "9")
	if r.code != 2 || !strings.Contains(r.stderr, "output exists") {
		t.Fatalf("other settings: exit %d: %s", r.code, r.stderr)
	}
}

// TestVersion: a bug report needs the versions of everything av1job runs.
func TestVersion(t *testing.T) {
	needTools(t)
	t.Parallel()
	r := run(t, nil, "--version")
	for _, want := range []string{"av1job ", "encoder rav1e 0.", "ffmpeg ", "ffprobe ", "dav1d "} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("--version lacks %q: exit %d: %s %s", want, r.code, r.stdout, r.stderr)
		}
	}
}

// TestEarlierJobDirectory: a job directory an earlier version wrote (no
// mark, no job ID in its plan) resumes.
func TestEarlierJobDirectory(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", medium)
	out := filepath.Join(dir, "out.mkv")
	job := out + ".av1job"
	enc := startEncode(t, "encode", in, "-o", out, "--speed", "10", "--workers", "1", "--keep")
	waitFrames(t, out, 30)
	if r := run(t, nil, "stop", out); r.code != 0 {
		t.Fatalf("stop: %s", r.stderr)
	}
	if c := enc.code(t); c != 3 {
		t.Fatalf("exit %d: %s", c, enc.stderr)
	}
	// What the earlier version wrote: no mark, and a plan without the
	// job's ID or a pixel conversion.
	must(os.Remove(filepath.Join(job, "av1job.mark")))
	b, err := os.ReadFile(filepath.Join(job, "job.json"))
	must(err)
	var st map[string]any
	must(json.Unmarshal(b, &st))
	delete(st, "id")
	delete(st, "filter")
	b, _ = json.Marshal(st)
	must(os.WriteFile(filepath.Join(job, "job.json"), b, 0o644))
	r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--workers", "1", "--keep")
	if r.code != 0 || !strings.Contains(r.stderr, "resuming") {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	recordedOnce(t, job, medium.Frames())
	mustVerify(t, in, out, false)
}
