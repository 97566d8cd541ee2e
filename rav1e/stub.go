//go:build !cgo || nolibrav1e

package rav1e

// This file stands in for encoder.go in builds without librav1e: the same
// API, with NewEncoder returning ErrUnavailable.

// Available reports whether the package was built with librav1e: false in
// this build.
func Available() bool { return false }

// Version returns "" in a build without librav1e.
func Version() string { return "" }

// An Encoder is one librav1e encoding context. In a build without
// librav1e none can be opened.
type Encoder struct{}

// NewEncoder returns ErrUnavailable in a build without librav1e.
func NewEncoder(cfg Config) (*Encoder, error) { return nil, ErrUnavailable }

// Config returns the zero Config in a build without librav1e.
func (e *Encoder) Config() Config { return Config{} }

// NewFrame returns ErrUnavailable in a build without librav1e.
func (e *Encoder) NewFrame() (*Frame, error) { return nil, ErrUnavailable }

// SendFrame returns ErrUnavailable in a build without librav1e.
func (e *Encoder) SendFrame(f *Frame) error { return ErrUnavailable }

// Flush returns ErrUnavailable in a build without librav1e.
func (e *Encoder) Flush() error { return ErrUnavailable }

// ReceivePacket returns ErrUnavailable in a build without librav1e.
func (e *Encoder) ReceivePacket() (*Packet, error) { return nil, ErrUnavailable }

// SequenceHeader returns ErrUnavailable in a build without librav1e.
func (e *Encoder) SequenceHeader() ([]byte, error) { return nil, ErrUnavailable }

// TwoPassOut returns ErrUnavailable in a build without librav1e.
func (e *Encoder) TwoPassOut() ([]byte, error) { return nil, ErrUnavailable }

// TwoPassBytesNeeded returns ErrUnavailable in a build without librav1e.
func (e *Encoder) TwoPassBytesNeeded() (int, error) { return 0, ErrUnavailable }

// TwoPassIn returns ErrUnavailable in a build without librav1e.
func (e *Encoder) TwoPassIn(data []byte) (int, error) { return 0, ErrUnavailable }

// Close does nothing in a build without librav1e.
func (e *Encoder) Close() error { return nil }

// A Frame is one picture for an Encoder. In a build without librav1e none
// can be made.
type Frame struct{}

// FillPlane panics with ErrUnavailable in a build without librav1e.
func (f *Frame) FillPlane(plane int, data []byte, stride, bytesPerSample int) {
	panic(ErrUnavailable)
}

// FillY4M returns ErrUnavailable in a build without librav1e.
func (f *Frame) FillY4M(planes []byte) error { return ErrUnavailable }

// ForceKeyframe does nothing in a build without librav1e.
func (f *Frame) ForceKeyframe() {}

// Close does nothing in a build without librav1e.
func (f *Frame) Close() {}
