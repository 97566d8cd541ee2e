package journal

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// tempFile is the part of *os.File that WriteFileAtomic uses; an interface
// so tests can inject failures.
type tempFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
	Name() string
}

// openTemp creates the temporary file for WriteFileAtomic.
var openTemp = createTemp // overridden by tests

// createTemp creates a new file in dir named "." + base + ".tmp" followed by
// random digits, with mode perm (subject to the umask).
func createTemp(dir, base string, perm os.FileMode) (tempFile, error) {
	prefix := filepath.Join(dir, "."+base+".tmp")
	for range 100 {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("cannot create a temporary file for %s: %w", prefix, os.ErrExist)
}

// WriteFileAtomic replaces the file at path with data so that, even across a
// crash or power cut, path holds either its previous content (or does not
// exist, if it did not) or exactly data, never a mix.
//
// It writes data to a new temporary file in the same directory, whose name
// starts with "." + base + ".tmp", fsyncs and closes it, renames it over
// path and fsyncs the directory. The new file gets mode perm, subject to the
// umask like [os.WriteFile]. On any error before the rename the temporary
// file is removed and path is untouched. An error from the final directory
// fsync means the new content is in place but may not survive a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := openTemp(dir, base, perm)
	if err != nil {
		return fmt.Errorf("journal: write file: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		os.Remove(tmp)
		return fmt.Errorf("journal: write file: %w", err)
	}
	n, err := f.Write(data)
	if err == nil && n != len(data) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("journal: write file: %w", err)
	}
	return nil
}

// SyncDir fsyncs the directory dir, making the creation, removal or renaming
// of entries in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: sync dir: %w", err)
	}
	return nil
}
