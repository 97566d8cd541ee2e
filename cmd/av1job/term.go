package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/av1job/av1job"
)

// keys makes the terminal deliver key presses at once (no line editing,
// no echo; Ctrl+C and Ctrl+Z still send signals) and toggles the job's
// pause on "p". It returns a function that undoes it.
func keys(jb *av1job.Job, toggled func(paused bool)) (restore func()) {
	fd := int(os.Stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	cbreak := func() {
		t := *old
		t.Lflag &^= unix.ICANON | unix.ECHO
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		_ = unix.IoctlSetTermios(fd, unix.TCSETS, &t)
	}
	cooked := func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
	cbreak()

	go func() {
		b := make([]byte, 1)
		for {
			if n, err := os.Stdin.Read(b); err != nil || n == 0 {
				return
			}
			if b[0] == 'p' || b[0] == 'P' {
				// The job may have been paused or resumed over the control
				// socket meanwhile: toggle what it is, not what it was.
				if jb.Paused() {
					_ = jb.Resume()
				} else {
					_ = jb.Pause()
				}
				toggled(jb.Paused())
			}
		}
	}()

	stopCont := suspendable(jb, cbreak, cooked)
	return func() {
		stopCont()
		cooked()
	}
}

// suspendable makes Ctrl+Z (SIGTSTP) freeze the job's processes and then
// stop av1job itself; on fg (SIGCONT) they continue, unless the job was
// paused on request. before and after adjust the terminal, if any.
func suspendable(jb *av1job.Job, after, before func()) (undo func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTSTP, syscall.SIGCONT)
	go func() {
		for s := range ch {
			switch s {
			case syscall.SIGTSTP:
				_ = jb.Freeze()
				before()
				_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
			case syscall.SIGCONT:
				after()
				_ = jb.Thaw()
			}
		}
	}()
	return func() { signal.Stop(ch) }
}
