package av1job

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
)

const stateVersion = 1

// Names inside a job directory.
const (
	stateFile   = "job.json"
	journalFile = "journal.log"
	chunkDir    = "chunks"
)

// state is the plan of a job, written once (atomically) when the job is
// created and read on every resume.
type state struct {
	Version     int              `json:"version"`
	Input       string           `json:"input"`
	Output      string           `json:"output"`
	Created     time.Time        `json:"created"`
	Fingerprint plan.Fingerprint `json:"fingerprint"`
	Args        []string         `json:"args,omitempty"` // the encode command's arguments, for resume

	Stream   int          `json:"stream"`  // index of the video stream
	PixFmt   string       `json:"pix_fmt"` // pixel format handed to the encoder
	RateNum  int64        `json:"rate_num"`
	RateDen  int64        `json:"rate_den"`
	Frames   int          `json:"frames"`
	PTS      []int64      `json:"pts"`       // every frame's timestamp, in TimeBase units
	TimeBase string       `json:"time_base"` // "num/den"
	Cuts     []int        `json:"cuts"`      // scene cuts found by detection, before min/max lengths
	Chunks   []plan.Chunk `json:"chunks"`
}

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: damaged job state: %w (use --restart to start the job again)", filepath.Join(dir, stateFile), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%s: job state version %d, this av1job reads version %d (use --restart)", filepath.Join(dir, stateFile), st.Version, stateVersion)
	}
	return &st, nil
}

func writeState(dir string, st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("job state: %w", err)
	}
	return journal.WriteFileAtomic(filepath.Join(dir, stateFile), b, 0o644)
}

// record is one journal entry.
type record struct {
	Type   string    `json:"type"` // recDone, recFinished, recFailed
	Time   time.Time `json:"time"`
	Chunk  int       `json:"chunk,omitempty"`
	Start  int       `json:"start,omitempty"`
	End    int       `json:"end,omitempty"`
	Size   int64     `json:"size,omitempty"`
	SHA256 string    `json:"sha256,omitempty"`
	Error  string    `json:"error,omitempty"`
}

const (
	recDone     = "done"
	recFinished = "finished"
	recFailed   = "failed"
)

func appendRecord(l *journal.Log, r record) error {
	r.Time = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return l.Append(b)
}

// replay reads the journal's records. Records it cannot parse are skipped:
// a chunk whose record is lost is simply encoded again.
func replay(recs []journal.Record) []record {
	var out []record
	for _, r := range recs {
		var rec record
		if json.Unmarshal(r.Payload, &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

func chunkPath(dir string, id int) string {
	return filepath.Join(dir, chunkDir, fmt.Sprintf("%05d.ivf", id))
}

// doneChunks returns the chunks of st that the journal records as done
// and whose files still match the record (size and SHA-256), by chunk ID.
// Chunks whose files fail the check are reported through bad and are
// encoded again.
func doneChunks(dir string, st *state, recs []record, bad func(id int, why string)) map[int]record {
	byID := map[int]plan.Chunk{}
	for _, c := range st.Chunks {
		byID[c.ID] = c
	}
	done := map[int]record{}
	for _, r := range recs {
		if r.Type != recDone {
			continue
		}
		c, ok := byID[r.Chunk]
		if !ok || c.Start != r.Start || c.End != r.End {
			continue
		}
		done[r.Chunk] = r
	}
	for id, r := range done {
		if err := checkChunkFile(chunkPath(dir, id), r); err != nil {
			delete(done, id)
			bad(id, err.Error())
		}
	}
	return done
}

// checkChunkFile verifies a finished chunk file against its record.
func checkChunkFile(path string, r record) error {
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

// pending returns the chunks not in done, longest first.
func pending(st *state, done map[int]record) []plan.Chunk {
	var todo []plan.Chunk
	for _, c := range st.Chunks {
		if _, ok := done[c.ID]; !ok {
			todo = append(todo, c)
		}
	}
	return plan.LongestFirst(todo)
}

// chunkFiles lists the chunk files in source order.
func chunkFiles(dir string, st *state) []string {
	cs := append([]plan.Chunk(nil), st.Chunks...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Start < cs[j].Start })
	paths := make([]string, len(cs))
	for i, c := range cs {
		paths[i] = chunkPath(dir, c.ID)
	}
	return paths
}
