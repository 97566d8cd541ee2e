package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leftovers returns the names in dir that look like WriteFileAtomic temp files.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for i, content := range []string{`{"v":1}`, `{"v":2,"longer":true}`, ``, `{"v":4}`} {
		if err := WriteFileAtomic(path, []byte(content), 0o600); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("write %d: content %q, %v; want %q", i, got, err, content)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode())
		}
		if l := leftovers(t, dir); l != nil {
			t.Fatalf("temp files left behind: %v", l)
		}
	}
	// A relative path works too (the directory is ".").
	t.Chdir(dir)
	if err := WriteFileAtomic("rel.json", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "rel.json")); string(got) != "x" {
		t.Fatalf("relative write: %q", got)
	}
}

func TestWriteFileAtomicTempName(t *testing.T) {
	dir := t.TempDir()
	var name string
	t.Cleanup(func() { openTemp = createTemp })
	openTemp = func(dir, base string, perm os.FileMode) (tempFile, error) {
		f, err := createTemp(dir, base, perm)
		if f != nil {
			name = filepath.Base(f.Name())
		}
		return f, err
	}
	if err := WriteFileAtomic(filepath.Join(dir, "state.json"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, ".state.json.tmp") {
		t.Fatalf("temp file name %q", name)
	}
}

// failingTemp wraps a real temp file and fails one step.
type failingTemp struct {
	tempFile
	step string
}

var errInjected = errors.New("injected failure")

func (f *failingTemp) Write(p []byte) (int, error) {
	if f.step == "write" {
		n, _ := f.tempFile.Write(p[:len(p)/2])
		return n, errInjected
	}
	if f.step == "short" {
		return f.tempFile.Write(p[:len(p)/2])
	}
	return f.tempFile.Write(p)
}

func (f *failingTemp) Sync() error {
	if f.step == "sync" {
		return errInjected
	}
	return f.tempFile.Sync()
}

func (f *failingTemp) Close() error {
	err := f.tempFile.Close()
	if f.step == "close" {
		return errInjected
	}
	return err
}

func TestWriteFileAtomicFailureLeavesOldFile(t *testing.T) {
	const old = `{"v":"old"}`
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, path string) (target string)
		want  error // if set, errors.Is must hold
	}{
		{"write fails", hook("write"), errInjected},
		{"short write", hook("short"), nil},
		{"fsync fails", hook("sync"), errInjected},
		{"close fails", hook("close"), errInjected},
		{"temp create fails", func(t *testing.T, dir, path string) string {
			openTemp = func(string, string, os.FileMode) (tempFile, error) { return nil, errInjected }
			return path
		}, errInjected},
		{"rename onto a directory", func(t *testing.T, dir, path string) string {
			target := filepath.Join(dir, "subdir")
			if err := os.Mkdir(target, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(target, "f"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return target
		}, nil},
		{"directory removed", func(t *testing.T, dir, path string) string {
			gone := filepath.Join(dir, "gone")
			if err := os.Mkdir(gone, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(gone); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(gone, "state.json")
		}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() { openTemp = createTemp })
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
			target := tt.setup(t, dir, path)
			err := WriteFileAtomic(target, []byte(`{"v":"new","padding":"xxxxxxxx"}`), 0o644)
			if err == nil || !strings.HasPrefix(err.Error(), "journal: write file: ") {
				t.Fatalf("WriteFileAtomic = %v, want journal: write file error", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v does not wrap %v", err, tt.want)
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != old {
				t.Fatalf("existing file changed: %q, %v", got, err)
			}
			if l := leftovers(t, dir); l != nil {
				t.Fatalf("temp files left behind: %v", l)
			}
		})
	}
}

func hook(step string) func(t *testing.T, dir, path string) string {
	return func(t *testing.T, dir, path string) string {
		openTemp = func(dir, base string, perm os.FileMode) (tempFile, error) {
			f, err := createTemp(dir, base, perm)
			if err != nil {
				return nil, err
			}
			return &failingTemp{tempFile: f, step: step}, nil
		}
		return path
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	err := SyncDir(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "journal: sync dir: ") {
		t.Fatalf("SyncDir(missing) = %v", err)
	}
}
