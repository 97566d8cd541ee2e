package server

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/internal/journal"
)

// JobDetail is what a job's page shows: the job, its chunks in source
// order, its encoding rate over time and the tail of its log.
type JobDetail struct {
	Job    JobInfo            `json:"job"`
	Chunks []av1job.ChunkInfo `json:"chunks"`
	FPS    []Point            `json:"fps"`
	Log    []LogLine          `json:"log"`
}

// Point is a job's encoding rate at a time (Unix seconds).
type Point struct {
	T   int64   `json:"t"`
	FPS float64 `json:"fps"`
}

// LogLine is a line of a job's log.
type LogLine struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"` // info, warn, error
	Msg   string    `json:"msg"`
}

// logKeep is how many lines of a job's log the server keeps; seriesKeep
// how many points of its rate (older points are thinned, not dropped).
const (
	logKeep    = 200
	seriesKeep = 600
	seriesStep = 5 * time.Second
)

// history is what the server remembers of a job while it runs, for its
// page: the log's tail and the rate's points. It lives in memory; a
// restarted server starts them again.
type history struct {
	mu     sync.Mutex
	log    []LogLine
	series []Point
	step   time.Duration // between points; doubles each time the series is thinned
	last   time.Time
	chunks []av1job.ChunkInfo // an ended job's, read once from its journal
}

func (h *history) add(level, format string, a ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, LogLine{Time: time.Now().UTC(), Level: level, Msg: fmt.Sprintf(format, a...)})
	if len(h.log) > logKeep {
		h.log = append(h.log[:0:0], h.log[len(h.log)-logKeep:]...)
	}
}

// point adds the rate at now, if a step has passed since the last point.
func (h *history) point(now time.Time, fps float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.step == 0 {
		h.step = seriesStep
	}
	if now.Sub(h.last) < h.step {
		return
	}
	h.last = now
	h.series = append(h.series, Point{T: now.Unix(), FPS: float64(int(fps*100+0.5)) / 100})
	if len(h.series) > seriesKeep {
		// Every other point goes: the chart keeps the whole run.
		k := 0
		for i := 0; i < len(h.series); i += 2 {
			h.series[k] = h.series[i]
			k++
		}
		h.series = h.series[:k]
		h.step *= 2
	}
}

func (h *history) snapshot() ([]LogLine, []Point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]LogLine{}, h.log...), append([]Point{}, h.series...)
}

// hist returns job id's history (s.mu held).
func (s *Server) hist(id string) *history {
	h := s.histories[id]
	if h == nil {
		h = &history{}
		s.histories[id] = h
	}
	return h
}

// logEvent adds what a job's event says to its log.
func (h *history) logEvent(ev av1job.Event) {
	switch ev.Kind {
	case av1job.EventPlanned:
		h.add("info", "planned: %d frames in %d chunks, %d frames done before", ev.FramesTotal, ev.ChunksTotal, ev.Resumed)
	case av1job.EventChunkStart:
		h.add("info", "chunk %d handed to the workers", ev.Chunk)
	case av1job.EventChunkDone:
		h.add("info", "chunk %d done (%d of %d chunks)", ev.Chunk, ev.Chunks, ev.ChunksTotal)
	case av1job.EventRetry:
		h.add("warn", "chunk %d is tried again: %v", ev.Chunk, ev.Err)
	case av1job.EventWarning:
		h.add("warn", "%s", ev.Msg)
	case av1job.EventPaused:
		h.add("info", "paused")
	case av1job.EventResumed:
		h.add("info", "resumed")
	case av1job.EventStopping:
		h.add("info", "stopping: chunks in flight end at their current frame")
	case av1job.EventFinishing:
		h.add("info", "finishing: %s", ev.Msg)
	case av1job.EventDone:
		h.add("info", "the output is in place")
	}
}

// detail reports job e for its page (s.mu held; reads the journal of an
// ended job once).
func (s *Server) detail(e *entry) JobDetail {
	d := JobDetail{Job: s.info(e)}
	h := s.hist(e.ID)
	if r := s.runs[e.ID]; r != nil {
		d.Chunks = r.jb.Chunks()
	} else {
		h.mu.Lock()
		if h.chunks == nil {
			h.chunks = s.readChunks(e)
		}
		d.Chunks = h.chunks
		h.mu.Unlock()
	}
	if d.Chunks == nil {
		d.Chunks = []av1job.ChunkInfo{}
	}
	d.Log, d.FPS = h.snapshot()
	return d
}

// chunksPath is where an ended job's chunks are kept: its job directory
// is removed once the output is in place.
func (s *Server) chunksPath(e *entry) string {
	return filepath.Join(s.cfg.Data, "jobs", e.ID+".chunks.json")
}

// keepChunks saves an ended job's chunks for its page.
func (s *Server) keepChunks(e *entry, cs []av1job.ChunkInfo) {
	if len(cs) == 0 {
		return
	}
	b, err := json.Marshal(cs)
	if err == nil {
		err = journal.WriteFileAtomic(s.chunksPath(e), b, 0o600)
	}
	if err != nil {
		s.log.Warn("could not keep a job's chunks for its page", "job", e.ID, "err", err)
	}
}

// readChunks returns the chunks of a job that does not run: its
// journal's, else those kept when it ended, else none.
func (s *Server) readChunks(e *entry) []av1job.ChunkInfo {
	cs, err := av1job.ReadChunks(e.Options.JobDir)
	if err == nil && len(cs) > 0 {
		return cs
	}
	if b, err := os.ReadFile(s.chunksPath(e)); err == nil {
		var kept []av1job.ChunkInfo
		if json.Unmarshal(b, &kept) == nil {
			return kept
		}
	}
	return []av1job.ChunkInfo{}
}
