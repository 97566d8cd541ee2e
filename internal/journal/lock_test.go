package journal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func wantLocked(t *testing.T, err error, dir string, pid int) {
	t.Helper()
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Acquire = %v, want *LockedError", err)
	}
	if le.Dir != dir || le.PID != pid {
		t.Fatalf("LockedError = %+v, want dir %s pid %d", le, dir, pid)
	}
}

func wantOwner(t *testing.T, dir string, pid int, locked bool) {
	t.Helper()
	gotPID, gotLocked, err := Owner(dir)
	if err != nil || gotPID != pid || gotLocked != locked {
		t.Fatalf("Owner = (%d, %v, %v), want (%d, %v, nil)", gotPID, gotLocked, err, pid, locked)
	}
}

func TestLockedErrorMessage(t *testing.T) {
	tests := []struct {
		err  *LockedError
		want string
	}{
		{&LockedError{Dir: "/x/y.av1job", PID: 1234}, "job directory /x/y.av1job is in use by process 1234"},
		{&LockedError{Dir: "/x/y.av1job"}, "job directory /x/y.av1job is in use by another process"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		var le *LockedError
		if !errors.As(fmt.Errorf("resume: %w", tt.err), &le) || le != tt.err {
			t.Errorf("errors.As through wrapping failed")
		}
	}
}

func TestLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	wantOwner(t, dir, 0, false) // no lock file yet

	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "lock")); string(got) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Fatalf("lock file holds %q", got)
	}
	// flock locks belong to the open file, so this process conflicts with itself.
	_, err = Acquire(dir)
	wantLocked(t, err, dir, os.Getpid())
	wantOwner(t, dir, os.Getpid(), true)
	wantOwner(t, dir, os.Getpid(), true) // probing does not take the lock

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lock")); err != nil {
		t.Fatalf("lock file removed: %v", err)
	}
	wantOwner(t, dir, 0, false)

	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

func TestLockUnreadablePID(t *testing.T) {
	dir := t.TempDir()
	// A longer stale PID must not leak into the new one.
	if err := os.WriteFile(filepath.Join(dir, "lock"), []byte("123456789\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if got, _ := os.ReadFile(filepath.Join(dir, "lock")); string(got) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Fatalf("lock file holds %q", got)
	}
	for _, content := range []string{"", "garbage\n", "-5\n", "0\n"} {
		if err := os.WriteFile(filepath.Join(dir, "lock"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = Acquire(dir)
		wantLocked(t, err, dir, 0)
		if !strings.HasSuffix(err.Error(), "in use by another process") {
			t.Fatalf("message %q", err)
		}
		wantOwner(t, dir, 0, true)
	}
}

// TestLockFileDeleted: deleting the lock file of a held job directory, as
// a "stale lock" clean-up would, does not let a second owner in.
func TestLockFileDeleted(t *testing.T) {
	dir := t.TempDir()
	cmd, _ := startHolder(t, dir)
	if err := os.Remove(filepath.Join(dir, "lock")); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(dir)
	wantLocked(t, err, dir, 0)
	wantOwner(t, dir, 0, true)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	l.Release()
}

func TestLockMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := Acquire(dir)
	var le *LockedError
	if err == nil || errors.As(err, &le) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Acquire(missing dir) = %v", err)
	}
	wantOwner(t, dir, 0, false)
}

// startHolder runs the test binary as a helper that holds dir's lock.
func startHolder(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "JOURNAL_HELPER=hold", "JOURNAL_HELPER_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- s
	}()
	select {
	case s := <-ready:
		if s != "locked\n" {
			cmd.Wait()
			t.Fatalf("helper said %q; stderr: %s", s, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("helper did not take the lock")
	}
	return cmd, stdin
}

func TestLockAcrossProcesses(t *testing.T) {
	tests := []struct {
		name string
		stop func(cmd *exec.Cmd, stdin io.WriteCloser) error
	}{
		{"holder killed", func(cmd *exec.Cmd, _ io.WriteCloser) error {
			return cmd.Process.Signal(syscall.SIGKILL)
		}},
		{"holder releases", func(_ *exec.Cmd, stdin io.WriteCloser) error {
			return stdin.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd, stdin := startHolder(t, dir)
			child := cmd.Process.Pid

			_, err := Acquire(dir)
			wantLocked(t, err, dir, child)
			if want := fmt.Sprintf("job directory %s is in use by process %d", dir, child); err.Error() != want {
				t.Fatalf("message %q, want %q", err, want)
			}
			wantOwner(t, dir, child, true)

			if err := tt.stop(cmd, stdin); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()

			wantOwner(t, dir, 0, false)
			l, err := Acquire(dir)
			if err != nil {
				t.Fatalf("Acquire after holder stopped: %v", err)
			}
			wantOwner(t, dir, os.Getpid(), true)
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
