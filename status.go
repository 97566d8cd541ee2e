package av1job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/tools"
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

// Status reads the state of the job named by name (its output path or its
// job directory). It reads only; it never changes the job.
func Status(name string) (*StatusInfo, error) {
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

// SceneCuts decodes input and returns its frame count and the frames where
// the chunks of a job with options o would start.
func SceneCuts(ctx context.Context, input string, o Options, progress func(frames int)) (frames int, cuts []int, err error) {
	o.defaults()
	if err := tools.Check(tools.FFprobe, tools.FFmpeg); err != nil {
		return 0, nil, &UsageError{Msg: err.Error()}
	}
	src, err := probe.Probe(ctx, input)
	if err != nil {
		return 0, nil, asUsage(err)
	}
	a, err := scene.Analyze(ctx, src, scene.Options{Progress: progress})
	if err != nil {
		return 0, nil, asUsage(err)
	}
	fps, _ := src.Video.FrameRate.Float64()
	maxLen := max(int(o.MaxSceneLen*fps), o.MinSceneLen)
	return a.Frames, plan.Scenes(a.Cuts(o.SceneThreshold), a.Frames, o.MinSceneLen, maxLen), nil
}

// ResumeCommand returns the encode command line (after "encode") that
// started the job named by name, and its working directory.
func ResumeCommand(name string) (args []string, dir string, err error) {
	st, err := readState(JobDir(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("%s: no job to resume (no %s)", name, filepath.Join(JobDir(name), stateFile))
		}
		return nil, "", err
	}
	if len(st.Command) == 0 {
		return nil, "", fmt.Errorf("%s: the job does not record its command; run the encode command again", name)
	}
	return st.Command, st.Dir, nil
}
