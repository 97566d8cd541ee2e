package tools

import "syscall"

// sysProcAttr makes a child die with av1job.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
