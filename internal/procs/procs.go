// Package procs freezes and thaws the child processes of av1job (the
// ffmpeg readers, the encoders, the decoders that check chunks) with
// SIGSTOP and SIGCONT. Each child leads its own process group (package
// tools starts them so), and the children are found through /proc, so no
// registry can miss one: Freeze scans until every child is stopped.
package procs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Child is a child process of this process.
type Child struct {
	PID   int
	State byte // from /proc/PID/stat: R, S, D, T (stopped), Z, ...
}

// EnvKey is the environment variable that marks a child with the job it
// belongs to (see tools.WithJob).
const EnvKey = "AV1JOB_JOB_ID" // = tools.JobEnv

// Children lists the live child processes of this process that belong to
// job (all of them for an empty job).
func Children(job string) ([]Child, error) {
	self := os.Getpid()
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var out []Child
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if ppid != self || f[0] == "Z" || f[0] == "X" {
			continue
		}
		pid, _ := strconv.Atoi(strings.Fields(s)[0])
		if job != "" && !hasEnv(pid, EnvKey+"="+job) {
			continue
		}
		out = append(out, Child{PID: pid, State: f[0][0]})
	}
	return out, nil
}

// hasEnv reports whether process pid was started with the variable kv.
func hasEnv(pid int, kv string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, e := range strings.Split(string(b), "\x00") {
		if e == kv {
			return true
		}
	}
	return false
}

// signal sends sig to the process group a child leads, or to the child
// alone if it leads none.
func signal(pid int, sig syscall.Signal) error {
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		return syscall.Kill(-pid, sig)
	}
	return syscall.Kill(pid, sig)
}

// Freeze stops every child process of job and returns once all of them
// are stopped (or timeout passes: then it says how many still run).
func Freeze(job string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cs, err := Children(job)
		if err != nil {
			return fmt.Errorf("procs: %w", err)
		}
		running := 0
		for _, c := range cs {
			if c.State != 'T' && c.State != 't' {
				running++
				if err := signal(c.PID, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
					return fmt.Errorf("procs: stop %d: %w", c.PID, err)
				}
			}
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("procs: %d processes did not stop", running)
		}
		time.Sleep(time.Millisecond)
	}
}

// Thaw continues every child process of job.
func Thaw(job string) error {
	cs, err := Children(job)
	if err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	for _, c := range cs {
		if err := signal(c.PID, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("procs: continue %d: %w", c.PID, err)
		}
	}
	return nil
}
