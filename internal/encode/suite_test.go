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
	"github.com/av1job/av1job/internal/procs"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/testclip"
	"github.com/av1job/av1job/internal/tools"
	"github.com/av1job/av1job/internal/verify"
	"github.com/av1job/av1job/rav1e"
)

// psnr makes the rav1e backends' bits identical.
var psnr = []string{"--tune", "Psnr"}

// hdr10 is HDR10 static metadata in AV1's units, each value odd or
// off a round number so that a unit lost in a conversion shows.
var hdr10 = probe.HDR{
	Mastering: &probe.Mastering{Primaries: [3][2]uint16{{44564, 20972}, {17367, 45220}, {9830, 3933}},
		WhitePoint: [2]uint16{20493, 21561}, MaxLuminance: 256001, MinLuminance: 3},
	Light: &probe.ContentLight{MaxCLL: 1001, MaxFALL: 399},
}

// A suiteEncoder is an encoder as the conformance suite runs it: its
// fastest settings for a tiny clip, and what the cases need that differs
// by encoder.
type suiteEncoder struct {
	enc    Encoder
	s      Settings // speed, quantizer, threads and arguments of every case
	rate   int      // a bit rate for the rate-control case, kbit/s
	tiles  []string // arguments giving two tiles
	yuv444 bool     // encodes 4:4:4
	badArg []string // arguments the option table takes and the program refuses
	// delay is more than the most frames the encoder holds between a
	// frame in and its unit out (measured at 160x90: rav1e's speed 10
	// holds 23, aomenc's cpu-used 6 37, SVT-AV1's preset 12 72): the kill
	// comes while it still has input to take.
	delay int
}

// suiteEncoders are the encoders the conformance suite runs against:
// every registered encoder whose program (or library) is here.
func suiteEncoders(t *testing.T) []suiteEncoder {
	t.Helper()
	if err := tools.Check(tools.FFmpeg, tools.Dav1d); err != nil {
		t.Skip(err)
	}
	all := []suiteEncoder{
		{enc: Rav1e{}, s: Settings{Speed: 10, Quantizer: 120, Threads: 1, Extra: psnr}, rate: 300,
			tiles: []string{"--tiles", "2", "--low-latency"}, yuv444: true, badArg: []string{"--tiles", "x"}, delay: 32},
		{enc: Lib{}, s: Settings{Speed: 10, Quantizer: 120, Threads: 1, Extra: psnr}, rate: 300,
			tiles: []string{"--tiles", "2", "--low-latency"}, yuv444: true, badArg: []string{"--tiles", "x"}, delay: 32},
		// SVT-AV1 1.4.1 encodes 4:2:0 only.
		{enc: SVT{}, s: Settings{Speed: 12, Quantizer: 40, Threads: 1}, rate: 300,
			tiles: []string{"--tile-columns", "1"}, badArg: []string{"--tune", "7"}, delay: 80},
		// cpu-used 6 is the fastest of aomenc's good-quality mode, whose
		// lookahead (35 frames) and hidden frames the cases are about;
		// 9 is its realtime mode.
		{enc: Aom{}, s: Settings{Speed: 6, Quantizer: 40, Threads: 1}, rate: 300,
			tiles: []string{"--tile-columns=1"}, yuv444: true, badArg: []string{"--tune=nonsense"}, delay: 44},
	}
	var out []suiteEncoder
	for _, e := range all {
		if e.enc.Name() == (Lib{}).Name() && !rav1e.Available() {
			t.Log("built without librav1e: librav1e is not tested")
			continue
		}
		if err := tools.Check(e.enc.Programs()...); err != nil {
			t.Logf("%s is not tested: %v", e.enc.Name(), err)
			continue
		}
		out = append(out, e)
	}
	return out
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

// TestEncoderSuite is the conformance suite every encoder passes: the
// output's shape (one temporal unit per frame, one keyframe, at the
// start; dav1d decodes every frame) at 8 and 10 bits, 4:4:4, with tiles
// and with a bit rate; a stop in the middle that keeps every frame fed;
// a kill -9 that leaves a prefix of whole units of the same bits; an
// abort; a failing sink; a pause that leaves the same bits; a bad
// argument; and, for rav1e, the same bits from the program and librav1e.
func TestEncoderSuite(t *testing.T) {
	encs := suiteEncoders(t)
	cases := []struct {
		name   string
		pixfmt string
		adjust func(e suiteEncoder, s *Settings) bool // false: the case does not apply
	}{
		{"8-bit", "yuv420p", nil},
		{"10-bit full range bt709", "yuv420p10le", func(_ suiteEncoder, s *Settings) bool {
			s.FullRange, s.Color = true, probe.Color{Primaries: "bt709", Transfer: "bt709", Matrix: "bt709"}
			return true
		}},
		{"4:4:4 tiles", "yuv444p", func(e suiteEncoder, s *Settings) bool {
			s.Threads, s.Extra = 2, append(append([]string(nil), s.Extra...), e.tiles...)
			return e.yuv444
		}},
		// HDR10: every encoder that can carry the static metadata writes
		// it, exactly (aomenc 3.6 has no option for it).
		{"10-bit HDR10", "yuv420p10le", func(e suiteEncoder, s *Settings) bool {
			s.Color, s.HDR = probe.Color{Primaries: "bt2020", Transfer: "smpte2084", Matrix: "bt2020nc"}, hdr10
			return e.enc.Name() != (Aom{}).Name()
		}},
		{"bitrate", "yuv420p", func(e suiteEncoder, s *Settings) bool { s.Bitrate = e.rate; return true }},
		{"film grain", "yuv420p", func(e suiteEncoder, s *Settings) bool {
			s.FilmGrain = 8
			return e.enc.Name() == (SVT{}).Name()
		}},
		// rav1e's default tune: its backends' bits differ (see Lib), so
		// only the output's shape is checked.
		{"default tune", "yuv420p", func(e suiteEncoder, s *Settings) bool {
			s.Extra = nil
			return e.enc.Name() == (Rav1e{}).Name() || e.enc.Name() == (Lib{}).Name()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr, frames := clipFrames(t, tc.pixfmt, 24)
			outs := map[string][][]byte{}
			for _, e := range encs {
				name, s := e.enc.Name(), e.s
				if tc.adjust != nil && !tc.adjust(e, &s) {
					continue
				}
				sink := encodeAll(t, e.enc, hdr, frames, s, 0)
				checkShape(t, name, sink, hdr, len(frames))
				if s.HDR.Static() {
					got, err := probe.FrameHDR(context.Background(), sink.file(t), 0)
					if err != nil || !got.Equal(s.HDR) {
						t.Fatalf("%s: first frame's HDR metadata %q (%v), want %q", name, got, err, s.HDR)
					}
				}
				outs[name] = sink.frames
			}
			p, l := outs[(Rav1e{}).Name()], outs[(Lib{}).Name()]
			if p != nil && l != nil && tc.name != "default tune" {
				for i := range p {
					if !bytes.Equal(p[i], l[i]) {
						t.Fatalf("temporal unit %d differs between rav1e and librav1e (%d and %d bytes)", i, len(p[i]), len(l[i]))
					}
				}
			}
		})
	}

	hdr, frames := clipFrames(t, "yuv420p", 24)
	// The kill's frames: each encoder takes its delay and 16 more.
	khdr, kall := clipFrames(t, "yuv420p", 96)
	for _, e := range encs {
		name, enc, s := e.enc.Name(), e.enc, e.s
		want := encodeAll(t, enc, hdr, frames, s, 0)
		t.Run(name+"/stop in the middle", func(t *testing.T) {
			sink := encodeAll(t, enc, hdr, frames, s, 7)
			checkShape(t, name, sink, hdr, 7)
		})
		t.Run(name+"/kill -9", func(t *testing.T) {
			kframes := kall[:min(len(kall), e.delay+16)]
			testKill(t, enc, khdr, kframes, s, encodeAll(t, enc, khdr, kframes, s, 0))
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
			testPause(t, enc, hdr, frames, s, want)
		})
		t.Run(name+"/bad argument", func(t *testing.T) {
			bad := s
			bad.Extra = e.badArg
			if err := enc.Check(bad); err != nil {
				t.Logf("%v: refused by Check: %v", e.badArg, err)
				return
			}
			sink := &memSink{}
			sess, err := enc.Start(context.Background(), hdr, bad, sink)
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
				t.Fatalf("%v accepted", e.badArg)
			}
			t.Logf("%v: %v", e.badArg, err)
			if err := enc.Trial(context.Background(), hdr, bad); err == nil {
				t.Fatalf("the trial took %v", e.badArg)
			}
		})
	}
}

// checkShape checks an encoder's output: the stream's size, one temporal
// unit per frame, one keyframe, at the start, and dav1d decoding every
// frame.
func checkShape(t *testing.T, name string, sink *memSink, hdr source.Header, frames int) {
	t.Helper()
	if sink.hdr == nil || int(sink.hdr.Width) != hdr.Width || int(sink.hdr.Height) != hdr.Height {
		t.Fatalf("%s: header %+v for %dx%d", name, sink.hdr, hdr.Width, hdr.Height)
	}
	if len(sink.frames) != frames {
		t.Fatalf("%s: %d temporal units for %d frames", name, len(sink.frames), frames)
	}
	for i, f := range sink.frames {
		if ivf.IsKeyframe(f) != (i == 0) {
			t.Fatalf("%s: unit %d keyframe %v; want one keyframe, at the start", name, i, ivf.IsKeyframe(f))
		}
	}
	n, err := verify.DecodeIVF(context.Background(), sink.file(t))
	if err != nil || n != frames {
		t.Fatalf("%s: dav1d decodes %d frames (%v), want %d", name, n, err, frames)
	}
}

// testKill kills the encoder (SIGKILL, or an in-process encoder's abort)
// once it has written some units: what the sink holds is whole units, the
// first of the full encode's, and decodes to as many frames.
func testKill(t *testing.T, enc Encoder, hdr source.Header, frames [][]byte, s Settings, want *memSink) {
	sink := &memSink{}
	sess, err := enc.Start(context.Background(), hdr, s, sink)
	if err != nil {
		t.Fatal(err)
	}
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for _, f := range frames {
			if sess.WriteFrame(f) != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for sink.count() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	sess.Abort() // the process's SIGKILL
	<-fed
	n := sink.count()
	t.Logf("killed after %d of %d units", n, len(frames))
	if n == 0 {
		t.Fatal("no unit before the kill")
	}
	for i := range sink.frames {
		if !bytes.Equal(sink.frames[i], want.frames[i]) {
			t.Fatalf("unit %d differs from the full encode's", i)
		}
	}
	if d, err := verify.DecodeIVF(context.Background(), sink.file(t)); err != nil || d != n {
		t.Fatalf("the %d units kept decode to %d frames (%v)", n, d, err)
	}
}

// testPause pauses an encoder while it encodes (SIGSTOP through the job's
// process group for a program, Pauser for an in-process encoder): no unit
// comes out and no frame goes in while paused, and the output is the
// same bits as want, an unpaused run's.
func testPause(t *testing.T, enc Encoder, hdr source.Header, frames [][]byte, s Settings, want *memSink) {
	g := procs.NewGroup()
	ctx := tools.WithGroup(context.Background(), g)
	sink := &memSink{}
	sess, err := enc.Start(ctx, hdr, s, sink)
	if err != nil {
		t.Fatal(err)
	}
	p, inProcess := sess.(Pauser)
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
	if inProcess {
		p.Pause()
		p.Pause() // idempotent
	} else if err := g.Freeze(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Units already in the pipe reach the sink, and the feeder fills
	// the frozen program's input pipe (two frames).
	time.Sleep(100 * time.Millisecond)
	n, before := sink.count(), len(fed)
	time.Sleep(300 * time.Millisecond)
	if sink.count() != n || len(fed) > before+1 {
		t.Fatalf("encoding went on while paused: %d -> %d units, %d -> %d frames", n, sink.count(), before, len(fed))
	}
	if inProcess {
		p.Resume()
	} else if err := g.Thaw(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(sink.frames) != len(want.frames) {
		t.Fatalf("%d units after a pause, %d without", len(sink.frames), len(want.frames))
	}
	for i := range want.frames {
		if !bytes.Equal(want.frames[i], sink.frames[i]) {
			t.Fatalf("unit %d differs from an unpaused run", i)
		}
	}
}
