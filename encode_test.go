package av1job_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/testclip"
)

// TestEncodeContainers encodes clips with scene cuts, audio and subtitles
// to every output container and checks the result frame by frame.
func TestEncodeContainers(t *testing.T) {
	needTools(t)
	ten := small
	ten.PixFmt = "yuv420p10le"
	ten.Audio, ten.Subtitles = false, false
	ten.ExtraArgs = []string{"-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"}
	vtt := small
	vtt.SubCodec = "webvtt"
	h264 := small
	h264.Rate = "24000/1001"
	cases := []struct {
		name, in, out string
		spec          testclip.Spec
		videoOnly     bool
		pixFmt        string
		warn          string
		private       bool // the input is readable by its owner alone (mode 0600)
		// make, when set, makes the input instead of spec (of frames
		// frames); streams lists the output's streams, "codec/language"
		// after the video.
		make    func(ctx context.Context, out string, frames int) error
		frames  int
		streams string
	}{
		{"mkv", "in.mkv", "out.mkv", small, false, "yuv420p", "", true, nil, 0, ""},
		{"webm", "in-vtt.mkv", "out.webm", vtt, false, "yuv420p", "", false, nil, 0, ""},
		{"mp4 from h264 mp4 at 24000/1001", "in.mp4", "out.mp4", h264, false, "yuv420p", "", false, nil, 0, ""},
		{"ivf", "in.mkv", "out.ivf", small, true, "yuv420p", "dropped", true, nil, 0, ""},
		{"10-bit with colour", "in10.mkv", "out10.mkv", ten, false, "yuv420p10le", "", false, nil, 0, ""},
		// A phone's MP4 to WebM: the AAC and the AC-3 5.1 become Opus,
		// the mov_text WebVTT.
		{"phone mp4 to webm", "phone.mp4", "out.webm", testclip.Spec{}, false, "yuv420p", "converted to Opus at 256 kbit/s, channel layout 5.1(side) as 5.1", false,
			testclip.Phone, 12, "opus/eng opus/fra webvtt/eng"},
		// An HDR10 HEVC source: its mastering display and content light
		// level reach the AV1 stream (verify compares them).
		{"hdr10 hevc", "hdr10.mkv", "out.mkv", testclip.Spec{}, false, "yuv420p10le", "", false, testclip.HDR10, 12, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var in string
			frames := tc.spec.Frames()
			if tc.make != nil {
				in, frames = filepath.Join(dir, tc.in), tc.frames
				if err := tc.make(context.Background(), in, frames); err != nil {
					t.Fatal(err)
				}
			} else {
				in = clip(t, dir, tc.in, tc.spec)
			}
			if tc.private {
				must(os.Chmod(in, 0o600))
			}
			out := filepath.Join(dir, tc.out)
			r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--workers", "2")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			// The output is readable by no more users than its input.
			ii, err1 := os.Stat(in)
			oi, err2 := os.Stat(out)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if wider := oi.Mode().Perm() & 0o077 &^ ii.Mode().Perm(); wider != 0 {
				t.Errorf("output mode %v, input %v: the output is open to more users", oi.Mode().Perm(), ii.Mode().Perm())
			}
			if tc.warn != "" && !strings.Contains(r.stderr, tc.warn) {
				t.Errorf("no warning %q in: %s", tc.warn, r.stderr)
			}
			if _, err := os.Stat(out + ".av1job"); !os.IsNotExist(err) {
				t.Errorf("job directory left behind: %v", err)
			}
			mustVerify(t, in, out, tc.videoOnly)
			if n := decodeFrames(t, out); n != frames {
				t.Errorf("decoded %d frames, want %d", n, frames)
			}
			// The end line: size, ratio, video bit rate, time, fps, chunks.
			if !endLine.MatchString(r.stderr) {
				t.Errorf("no end line like %q in:\n%s", endLine, r.stderr)
			}
			if tc.streams != "" {
				ss, _ := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:stream_tags=language", "-of", "csv=p=0", out).Output()
				if got := strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(ss)), ",", "/"))[1:], " "); got != tc.streams {
					t.Errorf("streams %q, want %q", got, tc.streams)
				}
			}
			pf, _ := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=pix_fmt,color_primaries", "-of", "csv=p=0", out).Output()
			if got := strings.TrimSpace(string(pf)); !strings.HasPrefix(got, tc.pixFmt+",") {
				t.Errorf("output pixel format %q, want %s", got, tc.pixFmt)
			} else if len(tc.spec.ExtraArgs) > 0 && !strings.Contains(got, "bt709") {
				t.Errorf("colour primaries lost: %q", got)
			}
		})
	}
}

// endLine is the line a non-quiet encode ends with.
var endLine = regexp.MustCompile(`(?m)^av1job: wrote \S+: [0-9.]+ (B|KiB|MiB), \d+ % of the source's [0-9.]+ (B|KiB|MiB); video \d+ kbit/s; [0-9.]+m?s, [0-9.]+ fps; \d+ frames in \d+ chunks?$`)

// TestKillAndResume kills av1job and its encoders with SIGKILL at random
// points and runs the same command again each time: the final output must
// pass verify, no chunk the journal recorded may be encoded again, and the
// frames fed to encoders over all runs may exceed the source's by at most
// kills x workers x (rav1e's lookahead + 2). The points are placed by
// frames fed to the encoders in the run (anywhere from before the first
// frame to after the last), and one kill in three comes a random time
// after that point, so that kills land in the flush, the commit and the
// finish too. AV1JOB_CHAOS_KILLS sets the number of kills (make chaos: 50).
func TestKillAndResume(t *testing.T) {
	needTools(t)
	t.Parallel()
	kills := 10
	if n, err := strconv.Atoi(os.Getenv("AV1JOB_CHAOS_KILLS")); err == nil && n > 0 {
		kills = n
	}
	dir := t.TempDir()
	counts := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: testclip.DefaultSegments, SegFrames: 12 + 6*kills, Audio: true, Subtitles: true}
	in := clip(t, dir, "in.mkv", spec)
	out := filepath.Join(dir, "out.mkv")
	jobDir := out + ".av1job"
	// rav1e 0.5.1 at speed 10 holds up to 23 frames between input and
	// output (its RDO lookahead of 10 plus the reordering pyramid),
	// measured by feeding frames one at a time: that is what a kill can
	// take from each encoder.
	const workers, lookahead = 2, 23
	args := []string{"encode", in, "-o", out, "--speed", "10", "--workers", strconv.Itoa(workers), "--min-scene-len", "12", "--keep"}
	fake := standIn(t, "AV1JOB_COUNT_FRAMES="+counts)
	env := append(os.Environ(), fake...)
	rng := newRand(t)
	done := 0
	for killed := 0; killed < kills; {
		cmd := exec.Command(binPath, args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if killed == 0 {
			// While it runs, status reports it as running with its PID.
			if !waitFor(t, 20*time.Second, func() bool {
				st := status(t, out)
				return st.State == "running" && st.PID == cmd.Process.Pid
			}) {
				t.Error("status never reported the job as running with its PID")
			}
		}
		// The point: the frames fed reach a random share of half of
		// what is left (plus a lookahead, which can carry it past the
		// last frame), then one time in three a random wait of up to 1 s.
		left := spec.Frames() - framesFed(t, counts)
		at := framesFed(t, counts) + rng.IntN(max(left/2, 1)+lookahead)
		var wait time.Duration
		if rng.IntN(3) == 0 {
			wait = time.Duration(rng.IntN(1000)) * time.Millisecond
		}
		tick := time.NewTicker(5 * time.Millisecond)
	place:
		for {
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("run after %d kills: %v: %s", killed, err, stderr.String())
				}
				done = 1
				break place
			case <-tick.C:
				if framesFed(t, counts) >= at {
					break place
				}
			}
		}
		tick.Stop()
		if done == 0 && wait > 0 {
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("run after %d kills: %v: %s", killed, err, stderr.String())
				}
				done = 1
			case <-time.After(wait):
			}
		}
		if done == 1 {
			break
		}
		t.Logf("kill %d at %d frames fed (point %d, then %v)", killed+1, framesFed(t, counts), at, wait)
		if killed%2 == 0 {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // av1job's process group: its children must die with it
		} else {
			_ = exec.Command("pkill", "-KILL", "-s", strconv.Itoa(cmd.Process.Pid)).Run() // everything at once, as in a power cut
		}
		<-exited
		killed++
		if !waitFor(t, 5*time.Second, func() bool { return liveInSession(cmd.Process.Pid) == "" }) {
			t.Errorf("processes left after av1job was killed: %s", liveInSession(cmd.Process.Pid))
		}
		for id, n := range doneCounts(readJournal(t, jobDir)) {
			if n > 1 {
				t.Fatalf("chunk %d recorded done %d times", id, n)
			}
		}
	}
	if done == 0 {
		if r := run(t, fake, args...); r.code != 0 {
			t.Fatalf("final run: exit %d: %s", r.code, r.stderr)
		}
	}
	fed := framesFed(t, counts)
	bound := spec.Frames() + kills*workers*(lookahead+2)
	t.Logf("%d kills; %d frames fed to encoders for %d source frames: %d re-encoded, %.1f per kill (bound %d per kill)",
		kills, fed, spec.Frames(), fed-spec.Frames(), float64(fed-spec.Frames())/float64(kills), workers*(lookahead+2))
	if fed > bound {
		t.Errorf("frames fed %d exceed the bound %d", fed, bound)
	}
	frames := 0
	for id, n := range doneCounts(readJournal(t, jobDir)) {
		if n != 1 {
			t.Errorf("chunk %d recorded done %d times", id, n)
		}
	}
	for _, r := range readJournal(t, jobDir) {
		if r.Type == "done" {
			frames += r.End - r.Start
		}
	}
	if frames != spec.Frames() {
		t.Errorf("journal records %d frames done, the source has %d", frames, spec.Frames())
	}
	mustVerify(t, in, out, false)
	r := run(t, nil, "status", out, "--json")
	if !strings.Contains(r.stdout, `"state":"done"`) {
		t.Errorf("status after success: %s", r.stdout)
	}
}

// liveInSession lists the processes of session sid that are not zombies.
func liveInSession(sid int) string {
	out, _ := exec.Command("ps", "-e", "-o", "sess=,stat=,comm=").Output()
	var live []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == strconv.Itoa(sid) && !strings.HasPrefix(f[1], "Z") {
			live = append(live, f[2])
		}
	}
	return strings.Join(live, " ")
}

// TestChangedSettingsRefused: a job directory with other settings is not
// touched; the error names each change; --restart starts over.
func TestChangedSettingsRefused(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	out := filepath.Join(dir, "out.mkv")
	if r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--keep"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	journalBefore, _ := os.ReadFile(filepath.Join(out+".av1job", "journal.log"))
	r := run(t, nil, "encode", in, "-o", out, "--speed", "9", "--quantizer", "90", "--keep")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
	}
	for _, want := range []string{"speed: 10 -> 9", "rate control: quantizer 100 -> quantizer 90", "--restart"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q: %s", want, r.stderr)
		}
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("error is %d lines: %s", n+1, r.stderr)
	}
	journalAfter, _ := os.ReadFile(filepath.Join(out+".av1job", "journal.log"))
	if string(journalBefore) != string(journalAfter) {
		t.Error("refused run changed the journal")
	}
	// The same settings resume: every chunk is already done, nothing is encoded.
	r = run(t, nil, "encode", in, "-o", out, "--speed", "10", "--keep")
	if r.code != 0 || !strings.Contains(r.stderr, "resuming: 90/90 frames") {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	if c := doneCounts(readJournal(t, out+".av1job")); len(c) != 3 || c[0] != 1 || c[1] != 1 || c[2] != 1 {
		t.Errorf("chunks encoded again on resume: %v", c)
	}
	// A different file at the same input path is noticed too.
	other := small
	other.Segments = []string{"mandelbrot", "testsrc2", "smptehdbars"}
	clip(t, dir, "in.mkv", other)
	os.Remove(out)
	r = run(t, nil, "encode", in, "-o", out, "--speed", "10")
	if r.code != 2 || !strings.Contains(r.stderr, "source content") {
		t.Fatalf("changed source: exit %d: %s", r.code, r.stderr)
	}
	r = run(t, nil, "encode", in, "-o", out, "--speed", "9", "--restart")
	if r.code != 0 {
		t.Fatalf("--restart: exit %d: %s", r.code, r.stderr)
	}
	mustVerify(t, in, out, false)
}

// TestEncoderCrash: a crashing encoder is retried; after 4 failures the job
// fails with the encoder's own message and keeps every finished chunk, and
// a later run resumes from them.
func TestEncoderCrash(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)

	t.Run("retried", func(t *testing.T) {
		out := filepath.Join(dir, "retried.mkv")
		runs := t.TempDir()
		env := standIn(t, "AV1JOB_FAKE_RAV1E_DIR="+runs, "AV1JOB_FAKE_RAV1E_FAIL=2")
		r := run(t, env, "encode", in, "-o", out, "--speed", "10", "--workers", "1")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "trying again") || !strings.Contains(r.stderr, "fake encoder crash") {
			t.Errorf("no retry message: %s", r.stderr)
		}
		mustVerify(t, in, out, false)
	})

	t.Run("gives up and resumes", func(t *testing.T) {
		out := filepath.Join(dir, "fails.mkv")
		runs := t.TempDir()
		env := standIn(t, "AV1JOB_FAKE_RAV1E_DIR="+runs, "AV1JOB_FAKE_RAV1E_FAIL=after:1")
		r := run(t, env, "encode", in, "-o", out, "--speed", "10", "--workers", "1")
		if r.code != 1 {
			t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "failed 4 times") || !strings.Contains(r.stderr, "fake encoder crash") {
			t.Errorf("error lacks the attempts or rav1e's message: %s", r.stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("failed job wrote an output")
		}
		st := run(t, nil, "status", out, "--json")
		var s struct {
			State      string `json:"state"`
			ChunksDone int    `json:"chunks_done"`
			PID        int    `json:"pid"`
		}
		if err := json.Unmarshal([]byte(st.stdout), &s); err != nil || s.State != "failed" || s.ChunksDone != 1 || s.PID != 0 {
			t.Errorf("status: %s %v", st.stdout, err)
		}
		first := doneCounts(readJournal(t, out+".av1job"))
		r = run(t, nil, "encode", in, "-o", out, "--speed", "10", "--workers", "1", "--keep")
		if r.code != 0 {
			t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
		}
		for id, n := range doneCounts(readJournal(t, out+".av1job")) {
			if n != 1 {
				t.Errorf("chunk %d recorded %d times", id, n)
			}
			if first[id] == 1 && n != 1 {
				t.Errorf("chunk %d encoded again", id)
			}
		}
		mustVerify(t, in, out, false)
	})
}

// TestDeterministic: the output does not depend on the number of workers
// (rav1e's output does not depend on its threads, and the chunks are the
// same), so resumed and parallel runs give the same bits as a serial one.
func TestDeterministic(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	var outs [][]byte
	for _, w := range []string{"1", "3"} {
		out := filepath.Join(dir, "out"+w+".ivf")
		if r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--workers", w); r.code != 0 {
			t.Fatalf("workers %s: exit %d: %s", w, r.code, r.stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if string(outs[0]) != string(outs[1]) {
		t.Fatal("1 and 3 workers gave different output")
	}
}

// TestPlanWhileDetecting: a job whose chunks start while the scene pass
// still runs plans exactly the chunks (ranges and predicted costs) of a
// job that detected first, and writes the same bits.
func TestPlanWhileDetecting(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	long := medium
	long.Width, long.Height, long.SegFrames = 160, 90, 60
	in := clip(t, dir, "in.mkv", long)
	chunks := func(job string) string {
		b, err := os.ReadFile(filepath.Join(job, "job.json"))
		must(err)
		var st struct {
			Chunks []map[string]any `json:"chunks"`
		}
		must(json.Unmarshal(b, &st))
		return fmt.Sprint(st.Chunks)
	}
	// Planned while encoding.
	streamed := filepath.Join(dir, "streamed.ivf")
	if r := run(t, nil, "encode", in, "-o", streamed, "--speed", "10", "--workers", "2", "--keep", "--min-scene-len", "12"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Detected first: from a saved detection.
	saved := filepath.Join(dir, "scenes.json")
	if r := run(t, nil, "scenes", in, "--save", saved, "--min-scene-len", "12"); r.code != 0 {
		t.Fatalf("scenes: exit %d: %s", r.code, r.stderr)
	}
	first := filepath.Join(dir, "first.ivf")
	if r := run(t, nil, "encode", in, "-o", first, "--speed", "10", "--workers", "1", "--keep", "--min-scene-len", "12", "--scenes", saved); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	a, b := chunks(streamed+".av1job"), chunks(first+".av1job")
	if a != b || !strings.Contains(a, "cost:") {
		t.Errorf("plans differ (or lack costs):\nstreamed %s\nfirst    %s", a, b)
	}
	x, _ := os.ReadFile(streamed)
	y, _ := os.ReadFile(first)
	if len(x) == 0 || string(x) != string(y) {
		t.Error("outputs differ")
	}
	if _, err := os.Stat(filepath.Join(streamed+".av1job", "planning.json")); err == nil {
		t.Error("planning.json left once the plan was written")
	}
}

// TestEncodeOtherEncoders: `av1job encode --encoder svt-av1` and
// `--encoder aomenc` make an output that verify finds frame-exact with
// its source's streams, and the job's fingerprint names the encoder and
// its version, as `av1job --version` does.
func TestEncodeOtherEncoders(t *testing.T) {
	needTools(t)
	version := run(t, nil, "--version")
	for _, tc := range []struct {
		encoder, program string
		args             []string
	}{
		{"svt-av1", "SvtAv1EncApp", []string{"--speed", "12", "--crf", "40"}},
		{"aomenc", "aomenc", []string{"--speed", "9", "--quantizer", "40"}},
		// Target quality over SVT-AV1's CRF scale.
		{"svt-av1", "SvtAv1EncApp", []string{"--speed", "12", "--target-quality", "38", "--metric", "psnr", "--probes", "2"}},
	} {
		t.Run(tc.encoder+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			if _, err := exec.LookPath(tc.program); err != nil {
				t.Skip(err)
			}
			t.Parallel()
			dir := t.TempDir()
			in := clip(t, dir, "in.mkv", small)
			out := filepath.Join(dir, "out.mkv")
			r := run(t, nil, append([]string{"encode", in, "-o", out, "--encoder", tc.encoder, "--workers", "2", "--keep"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			mustVerify(t, in, out, false)
			b, err := os.ReadFile(filepath.Join(out+".av1job", "job.json"))
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				Fingerprint map[string]string `json:"fingerprint"`
			}
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			fp := st.Fingerprint["encoder"]
			if !strings.HasPrefix(fp, tc.encoder+" ") || !strings.Contains(version.stdout, "encoder "+fp+"\n") {
				t.Errorf("fingerprint's encoder %q; --version says:\n%s", fp, version.stdout)
			}
			if !slices.Contains(tc.args, "--target-quality") {
				return
			}
			// Every chunk's quantizer is on the encoder's scale, within
			// the default range (10-63).
			n := 0
			for _, rec := range readJournal(t, out+".av1job") {
				if rec.Type != "done" {
					continue
				}
				n++
				if rec.Q < 10 || rec.Q > 63 {
					t.Errorf("chunk %d at quantizer %d, outside 10-63", rec.Chunk, rec.Q)
				}
			}
			if n == 0 {
				t.Error("no chunk recorded")
			}
		})
	}
}
