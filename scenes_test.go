package av1job_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestScenesFile saves a detection with scenes --save, edits its cuts by
// hand and encodes with --scenes: the chunks follow the file and the
// source is not decoded for detection. A file made from another source
// is refused. Without --scenes, the job directory's cache spares a
// --restart the detection.
func TestScenesFile(t *testing.T) {
	needTools(t)
	t.Parallel()
	dir := t.TempDir()
	in := clip(t, dir, "in.mkv", small)
	saved := filepath.Join(dir, "scenes.json")
	r := run(t, nil, "scenes", in, "--save", saved, "--min-scene-len", "6")
	if r.code != 0 {
		t.Fatalf("scenes --save: exit %d: %s", r.code, r.stderr)
	}
	if got := strings.Fields(r.stdout); !reflect.DeepEqual(got, []string{"0", "30", "60"}) {
		t.Errorf("scenes printed %q, want the three segment starts", r.stdout)
	}
	var sf map[string]any
	b, _ := os.ReadFile(saved)
	if err := json.Unmarshal(b, &sf); err != nil {
		t.Fatal(err)
	}
	if pts, _ := sf["pts"].([]any); len(pts) != small.Frames() {
		t.Fatalf("saved %d timestamps, want %d", len(pts), small.Frames())
	}
	// Hand-edited cuts are used as they are.
	sf["cuts"] = []int{0, 45}
	b, _ = json.Marshal(sf)
	must(os.WriteFile(saved, b, 0o644))

	out := filepath.Join(dir, "out.mkv")
	r = run(t, nil, "encode", in, "-o", out, "--speed", "10", "--scenes", saved, "--min-scene-len", "6", "--keep")
	if r.code != 0 {
		t.Fatalf("encode --scenes: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out+".av1job", "scenes.json")); err == nil {
		t.Error("encode --scenes detected scenes again (it cached a detection)")
	}
	if got := chunkStarts(t, out+".av1job"); !reflect.DeepEqual(got, []int{0, 45}) {
		t.Errorf("chunks start at %v, want the file's cuts [0 45]", got)
	}
	mustVerify(t, in, out, false)
	// A planned job no longer needs its scenes file.
	must(os.Rename(saved, saved+".moved"))
	must(os.Remove(out))
	if r := run(t, nil, "encode", in, "-o", out, "--speed", "10", "--scenes", saved, "--min-scene-len", "6", "--keep"); r.code != 0 {
		t.Fatalf("resume without the scenes file: exit %d: %s", r.code, r.stderr)
	}
	must(os.Rename(saved+".moved", saved))

	// Scenes of another source.
	other := small
	other.Segments = []string{"mandelbrot", "testsrc2", "smptehdbars"}
	in2 := clip(t, dir, "other.mkv", other)
	r = run(t, nil, "encode", in2, "-o", filepath.Join(dir, "other-out.mkv"), "--scenes", saved)
	if r.code != 2 || !strings.Contains(r.stderr, saved) || !strings.Contains(r.stderr, "different file") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("scenes of another file: exit %d: %s", r.code, r.stderr)
	}

	// The job directory caches the detection.
	out3 := filepath.Join(dir, "cached.mkv")
	if r := run(t, nil, "encode", in, "-o", out3, "--speed", "10", "--keep"); r.code != 0 {
		t.Fatalf("first run: exit %d: %s", r.code, r.stderr)
	}
	cache := filepath.Join(out3+".av1job", "scenes.json")
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(out3)
	time.Sleep(10 * time.Millisecond)
	r = run(t, nil, "encode", in, "-o", out3, "--speed", "9", "--restart", "--keep")
	if r.code != 0 {
		t.Fatalf("--restart: exit %d: %s", r.code, r.stderr)
	}
	if fi2, err := os.Stat(cache); err != nil || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Errorf("--restart detected scenes again (%v)", err)
	}
	mustVerify(t, in, out3, false)
}

// chunkStarts reads the planned chunks' first frames from job.json.
func chunkStarts(t *testing.T, jobDir string) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(jobDir, "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Chunks []struct {
			Start int `json:"start"`
		} `json:"chunks"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, c := range st.Chunks {
		out = append(out, c.Start)
	}
	return out
}
