package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// lockFileName is the name of the lock file inside a job directory.
const lockFileName = "lock"

// Acquire retries a refused lock briefly, because Owner's probe holds a
// shared lock for a moment and must not make a concurrent Acquire fail.
const (
	lockAttempts   = 4
	lockRetryDelay = 5 * time.Millisecond
)

// Lock is an exclusive hold on a job directory, taken by [Acquire]. The lock
// lives as long as the process keeps it: it is dropped by [Lock.Release], or
// by the kernel when the process exits or is killed.
type Lock struct {
	mu  sync.Mutex
	dir *os.File // the directory itself: the lock that decides ownership; nil after Release
	f   *os.File // the lock file: the owner's PID, and the lock older versions take
}

// LockedError is returned by [Acquire] when another owner holds the job
// directory's lock. PID is the owner's process ID as recorded in the lock
// file, or 0 if it could not be read. The owner may be this same process:
// flock locks belong to open files, so two Acquire calls in one process also
// conflict.
type LockedError struct {
	Dir string
	PID int
}

// Error returns a message such as
// "job directory /x/y.av1job is in use by process 1234", or "... is in use
// by another process" when the PID is unknown.
func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("job directory %s is in use by process %d", e.Dir, e.PID)
	}
	return fmt.Sprintf("job directory %s is in use by another process", e.Dir)
}

// Acquire takes the job directory lock: a non-blocking exclusive flock
// (LOCK_EX|LOCK_NB) on the directory itself, which nobody can delete from
// under its owner while the directory holds the job, and then one on
// dir/lock (created with mode 0644 if missing), the file that versions
// before this one locked. Holding both, Acquire writes the caller's PID
// (decimal and a newline) into the lock file and fsyncs it. Deleting the
// lock file does not free the job: the directory's lock still holds. If
// the lock is held elsewhere, Acquire returns a *[LockedError] naming the
// holder's PID; use errors.As to detect it. dir must exist.
func Acquire(dir string) (*Lock, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	if err := lockNB(d); err != nil {
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, PID: pidIn(dir)}
		}
		return nil, fmt.Errorf("journal: lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	if err := lockNB(f); err != nil {
		pid := readPID(f)
		f.Close()
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	if err := writePID(f, os.Getpid()); err != nil {
		f.Close() // also drops the locks
		d.Close()
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	return &Lock{dir: d, f: f}, nil
}

// lockNB takes an exclusive flock on f without blocking, retrying a refusal
// briefly: Owner's probe holds a shared lock for a moment and must not make
// a concurrent Acquire fail.
func lockNB(f *os.File) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = Flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || attempt == lockAttempts {
			return err
		}
		time.Sleep(lockRetryDelay)
	}
}

// pidIn returns the PID in dir's lock file, or 0.
func pidIn(dir string) int {
	f, err := os.Open(filepath.Join(dir, lockFileName))
	if err != nil {
		return 0
	}
	defer f.Close()
	return readPID(f)
}

// writePID overwrites f's content with pid and a newline and fsyncs it. It
// writes before truncating so a concurrent reader never sees an empty file
// when there was a PID before.
func writePID(f *os.File, pid int) error {
	line := strconv.AppendInt(nil, int64(pid), 10)
	line = append(line, '\n')
	if _, err := f.WriteAt(line, 0); err != nil {
		return err
	}
	if err := f.Truncate(int64(len(line))); err != nil {
		return err
	}
	return f.Sync()
}

// readPID returns the PID in the first line of the lock file, or 0 if it is
// unreadable.
func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return 0
	}
	buf = buf[:n]
	for i, c := range buf {
		if c == '\n' {
			buf = buf[:i]
			break
		}
	}
	pid, err := strconv.Atoi(string(buf))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Release unlocks and closes the lock file and the directory; another
// process may then acquire the directory. The lock file is not deleted.
// Calling Release again returns nil.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dir == nil {
		return nil
	}
	var errs []error
	for _, f := range []*os.File{l.f, l.dir} {
		if err := Flock(f, syscall.LOCK_UN); err != nil {
			errs = append(errs, fmt.Errorf("journal: unlock: %w", err))
		}
		if err := f.Close(); err != nil { // closing drops the lock even if LOCK_UN failed
			errs = append(errs, fmt.Errorf("journal: unlock: %w", err))
		}
	}
	l.dir, l.f = nil, nil
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Owner reports whether a live process (possibly this one) holds dir's lock,
// and if so its PID from the lock file (0 if unreadable). It is for `status`
// and never takes the lock for more than a moment: it probes the directory,
// and the lock file that older versions lock, with a non-blocking shared
// flock on its own file descriptor and releases it at once. When the lock
// is free, or dir does not exist, it returns (0, false, nil).
func Owner(dir string) (pid int, locked bool, err error) {
	for _, path := range []string{dir, filepath.Join(dir, lockFileName)} {
		locked, err := probe(path)
		if err != nil {
			return 0, false, fmt.Errorf("journal: owner: %w", err)
		}
		if locked {
			return pidIn(dir), true, nil
		}
	}
	return 0, false, nil
}

// probe reports whether someone holds an exclusive flock on path; a missing
// path is not locked.
func probe(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = Flock(f, syscall.LOCK_SH|syscall.LOCK_NB)
	switch {
	case err == nil:
		return false, Flock(f, syscall.LOCK_UN)
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, err
	}
}

// Flock applies flock(2) operation how (syscall.LOCK_SH, LOCK_EX, LOCK_UN,
// optionally with LOCK_NB) to f, retrying on EINTR. A lock refused under
// LOCK_NB is an error wrapping syscall.EWOULDBLOCK. The lock belongs to
// f's open file description: closing f, or the death of the process,
// releases it.
func Flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if ferr != nil {
		return fmt.Errorf("flock: %w", ferr)
	}
	return nil
}
