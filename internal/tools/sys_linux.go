package tools

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr makes a child die with av1job (parent-death signal) and
// puts it in a process group of its own: a Ctrl+C or Ctrl+Z at the
// terminal reaches av1job alone, which stops or freezes its children in
// order (package procs).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// growPipe asks the kernel for a pipe buffer of size bytes (F_SETPIPE_SZ).
// It is a hint: a refusal (the user's pipe quota, the system's
// pipe-max-size) leaves the default 64 KiB.
func growPipe(p any, size int) {
	sc, ok := p.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size)
	})
}
