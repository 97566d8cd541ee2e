package encode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/tools"
)

// Rav1e encodes with the rav1e command-line program, one process per chunk.
type Rav1e struct{}

// Name returns "rav1e".
func (Rav1e) Name() string { return "rav1e" }

// InProcess returns false: each chunk runs a rav1e process.
func (Rav1e) InProcess() bool { return false }

// Programs returns the rav1e program.
func (Rav1e) Programs() []string { return []string{tools.Rav1e} }

// Check validates the settings and the pass-through arguments against the
// program's option table.
func (Rav1e) Check(s Settings) error {
	if err := checkRange(s); err != nil {
		return err
	}
	return CheckExtra(s.Extra)
}

// Memory estimates a rav1e process's resident memory: a fixed part plus
// frame buffers for the lookahead and reference frames, and ffmpeg's
// decoder.
func (Rav1e) Memory(width, height, bitDepth int) int64 {
	sample := int64(1)
	if bitDepth > 8 {
		sample = 2
	}
	frame := int64(width) * int64(height) * 3 / 2 * sample
	return 64<<20 + frame*120
}

// Trial runs rav1e on one grey frame with the job's settings: the program
// refuses a bad value, or panics on settings it cannot encode, before any
// chunk starts.
func (r Rav1e) Trial(ctx context.Context, hdr source.Header, s Settings) error {
	size, err := hdr.FrameSize()
	if err != nil {
		return err
	}
	s.Threads = max(s.Threads, 1) // as a chunk is run
	cmd, err := tools.Command(ctx, tools.Rav1e, Args(s)...)
	if err != nil {
		return err
	}
	in := new(bytes.Buffer)
	in.Write(hdr.Raw)
	in.WriteString("\nFRAME\n")
	in.Write(make([]byte, size)) // black: a valid sample at every depth
	cmd.Stdin = in
	cmd.Stdout = io.Discard
	stderr := tools.NewTail(4096)
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return tools.RunError("rav1e", err, stderr)
	}
	return nil
}

// Version returns "X.Y.Z" from `rav1e --version`.
func (Rav1e) Version(ctx context.Context) (string, error) {
	out, err := tools.Output(ctx, tools.Rav1e, "--version")
	if err != nil {
		return "", err
	}
	return semver(strings.SplitN(string(out), "\n", 2)[0]), nil
}

// Args returns rav1e's arguments for s: read Y4M from stdin, write IVF to
// stdout, one keyframe at the first frame. rav1e refuses an option given
// twice, so an option the pass-through arguments also give is left to
// them (--threads, --quiet, --no-scene-detection, the colour description).
func Args(s Settings) []string {
	user := map[string]bool{}
	parsed, _ := parseArgs(s.Extra) // checked by Check
	for _, a := range parsed {
		user[a.Name] = true
	}
	args := []string{"-", "-o", "-", "--keyint", "0", "--speed", strconv.Itoa(s.Speed)}
	for _, flag := range []string{"--quiet", "--no-scene-detection"} {
		if !user[flag] {
			args = append(args, flag)
		}
	}
	if s.Bitrate > 0 {
		args = append(args, "--bitrate", strconv.Itoa(s.Bitrate))
	} else {
		args = append(args, "--quantizer", strconv.Itoa(s.Quantizer))
	}
	if s.Threads > 0 && !user["--threads"] {
		args = append(args, "--threads", strconv.Itoa(s.Threads))
	}
	args = append(args, colorArgs(s, user)...)
	return append(args, s.Extra...)
}

// colorArgs signals the source's colour description in the AV1 sequence
// header, and its HDR10 static metadata in metadata OBUs, unless the
// pass-through arguments set them.
func colorArgs(s Settings, user map[string]bool) []string {
	var args []string
	add := func(flag string, table map[string]string, v string) {
		if r, ok := table[v]; ok && !user[flag] {
			args = append(args, flag, r)
		}
	}
	add("--primaries", primaries, s.Color.Primaries)
	add("--transfer", transfers, s.Color.Transfer)
	add("--matrix", matrices, s.Color.Matrix)
	if s.FullRange && !user["--range"] {
		args = append(args, "--range", "Full")
	}
	if m := s.HDR.Mastering; m != nil && !user["--mastering-display"] {
		args = append(args, "--mastering-display", m.String())
	}
	if l := s.HDR.Light; l != nil && !user["--content-light"] {
		args = append(args, "--content-light", l.String())
	}
	return args
}

// Start runs rav1e for one chunk.
func (Rav1e) Start(ctx context.Context, hdr source.Header, s Settings, sink Sink) (Session, error) {
	cmd, err := tools.Command(ctx, tools.Rav1e, Args(s)...)
	if err != nil {
		return nil, err
	}
	stderr := tools.NewTail(8192)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("rav1e: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("rav1e: %w", err)
	}
	if n, err := hdr.FrameSize(); err == nil {
		tools.FramePipe(stdin, n)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rav1e: start: %w", err)
	}
	p := &procSession{cmd: cmd, stderr: stderr, stdin: bufio.NewWriterSize(stdin, 1<<20), stdinC: stdin, readDone: make(chan error, 1)}
	go func() { p.readDone <- readIVF(stdout, sink) }()
	if _, err := fmt.Fprintf(p.stdin, "%s\n", hdr.Raw); err != nil {
		p.Abort()
		return nil, p.fail(fmt.Errorf("write header: %w", err))
	}
	return p, nil
}

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

type procSession struct {
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
	// Each frame goes to rav1e whole, at once: it reads one frame per
	// frame it encodes, and waits for one that is not in its pipe.
	if err := p.stdin.Flush(); err != nil {
		return p.fail(fmt.Errorf("write frame: %w", err))
	}
	return nil
}

// fail turns a broken pipe into rav1e's own exit error when it has died.
func (p *procSession) fail(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		if werr := p.wait(); werr != nil {
			return werr
		}
	}
	return fmt.Errorf("rav1e: %w", err)
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
		return fmt.Errorf("rav1e: write: %w", ferr)
	case cerr != nil:
		return fmt.Errorf("rav1e: close input: %w", cerr)
	case rerr != nil:
		return fmt.Errorf("rav1e: output: %w", rerr)
	}
	return nil
}

func (p *procSession) wait() error {
	p.once.Do(func() {
		if err := p.cmd.Wait(); err != nil {
			p.waitErr = tools.RunError("rav1e", err, p.stderr)
		}
	})
	return p.waitErr
}

// Abort kills rav1e and waits until the output reader has stopped
// touching the sink.
func (p *procSession) Abort() {
	_ = p.cmd.Process.Kill()
	_ = p.stdinC.Close()
	r := <-p.readDone
	p.readDone <- r
	_ = p.wait()
}
