package rav1e

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// A Session encodes one stream with flow control at the level of the
// librav1e API: it sends frames, passes every packet to a callback as soon
// as librav1e has it, and can be paused and resumed at any time.
//
// librav1e does all its work inside rav1e_send_frame and
// rav1e_receive_packet, so the session waits at a gate before each call
// into librav1e: while it is paused no call starts, and Pause returns only
// once the call in progress (if any) has returned. The latency of a pause
// is therefore one such call: a receive_packet encodes at most one frame
// plus its lookahead analysis, a send_frame runs scene detection on one
// frame (on every frame still in the lookahead at the flush). Measured on
// 2 vCPUs, the longest call took 140 ms at 320x180 speed 6 and 270 ms at
// 640x360 speed 6; a pause between calls returns at once.
//
// WriteFrame, SendFrame, NewFrame and Stop are for one goroutine at a time
// (the one feeding the session); Pause, Resume, Paused, Frames and Close
// may be called from any goroutine, also from the out callback.
type Session struct {
	ctx      context.Context
	out      func(*Packet) error
	layout   frameLayout
	stopWake func() bool // unregisters the context wake-up

	mu            sync.Mutex
	cond          sync.Cond // signalled when paused, busy or enc change, or ctx ends
	enc           *Encoder  // nil once stopped or closed
	paused        bool
	busy          bool  // a librav1e call is running
	err           error // the first error of out or of librav1e; the session is unusable after it
	in, delivered int
}

// NewSession opens an encoder for cfg. The session calls out with every
// packet, in order, from the goroutine that calls WriteFrame, SendFrame or
// Stop; an error from out stops the session and is returned by the call
// that was running and by every later one. ctx bounds the whole session:
// when it ends, the blocked or next call returns ctx.Err(), also while
// paused. Two-pass encoding (Config.FirstPass) is not supported by
// sessions. In a build without librav1e NewSession returns ErrUnavailable.
func NewSession(ctx context.Context, cfg Config, out func(*Packet) error) (*Session, error) {
	if !Available() {
		return nil, ErrUnavailable
	}
	if out == nil {
		return nil, errors.New("rav1e: NewSession: nil out func")
	}
	if cfg.FirstPass {
		return nil, &ConfigError{Setting: "first pass", Value: "true", Reason: "not supported by a Session; use an Encoder"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	enc, err := NewEncoder(cfg)
	if err != nil {
		return nil, err
	}
	s := &Session{ctx: ctx, out: out, layout: cfg.layout(), enc: enc}
	s.cond.L = &s.mu
	s.stopWake = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	return s, nil
}

// acquire waits until the session may call librav1e and marks it busy.
func (s *Session) acquire() (*Encoder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.err != nil:
			return nil, s.err
		case s.enc == nil:
			return nil, ErrClosed
		case s.ctx.Err() != nil:
			return nil, s.ctx.Err()
		case !s.paused && !s.busy:
			s.busy = true
			return s.enc, nil
		}
		s.cond.Wait()
	}
}

// gate waits while the session is paused.
func (s *Session) gate() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.err != nil:
			return s.err
		case s.enc == nil:
			return ErrClosed
		case s.ctx.Err() != nil:
			return s.ctx.Err()
		case !s.paused:
			return nil
		}
		s.cond.Wait()
	}
}

func (s *Session) release() {
	s.mu.Lock()
	s.busy = false
	s.cond.Broadcast()
	s.mu.Unlock()
}

// call runs fn, which makes librav1e calls, past the gate.
func (s *Session) call(fn func(*Encoder) error) error {
	enc, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()
	return fn(enc)
}

// fail records err as the session's error unless it is one that leaves the
// session as it was (closed, context ended), and returns it.
func (s *Session) fail(err error) error {
	if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	return err
}

// WriteFrame sends one frame, given as its planes in the Y4M layout (see
// Config.FrameSize), and then passes every packet that librav1e can
// produce without more input to out. It waits while the session is
// paused and returns ctx.Err() if the context ends first.
func (s *Session) WriteFrame(planes []byte) error {
	if n := s.layout.size(); len(planes) != n {
		return fmt.Errorf("rav1e: Y4M frame of %d bytes, want %d for %v", len(planes), n, s.layout)
	}
	err := s.call(func(enc *Encoder) error {
		f, err := enc.NewFrame()
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.FillY4M(planes); err != nil {
			return err
		}
		return enc.SendFrame(f)
	})
	if err != nil {
		return s.fail(err)
	}
	return s.sent()
}

// NewFrame returns an empty frame for SendFrame; Close it after sending.
// Filling the frame (a copy into librav1e's memory) is not gated by Pause.
func (s *Session) NewFrame() (*Frame, error) {
	var f *Frame
	err := s.call(func(enc *Encoder) (err error) {
		f, err = enc.NewFrame()
		return err
	})
	return f, err
}

// SendFrame is WriteFrame for a frame from NewFrame that the caller
// filled (and perhaps marked with ForceKeyframe). The caller still closes
// the frame.
func (s *Session) SendFrame(f *Frame) error {
	if f == nil {
		return errors.New("rav1e: Session.SendFrame: nil frame; use Stop to flush")
	}
	err := s.call(func(enc *Encoder) error { return enc.SendFrame(f) })
	if err != nil {
		return s.fail(err)
	}
	return s.sent()
}

// sent counts a frame sent and drains the packets it made available.
func (s *Session) sent() error {
	s.mu.Lock()
	s.in++
	s.mu.Unlock()
	return s.drain(false)
}

// drain receives packets and passes them to out until librav1e needs more
// input or, at the end, until it has given every packet.
func (s *Session) drain(final bool) error {
	for {
		var pkt *Packet
		err := s.call(func(enc *Encoder) (err error) {
			pkt, err = enc.ReceivePacket()
			return err
		})
		switch {
		case err == nil:
			// A Pause that came during the call holds the packet back
			// too: nothing reaches out after Pause returns.
			if err := s.gate(); err != nil {
				return s.fail(err)
			}
			if err := s.out(pkt); err != nil {
				return s.fail(err)
			}
			s.mu.Lock()
			s.delivered++
			s.mu.Unlock()
		case err == ErrEncoded:
		case err == ErrNeedMoreData && !final:
			return nil
		case err == ErrNeedMoreData:
			// Not expected after a flush; flush again, as the rav1e
			// program does when it runs out of input.
			if err := s.call(func(enc *Encoder) error { return enc.Flush() }); err != nil {
				return s.fail(err)
			}
		case err == ErrLimitReached && final:
			return nil
		default:
			return s.fail(err)
		}
	}
}

// Stop flushes the encoder, passes the remaining packets to out and frees
// the encoder. The flush is the slow part (it encodes every frame still in
// the lookahead), and pausing still applies to it: the loop waits at the
// gate before each librav1e call. Stop frees the encoder whatever happens;
// it returns the session's error, out's error, ctx.Err() if the context
// ended, or ErrClosed after Close or a previous Stop.
func (s *Session) Stop() error {
	err := s.call(func(enc *Encoder) error { return enc.Flush() })
	if err == nil {
		err = s.drain(true)
	} else {
		err = s.fail(err)
	}
	s.Close()
	return err
}

// Pause stops the session at the next gate and returns once no librav1e
// call of the session is running: from then on the session uses no CPU
// and out is not called until Resume (a packet received by the call that
// was running waits). Pausing a paused session does nothing. Pause may be called
// from out; the feeding goroutine then stops at its next librav1e call, so
// another goroutine must Resume (or end the context, or Close).
func (s *Session) Pause() {
	s.mu.Lock()
	s.paused = true
	for s.busy {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

// Resume lets a paused session continue.
func (s *Session) Resume() {
	s.mu.Lock()
	s.paused = false
	s.cond.Broadcast()
	s.mu.Unlock()
}

// Paused reports whether the session is paused.
func (s *Session) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// Frames returns the number of frames sent to the encoder and of packets
// passed to out. After a successful Stop they are equal.
func (s *Session) Frames() (in, out int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.in, s.delivered
}

// Close frees the encoder without flushing: the packets not yet delivered
// are lost. It waits for a librav1e call in progress, wakes a WriteFrame
// blocked by a pause (which then returns ErrClosed), and is idempotent.
func (s *Session) Close() {
	s.mu.Lock()
	for s.busy {
		s.cond.Wait()
	}
	enc := s.enc
	s.enc = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	if enc != nil {
		s.stopWake()
		enc.Close()
	}
}
