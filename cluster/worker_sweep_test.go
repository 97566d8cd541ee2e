package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/journal"
)

// TestSweepSegments: a worker's start removes the segment files that no
// live worker holds, and only those.
func TestSweepSegments(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * sweepAge)
	files := []struct {
		name   string
		old    bool
		locked bool // a live worker's shared lock
		dir    bool
		kept   bool
	}{
		{name: "av1job-segment-1.nut", old: true},                           // a killed worker's
		{name: "av1job-segment-2.nut", old: true, locked: true, kept: true}, // a live worker's, hours into a task
		{name: "av1job-segment-3.nut", kept: true},                          // just created, not locked yet
		{name: "av1job-segment-4.nut", old: true, dir: true, kept: true},    // not a file
		{name: "av1job-other.nut", old: true, kept: true},                   // not a segment
		{name: "av1job-segment-5.nut", old: true},                           // another killed one
	}
	var want []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if f.dir {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte("segment"), 0o600); err != nil {
			t.Fatal(err)
		}
		if f.locked {
			h, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if err := journal.Flock(h, syscall.LOCK_SH); err != nil {
				t.Fatal(err)
			}
		}
		if f.old {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		if f.kept {
			want = append(want, f.name)
		}
	}
	n, b, err := sweepSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || b != 2*int64(len("segment")) {
		t.Errorf("swept %d files of %d bytes, want 2 of %d", n, b, 2*len("segment"))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("left %q, want %q", got, want)
	}
}
