package av1job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/jobdir"
)

// salvage keeps what a crash left of unfinished chunks. A chunk file that
// was being written (NNNNN.ivf.part), or one finished but not yet recorded,
// is cut back to its last complete, valid temporal unit; since each unit
// is one shown frame, a prefix of n units is frames [Start, Start+n) of the
// chunk. It is then committed like any result (so an independent decoder
// must get exactly n frames back), and the rest of the chunk becomes a new
// chunk.
func (c *coordinator) salvage(ctx context.Context) error {
	kept := 0
	c.mu.Lock()
	todo := c.led.Pending()
	c.mu.Unlock()
	for _, ch := range todo {
		part := c.dir.Part(ch.ID)
		if _, err := os.Stat(part); errors.Is(err, fs.ErrNotExist) {
			// A chunk file renamed into place whose record a crash kept
			// from the journal is checked like a partial one.
			err := os.Rename(c.dir.Chunk(ch.ID), part)
			if errors.Is(err, fs.ErrNotExist) {
				continue // nothing was written for this chunk
			}
			if err != nil {
				return fmt.Errorf("salvage: %w", err)
			}
		}
		res, err := ivf.Salvage(part)
		n := res.Frames
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
			continue
		}
		size, sum, err := syncAndHash(part)
		if err != nil {
			return err
		}
		r := Result{Job: c.tmpl.Job, Chunk: ch.ID, Start: ch.Start, End: ch.Start + n, Size: size, SHA256: sum, File: part}
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
