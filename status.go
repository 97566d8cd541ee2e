package av1job

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/av1job/av1job/internal/journal"
)

// Job states reported by Status.
const (
	StateRunning  = "running"
	StateStopped  = "stopped"
	StateDone     = "done"
	StateFailed   = "failed"
	StatePaused   = "paused"   // running, its processes frozen
	StateStopping = "stopping" // running, ending its chunks at the current frame
)

// StatusInfo is a job's state as read from its job directory.
type StatusInfo struct {
	Job         string    `json:"job"`
	Output      string    `json:"output,omitempty"`
	State       string    `json:"state"`
	FramesDone  int       `json:"frames_done"`
	FramesTotal int       `json:"frames_total"`
	ChunksDone  int       `json:"chunks_done"`
	ChunksTotal int       `json:"chunks_total"`
	PID         int       `json:"pid"`
	Error       string    `json:"error,omitempty"`
	PausedSince time.Time `json:"paused_since,omitzero"`
	Updated     time.Time `json:"updated,omitzero"`
}

// JobDir returns the job directory for a job named by its output path or
// by its job directory.
func JobDir(name string) string {
	if fi, err := os.Stat(filepath.Join(name, stateFile)); err == nil && !fi.IsDir() {
		return name
	}
	if fi, err := os.Stat(filepath.Join(name, journalFile)); err == nil && !fi.IsDir() {
		return name
	}
	return name + ".av1job"
}

// readStatus reads the state of the job named by name (its output path or
// its job directory) from its job directory.
func readStatus(name string) (*StatusInfo, error) {
	dir := JobDir(name)
	info := &StatusInfo{Job: dir}
	pid, locked, err := journal.Owner(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("status: %w", err)
	}
	if locked {
		info.PID = pid
	}
	st, err := readState(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if locked {
			info.State = StateRunning // still planning
			return info, nil
		}
		if _, serr := os.Stat(name); serr == nil && dir != name {
			info.State, info.Output = StateDone, name
			return info, nil
		}
		return nil, fmt.Errorf("%s: no job here (no job directory %s)", name, dir)
	}
	info.Output = st.Output
	info.FramesTotal = st.Frames
	info.ChunksTotal = len(st.Chunks)
	recs, _, err := journal.ReadAll(filepath.Join(dir, journalFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	led := newLedger(st)
	finished, failed := false, ""
	for _, r := range replay(recs) {
		info.Updated = r.Time
		switch r.Type {
		case recDone:
			led.apply(r)
			failed = ""
		case recFinished:
			finished = true
		case recFailed:
			failed = r.Error
		}
	}
	info.FramesDone, info.ChunksDone, info.ChunksTotal = led.frames(), len(led.done), len(led.chunks)
	switch {
	case locked:
		info.State = StateRunning
	case finished:
		info.State = StateDone
	case failed != "":
		info.State, info.Error = StateFailed, failed
	default:
		info.State = StateStopped
	}
	return info, nil
}
