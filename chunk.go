package av1job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/internal/verify"
)

// chunkSink writes an encoder's output for one chunk to its .part file,
// hashing and counting as it goes.
type chunkSink struct {
	path     string // final path; the sink writes path + ".part"
	width    int
	height   int
	f        *os.File
	h        hash.Hash
	w        *ivf.Writer
	size     int64
	frames   int
	onUnit   func() // called after each temporal unit is written
	lastSync time.Time
}

// syncEvery bounds what a power cut can take of a chunk being written:
// the .part file is fsynced this often.
const syncEvery = 2 * time.Second

func (s *chunkSink) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.size += int64(n)
	return n, err
}

func (s *chunkSink) Header(h ivf.Header) error {
	if int(h.Width) != s.width || int(h.Height) != s.height {
		return fmt.Errorf("encoder output is %dx%d, source is %dx%d", h.Width, h.Height, s.width, s.height)
	}
	f, err := os.OpenFile(s.path+".part", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("chunk file: %w", err)
	}
	// The name must survive a power cut too, or the synced data is lost.
	if err := journal.SyncDir(filepath.Dir(s.path)); err != nil {
		f.Close()
		return err
	}
	s.f, s.h, s.lastSync = f, sha256.New(), time.Now()
	h.Frames = 0
	w, err := ivf.NewWriter(s, h)
	if err != nil {
		return fmt.Errorf("chunk file: %w", err)
	}
	s.w = w
	return nil
}

func (s *chunkSink) Frame(fr ivf.Frame) error {
	if fr.PTS != uint64(s.frames) {
		return fmt.Errorf("encoder output: temporal unit %d has timestamp %d", s.frames, fr.PTS)
	}
	if s.frames == 0 && !ivf.IsKeyframe(fr.Data) {
		return errors.New("encoder output: the first temporal unit is not a keyframe with a sequence header")
	}
	if err := s.w.WriteFrame(fr.PTS, fr.Data); err != nil {
		return fmt.Errorf("chunk file: %w", err)
	}
	s.frames++
	if time.Since(s.lastSync) >= syncEvery {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("chunk file: sync: %w", err)
		}
		s.lastSync = time.Now()
	}
	if s.onUnit != nil {
		s.onUnit()
	}
	return nil
}

// sync makes the .part file durable and closes it.
func (s *chunkSink) sync() error {
	if s.f == nil {
		return errors.New("encoder wrote no output")
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("chunk file: sync %s: %w", s.f.Name(), err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("chunk file: close %s: %w", s.f.Name(), err)
	}
	s.f = nil
	return nil
}

// commit gives the synced chunk file its final name and fsyncs the
// directory. Only then may the journal record it.
func (s *chunkSink) commit() (record, error) {
	if err := os.Rename(s.path+".part", s.path); err != nil {
		return record{}, fmt.Errorf("chunk file: %w", err)
	}
	if err := journal.SyncDir(filepath.Dir(s.path)); err != nil {
		return record{}, err
	}
	return record{Type: recDone, Size: s.size, SHA256: hex.EncodeToString(s.h.Sum(nil))}, nil
}

// discard closes and removes a .part file that will not be committed.
func (s *chunkSink) discard() {
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
	_ = os.Remove(s.path + ".part")
}

// encodeChunk encodes one chunk: ffmpeg reads frames [Start,End) of the
// source as Y4M, av1job passes them to the encoder one frame at a time,
// and the encoder's temporal units go to the chunk file. On success the
// chunk file is durable and its record is returned (not yet journalled).
//
//	ffmpeg ──y4m──▶ feed loop (counts frames in) ──▶ encoder ──IVF──▶ chunkSink (counts units out) ──▶ NNNNN.ivf.part
//
// Every frame's timestamp is checked against the plan before it reaches
// the encoder (package source). Shutdown order: the feed loop ends after
// the chunk's last frame or on error; ffmpeg is reaped; then Session.Close
// ends the encoder's input and waits for its last unit.
func (j *job) encodeChunk(ctx context.Context, c plan.Chunk, onUnit func()) (rec record, err error) {
	sink := &chunkSink{path: chunkPath(j.dir, c.ID), width: j.src.Video.Width, height: j.src.Video.Height, onUnit: onUnit}
	defer func() {
		if err != nil {
			sink.discard()
		}
	}()
	tb, ok := new(big.Rat).SetString(j.st.TimeBase)
	if !ok {
		return record{}, fmt.Errorf("%s: bad time base %q", filepath.Join(j.dir, stateFile), j.st.TimeBase)
	}
	rng := source.Range{Path: j.src.Path, Stream: j.st.Stream, PixFmt: j.st.PixFmt, PTS: j.st.PTS, TimeBase: tb, Start: c.Start, End: c.End}
	src, err := source.Open(ctx, rng)
	if err != nil {
		return record{}, err
	}
	defer src.Close()
	sess, err := j.enc.Start(ctx, src.Header(), j.encSettings, sink)
	if err != nil {
		return record{}, err
	}
	// An in-process encoder pauses by not being called; a process is
	// frozen with the job's other processes.
	if p, ok := sess.(encode.Pauser); ok {
		defer j.ctl.attach(p)()
	}
	buf := make([]byte, src.FrameSize())
	fed := 0
	for !j.ctl.isStopped() {
		err := src.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = sess.WriteFrame(buf)
		}
		if err != nil {
			sess.Abort()
			return record{}, err
		}
		fed++
	}
	// After a stop the chunk ends at frame fed: the encoder flushes what
	// it was given, and that part is recorded.
	want := c.Frames()
	if fed < want {
		want = fed
	}
	if want == 0 {
		sess.Abort()
		return record{}, ErrStopped
	}
	if err := src.Close(); err != nil {
		sess.Abort()
		return record{}, err
	}
	if err := sess.Close(); err != nil {
		return record{}, err
	}
	if err := ctx.Err(); err != nil {
		return record{}, err
	}
	if sink.frames != want {
		return record{}, fmt.Errorf("encoder: %d temporal units out for %d frames in", sink.frames, want)
	}
	if err := sink.sync(); err != nil {
		return record{}, err
	}
	// An independent decoder must get every frame back before the chunk
	// counts as done.
	if err := j.ctl.waitPause(ctx); err != nil {
		return record{}, err
	}
	if n, err := verify.DecodeIVF(ctx, sink.path+".part"); err != nil || n != want {
		if err == nil {
			err = fmt.Errorf("chunk file decodes to %d frames, want %d", n, want)
		}
		return record{}, err
	}
	rec, err = sink.commit()
	if err != nil {
		return record{}, err
	}
	rec.Chunk, rec.Start, rec.End = c.ID, c.Start, c.Start+want
	return rec, nil
}

var _ encode.Sink = (*chunkSink)(nil)
