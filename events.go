package av1job

import (
	"fmt"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds, in the order a job emits them.
const (
	EventAnalyzing  EventKind = iota // decoding the source for scene detection; Frames decoded so far
	EventPlanned                     // chunks planned or loaded; totals and what is done already
	EventChunkStart                  // a chunk started encoding
	EventFrames                      // a chunk emitted temporal units; Frames is the job's total done
	EventChunkDone                   // a chunk was recorded done
	EventRetry                       // a chunk failed and is tried again; Err says why
	EventFinishing                   // joining, muxing and checking the output
	EventDone                        // the output is in place
	EventWarning                     // something the user should know; Msg
	EventPaused                      // the job's processes are frozen
	EventResumed                     // the job's processes run again
	EventStopping                    // stop requested: in-flight chunks end at their current frame
)

// Event reports progress or a change of state.
type Event struct {
	Kind        EventKind
	Time        time.Time
	Chunk       int    // chunk ID, for chunk events
	Decoded     int    // frames decoded so far, for EventAnalyzing
	Frames      int    // frames done (encoded and written) over the whole job
	FramesTotal int    // frames in the source
	Chunks      int    // chunks done
	ChunksTotal int    // chunks in the plan
	Resumed     int    // frames that were done before this run started
	Bytes       int64  // bytes of the chunks recorded done
	BytesFrames int    // frames of the chunks recorded done
	Msg         string // warning text, or the stage of EventFinishing
	Err         error
	Paused      time.Duration // time spent paused so far in this run
}

var kindNames = [...]string{
	EventAnalyzing: "analyzing", EventPlanned: "planned", EventChunkStart: "chunk start", EventFrames: "frames",
	EventChunkDone: "chunk done", EventRetry: "retry", EventFinishing: "finishing", EventDone: "done",
	EventWarning: "warning", EventPaused: "paused", EventResumed: "resumed", EventStopping: "stopping",
}

// String returns the kind's name, e.g. "chunk done".
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}
