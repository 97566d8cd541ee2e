package rav1e

import (
	"errors"
	"strconv"
)

// Status is an encoder status code of librav1e (RaEncoderStatus).
type Status int

// The encoder status codes, with librav1e's values.
const (
	StatusSuccess      Status = 0  // normal operation
	StatusNeedMoreData Status = 1  // send more frames before a packet can come out
	StatusEnoughData   Status = 2  // the encoder takes no more frames
	StatusLimitReached Status = 3  // every packet has been received
	StatusEncoded      Status = 4  // a frame was encoded but no packet is ready
	StatusFailure      Status = -1 // a fatal error
	StatusNotReady     Status = -2 // two-pass data missing
)

// String returns a short description of the status.
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "success"
	case StatusNeedMoreData:
		return "need more data"
	case StatusEnoughData:
		return "enough data"
	case StatusLimitReached:
		return "limit reached"
	case StatusEncoded:
		return "encoded"
	case StatusFailure:
		return "failure"
	case StatusNotReady:
		return "not ready (two-pass data not retrieved or not provided)"
	}
	return "status " + strconv.Itoa(int(s))
}

// An Error is a status other than success returned by a librav1e call.
// The status errors below are *Error values without an Op; errors.Is
// matches any *Error of the same Status against them.
type Error struct {
	Op     string // the librav1e call, e.g. "send_frame"; empty in the sentinels
	Status Status
}

// Error returns "rav1e: OP: STATUS", e.g. "rav1e: send_frame: failure".
func (e *Error) Error() string {
	if e.Op == "" {
		return "rav1e: " + e.Status.String()
	}
	return "rav1e: " + e.Op + ": " + e.Status.String()
}

// Is reports whether target is a status error of the same Status.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Status == e.Status
}

// The status errors. ReceivePacket and SendFrame return these very values
// for the non-fatal statuses, so both == and errors.Is work; a failure is
// an *Error with its Op that errors.Is matches to ErrFailure.
var (
	// ErrNeedMoreData: the encoder needs another frame (or a Flush)
	// before the next packet; send one, then receive again.
	ErrNeedMoreData error = &Error{Status: StatusNeedMoreData}
	// ErrEnoughData: SendFrame after Flush (or a second frame of a still
	// picture). The frame was not taken.
	ErrEnoughData error = &Error{Status: StatusEnoughData}
	// ErrLimitReached: after Flush, every packet has been received.
	ErrLimitReached error = &Error{Status: StatusLimitReached}
	// ErrEncoded: a frame was encoded but produced no packet yet (a
	// hidden frame); call ReceivePacket again.
	ErrEncoded error = &Error{Status: StatusEncoded}
	// ErrNotReady: in a two-pass encode, TwoPassOut was not called or
	// TwoPassIn was not given enough data before ReceivePacket.
	ErrNotReady error = &Error{Status: StatusNotReady}
	// ErrFailure matches the fatal status of any call.
	ErrFailure error = &Error{Status: StatusFailure}
)

// ErrUnavailable is returned by NewEncoder and NewSession in a build
// without librav1e (build tag nolibrav1e, or CGO_ENABLED=0).
var ErrUnavailable = errors.New("rav1e: built without librav1e (build tag nolibrav1e or cgo disabled)")

// ErrClosed is returned by the methods of a closed Encoder, Frame or
// Session.
var ErrClosed = errors.New("rav1e: use of a closed encoder, frame or session")

// ErrFrameSent is returned by Frame.FillY4M for a frame that was already
// sent: the encoder keeps the frame's pixels, so a new picture needs a new
// Frame.
var ErrFrameSent = errors.New("rav1e: frame already sent to the encoder; use a new Frame")

// statusError maps a librav1e status to nil or to an error.
func statusError(op string, st Status) error {
	switch st {
	case StatusSuccess:
		return nil
	case StatusNeedMoreData:
		return ErrNeedMoreData
	case StatusEnoughData:
		return ErrEnoughData
	case StatusLimitReached:
		return ErrLimitReached
	case StatusEncoded:
		return ErrEncoded
	case StatusNotReady:
		return ErrNotReady
	}
	return &Error{Op: op, Status: st}
}
