package av1job

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/ledger"
)

// Job states reported by Status.
const (
	StateRunning  = "running"
	StateStopped  = "stopped"
	StateDone     = "done"
	StateFailed   = "failed"
	StatePaused   = "paused"   // running, its encoders halted
	StateStopping = "stopping" // running, ending its chunks at the current frame
)

// StatusInfo is a job's state: what `av1job status --json` prints, and
// what Job.Status returns in-process. Its counts come from the job's
// ledger, read live from the process that runs the job or replayed from
// its journal.
type StatusInfo struct {
	Job            string    `json:"job"` // the job directory
	Output         string    `json:"output,omitempty"`
	State          string    `json:"state"`
	FramesDone     int       `json:"frames_done"`     // encoded: recorded, and in flight in a running job
	FramesRecorded int       `json:"frames_recorded"` // recorded in the journal
	FramesTotal    int       `json:"frames_total"`
	ChunksDone     int       `json:"chunks_done"`
	ChunksTotal    int       `json:"chunks_total"`
	Bytes          int64     `json:"bytes"`                 // of the recorded chunks
	OtherBytes     int64     `json:"other_bytes,omitempty"` // the output's other streams, estimated from the source's
	Summary        *Summary  `json:"summary,omitempty"`     // what a finished job made (in the process that ran it)
	FrameRate      float64   `json:"frame_rate,omitempty"`  // the source's frames per second, once planned
	PID            int       `json:"pid"`
	Error          string    `json:"error,omitempty"`
	PausedSince    time.Time `json:"paused_since,omitzero"`
	Updated        time.Time `json:"updated,omitzero"`
}

// fromLedger sets the counts of a planned job.
func (s *StatusInfo) fromLedger(st *jobdir.State, led *ledger.Ledger) {
	s.Output = st.Output
	s.FramesTotal = st.Frames
	s.FramesDone, s.FramesRecorded = led.Frames(), led.Frames()
	s.ChunksDone, s.ChunksTotal = led.ChunksDone(), led.ChunksTotal()
	s.Bytes = led.Bytes()
	if st.RateDen > 0 {
		s.FrameRate = float64(st.RateNum) / float64(st.RateDen)
	}
}

// readStatus reads the state of the job named by name (its output path or
// its job directory) from its job directory.
func readStatus(name string) (*StatusInfo, error) {
	dir := dirOf(name)
	info := &StatusInfo{Job: dir.Path()}
	pid, locked, err := dir.Owner()
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if locked {
		info.PID = pid
	}
	st, err := dir.ReadState()
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if locked {
			info.State = StateRunning // still planning
			return info, nil
		}
		if _, serr := os.Stat(name); serr == nil && dir.Path() != name {
			info.State, info.Output = StateDone, name
			return info, nil
		}
		return nil, fmt.Errorf("%s: no job here (no job directory %s)", name, dir)
	}
	recs, err := dir.ReadJournal()
	if err != nil {
		return nil, err
	}
	finished, failed := false, ""
	for _, r := range recs {
		info.Updated = r.Time
		switch r.Type {
		case jobdir.RecDone:
			failed = ""
		case jobdir.RecFinished:
			finished = true
		case jobdir.RecFailed:
			failed = r.Error
		}
	}
	info.fromLedger(st, ledger.Replay(st.Chunks, recs))
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
