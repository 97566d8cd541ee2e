package encode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/tools"
)

// The encoders that run as a program per chunk (rav1e, SvtAv1EncApp,
// aomenc) share one pipeline: av1job writes the chunk's Y4M to the
// program's stdin, a frame at a time, and reads its IVF from stdout, a
// temporal unit at a time:
//
//	WriteFrame ──Y4M──▶ program ──IVF──▶ readIVF ──▶ Sink
//
// Close closes stdin (every program flushes its lookahead at the end of
// its input), waits for readIVF to pass on the last unit, then for the
// program. A paused job freezes the program with SIGSTOP (it is in the
// job's process group: tools.Command); a kill leaves the sink with every
// whole unit read so far.

// startProgram runs prog (named name in errors) with args for one chunk
// whose frames hdr describes, its output going to sink.
func startProgram(ctx context.Context, name, prog string, args []string, hdr source.Header, sink Sink) (Session, error) {
	cmd, err := tools.Command(ctx, prog, args...)
	if err != nil {
		return nil, err
	}
	stderr := tools.NewTail(8192)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if n, err := hdr.FrameSize(); err == nil {
		tools.FramePipe(stdin, n)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start: %w", name, err)
	}
	p := &procSession{name: name, cmd: cmd, stderr: stderr, stdin: bufio.NewWriterSize(stdin, 1<<20), stdinC: stdin, readDone: make(chan error, 1)}
	go func() { p.readDone <- readIVF(stdout, sink) }()
	if _, err := fmt.Fprintf(p.stdin, "%s\n", hdr.Raw); err != nil {
		p.Abort()
		return nil, p.fail(fmt.Errorf("write header: %w", err))
	}
	return p, nil
}

// trialProgram runs prog with args on one black frame (a valid sample at
// every depth) of size bytes: the program refuses a bad value, or fails
// on settings it cannot encode, before any chunk starts. A program that
// exits 0 without a temporal unit (SvtAv1EncApp does, on some settings it
// refuses) fails the trial too.
func trialProgram(ctx context.Context, name, prog string, args []string, hdr source.Header, size int) error {
	cmd, err := tools.Command(ctx, prog, args...)
	if err != nil {
		return err
	}
	in := new(bytes.Buffer)
	in.Write(hdr.Raw)
	in.WriteString("\nFRAME\n")
	in.Write(make([]byte, size))
	cmd.Stdin = in
	out := new(bytes.Buffer)
	cmd.Stdout = out
	stderr := tools.NewTail(4096)
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return tools.RunError(name, err, stderr)
	}
	units := &countSink{}
	if err := readIVF(out, units); err != nil || units.n != 1 {
		return fmt.Errorf("%s: %s (one frame in, %d temporal units out)", name, tools.Message(stderr.String()), units.n)
	}
	return nil
}

// countSink counts the temporal units it gets.
type countSink struct{ n int }

func (c *countSink) Header(ivf.Header) error { return nil }
func (c *countSink) Frame(ivf.Frame) error   { c.n++; return nil }

// readIVF passes the IVF stream on r to sink, then drains r so that the
// encoder never blocks on a full pipe.
func readIVF(r io.Reader, sink Sink) error {
	defer io.Copy(io.Discard, r) //nolint:errcheck // draining only
	rd, err := ivf.NewReader(r)
	if err != nil {
		return err
	}
	if err := sink.Header(rd.Header()); err != nil {
		return &sinkError{err}
	}
	for {
		f, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := sink.Frame(f); err != nil {
			return &sinkError{err}
		}
	}
}

// sinkError is a failure of the sink (av1job's own writing), not of the
// encoder; Close returns it as it is.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// procSession is a program's Session.
type procSession struct {
	name     string // as errors name it
	cmd      *tools.Cmd
	stderr   *tools.Tail
	stdin    *bufio.Writer
	stdinC   io.Closer
	readDone chan error
	once     sync.Once
	waitErr  error
}

func (p *procSession) WriteFrame(planes []byte) error {
	if _, err := p.stdin.WriteString("FRAME\n"); err != nil {
		return p.fail(fmt.Errorf("write frame: %w", err))
	}
	if _, err := p.stdin.Write(planes); err != nil {
		return p.fail(fmt.Errorf("write frame: %w", err))
	}
	// Each frame goes to the program whole, at once: rav1e reads one
	// frame per frame it encodes, and waits for one that is not in its
	// pipe.
	if err := p.stdin.Flush(); err != nil {
		return p.fail(fmt.Errorf("write frame: %w", err))
	}
	return nil
}

// fail turns a broken pipe into the program's own exit error when it has
// died.
func (p *procSession) fail(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		if werr := p.wait(); werr != nil {
			return werr
		}
	}
	return fmt.Errorf("%s: %w", p.name, err)
}

func (p *procSession) Close() error {
	ferr := p.stdin.Flush()
	cerr := p.stdinC.Close()
	rerr := <-p.readDone
	p.readDone <- rerr
	werr := p.wait()
	var se *sinkError
	if errors.As(rerr, &se) {
		return se.err
	}
	switch {
	case werr != nil:
		return werr
	case ferr != nil:
		return fmt.Errorf("%s: write: %w", p.name, ferr)
	case cerr != nil:
		return fmt.Errorf("%s: close input: %w", p.name, cerr)
	case rerr != nil:
		return fmt.Errorf("%s: output: %w", p.name, rerr)
	}
	return nil
}

func (p *procSession) wait() error {
	p.once.Do(func() {
		if err := p.cmd.Wait(); err != nil {
			p.waitErr = tools.RunError(p.name, err, p.stderr)
		}
	})
	return p.waitErr
}

// Abort kills the program and waits until the output reader has stopped
// touching the sink.
func (p *procSession) Abort() {
	_ = p.cmd.Process.Kill()
	_ = p.stdinC.Close()
	r := <-p.readDone
	p.readDone <- r
	_ = p.wait()
}
