package av1job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/av1job/av1job/internal/ivf"
	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/mux"
	"github.com/av1job/av1job/internal/verify"
)

// scratchIVF is the joined video stream, in the job directory.
const scratchIVF = "video.ivf"

// finish joins the chunks, muxes the output into a temporary file beside
// it, checks that it decodes to the source's frame count, and renames it
// into place. The job directory is removed afterwards unless Keep is set.
func (j *job) finish(ctx context.Context) error {
	j.emit(Event{Kind: EventFinishing, Msg: "joining chunks"})
	joined := filepath.Join(j.dir, scratchIVF)
	if err := j.concat(joined); err != nil {
		return err
	}
	defer os.Remove(joined)

	p := mux.Streams(j.src, j.o.container())
	for _, w := range p.Warnings {
		j.warn("%s: %s", j.src.Path, w)
	}
	tmp := tempOutput(j.o.Output)
	defer os.Remove(tmp)
	if p.Format == "ivf" {
		if err := os.Rename(joined, tmp); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	} else {
		j.emit(Event{Kind: EventFinishing, Msg: "muxing"})
		if err := j.ctl.waitPause(ctx); err != nil {
			return err
		}
		if err := mux.Mux(ctx, p, joined, j.src, tmp); err != nil {
			return err
		}
	}

	// Every chunk was decoded when it finished (encodeChunk), and the
	// join checked each one again; what is left to check is that the
	// container holds every one of those frames.
	j.emit(Event{Kind: EventFinishing, Msg: "checking"})
	if err := j.ctl.waitPause(ctx); err != nil {
		return err
	}
	n, err := verify.CountPackets(ctx, tmp)
	if err != nil {
		return err
	}
	if n != j.st.Frames {
		return fmt.Errorf("check %s: holds %d video frames, the source has %d; the output was not written", j.o.Output, n, j.st.Frames)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if !j.o.Overwrite {
		if _, err := os.Stat(j.o.Output); err == nil {
			return fmt.Errorf("%s: appeared while encoding; not overwritten (use -y)", j.o.Output)
		}
	}
	if err := os.Rename(tmp, j.o.Output); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err := journal.SyncDir(filepath.Dir(j.o.Output)); err != nil {
		return err
	}
	_ = appendRecord(j.log, record{Type: recFinished})
	j.emit(Event{Kind: EventDone})
	if !j.o.Keep {
		j.log.Close()
		if err := os.RemoveAll(j.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			j.warn("could not remove the job directory %s: %v", j.dir, err)
		}
	}
	return nil
}

// concat joins the chunk files in source order into path.
func (j *job) concat(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("join chunks: %w", err)
	}
	n, err := ivf.Concat(f, j.led.files(j.dir))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("join chunks: %w", err)
	}
	if n != j.st.Frames {
		return fmt.Errorf("join chunks: %d frames, the source has %d", n, j.st.Frames)
	}
	return nil
}

// tempOutput is the name the output is written under until it is complete:
// hidden, beside the output, with the same extension.
func tempOutput(out string) string {
	dir, base := filepath.Split(out)
	return filepath.Join(dir, "."+base+".av1job-tmp"+filepath.Ext(base))
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
