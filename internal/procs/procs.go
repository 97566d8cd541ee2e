// Package procs freezes and thaws the child processes of a job (the ffmpeg
// readers, the encoders, the decoders that check chunks) with SIGSTOP and
// SIGCONT.
//
// A Group knows its processes from the moment they start: package tools
// starts every child of a job through the job's Group, so no scan is
// needed to find them, and a start and a freeze cannot interleave: a
// process started while the group is frozen is stopped before Start
// returns. Once Freeze has returned, nothing of the group runs and nothing
// polls.
package procs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Group is the set of running child processes of one job.
type Group struct {
	mu     sync.Mutex
	frozen bool
	procs  map[*os.Process]struct{}
}

// NewGroup returns an empty group, not frozen.
func NewGroup() *Group { return &Group{procs: map[*os.Process]struct{}{}} }

// Start starts cmd as a member of the group. If the group is frozen, the
// process is stopped before Start returns.
func (g *Group) Start(cmd *exec.Cmd) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	g.procs[cmd.Process] = struct{}{}
	if g.frozen {
		_ = cmd.Process.Signal(syscall.SIGSTOP)
	}
	return nil
}

// Done removes cmd's process from the group; call it once cmd.Wait has
// returned. (Signals go through the process's pidfd, so a process that
// ended and was reaped is never confused with a new one of the same PID.)
func (g *Group) Done(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	g.mu.Lock()
	delete(g.procs, cmd.Process)
	g.mu.Unlock()
}

// Len returns the number of processes in the group.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.procs)
}

// Freeze stops every process of the group and keeps processes started
// later stopped, until Thaw. It returns once every process is stopped, or
// after timeout with an error saying how many still ran.
func (g *Group) Freeze(timeout time.Duration) error {
	g.mu.Lock()
	g.frozen = true
	ps := make([]*os.Process, 0, len(g.procs))
	for p := range g.procs {
		if err := p.Signal(syscall.SIGSTOP); err == nil {
			ps = append(ps, p)
		}
	}
	g.mu.Unlock()
	// The signal is asynchronous: wait until each process is in the
	// stopped state, or gone.
	deadline := time.Now().Add(timeout)
	for _, p := range ps {
		for !stopped(p) {
			if time.Now().After(deadline) {
				return fmt.Errorf("procs: process %d did not stop within %s", p.Pid, timeout)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// stopped reports whether p is stopped, or no longer runs.
func stopped(p *os.Process) bool {
	if err := p.Signal(syscall.Signal(0)); err != nil {
		return true // exited
	}
	st, err := State(p.Pid)
	return err != nil || st == 'T' || st == 't' || st == 'Z' || st == 'X'
}

// Thaw continues every process of the group.
func (g *Group) Thaw() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frozen = false
	var errs []error
	for p := range g.procs {
		if err := p.Signal(syscall.SIGCONT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("procs: continue %d: %w", p.Pid, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w (and %d more)", errs[0], len(errs)-1)
	}
	return nil
}

// State returns the state letter of process pid from /proc/PID/stat: R,
// S, D, T (stopped), Z, ...
func State(pid int) (byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	_, st, ok := parseStat(string(b))
	if !ok {
		return 0, fmt.Errorf("procs: /proc/%d/stat: unexpected format", pid)
	}
	return st, nil
}

// parseStat returns the parent PID and the state of a /proc/PID/stat line:
// "pid (comm) state ppid ...", where comm may hold spaces and parentheses.
func parseStat(s string) (ppid int, state byte, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 || f[0] == "" {
		return 0, 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// Child is a child process of this process.
type Child struct {
	PID   int
	State byte // from /proc/PID/stat
}

// Children lists the live child processes of this process by scanning
// /proc; for measurements (make bench), not for steering a job.
func Children() ([]Child, error) {
	self := os.Getpid()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var out []Child
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		ppid, st, ok := parseStat(string(b))
		if !ok || ppid != self || st == 'Z' || st == 'X' {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		out = append(out, Child{PID: pid, State: st})
	}
	return out, nil
}
