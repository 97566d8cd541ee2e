package jobdir

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/plan"
)

// tree makes files (a trailing slash makes a directory) under dir.
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// list returns the names under dir, recursively, sorted.
func list(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func stateJSON(t *testing.T) string {
	t.Helper()
	d := At(t.TempDir())
	st := &State{Version: StateVersion, Fingerprint: plan.Fingerprint{"speed": "6"}, Frames: 2, PTS: []int64{0, 1}, TimeBase: "1/25",
		Chunks: plan.Chunks([]int{0}, 2), Created: time.Now()}
	if err := d.WriteState(st); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(d.State())
	return string(b)
}

// TestRecognise: what counts as a job directory, so that nothing else is
// ever emptied or removed.
func TestRecognise(t *testing.T) {
	state := stateJSON(t)
	cases := []struct {
		name  string
		files map[string]string
		job   bool
	}{
		{"missing", nil, false},
		{"empty folder", map[string]string{}, false},
		{"this version's", map[string]string{"av1job.mark": markCreated, "job.json": state}, true},
		{"an earlier version's, planned", map[string]string{"job.json": state, "journal.log": "", "lock": "1\n", "chunks/": ""}, true},
		{"an earlier version's, planned, a user's file dropped in", map[string]string{"job.json": state, "notes.txt": "x"}, true},
		{"an earlier version's, stopped while detecting scenes", map[string]string{"lock": "1\n", "chunks/": "", "scenes.json": "{}"}, true},
		{"a user's folder with a job.json", map[string]string{"job.json": `{"name":"mine"}`, "notes.txt": "x"}, false},
		{"a user's folder with only a job.json", map[string]string{"job.json": `{"name":"mine"}`}, false},
		{"a user's folder with a lock file", map[string]string{"lock": "x"}, false},
		{"a user's folder with a chunks folder", map[string]string{"chunks/notes.txt": "x", "lock": "1"}, false},
	}
	for _, tc := range cases {
		dir := filepath.Join(t.TempDir(), "job")
		if tc.files != nil {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tree(t, dir, tc.files)
		}
		if got := At(dir).IsJob(); got != tc.job {
			t.Errorf("%s: IsJob = %v, want %v", tc.name, got, tc.job)
		}
		err := At(dir).Check()
		var nj *NotJobError
		if wantRefused := !tc.job && len(tc.files) > 0; errors.As(err, &nj) != wantRefused {
			t.Errorf("%s: Check = %v", tc.name, err)
		}
	}
}

// TestCreateRemove: av1job removes a directory only if it made it, and in
// any directory only its own names.
func TestCreateRemove(t *testing.T) {
	mine := map[string]string{"job.json": "{}", "journal.log": "", "lock": "1\n", "scenes.json": "{}", "video.ivf": "x",
		"cover-0.png": "x", "chunks/00000.ivf": "x", "chunks/00001.ivf.part": "x", ".job.json.tmp123": "x"}
	t.Run("made by av1job", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out.mkv.av1job")
		d, fresh, err := Create(dir)
		if err != nil || !fresh {
			t.Fatalf("Create: %v %v", fresh, err)
		}
		tree(t, dir, mine)
		if err := d.Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("left %v", list(t, dir))
		}
	})
	t.Run("adopted", func(t *testing.T) {
		dir := t.TempDir()
		d, fresh, err := Create(dir)
		if err != nil || !fresh {
			t.Fatalf("Create: %v %v", fresh, err)
		}
		tree(t, dir, mine)
		// Files a user puts there meanwhile, some with names close to
		// av1job's.
		tree(t, dir, map[string]string{"cover-letter.pdf": "x", "video.ivf.bak": "x", "chunks/notes.txt": "x", "out.mkv": "x"})
		if err := d.Remove(); err != nil {
			t.Fatal(err)
		}
		want := []string{"chunks", "chunks/notes.txt", "cover-letter.pdf", "out.mkv", "video.ivf.bak"}
		if got := list(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("left %v, want %v", got, want)
		}
	})
	t.Run("a folder that is not av1job's", func(t *testing.T) {
		dir := t.TempDir()
		tree(t, dir, map[string]string{"in.mkv": "x", "job.json": `{"name":"mine"}`})
		if _, _, err := Create(dir); err == nil {
			t.Fatal("Create accepted it")
		}
		var nj *NotJobError
		if err := At(dir).Remove(); !errors.As(err, &nj) {
			t.Fatalf("Remove: %v", err)
		}
		if got := list(t, dir); len(got) != 2 {
			t.Errorf("changed: %v", got)
		}
	})
	t.Run("made by av1job, a user's file dropped in", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out.mkv.av1job")
		d, _, err := Create(dir)
		if err != nil {
			t.Fatal(err)
		}
		tree(t, dir, map[string]string{"job.json": "{}", "mine.txt": "x"})
		if err := d.Remove(); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("Remove: %v", err)
		}
		if got := list(t, dir); strings.Join(got, " ") != "mine.txt" {
			t.Errorf("left %v", got)
		}
	})
	t.Run("an earlier version's", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "old.av1job")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		tree(t, dir, map[string]string{"lock": "1\n", "chunks/": "", "scenes.json": "{}"})
		d, fresh, err := Create(dir)
		if err != nil || fresh {
			t.Fatalf("Create: %v %v", fresh, err)
		}
		if err := d.Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("left %v", list(t, dir))
		}
	})
}

func TestChunkID(t *testing.T) {
	for name, want := range map[string][3]any{
		"00012.ivf": {12, false, true}, "00012.ivf.part": {12, true, true}, "123456.ivf": {123456, false, true},
		"0012.ivf": {0, false, false}, "00012.ivf.bak": {0, false, false}, "notes.txt": {0, false, false}, "0001a.ivf": {0, false, false},
	} {
		id, part, ok := ChunkID(name)
		if ok != want[2] || (ok && (id != want[0] || part != want[1])) {
			t.Errorf("%s: %d %v %v", name, id, part, ok)
		}
	}
}
