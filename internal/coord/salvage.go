package coord

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/task"
)

// salvage keeps what a crash left of unfinished chunks. A chunk file that
// was being written (NNNNN.ivf.part), or one finished but not yet recorded,
// is cut back to its last complete, valid temporal unit; since each unit
// is one shown frame, a prefix of n units is frames [Start, Start+n) of the
// chunk. It is then committed like any result (so an independent decoder
// must get exactly n frames back), and the rest of the chunk becomes a new
// chunk.
func (c *Coordinator) salvage(ctx context.Context) error {
	kept := 0
	c.mu.Lock()
	todo := c.led.Pending()
	c.mu.Unlock()
	for _, ch := range todo {
		part := c.dir.Part(ch.ID)
		n := 0
		if _, err := os.Stat(part); errors.Is(err, fs.ErrNotExist) {
			// A chunk file renamed into place whose record a crash kept
			// from the journal is checked like a partial one.
			err := os.Rename(c.dir.Chunk(ch.ID), part)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("salvage: %w", err)
			}
		}
		if _, err := os.Stat(part); err == nil {
			res, err := ivf.Salvage(part)
			n = res.Frames
			switch {
			case err != nil:
				c.warn("chunk %d: cannot salvage %s: %v", ch.ID, part, err)
				n = 0
			case n > ch.Frames():
				c.warn("chunk %d: %s holds %d frames, the chunk has %d; encoding it again", ch.ID, part, n, ch.Frames())
				n = 0
			}
			if n == 0 {
				_ = os.Remove(part)
			}
		}
		if c.Recoverer != nil && n < ch.Frames() {
			got, err := c.recoverUnits(ctx, part, ch, n)
			if err != nil {
				c.warn("chunk %d: %v", ch.ID, err)
			}
			if got > 0 {
				c.warn("chunk %d: took back %d frames a worker had sent", ch.ID, got)
				n += got
			}
		}
		if n == 0 {
			_ = os.Remove(part)
			continue // nothing was written for this chunk
		}
		size, sum, err := syncAndHash(part)
		if err != nil {
			return err
		}
		r := task.Result{Job: c.tmpl.Job, Chunk: ch.ID, Start: ch.Start, End: ch.Start + n, Size: size, SHA256: sum, File: part}
		// A part file is written only once the search has decided: its
		// frames are at the quantizer the probes give.
		r.Quantizer = c.decided(ch.ID)
		if err := c.commit(ctx, r); err != nil {
			if ctx.Err() != nil || permanent(err) {
				return err
			}
			c.warn("chunk %d: salvaged %s is not kept (%v); encoding it again", ch.ID, part, err)
			_ = os.Remove(part)
			continue
		}
		kept += n
	}
	if kept > 0 {
		c.warn("kept %d frames that were encoded before the interruption", kept)
	}
	return nil
}

// recoverUnits completes the part file of ch, which holds n units (none:
// no file), with what the recoverer has after them, and returns how many
// units it added. A chunk's stream is the same bits whichever task made
// it, so a sent stream continues the part when its first n units are the
// part's, byte for byte, and it is no longer than the chunk; the longest
// such stream is taken.
func (c *Coordinator) recoverUnits(ctx context.Context, part string, ch plan.Chunk, n int) (int, error) {
	streams, err := c.Recoverer.Recover(ctx, c.tmpl.Job, ch.ID)
	if err != nil || len(streams) == 0 {
		return 0, err
	}
	var have [][]byte
	if n > 0 {
		if have, err = readUnits(part, n); err != nil {
			return 0, fmt.Errorf("salvage: %w", err)
		}
	}
	var best *task.SentStream
	for i, st := range streams {
		if len(st.Units) > n && len(st.Units) <= ch.Frames() && samePrefix(st.Units, have) && (best == nil || len(st.Units) > len(best.Units)) {
			best = &streams[i]
		}
	}
	if best == nil {
		return 0, nil
	}
	units := best.Units[n:]
	pw := &partWriter{path: part, width: c.tmpl.Source.Width, height: c.tmpl.Source.Height}
	if n == 0 {
		if err := pw.Header(best.Header); err != nil {
			return 0, fmt.Errorf("salvage: a stream taken back: %w", err)
		}
	} else {
		f, err := os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return 0, fmt.Errorf("salvage: %w", err)
		}
		pw.f, pw.h, pw.units, pw.lastSync = f, sha256.New(), n, time.Now()
		pw.w = ivf.AppendWriter(pw, n)
	}
	defer pw.keep()
	for i, u := range units {
		if err := ivf.ValidTU(u); err != nil {
			return i, fmt.Errorf("salvage: a unit taken back: %w", err)
		}
		if err := pw.Unit(uint64(n+i), u); err != nil {
			return i, fmt.Errorf("salvage: a unit taken back: %w", err)
		}
	}
	return len(units), nil
}

// readUnits returns the first n units of an IVF file.
func readUnits(path string, n int) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ivf.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	units := make([][]byte, 0, n)
	for range n {
		fr, err := r.Next()
		if err != nil {
			return nil, err
		}
		units = append(units, fr.Data)
	}
	return units, nil
}

// samePrefix reports whether units begins with prefix, byte for byte.
func samePrefix(units, prefix [][]byte) bool {
	if len(units) < len(prefix) {
		return false
	}
	for i, u := range prefix {
		if !bytes.Equal(units[i], u) {
			return false
		}
	}
	return true
}

// syncAndHash fsyncs a file and returns its size and SHA-256.
func syncAndHash(path string) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, "", fmt.Errorf("salvage: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("salvage: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, "", fmt.Errorf("salvage: sync %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// checkChunkFile verifies a finished chunk file against its record.
func checkChunkFile(path string, r jobdir.Record) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: missing", path)
		}
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if n != r.Size {
		return fmt.Errorf("%s: size %d, journal says %d", path, n, r.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != r.SHA256 {
		return fmt.Errorf("%s: checksum differs from the journal", path)
	}
	return nil
}
