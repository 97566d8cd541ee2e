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
	"path/filepath"
	"sort"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/verify"
)

// salvage keeps what a crash left of unfinished chunks. A chunk file that
// was being written (NNNNN.ivf.part), or one finished but not yet recorded,
// is cut back to its last complete,
// valid temporal unit; since each unit of rav1e's output is one shown
// frame, a prefix of n units is frames [Start, Start+n) of the chunk. If
// an independent decoder gets exactly n frames back, the prefix is
// recorded as done and the rest of the chunk becomes a new chunk.
func (j *job) salvage(ctx context.Context) error {
	todo := j.led.pending()
	sort.Slice(todo, func(a, b int) bool { return todo[a].ID < todo[b].ID })
	for _, c := range todo {
		part := chunkPath(j.dir, c.ID) + ".part"
		if _, err := os.Stat(part); errors.Is(err, fs.ErrNotExist) {
			// A chunk file renamed into place whose record a crash kept
			// from the journal is checked like a partial one.
			if err := os.Rename(chunkPath(j.dir, c.ID), part); err != nil {
				continue
			}
		}
		res, err := ivf.Salvage(part)
		n := res.Frames
		switch {
		case err != nil:
			j.warn("chunk %d: cannot salvage %s: %v", c.ID, part, err)
			n = 0
		case n > c.Frames():
			j.warn("chunk %d: %s holds %d frames, the chunk has %d; encoding it again", c.ID, part, n, c.Frames())
			n = 0
		}
		if n > 0 {
			if err := j.ctl.waitPause(ctx); err != nil {
				return err
			}
			if got, err := verify.DecodeIVF(ctx, part); err != nil || got != n {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				j.warn("chunk %d: salvaged %s does not decode to %d frames (%d, %v); encoding it again", c.ID, part, n, got, err)
				n = 0
			}
		}
		if n == 0 {
			_ = os.Remove(part)
			continue
		}
		size, sum, err := syncAndHash(part)
		if err != nil {
			return err
		}
		final := chunkPath(j.dir, c.ID)
		if err := os.Rename(part, final); err != nil {
			return fmt.Errorf("salvage: %w", err)
		}
		if err := journal.SyncDir(filepath.Dir(final)); err != nil {
			return err
		}
		rec := record{Type: recDone, Chunk: c.ID, Start: c.Start, End: c.Start + n, Size: size, SHA256: sum}
		if err := j.record(c, rec); err != nil {
			return err
		}
		j.framesDone.Add(int64(n))
		j.salvaged += n
	}
	if j.salvaged > 0 {
		j.emit(Event{Kind: EventWarning, Msg: fmt.Sprintf("kept %d frames that were encoded before the interruption", j.salvaged)})
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
