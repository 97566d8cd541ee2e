// Package tools finds the external programs av1job drives (ffmpeg, ffprobe,
// rav1e, dav1d) and runs them with a bounded, cancellable lifetime.
//
// Each program can be replaced through an environment variable
// (AV1JOB_FFMPEG, AV1JOB_FFPROBE, AV1JOB_RAV1E, AV1JOB_DAV1D), which tests use
// to put fault-injecting stand-ins in place of the real programs.
package tools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/av1job/av1job/internal/procs"
)

// Names of the programs av1job uses.
const (
	FFmpeg  = "ffmpeg"
	FFprobe = "ffprobe"
	Rav1e   = "rav1e"
	Dav1d   = "dav1d"
	SvtAv1  = "SvtAv1EncApp"
	Aomenc  = "aomenc"
)

// debianPackage names the Debian package that installs each program.
var debianPackage = map[string]string{
	FFmpeg:  "ffmpeg",
	FFprobe: "ffmpeg",
	Rav1e:   "rav1e",
	Dav1d:   "dav1d",
	SvtAv1:  "svt-av1",
	Aomenc:  "aom-tools",
}

// MissingError reports a program that is not installed.
type MissingError struct {
	Name string
}

func (e *MissingError) Error() string {
	pkg := debianPackage[e.Name]
	if pkg == "" {
		pkg = e.Name
	}
	return fmt.Sprintf("%s not found in PATH (install the Debian package %s, or run scripts/install-deps.sh)", e.Name, pkg)
}

// Path returns the program to run for name: the value of AV1JOB_<NAME> when
// set, else name looked up in PATH. It returns a *MissingError when the
// program cannot be found.
func Path(name string) (string, error) {
	if p := os.Getenv("AV1JOB_" + strings.ToUpper(name)); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("AV1JOB_%s=%s: %w", strings.ToUpper(name), p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", &MissingError{Name: name}
	}
	return p, nil
}

// Check returns an error for the first of names that is not installed.
func Check(names ...string) error {
	for _, n := range names {
		if _, err := Path(n); err != nil {
			return err
		}
	}
	return nil
}

// Cmd is a program run for av1job: an exec.Cmd whose Start and Wait also
// enter it into, and remove it from, the process group of the job its
// context names (WithGroup), so that the job can freeze it.
type Cmd struct {
	*exec.Cmd
	group *procs.Group
}

// Command returns a Cmd for name that is tied to ctx: on cancellation the
// process gets SIGTERM (and SIGCONT, should it be frozen), and SIGKILL if
// it has not exited 5 s later. The
// process also gets SIGKILL if av1job itself dies (Linux parent-death
// signal).
func Command(ctx context.Context, name string, args ...string) (*Cmd, error) {
	p, err := Path(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Cancel = func() error {
		err := cmd.Process.Signal(syscall.SIGTERM)
		// A frozen process (a paused job's) takes the signal only once
		// it runs again: without this it would be killed WaitDelay later.
		_ = cmd.Process.Signal(syscall.SIGCONT)
		return err
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = sysProcAttr()
	g, _ := ctx.Value(groupKey{}).(*procs.Group)
	return &Cmd{Cmd: cmd, group: g}, nil
}

// Start starts the command, as a member of its job's process group.
func (c *Cmd) Start() error {
	if c.group == nil {
		return c.Cmd.Start()
	}
	return c.group.Start(c.Cmd)
}

// Wait waits for the command to exit and removes it from its group.
func (c *Cmd) Wait() error {
	err := c.Cmd.Wait()
	if c.group != nil {
		c.group.Done(c.Cmd)
	}
	return err
}

// FramePipe sizes the pipe p (an exec.Cmd's StdinPipe or StdoutPipe)
// to hold two frames of frameSize bytes, up to MaxPipe. With the default
// 64 KiB, less than one 640x360 frame fits: an encoder that has finished
// a frame waits while its feeder decodes and copies the next one. Two
// frames keep it busy without holding more than that between the two
// programs (what a kill loses beyond the encoder's own look-ahead). The
// size is a hint: a refusal (the user's pipe quota) leaves the default.
func FramePipe(p any, frameSize int) {
	if size := min(2*frameSize, MaxPipe); size > 64<<10 {
		growPipe(p, size)
	}
}

// MaxPipe is the largest pipe FramePipe asks for: Linux's default
// pipe-max-size.
const MaxPipe = 1 << 20

// Run starts the command and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// CombinedOutput runs the command and returns its standard output and
// standard error together.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	var b bytes.Buffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.Bytes(), err
}

// Output runs the command and returns its standard output.
func (c *Cmd) Output() ([]byte, error) {
	var b bytes.Buffer
	c.Stdout = &b
	err := c.Run()
	return b.Bytes(), err
}

type groupKey struct{}

// WithGroup returns a context whose commands start in the process group g
// (package procs): the job's processes, which it freezes and thaws.
func WithGroup(ctx context.Context, g *procs.Group) context.Context {
	return context.WithValue(ctx, groupKey{}, g)
}

// Output runs name with args and returns its standard output. A non-zero
// exit becomes an error that carries the last lines of standard error.
func Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd, err := Command(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	var stdout bytes.Buffer
	stderr := NewTail(4096)
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), RunError(name, err, stderr)
	}
	return stdout.Bytes(), nil
}

// RunError wraps a failed run of name with the telling line of its
// standard error (see Message).
func RunError(name string, err error, stderr *Tail) error {
	msg := strings.TrimSpace(stderr.String())
	var ee *exec.ExitError
	if errors.As(err, &ee) && msg != "" {
		return fmt.Errorf("%s: %s: %w", name, Message(msg), err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Message picks the line of a program's standard error that says what
// went wrong: an "error:" line (argument parsers), SVT-AV1's
// "[SVT-Error]:", "Svt[error]:" or "Error instance N:" line, aomenc's
// "Option X: Invalid value" line, or a Rust panic's message, before the usage text or
// backtrace notes that follow them; else the last line.
func Message(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		low := strings.ToLower(l)
		if strings.HasPrefix(low, "error:") || strings.HasPrefix(low, "[svt-error]") || strings.HasPrefix(low, "svt[error]") || strings.HasPrefix(low, "error instance") ||
			(strings.HasPrefix(low, "option ") && strings.Contains(low, ": invalid")) || strings.Contains(l, "panicked at") {
			return l
		}
	}
	return LastLine(stderr)
}

// Clean strips what ffmpeg puts before a message: "[matroska,webm @
// 0x55...] " and "path: ".
func Clean(line, path string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "[") {
		if i := strings.Index(line, "] "); i > 0 && strings.Contains(line[:i], " @ ") {
			line = line[i+2:]
		}
	}
	if path != "" {
		line = strings.TrimPrefix(line, path+": ")
	}
	return line
}

// LastLine returns the last non-empty line of s.
func LastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}
