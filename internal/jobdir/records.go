package jobdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/av1job/av1job/internal/journal"
)

// Record types.
const (
	// RecDone: frames [Start,End) of Chunk are in the chunk file, whose
	// size and SHA-256 are Size and SHA256. An End short of the chunk's
	// splits it: [End, old end) becomes chunk Rest.
	RecDone = "done"
	// RecOutput: the output is about to be renamed into place; Size,
	// Mtime and Sample identify the file (plan.SourceIdentity), so that a
	// run after a crash between the rename and RecFinished knows the
	// output for its own.
	RecOutput = "output"
	// RecFinished: the output is in place.
	RecFinished = "finished"
	// RecFailed: the job failed with Error; running it again continues it.
	RecFailed = "failed"
	// RecProbe: a target-quality probe of Chunk, frames [Start,End),
	// encoded at quantizer Q, scored Score, Size bytes. A chunk's search
	// goes on from its probes (and those of the chunk it was split from).
	RecProbe = "probe"
)

// Record is one journal entry.
type Record struct {
	Type   string    `json:"type"`
	Time   time.Time `json:"time"`
	Chunk  int       `json:"chunk,omitempty"`
	Start  int       `json:"start,omitempty"`
	End    int       `json:"end,omitempty"`
	Size   int64     `json:"size,omitempty"`
	SHA256 string    `json:"sha256,omitempty"`
	Rest   int       `json:"rest,omitempty"` // ID of the new chunk that takes [End, old end) of a split chunk
	Error  string    `json:"error,omitempty"`
	Mtime  string    `json:"mtime,omitempty"`  // RecOutput
	Sample string    `json:"sample,omitempty"` // RecOutput
	// RecDone, when known: the worker that encoded the chunk, its
	// encoding time in seconds, and whether the file was kept from a run
	// that ended before the chunk did (salvage).
	Worker   string  `json:"worker,omitempty"`
	Secs     float64 `json:"secs,omitempty"`
	Salvaged bool    `json:"salvaged,omitempty"`
	// RecDone of a target-quality job, and RecProbe: the quantizer and,
	// when measured, the chunk's score.
	Q     int      `json:"q,omitempty"`
	Score *float64 `json:"score,omitempty"`
}

// A Journal appends records to a job's journal.log.
type Journal struct{ log *journal.Log }

// OpenJournal opens journal.log for appending (creating it) and returns
// its records; lines it dropped (a torn tail, a damaged middle record) are
// reported through dropped.
func (d Dir) OpenJournal(dropped func(journal.Dropped)) (*Journal, []Record, error) {
	l, recs, err := journal.Open(d.Journal())
	if err != nil {
		return nil, nil, err
	}
	for _, x := range l.Dropped() {
		if dropped != nil {
			dropped(x)
		}
	}
	return &Journal{log: l}, decode(recs), nil
}

// Append writes r durably, stamped with the current time. A failed append
// breaks the journal (package journal): every later one fails too.
func (j *Journal) Append(r Record) error {
	r.Time = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return j.log.Append(b)
}

// Close closes the journal.
func (j *Journal) Close() error { return j.log.Close() }

// ReadJournal reads the journal without changing it, for a reader that
// does not own the job; a missing journal has no records.
func (d Dir) ReadJournal() ([]Record, error) {
	recs, _, err := journal.ReadAll(d.Journal())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return decode(recs), nil
}

// decode parses the records' payloads. One that does not parse is
// skipped: a chunk whose record is lost is simply encoded again.
func decode(recs []journal.Record) []Record {
	var out []Record
	for _, r := range recs {
		var rec Record
		if json.Unmarshal(r.Payload, &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}
