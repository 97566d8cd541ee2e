package av1job_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/verify"
)

// TestTargetQuality encodes a clip of easy and hard scenes to a target
// SSIMULACRA2 score, killing the job once while it probes and once while
// it encodes a chunk at the quantizer found: no finished probe is made
// again, each chunk's quantizer is the search's decision from its
// journaled probes, the easy scenes get higher quantizers than the hard
// ones, every chunk measured is close to the target, and the output
// passes verify.
func TestTargetQuality(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	tmp := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"smptehdbars", "mandelbrot", "life"}, SegFrames: 32}
	in := clip(t, dir, "in.mkv", spec)
	out := filepath.Join(dir, "out.mkv")
	jobDir := out + ".av1job"
	const target, probes = 70.0, 3
	args := []string{"encode", in, "-o", out, "--speed", "10", "--workers", "2", "--min-scene-len", "12", "--keep",
		"--target-quality", "70", "--probes", "3", "--quantizer-range", "20-230"}
	env := append(os.Environ(), "TMPDIR="+tmp)
	count := func(typ string) int {
		n := 0
		for _, r := range readJournal(t, jobDir) {
			if r.Type == typ {
				n++
			}
		}
		return n
	}
	partWritten := func() bool {
		parts, _ := filepath.Glob(filepath.Join(jobDir, "chunks", "*.part"))
		for _, p := range parts {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 2000 {
				return true
			}
		}
		return false
	}
	// Kill 1 while the first probes are journaled and no chunk is done;
	// kill 2 once a chunk's final encode has written part of its file.
	for i, when := range []func() bool{
		func() bool { return count("probe") >= 1 && count("done") == 0 },
		partWritten,
	} {
		cmd := exec.Command(binPath, args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		before := count("probe")
		if !waitFor(t, 120*time.Second, when) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			t.Fatalf("kill %d: the moment never came: %s", i+1, stderr.String())
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		t.Logf("kill %d: %d probes journaled (%d before this run), %d chunks done", i+1, count("probe"), before, count("done"))
	}
	if r := run(t, []string{"TMPDIR=" + tmp}, args...); r.code != 0 {
		t.Fatalf("final run: exit %d: %s", r.code, r.stderr)
	}
	mustVerify(t, in, out, true)

	// Nothing is left in the temporary directory, killed runs included.
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		var names []string
		for _, e := range left {
			fi, _ := e.Info()
			names = append(names, fmt.Sprintf("%q (%d bytes, %v)", e.Name(), fi.Size(), fi.ModTime().Format(time.StampMilli)))
		}
		t.Errorf("files left in TMPDIR: %s", strings.Join(names, ", "))
	}

	recs := readJournal(t, jobDir)
	probed := map[int][]av1job.Probe{}
	parent := map[int]int{}
	for _, r := range recs {
		switch {
		case r.Type == "probe":
			for _, p := range probed[r.Chunk] {
				if p.Quantizer == r.Q {
					t.Errorf("chunk %d probed at quantizer %d twice", r.Chunk, r.Q)
				}
			}
			probed[r.Chunk] = append(probed[r.Chunk], av1job.Probe{Quantizer: r.Q, Score: *r.Score})
		case r.Type == "done" && r.Rest != 0:
			parent[r.Rest] = r.Chunk
		}
	}
	var qs []int
	var within, measured int
	for _, r := range recs {
		if r.Type != "done" {
			continue
		}
		root := r.Chunk
		for {
			p, ok := parent[root]
			if !ok {
				break
			}
			root = p
		}
		ps := probed[root]
		if len(ps) > probes {
			t.Errorf("chunk %d: %d probes, at most %d asked for", root, len(ps), probes)
		}
		tq := av1job.TargetQuality{Score: target, Metric: "ssimulacra2", Stat: "mean", MinQ: 20, MaxQ: 230, Probes: probes, Known: ps}
		q, _, _, ok := tq.Decide()
		if !ok || q != r.Q {
			t.Errorf("chunk %d [%d,%d) encoded at quantizer %d; its probes %v decide %d (decided: %v)", r.Chunk, r.Start, r.End, r.Q, ps, q, ok)
		}
		qs = append(qs, r.Q)
		if r.Score != nil {
			measured++
			t.Logf("chunk %d [%d,%d): quantizer %d, score %.2f, probes %v", r.Chunk, r.Start, r.End, r.Q, *r.Score, ps)
			if math.Abs(*r.Score-target) <= 2 {
				within++
			}
			if *r.Score < target-5 {
				t.Errorf("chunk %d scores %.2f, more than 5 below the target %g", r.Chunk, *r.Score, target)
			}
		}
	}
	t.Logf("%d of %d chunks measured are within ±2 of %g; quantizers %v", within, measured, target, qs)

	// The scores journaled are those of the output: verify, decoding the
	// muxed file and the whole source, finds the same per chunk.
	vq, err := verify.Measure(context.Background(), in, out, verify.MetricOptions{Metric: "ssimulacra2"})
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, r := range recs {
		if r.Type != "done" || r.Score == nil {
			continue
		}
		for _, c := range vq.Chunks {
			if c.Start == r.Start && c.End == r.End {
				compared++
				if math.Abs(c.Score-*r.Score) > 0.01 {
					t.Errorf("chunk %d [%d,%d): journaled score %.4f, verify measures %.4f", r.Chunk, r.Start, r.End, *r.Score, c.Score)
				}
			}
		}
	}
	if compared != measured {
		t.Errorf("verify's keyframe chunks %v matched %d of the %d chunks scored", vq.Chunks, compared, measured)
	}
	if measured == 0 {
		t.Fatal("no chunk's score was measured")
	}
	if slices.Min(qs)+20 > slices.Max(qs) {
		t.Errorf("quantizers %v: easy and hard scenes should differ", qs)
	}
	// status --json carries each chunk's quantizer and score.
	r := run(t, nil, "status", out, "--json")
	var st struct {
		Chunks []av1job.ChunkInfo `json:"chunks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Chunks) == 0 {
		t.Fatalf("status --json: %v: %s", err, r.stdout)
	}
	for _, c := range st.Chunks {
		if c.Quantizer == 0 {
			t.Errorf("status: chunk %d has no quantizer: %+v", c.ID, c)
		}
	}
}

// TestClusterTargetQuality: a target-quality job whose tasks run on two
// remote workers journals their probes and gives the same bits as the
// same job run on this machine.
func TestClusterTargetQuality(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"smptehdbars", "mandelbrot"}, SegFrames: 24}
	in := clip(t, dir, "in.mkv", spec)
	opts := func(out string) av1job.Options {
		o := av1job.NewOptions(in, out)
		o.Speed, o.Workers, o.MinSceneLen, o.Keep = av1job.SpeedOf(10), 2, 12, true
		o.TargetQuality, o.Probes = 70, 2
		return o
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	local := filepath.Join(dir, "local.ivf")
	if err := av1job.New(opts(local)).Run(ctx); err != nil {
		t.Fatal(err)
	}

	c := newCluster(t)
	c.startWorker(t, "w1")
	c.startWorker(t, "w2")
	ex := c.executor(5 * time.Second)
	defer ex.Close()
	remote := filepath.Join(dir, "remote.ivf")
	o := opts(remote)
	o.Executor = ex
	if err := av1job.New(o).Run(ctx); err != nil {
		t.Fatal(err)
	}
	sameFile(t, local, remote)
	chunks, err := av1job.ReadChunks(remote + ".av1job")
	if err != nil {
		t.Fatal(err)
	}
	workers := map[string]bool{}
	for _, ch := range chunks {
		workers[ch.Worker] = true
		if ch.Probes == 0 || ch.Quantizer == 0 || ch.Score == nil {
			t.Errorf("chunk %d: %d probes, quantizer %d, score %v: the worker's measurements did not come back", ch.ID, ch.Probes, ch.Quantizer, ch.Score)
		}
	}
	t.Logf("chunks %+v; workers %v", chunks, workers)
}
