package broker

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/sys/unix"
)

// What the embedded server does when its disk fills (nats-server 2.15, one
// server, not clustered): the stream whose write fails keeps the error and
// refuses every later write, without an answer, so a publisher only sees
// its acknowledgement time out; JetStream itself stays enabled (it is
// disabled after a permission error). Nothing clears the error but
// reading the stream back from its files: a restart of JetStream. So the
// store is watched from outside: WriteError reads the errors the streams
// keep (the server's health check), Room adds the file system's free
// space, and Mend restarts JetStream once there is room again.

// Reserve is the room kept free beyond a write that Room is asked about:
// the store writes its index and state files beside the messages.
const Reserve = 1 << 20

// StoreError is a JetStream store that cannot take a write: one of its
// streams failed a write (and refuses every later one until Mend), or the
// file system it is on has too little room for the next.
type StoreError struct {
	Dir    string // the store's directory (Config.Dir)
	Free   int64  // bytes free on its file system; -1 when not known
	Need   int64  // the bytes Room was asked for (Reserve more are needed); 0 after a failed write
	Stream string // the stream whose write failed, if one did
	Err    error  // syscall.ENOSPC for a full disk, else what the store reported
}

func (e *StoreError) Error() string {
	var what []string
	switch {
	case e.Free >= 0 && e.Need > 0:
		what = append(what, fmt.Sprintf("%d bytes free, %d needed", e.Free, e.Need+Reserve))
	case e.Free >= 0:
		what = append(what, fmt.Sprintf("%d bytes free", e.Free))
	}
	if e.Stream != "" {
		what = append(what, "stream "+e.Stream+" failed a write")
	}
	state := "JetStream's store failed a write"
	switch {
	case !errors.Is(e.Err, syscall.ENOSPC) && !errors.Is(e.Err, syscall.EDQUOT):
	case e.Free >= e.Need+Reserve:
		// Freed since: the store refuses writes until Mend.
		state = "the disk was full"
	default:
		state = "the disk is full"
	}
	if len(what) > 0 {
		state += " (" + strings.Join(what, "; ") + ")"
	}
	return fmt.Sprintf("%s: %s: %v", e.Dir, state, e.Err)
}

// Unwrap returns the cause: syscall.ENOSPC for a full disk.
func (e *StoreError) Unwrap() error { return e.Err }

// WriteError returns a *StoreError when the store failed a write, or
// JetStream is disabled: its streams take no writes until Mend. It
// returns nil while the store takes writes.
func (s *Server) WriteError() error {
	s.mend.RLock()
	defer s.mend.RUnlock()
	return s.writeError()
}

func (s *Server) writeError() error {
	if !s.ns.JetStreamEnabled() {
		return &StoreError{Dir: s.dir, Free: s.free(), Err: errors.New("JetStream is disabled")}
	}
	h := s.ns.Healthz(&server.HealthzOptions{Details: true})
	for _, he := range h.Errors {
		// "JetStream stream '$G > NAME' write error: write PATH: no space left on device"
		_, text, ok := strings.Cut(he.Error, " write error: ")
		if !ok {
			continue
		}
		return &StoreError{Dir: s.dir, Free: s.free(), Stream: he.Stream, Err: errnoOf(text)}
	}
	return nil
}

// errnoOf returns the error number a store's error text names, or the
// text as an error. The server keeps the error as text only.
func errnoOf(text string) error {
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EACCES, syscall.EIO} {
		if strings.HasSuffix(text, e.Error()) {
			return e
		}
	}
	return errors.New(text)
}

// Room returns a *StoreError when the store cannot take n more bytes: it
// failed a write already (WriteError), or fewer than n bytes and Reserve
// are free on its file system. It returns nil otherwise, and when the free
// space cannot be read.
func (s *Server) Room(n int64) error {
	if err := s.WriteError(); err != nil {
		return err
	}
	if free := s.free(); free >= 0 && free < n+Reserve {
		return &StoreError{Dir: s.dir, Free: free, Need: n, Err: syscall.ENOSPC}
	}
	return nil
}

// free returns the bytes free on the store's file system, -1 when not known.
func (s *Server) free() int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * st.Bsize
}

// Mend restarts JetStream when the store failed a write or JetStream is
// disabled, once Reserve bytes are free on the store's file system: every
// stream, consumer and object is read back from its files, and the write
// errors are gone. Clients stay connected; a request made during the
// restart (milliseconds) fails and an ordered consumer starts again after
// its missed heartbeats. It reports whether it restarted JetStream; the
// error is a *StoreError when the disk is still full, or the restart's.
func (s *Server) Mend() (bool, error) {
	s.mend.Lock()
	defer s.mend.Unlock()
	werr := s.writeError()
	if werr == nil {
		return false, nil
	}
	if free := s.free(); free >= 0 && free < Reserve {
		return false, werr
	}
	if err := s.ns.ShutdownJetStream(); err != nil {
		return false, fmt.Errorf("broker: restart JetStream in %s: %w", s.dir, err)
	}
	// As at the server's start: the store is StoreDir/jetstream.
	if err := s.ns.EnableJetStream(&server.JetStreamConfig{StoreDir: filepath.Join(s.dir, "jetstream")}); err != nil {
		return false, fmt.Errorf("broker: restart JetStream in %s: %w", s.dir, err)
	}
	if err := s.writeError(); err != nil {
		return true, err
	}
	return true, nil
}
