// Package guard makes sure that what is read from a path comes from a
// job's source (a *task.SourceChangedError when it does not): the job's
// finish, the local executor and the cluster's segment cutter read the
// source between two of its checks.
package guard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/task"
)

// A Source makes sure that what is read from a path comes from a
// job's source: a file whose size and hash of its first and last MiB
// (plan.SourceIdentity) are the job's. The hash is read once per state of
// the file as stat(2) shows it (the same device and inode, size and
// modification time) and trusted while that state stays. The zero value
// is ready to use, by several goroutines at once.
type Source struct {
	mu      sync.Mutex
	checked map[string]checkedFile // by path: the state last found to be a source
}

// checkedFile is a state of a file found to be the source with that
// content hash.
type checkedFile struct {
	fi      os.FileInfo
	content string
}

// guardPaths bounds the paths a sourceGuard remembers (a worker checks a
// new segment file for every task): past it, it starts afresh.
const guardPaths = 64

// Check returns the state of the file at path once that file is the
// source of the given size and content hash. A different file, or none,
// is a *SourceChangedError; a failure to read it is returned as it is.
func (g *Source) Check(path string, size int64, content string) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, err)
	}
	g.mu.Lock()
	known, ok := g.checked[path]
	ok = ok && known.content == content && sameState(known.fi, fi) && fi.Size() == size
	g.mu.Unlock()
	if ok {
		return fi, nil
	}
	if fi.Size() != size {
		return nil, &task.SourceChangedError{Path: path, Why: fmt.Sprintf("%d bytes, the job's source has %d", fi.Size(), size)}
	}
	id, err := plan.SourceIdentity(path)
	if err != nil {
		return nil, err
	}
	// The hash is of the state found before only if the same state is
	// there after.
	if err := Unchanged(path, fi); err != nil {
		return nil, err
	}
	if id.Size != size || id.Sample != content {
		return nil, &task.SourceChangedError{Path: path, Why: fmt.Sprintf("the hash of its first and last MiB is %s, the job's source's %s", id.Sample, content)}
	}
	g.mu.Lock()
	if g.checked == nil || len(g.checked) >= guardPaths {
		g.checked = map[string]checkedFile{}
	}
	g.checked[path] = checkedFile{fi, content}
	g.mu.Unlock()
	return fi, nil
}

// Read runs f, which reads the file at path, between two checks: before,
// that the file is the source of the given size and content hash; after,
// that the same file is there in the same state, so that everything f
// Read came from that source. When the file changed, f's own error (a
// Read cut short by a truncation, say) gives way to the
// *SourceChangedError.
func (g *Source) Read(path string, size int64, content string, f func() error) error {
	fi, err := g.Check(path, size, content)
	if err != nil {
		return err
	}
	ferr := f()
	if err := Unchanged(path, fi); err != nil {
		return err
	}
	return ferr
}

// Unchanged returns a *SourceChangedError unless the file at path is in
// state fi: the same file (device and inode), size and modification time.
func Unchanged(path string, fi os.FileInfo) error {
	now, err := os.Stat(path)
	if err != nil {
		return statError(path, err)
	}
	if !sameState(fi, now) {
		return &task.SourceChangedError{Path: path, Why: "it changed while it was being read"}
	}
	return nil
}

func sameState(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// statError says that a missing source is gone (which no retry fixes);
// any other failure is returned wrapped.
func statError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &task.SourceChangedError{Path: path, Why: "there is no file there"}
	}
	return fmt.Errorf("source: %w", err)
}
