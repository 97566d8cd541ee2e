// Package control is the control socket of a running job: a Unix socket in
// the job directory (mode 0600, and only the owner's user may talk to it)
// through which `av1job pause`, `resume`, `stop` and `status` reach the
// process that runs the job. One request per connection: a JSON line
// {"cmd": "..."}; one JSON line back.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotRunning means no process runs the job (no socket, or nobody
// listens on it).
var ErrNotRunning = errors.New("no process is running this job")

// A Handler answers a command with a value to return as JSON, or an error.
type Handler func(cmd string) (any, error)

// Server serves a job's control socket.
type Server struct {
	ln   net.Listener
	addr string
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

// Listen creates the control socket at sock, writes its path to addr (the
// job directory's pointer to the socket, which may live elsewhere when the
// directory's path is long), and serves h on it until Close. A stale
// socket left by a dead process is replaced: the caller holds the job's
// lock.
func Listen(sock, addr string, h Handler) (*Server, error) {
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.WriteFile(addr, []byte(sock+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &Server{ln: ln, addr: addr, path: sock}
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
	_ = os.Remove(s.addr)
	_ = os.Remove(s.path)
	return err
}

// Call sends cmd to the process serving the control socket at sock (or
// at the path written in addr, when it exists) and decodes its answer into
// out (if not nil). It returns ErrNotRunning when no process runs the job.
func Call(ctx context.Context, sock, addr, cmd string, out any) error {
	path := sock
	if b, err := os.ReadFile(addr); err == nil {
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
