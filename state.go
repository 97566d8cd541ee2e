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
	Command     []string         `json:"command,omitempty"` // the encode command's arguments, for resume
	Dir         string           `json:"dir,omitempty"`     // its working directory
	Options     *Options         `json:"options,omitempty"` // the job's options, for Load

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
	Rest   int       `json:"rest,omitempty"` // ID of the new chunk that takes [End, old end) of a split chunk
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

// A ledger is the job's chunk list as the journal leaves it. It starts as
// the plan's chunks; a "done" record whose End is short of its chunk's end
// splits the chunk: [Start,End) is done and [End, old end) becomes a new
// chunk with the ID the record names in Rest, which must be the next free
// ID. Replaying the same journal always gives the same ledger.
type ledger struct {
	chunks map[int]plan.Chunk
	done   map[int]record
	nextID int
}

func newLedger(st *state) *ledger {
	l := &ledger{chunks: map[int]plan.Chunk{}, done: map[int]record{}}
	for _, c := range st.Chunks {
		l.chunks[c.ID] = c
		l.nextID = max(l.nextID, c.ID+1)
	}
	return l
}

// apply adds a record; it returns false for a done record that does not
// fit the ledger (ignored: its chunk will simply be encoded again). A done
// record must start where its chunk starts and end inside it.
func (l *ledger) apply(r record) bool {
	if r.Type != recDone {
		return true
	}
	c, ok := l.chunks[r.Chunk]
	if !ok || c.Start != r.Start || r.End <= r.Start || r.End > c.End {
		return false
	}
	// A later record for the same chunk replaces an earlier one: the run
	// that wrote it found the earlier chunk file damaged and encoded the
	// chunk's current range again.
	if r.End < c.End {
		if r.Rest != l.nextID {
			return false
		}
		l.chunks[r.Rest] = plan.Chunk{ID: r.Rest, Start: r.End, End: c.End}
		l.chunks[r.Chunk] = plan.Chunk{ID: c.ID, Start: c.Start, End: r.End}
		l.nextID++
	}
	l.done[r.Chunk] = r
	return true
}

// frames counts the frames of the done chunks.
func (l *ledger) frames() int {
	n := 0
	for _, r := range l.done {
		n += r.End - r.Start
	}
	return n
}

// checkFiles drops from the done set every chunk whose file does not
// match its record (size and SHA-256), reporting each through bad; such a
// chunk is encoded again.
func (l *ledger) checkFiles(dir string, bad func(id int, why string)) {
	for id, r := range l.done {
		if err := checkChunkFile(chunkPath(dir, id), r); err != nil {
			delete(l.done, id)
			// Remove it, or salvage would take the damaged file back.
			_ = os.Remove(chunkPath(dir, id))
			bad(id, err.Error())
		}
	}
	_ = journal.SyncDir(filepath.Join(dir, chunkDir))
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

// pending returns the chunks not done, longest first.
func (l *ledger) pending() []plan.Chunk {
	var todo []plan.Chunk
	for _, c := range l.chunks {
		if _, ok := l.done[c.ID]; !ok {
			todo = append(todo, c)
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].Start < todo[j].Start })
	return plan.LongestFirst(todo)
}

// files lists the chunk files in source order.
func (l *ledger) files(dir string) []string {
	cs := make([]plan.Chunk, 0, len(l.chunks))
	for _, c := range l.chunks {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Start < cs[j].Start })
	paths := make([]string, len(cs))
	for i, c := range cs {
		paths[i] = chunkPath(dir, c.ID)
	}
	return paths
}
