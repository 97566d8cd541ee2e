package guard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/task"
)

// TestSourceGuard: a source checked once is known again while it stays
// the same file with the same size and modification time; touched, it is
// hashed again and still the source; replaced by a rename, truncated or
// removed, it is not the job's source any more, and no retry is made.
func TestSourceGuard(t *testing.T) {
	const size = 4 << 20 // head and tail hashed apart
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		why    string // in the error; "" when the file is still the source
	}{
		{"same file", func(*testing.T, string) {}, ""},
		{"touched, same content", func(t *testing.T, path string) {
			later := time.Now().Add(time.Hour)
			must(t, os.Chtimes(path, later, later))
		}, ""},
		{"replaced by rename", func(t *testing.T, path string) {
			other := bytes.Repeat([]byte{'b'}, size)
			tmp := path + ".tmp"
			must(t, os.WriteFile(tmp, other, 0o644))
			must(t, os.Rename(tmp, path))
		}, "hash of its first and last MiB"},
		{"truncated", func(t *testing.T, path string) {
			must(t, os.Truncate(path, size/2))
		}, "2097152 bytes, the job's source has 4194304"},
		{"removed", func(t *testing.T, path string) {
			must(t, os.Remove(path))
		}, "there is no file there"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.mkv")
			must(t, os.WriteFile(path, bytes.Repeat([]byte{'a'}, size), 0o644))
			n, content := fileIdentity(t, path)
			var g Source
			if _, err := g.Check(path, n, content); err != nil {
				t.Fatalf("the source itself: %v", err)
			}
			tc.change(t, path)
			_, err := g.Check(path, n, content)
			if tc.why == "" {
				if err != nil {
					t.Fatalf("still the source, refused: %v", err)
				}
				return
			}
			wantChanged(t, err, path, tc.why)
		})
	}
}

// TestSourceGuardRead: a file replaced while it is read is refused after
// the read, in place of what the read returned.
func TestSourceGuardRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.mkv")
	must(t, os.WriteFile(path, []byte("the source"), 0o644))
	n, content := fileIdentity(t, path)
	var g Source
	for _, ferr := range []error{nil, errors.New("read cut short")} {
		must(t, os.WriteFile(path, []byte("the source"), 0o644))
		err := g.Read(path, n, content, func() error {
			tmp := filepath.Join(dir, "other")
			must(t, os.WriteFile(tmp, []byte("the source"), 0o644)) // even with the same bytes
			must(t, os.Rename(tmp, path))
			return ferr
		})
		wantChanged(t, err, path, "changed while it was being read")
	}
	if err := g.Read(path, n, content, func() error { return nil }); err != nil {
		t.Fatalf("an unchanged source refused: %v", err)
	}
}

func fileIdentity(t *testing.T, path string) (int64, string) {
	t.Helper()
	id, err := plan.SourceIdentity(path)
	must(t, err)
	return id.Size, id.Sample
}

func wantChanged(t *testing.T, err error, path, why string) {
	t.Helper()
	var sc *task.SourceChangedError
	if !errors.As(err, &sc) {
		t.Fatalf("want a *SourceChangedError, got %v", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, path+" is not the job's source any more (") || !strings.Contains(msg, why) {
		t.Errorf("error %q: want the path, then %q", msg, why)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
