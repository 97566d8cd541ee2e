package av1job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/tools"
)

// encodeAll encodes the pending chunks with a pool of workers. After a
// stop it lets the chunks in flight end at their current frame and
// returns ErrStopped.
func (j *job) encodeAll(ctx context.Context, todo []plan.Chunk) error {
	if len(todo) == 0 {
		return nil
	}
	w := j.workers(len(todo))
	if j.encSettings.Threads == 0 {
		j.encSettings.Threads = max(1, runtime.NumCPU()/w)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w)
	for _, c := range todo {
		if gctx.Err() != nil || j.ctl.isStopped() {
			break
		}
		g.Go(func() error { return j.runChunk(gctx, c) })
	}
	err := g.Wait()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && !errors.Is(err, ErrStopped):
		return err
	case j.ctl.isStopped():
		return ErrStopped
	}
	return nil
}

// runChunk encodes a chunk, trying again after a failure, and records it
// (or the part of it done before a stop).
func (j *job) runChunk(ctx context.Context, c plan.Chunk) error {
	var last error
	for attempt := 1; attempt <= attempts; attempt++ {
		if err := j.ctl.wait(ctx); err != nil {
			if errors.Is(err, ErrStopped) {
				return nil
			}
			return err
		}
		j.emit(Event{Kind: EventChunkStart, Chunk: c.ID})
		var units int64
		rec, err := j.encodeChunk(ctx, c, func() {
			units++
			j.framesDone.Add(1)
			if units%8 == 0 {
				j.emit(Event{Kind: EventFrames, Chunk: c.ID})
			}
		})
		if err == nil {
			if err := j.record(c, rec); err != nil {
				j.framesDone.Add(-units)
				return err
			}
			j.emit(Event{Kind: EventChunkDone, Chunk: c.ID})
			return nil // a stopped chunk is no error for the pool; encodeAll reports the stop
		}
		j.framesDone.Add(-units)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrStopped) {
			return nil
		}
		if permanent(err) {
			return fmt.Errorf("%s: %w", c, err)
		}
		last = err
		if attempt < attempts {
			j.emit(Event{Kind: EventRetry, Chunk: c.ID, Err: err})
		}
	}
	return fmt.Errorf("%s failed %d times, giving up (finished chunks are kept; run the same command to resume): %w", c, attempts, last)
}

// record appends a chunk's done record to the journal and applies it to
// the ledger. A record short of the chunk's end splits the chunk: the rest
// gets the next free chunk ID.
func (j *job) record(c plan.Chunk, rec record) error {
	j.ledMu.Lock()
	defer j.ledMu.Unlock()
	if rec.End < c.End {
		rec.Rest = j.led.nextID
		// No file may stand under the new chunk's name before the record
		// that creates the chunk: a stale one would later pass for it.
		_ = os.Remove(chunkPath(j.dir, rec.Rest))
		_ = os.Remove(chunkPath(j.dir, rec.Rest) + ".part")
		if err := journal.SyncDir(filepath.Join(j.dir, chunkDir)); err != nil {
			return err
		}
	}
	if err := appendRecord(j.log, rec); err != nil {
		return err
	}
	if !j.led.apply(rec) {
		return fmt.Errorf("journal: record for %s does not fit the plan", c)
	}
	j.bytesDone.Add(rec.Size)
	j.bytesFrames.Add(int64(rec.End - rec.Start))
	j.chunksDone.Add(1)
	if rec.End < c.End {
		j.chunksTotal.Add(1)
	}
	return nil
}

// permanent reports errors that trying again cannot fix: a full disk, a
// read-only file system, no permission, a missing program.
func permanent(err error) bool {
	var miss *tools.MissingError
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EDQUOT) || errors.As(err, &miss)
}
