package tools

import "syscall"

// sysProcAttr makes a child die with av1job (parent-death signal) and
// puts it in a process group of its own: a Ctrl+C or Ctrl+Z at the
// terminal reaches av1job alone, which stops or freezes its children in
// order (package procs).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
