// Package control is the control socket of a running job: a Unix socket in
// the job directory (mode 0600, and only the owner's user may talk to it)
// through which `av1job pause`, `resume`, `stop` and `status` reach the
// process that runs the job. One request per connection: a JSON line
// {"cmd": "..."}; one JSON line back.
package control

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Names in the job directory.
const (
	sockName = "control.sock"
	addrName = "control.addr" // the socket's path, when it cannot live in the job directory
)

// ErrNotRunning means no process runs the job (no socket, or nobody
// listens on it).
var ErrNotRunning = errors.New("no process is running this job")

// A Handler answers a command with a value to return as JSON, or an error.
type Handler func(cmd string) (any, error)

// Server serves a job's control socket.
type Server struct {
	ln   net.Listener
	dir  string
	path string
	wg   sync.WaitGroup
}

type request struct {
	Cmd string `json:"cmd"`
}

type response struct {
	OK     bool            `json:"ok"`
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// sockPath is where the socket of dir lives: in dir when the path fits in
// a Unix socket address, else in the temporary directory under a name
// derived from dir.
func sockPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	p := filepath.Join(abs, sockName)
	if len(p) < 100 {
		return p
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), "av1job-"+hex.EncodeToString(h[:8])+".sock")
}

// Listen creates dir's control socket and serves h on it until Close.
// A stale socket left by a dead process is replaced.
func Listen(dir string, h Handler) (*Server, error) {
	path := sockPath(dir)
	_ = os.Remove(path) // the caller holds the job lock: any socket here is stale
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, addrName), []byte(path+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &Server{ln: ln, dir: dir, path: path}
	s.wg.Add(1)
	go s.serve(h)
	return s, nil
}

func (s *Server) serve(h Handler) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			handle(c, h)
		}()
	}
}

func handle(c net.Conn, h Handler) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	enc := json.NewEncoder(c)
	if err := checkPeer(c); err != nil {
		_ = enc.Encode(response{Error: err.Error()})
		return
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		_ = enc.Encode(response{Error: "bad request"})
		return
	}
	v, err := h(req.Cmd)
	if err != nil {
		_ = enc.Encode(response{Error: err.Error()})
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		_ = enc.Encode(response{Error: err.Error()})
		return
	}
	_ = enc.Encode(response{OK: true, Result: b})
}

// checkPeer admits only the socket owner's user and root.
func checkPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Getuid() {
		return errors.New("permission denied")
	}
	return nil
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	_ = os.Remove(filepath.Join(s.dir, addrName))
	_ = os.Remove(s.path)
	return err
}

// Call sends cmd to the process running the job in dir and decodes its
// answer into out (if not nil). It returns ErrNotRunning when no process
// runs the job.
func Call(ctx context.Context, dir, cmd string, out any) error {
	path := sockPath(dir)
	if b, err := os.ReadFile(filepath.Join(dir, addrName)); err == nil {
		path = strings.TrimSpace(string(b))
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return ErrNotRunning
		}
		return fmt.Errorf("control socket: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	}
	if err := json.NewEncoder(c).Encode(request{Cmd: cmd}); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	var resp response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("control socket: no answer: %w", err)
	}
	if !resp.OK {
		return errors.New(resp.Error)
	}
	if out != nil && len(resp.Result) > 0 {
		return json.Unmarshal(resp.Result, out)
	}
	return nil
}
