package encode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/internal/verify"
	"github.com/av1job/av1job/rav1e"
)

// psnr makes the backends' bits identical.
var psnr = []string{"--tune", "Psnr"}

// backends are the encoders the conformance suite runs against.
// hdr10 is HDR10 static metadata in AV1's units, each value odd or
// off a round number so that a unit lost in a conversion shows.
var hdr10 = probe.HDR{
	Mastering: &probe.Mastering{Primaries: [3][2]uint16{{44564, 20972}, {17367, 45220}, {9830, 3933}},
		WhitePoint: [2]uint16{20493, 21561}, MaxLuminance: 256001, MinLuminance: 3},
	Light: &probe.ContentLight{MaxCLL: 1001, MaxFALL: 399},
}

func backends(t *testing.T) map[string]Encoder {
	t.Helper()
	if err := tools.Check(tools.FFmpeg, tools.Rav1e, tools.Dav1d); err != nil {
		t.Skip(err)
	}
	b := map[string]Encoder{"process": Rav1e{}}
	if rav1e.Available() {
		b["lib"] = Lib{}
	} else {
		t.Log("built without librav1e: the lib backend is not tested")
	}
	return b
}

// clipFrames returns the Y4M header and frames of a generated clip.
func clipFrames(t *testing.T, pixfmt string, frames int) (source.Header, [][]byte) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs ffmpeg: skipped under -short")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "clip.y4m")
	spec := testclip.Spec{Width: 160, Height: 90, Rate: "24", Segments: []string{"testsrc2", "mandelbrot"}, SegFrames: frames / 2, PixFmt: pixfmt}
	if err := testclip.Make(context.Background(), spec, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := source.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		size, _ := r.Header().FrameSize()
		buf := make([]byte, size)
		if err := r.ReadFrame(buf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf)
	}
	return r.Header(), out
}

// memSink keeps an encoder's output in memory, checking it as chunkSink
// does, and can fail on purpose.
type memSink struct {
	mu     sync.Mutex
	hdr    *ivf.Header
	frames [][]byte
	failAt int // fail the Frame call with this index; 0: never
}

func (m *memSink) Header(h ivf.Header) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hdr = &h
	return nil
}

var errSink = errors.New("sink: disk full")

func (m *memSink) Frame(f ivf.Frame) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAt > 0 && len(m.frames)+1 == m.failAt {
		return errSink
	}
	if f.PTS != uint64(len(m.frames)) {
		return errors.New("timestamp out of order")
	}
	m.frames = append(m.frames, append([]byte(nil), f.Data...))
	return nil
}

func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.frames)
}

// file writes the output as an IVF file.
func (m *memSink) file(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	w, err := ivf.NewWriter(&b, *m.hdr)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range m.frames {
		if err := w.WriteFrame(uint64(i), f); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "out.ivf")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func encodeAll(t *testing.T, enc Encoder, hdr source.Header, frames [][]byte, s Settings, stopAt int) *memSink {
	t.Helper()
	sink := &memSink{}
	sess, err := enc.Start(context.Background(), hdr, s, sink)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if stopAt > 0 && i == stopAt {
			break
		}
		if err := sess.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	return sink
}

// TestEncoderSuite is the conformance suite every backend passes: the
// output's shape, a stop in the middle, an abort, a failing sink, and
// the same bits from every backend.
func TestEncoderSuite(t *testing.T) {
	encs := backends(t)
	cases := []struct {
		name   string
		pixfmt string
		s      Settings
	}{
		{"8-bit", "yuv420p", Settings{Speed: 10, Quantizer: 120, Threads: 1, Extra: psnr}},
		{"10-bit full range bt709", "yuv420p10le", Settings{Speed: 10, Quantizer: 90, Threads: 1, FullRange: true,
			Color: probe.Color{Primaries: "bt709", Transfer: "bt709", Matrix: "bt709"}, Extra: psnr}},
		// HDR10: every encoder writes the static metadata, exactly.
		{"10-bit HDR10", "yuv420p10le", Settings{Speed: 10, Quantizer: 90, Threads: 1,
			Color: probe.Color{Primaries: "bt2020", Transfer: "smpte2084", Matrix: "bt2020nc"}, HDR: hdr10, Extra: psnr}},
		{"4:4:4 tiles", "yuv444p", Settings{Speed: 10, Quantizer: 150, Threads: 2, Extra: []string{"--tiles", "2", "--low-latency", "--tune", "Psnr"}}},
		{"bitrate", "yuv420p", Settings{Speed: 10, Bitrate: 300, Threads: 1, Extra: psnr}},
		// The default tune: the backends' bits differ (see Lib), so only
		// the output's shape is checked.
		{"default tune", "yuv420p", Settings{Speed: 10, Quantizer: 100, Threads: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr, frames := clipFrames(t, tc.pixfmt, 24)
			outs := map[string][][]byte{}
			for name, enc := range encs {
				sink := encodeAll(t, enc, hdr, frames, tc.s, 0)
				if sink.hdr == nil || int(sink.hdr.Width) != hdr.Width || int(sink.hdr.Height) != hdr.Height {
					t.Fatalf("%s: header %+v for %dx%d", name, sink.hdr, hdr.Width, hdr.Height)
				}
				if len(sink.frames) != len(frames) {
					t.Fatalf("%s: %d temporal units for %d frames", name, len(sink.frames), len(frames))
				}
				for i, f := range sink.frames {
					if ivf.IsKeyframe(f) != (i == 0) {
						t.Fatalf("%s: unit %d keyframe %v; want one keyframe, at the start", name, i, ivf.IsKeyframe(f))
					}
				}
				file := sink.file(t)
				n, err := verify.DecodeIVF(context.Background(), file)
				if err != nil || n != len(frames) {
					t.Fatalf("%s: dav1d decodes %d frames (%v), want %d", name, n, err, len(frames))
				}
				if tc.s.HDR.Static() {
					got, err := probe.FrameHDR(context.Background(), file, 0)
					if err != nil || !got.Equal(tc.s.HDR) {
						t.Fatalf("%s: first frame's HDR metadata %q (%v), want %q", name, got, err, tc.s.HDR)
					}
				}
				outs[name] = sink.frames
			}
			if len(outs) == 2 && len(tc.s.Extra) > 0 {
				p, l := outs["process"], outs["lib"]
				for i := range p {
					if !bytes.Equal(p[i], l[i]) {
						t.Fatalf("temporal unit %d differs between the backends (%d and %d bytes)", i, len(p[i]), len(l[i]))
					}
				}
			}
		})
	}

	hdr, frames := clipFrames(t, "yuv420p", 24)
	s := Settings{Speed: 10, Quantizer: 100, Threads: 1}
	for name, enc := range encs {
		t.Run(name+"/stop in the middle", func(t *testing.T) {
			sink := encodeAll(t, enc, hdr, frames, s, 7)
			if len(sink.frames) != 7 || !ivf.IsKeyframe(sink.frames[0]) {
				t.Fatalf("%d units after 7 frames", len(sink.frames))
			}
		})
		t.Run(name+"/abort", func(t *testing.T) {
			sink := &memSink{}
			sess, err := enc.Start(context.Background(), hdr, s, sink)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range frames[:12] {
				if err := sess.WriteFrame(f); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan struct{})
			go func() { sess.Abort(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Abort hangs")
			}
			n := sink.count()
			time.Sleep(50 * time.Millisecond)
			if sink.count() != n {
				t.Fatal("the sink was written to after Abort returned")
			}
		})
		t.Run(name+"/sink error", func(t *testing.T) {
			sink := &memSink{failAt: 3}
			sess, err := enc.Start(context.Background(), hdr, s, sink)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range frames {
				if err = sess.WriteFrame(f); err != nil {
					break
				}
			}
			if err == nil {
				err = sess.Close()
			} else {
				sess.Abort()
			}
			if !errors.Is(err, errSink) {
				t.Fatalf("error %v, want the sink's", err)
			}
		})
		t.Run(name+"/pause", func(t *testing.T) {
			want := encodeAll(t, enc, hdr, frames, s, 0)
			sink := &memSink{}
			sess, err := enc.Start(context.Background(), hdr, s, sink)
			if err != nil {
				t.Fatal(err)
			}
			p, ok := sess.(Pauser)
			if !ok {
				sess.Abort()
				t.Skip("pauses by freezing its process (tested with the job)")
			}
			fed := make(chan int, len(frames))
			errc := make(chan error, 1)
			go func() {
				for i, f := range frames {
					if err := sess.WriteFrame(f); err != nil {
						errc <- err
						return
					}
					fed <- i
				}
				errc <- sess.Close()
			}()
			<-fed
			p.Pause()
			p.Pause() // idempotent
			n, before := sink.count(), len(fed)
			time.Sleep(300 * time.Millisecond)
			if sink.count() != n || len(fed) > before+1 {
				t.Fatalf("encoding went on while paused: %d -> %d units, %d -> %d frames", n, sink.count(), before, len(fed))
			}
			p.Resume()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			for i := range want.frames {
				if !bytes.Equal(want.frames[i], sink.frames[i]) {
					t.Fatalf("unit %d differs from an unpaused run", i)
				}
			}
		})
		t.Run(name+"/bad argument", func(t *testing.T) {
			sink := &memSink{}
			sess, err := enc.Start(context.Background(), hdr, Settings{Speed: 10, Quantizer: 100, Extra: []string{"--tiles", "x"}}, sink)
			if err == nil {
				for _, f := range frames[:2] {
					if err = sess.WriteFrame(f); err != nil {
						break
					}
				}
				if err == nil {
					err = sess.Close()
				} else {
					sess.Abort()
				}
			}
			if err == nil {
				t.Fatal("--tiles x accepted")
			}
		})
	}
}
