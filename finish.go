package av1job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/av1job/av1job/internal/coord"
	"github.com/av1job/av1job/internal/guard"
	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/verify"
)

// finish joins the chunks, muxes the output into a temporary file beside
// it, checks that it holds the source's frame count, records its identity
// and renames it into place. The job directory is removed afterwards
// unless Keep is set. A source that is not the job's any more when the
// mux starts, or that changed while it ran, fails the job with a
// *SourceChangedError before the output is touched.
//
// Write order: the temporary output is fsynced; its identity (size,
// modification time, a hash of its head and tail) is journalled; it is
// renamed over the output and the directory fsynced; then "finished" is
// journalled. A crash between the rename and the last record leaves an
// output the next run knows for the job's own.
func (jb *Job) finish(ctx context.Context, o *Options, p *prepared, c *coord.Coordinator) error {
	jb.publish(Event{Kind: EventFinishing, Msg: "joining chunks"})
	pl, err := o.streams(p.src)
	if err != nil {
		return err
	}
	tmp := tempOutput(o.Output)
	defer os.Remove(tmp)
	if pl.Format == "ivf" {
		// The joined stream is the output: write it beside the output,
		// never across file systems.
		if err := concat(tmp, c.Files(), c.Frames()); err != nil {
			return diskFull(o.Output, tmp, err)
		}
	} else {
		joined := jb.dir.Scratch()
		if err := concat(joined, c.Files(), c.Frames()); err != nil {
			return diskFull(o.Output, joined, err)
		}
		defer os.Remove(joined)
		// The other streams come from the source as it is now: it must
		// be the job's source before anything is read from it, and the
		// same file after the mux, or they could be another file's.
		var g guard.Source
		srcState, err := g.Check(p.src.Path, p.size, p.sample)
		if err != nil {
			return err
		}
		for i := range pl.Covers {
			pl.Covers[i].File = jb.dir.Cover(i, pl.Covers[i].Ext())
			if err := mux.ExtractCover(ctx, p.src, pl.Covers[i]); err != nil {
				if cerr := guard.Unchanged(p.src.Path, srcState); cerr != nil {
					return cerr
				}
				return err
			}
			defer os.Remove(pl.Covers[i].File)
		}
		if err := roomFor(tmp, joined); err != nil {
			return diskFull(o.Output, tmp, err)
		}
		jb.publish(Event{Kind: EventFinishing, Msg: "muxing"})
		if err := jb.ctl.WaitPause(ctx); err != nil {
			return err
		}
		err = mux.Mux(ctx, pl, joined, p.src, p.layout.Color, tmp)
		if cerr := guard.Unchanged(p.src.Path, srcState); cerr != nil {
			return cerr
		}
		if err != nil {
			return diskFull(o.Output, tmp, err)
		}
	}

	// Every chunk was decoded when it was committed, and the join checked
	// each one again; what is left to check is that the container holds
	// every one of those frames.
	jb.publish(Event{Kind: EventFinishing, Msg: "checking"})
	if err := jb.ctl.WaitPause(ctx); err != nil {
		return err
	}
	n, err := verify.CountPackets(ctx, tmp)
	if err != nil {
		return err
	}
	if n != c.Frames() {
		return fmt.Errorf("check %s: holds %d video frames, the source has %d; the output was not written", o.Output, n, c.Frames())
	}
	if err := narrowMode(tmp, p.src.Path); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return diskFull(o.Output, tmp, err)
	}
	if !o.Overwrite {
		if _, err := os.Stat(o.Output); err == nil {
			return fmt.Errorf("%s: appeared while encoding; not overwritten (use -y)", o.Output)
		}
	}
	id, err := plan.SourceIdentity(tmp)
	if err != nil {
		return err
	}
	if err := c.AppendRecord(jobdir.Record{Type: jobdir.RecOutput, Size: id.Size, Mtime: id.Mtime, Sample: id.Sample}); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.Output); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err := journal.SyncDir(filepath.Dir(o.Output)); err != nil {
		return err
	}
	if err := c.AppendRecord(jobdir.Record{Type: jobdir.RecFinished}); err != nil {
		// The output is in place and recorded: the next run knows it.
		jb.warn("%s: %v", jb.dir.Journal(), err)
	}
	sum := jb.summarize(o, p, c)
	jb.publish(Event{Kind: EventDone, Summary: sum})
	if !o.Keep {
		c.CloseJournal()
		if err := jb.dir.Remove(); err != nil {
			jb.warn("could not remove the job directory %s: %v", jb.dir, err)
		}
	}
	return nil
}

// concat joins the chunk files in source order into path.
func concat(path string, files []string, frames int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("join chunks: %w", err)
	}
	n, err := ivf.Concat(f, files)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != frames {
		err = fmt.Errorf("%d frames, the source has %d", n, frames)
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("join chunks: %w", err)
	}
	return nil
}

// tempOutput is the name the output is written under until it is complete:
// hidden, beside the output, with the same extension, and unique to the
// output's name (one job at a time claims an output). A long name is cut
// so that the temporary one is never longer: it fits wherever the output
// does.
func tempOutput(out string) string {
	dir, base := filepath.Split(out)
	ext := filepath.Ext(base)
	stem := base[:len(base)-len(ext)]
	sum := sha256.Sum256([]byte(base))
	mark := ".av1job-" + hex.EncodeToString(sum[:4])
	if n := 1 + len(stem) + len(mark) + len(ext); n > len(base) && n > 64 {
		stem = stem[:max(len(stem)-(n-len(base)), 0)]
	}
	return filepath.Join(dir, "."+stem+mark+ext)
}

// roomFor checks that path's file system has room for a file of about the
// size of like (the output holds the joined video and the other streams).
func roomFor(path, like string) error {
	fi, err := os.Stat(like)
	if err != nil {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(path), &st); err != nil {
		return nil
	}
	if free := int64(st.Bavail) * st.Bsize; free < fi.Size() {
		return fmt.Errorf("%s needs at least %d bytes, the size of the video alone: %w", path, fi.Size(), syscall.ENOSPC)
	}
	return nil
}

// diskFull says where the disk is full when err is a full disk, and
// returns err as it is otherwise.
func diskFull(output, path string, err error) error {
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
		return err
	}
	return fmt.Errorf("%s: the disk is full in %s (%w); free some space and run the same command (finished chunks are kept)", output, filepath.Dir(path), err)
}

// narrowMode takes from path the permissions for the group and for others
// that the source lacks, as cp does: an output is never readable by more
// users than its source, whatever the umask gave it.
func narrowMode(path, source string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	si, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if m := fi.Mode().Perm() & (si.Mode().Perm() | 0o700); m != fi.Mode().Perm() {
		if err := os.Chmod(path, m); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("output: sync %s: %w", path, err)
	}
	return nil
}

// summarize records what the finished job made (its output in place).
func (jb *Job) summarize(o *Options, p *prepared, c *coord.Coordinator) *Summary {
	n := c.Counts()
	s := &Summary{Output: o.Output, SourceBytes: p.src.Size, VideoBytes: n.Bytes, Frames: n.FramesTotal, Chunks: n.ChunksTotal,
		Encoded: n.Frames - n.Resumed}
	if fi, err := os.Stat(o.Output); err == nil {
		s.OutputBytes = fi.Size()
	}
	if fps, _ := p.src.Video.FrameRate.Float64(); fps > 0 {
		s.Seconds = float64(s.Frames) / fps
	}
	jb.mu.Lock()
	defer jb.mu.Unlock()
	s.Wall = time.Since(jb.started)
	if w := s.Wall.Seconds(); w > 0 {
		s.FPS = float64(s.Encoded) / w
	}
	jb.summary = s
	return s
}
