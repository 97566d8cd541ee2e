package jobdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
)

// StateVersion is the version of job.json this package writes and reads.
const StateVersion = 1

// State is the plan of a job: written once (atomically) when the job is
// planned and read on every resume.
type State struct {
	Version     int              `json:"version"`
	ID          string           `json:"id,omitempty"` // the job's identity in tasks and results: Fingerprint.Sum()
	Input       string           `json:"input"`
	Output      string           `json:"output"`
	Created     time.Time        `json:"created"`
	Fingerprint plan.Fingerprint `json:"fingerprint"`
	Command     []string         `json:"command,omitempty"` // the encode command's arguments, for resume
	Dir         string           `json:"dir,omitempty"`     // its working directory
	Options     json.RawMessage  `json:"options,omitempty"` // the job's options (package av1job's), for Load

	Stream   int          `json:"stream"`           // index of the video stream
	PixFmt   string       `json:"pix_fmt"`          // pixel format handed to the encoder
	Filter   string       `json:"filter,omitempty"` // ffmpeg filter that converts the source for the encoder
	RateNum  int64        `json:"rate_num"`
	RateDen  int64        `json:"rate_den"`
	Frames   int          `json:"frames"`
	PTS      []int64      `json:"pts"`       // every frame's timestamp, in TimeBase units
	TimeBase string       `json:"time_base"` // "num/den"
	Cuts     []int        `json:"cuts"`      // scene cuts found by detection, before min/max lengths
	Chunks   []plan.Chunk `json:"chunks"`
}

// DamagedError reports a job.json that cannot be used: unreadable JSON, a
// version this av1job does not read, or a plan that does not hold
// together. Running the job again cannot help; starting it again can.
type DamagedError struct {
	Path string
	Why  string
	Err  error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("%s: %s; use --restart to discard the job and start it again", e.Path, e.Why)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// ReadState reads job.json. A missing file gives an error wrapping
// fs.ErrNotExist; one that cannot be used a *DamagedError.
func (d Dir) ReadState() (*State, error) {
	b, err := os.ReadFile(d.State())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("job state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, &DamagedError{Path: d.State(), Why: "damaged job state (" + err.Error() + ")", Err: err}
	}
	if st.Version != StateVersion {
		return nil, &DamagedError{Path: d.State(), Why: fmt.Sprintf("job state version %d, this av1job reads version %d", st.Version, StateVersion)}
	}
	if err := st.check(); err != nil {
		return nil, &DamagedError{Path: d.State(), Why: "damaged job state (" + err.Error() + ")", Err: err}
	}
	return &st, nil
}

// check makes sure the plan holds together: the chunks tile the frames
// and every frame has a timestamp.
func (st *State) check() error {
	if st.Frames <= 0 || len(st.PTS) != st.Frames {
		return fmt.Errorf("%d timestamps for %d frames", len(st.PTS), st.Frames)
	}
	next := 0
	for i, c := range st.Chunks {
		if c.ID != i || c.Start != next || c.End <= c.Start {
			return fmt.Errorf("chunk %d [%d,%d) does not follow frame %d", c.ID, c.Start, c.End, next)
		}
		next = c.End
	}
	if next != st.Frames {
		return fmt.Errorf("the chunks cover %d of %d frames", next, st.Frames)
	}
	return nil
}

// WriteState writes job.json atomically.
func (d Dir) WriteState(st *State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("job state: %w", err)
	}
	if err := journal.WriteFileAtomic(d.State(), b, 0o644); err != nil {
		return fmt.Errorf("job state: %w", err)
	}
	return nil
}

// WritePlanning records, before a job's first chunks start while its plan
// is still being made, the fingerprint the plan will have: a run after a
// crash in that time keeps the chunks' part files only for the same job.
func (d Dir) WritePlanning(fp plan.Fingerprint) error {
	b, err := json.Marshal(fp)
	if err != nil {
		return fmt.Errorf("job state: %w", err)
	}
	if err := journal.WriteFileAtomic(d.join(planFile), b, 0o644); err != nil {
		return fmt.Errorf("job state: %w", err)
	}
	return nil
}

// ReadPlanning returns the fingerprint WritePlanning recorded; an error
// when there is none (or it cannot be read).
func (d Dir) ReadPlanning() (plan.Fingerprint, error) {
	b, err := os.ReadFile(d.join(planFile))
	if err != nil {
		return nil, err
	}
	var fp plan.Fingerprint
	if err := json.Unmarshal(b, &fp); err != nil {
		return nil, err
	}
	return fp, nil
}

// DonePlanning removes what WritePlanning wrote, once the plan is written.
func (d Dir) DonePlanning() error {
	if err := os.Remove(d.join(planFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("job state: %w", err)
	}
	return nil
}
