package encode

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/rav1e"
)

// Lib encodes in-process with librav1e (package rav1e), one encoder per
// chunk. With --tune Psnr it gives the same bits as the rav1e program of
// the same version. With the default tune (psychovisual) the bits differ:
// the program also turns off rav1e's transform-domain distortion, which
// librav1e 0.5.1's configuration cannot reach. That is why the backend is
// part of a job's fingerprint.
type Lib struct{}

// Name returns "librav1e".
func (Lib) Name() string { return "librav1e" }

// InProcess returns true: librav1e runs inside av1job.
func (Lib) InProcess() bool { return true }

// Programs returns nothing: no program is run.
func (Lib) Programs() []string { return nil }

// Check validates the settings, and that every pass-through argument is
// one of the rav1e program's that librav1e can take.
func (l Lib) Check(s Settings) error {
	if !rav1e.Available() {
		return ErrNoLib
	}
	if err := checkRange(l, s); err != nil {
		return err
	}
	if err := noGrain("librav1e 0.5.1", s); err != nil {
		return err
	}
	if err := CheckExtra(s.Extra); err != nil {
		return err
	}
	_, err := LibConfig(source.Header{Width: 64, Height: 64, RateNum: 25, RateDen: 1, Colorspace: "420"}, s)
	return err
}

// Scales returns rav1e's scales: librav1e is the same encoder.
func (Lib) Scales() Scales { return rav1eScales }

// Memory estimates a librav1e encoder's memory: the rav1e program's
// estimate (the same encoder, the same buffers).
func (Lib) Memory(width, height, bitDepth int) int64 {
	return Rav1e{}.Memory(width, height, bitDepth)
}

// Trial encodes one black frame in-process with the job's settings.
func (Lib) Trial(ctx context.Context, hdr source.Header, s Settings) error {
	if !rav1e.Available() {
		return ErrNoLib
	}
	size, err := hdr.FrameSize()
	if err != nil {
		return err
	}
	cfg, err := LibConfig(hdr, s)
	if err != nil {
		return err
	}
	sess, err := rav1e.NewSession(ctx, cfg, func(*rav1e.Packet) error { return nil })
	if err != nil {
		return fmt.Errorf("librav1e: %w", err)
	}
	defer sess.Close()
	if err := sess.WriteFrame(make([]byte, size)); err != nil {
		return fmt.Errorf("librav1e: %w", err)
	}
	if err := sess.Stop(); err != nil {
		return fmt.Errorf("librav1e: %w", err)
	}
	return nil
}

// Version returns librav1e's version, "X.Y.Z".
func (Lib) Version(context.Context) (string, error) {
	if !rav1e.Available() {
		return "", ErrNoLib
	}
	return semver(rav1e.Version()), nil
}

// ErrNoLib is returned by the librav1e backend of a build without it.
var ErrNoLib = errors.New("this av1job was built without librav1e (build tag nolibrav1e or CGO_ENABLED=0); use --backend process")

// semver returns the leading "X.Y.Z" of a version string.
func semver(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "rav1e ")
	if i := strings.IndexAny(v, " ("); i >= 0 {
		v = v[:i]
	}
	return strings.TrimPrefix(v, "v")
}

// Start begins an in-process encoder for one chunk.
func (Lib) Start(ctx context.Context, hdr source.Header, s Settings, sink Sink) (Session, error) {
	if !rav1e.Available() {
		return nil, ErrNoLib
	}
	cfg, err := LibConfig(hdr, s)
	if err != nil {
		return nil, err
	}
	l := &libSession{sink: sink}
	sess, err := rav1e.NewSession(ctx, cfg, l.packet)
	if err != nil {
		return nil, fmt.Errorf("librav1e: %w", err)
	}
	l.sess = sess
	// The same IVF header the rav1e program writes.
	if err := sink.Header(ivf.AV1Header(hdr.Width, hdr.Height, uint32(hdr.RateNum), uint32(hdr.RateDen))); err != nil {
		sess.Close()
		return nil, err
	}
	return l, nil
}

type libSession struct {
	sess *rav1e.Session
	sink Sink
	serr error // the sink's error, returned as it is
}

// packet passes one packet to the sink as a temporal unit whose timestamp
// is its input frame number, as the rav1e program writes it.
func (l *libSession) packet(p *rav1e.Packet) error {
	if err := l.sink.Frame(ivf.Frame{PTS: p.Input, Data: p.Data}); err != nil {
		l.serr = err
		return err
	}
	return nil
}

func (l *libSession) WriteFrame(planes []byte) error {
	if err := l.sess.WriteFrame(planes); err != nil {
		return l.fail(err)
	}
	return nil
}

func (l *libSession) Close() error {
	if err := l.sess.Stop(); err != nil {
		return l.fail(err)
	}
	return nil
}

func (l *libSession) fail(err error) error {
	if l.serr != nil {
		return l.serr
	}
	return fmt.Errorf("librav1e: %w", err)
}

func (l *libSession) Abort() { l.sess.Close() }

// Pause halts the encoder between two librav1e calls; it returns once no
// call runs.
func (l *libSession) Pause() { l.sess.Pause() }

// Resume lets a paused encoder continue.
func (l *libSession) Resume() { l.sess.Resume() }

var _ Pauser = (*libSession)(nil)
