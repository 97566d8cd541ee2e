package coord

import (
	"errors"
	"fmt"
	"testing"

	"github.com/av1job/av1job/task"
)

// TestPermanent: a task that is not valid, a source that is not the job's
// any more, a store that takes no writes and the job's own state that
// cannot be written fail the job: no retry can help.
func TestPermanent(t *testing.T) {
	for _, err := range []error{&task.TaskError{Msg: "bad"}, &task.SourceChangedError{Path: "in.mkv", Why: "truncated"},
		&task.StoreError{Err: errors.New("full")}, &stateError{errors.New("journal")}} {
		if !permanent(fmt.Errorf("chunk 3: %w", err)) {
			t.Errorf("%v: not permanent", err)
		}
	}
	if permanent(errors.New("encoder crashed")) {
		t.Error("a crash is permanent")
	}
}

// The part writer the coordinator hands executors keeps where its task
// runs and the probes of a target-quality task.
var (
	_ task.Placed          = (*partWriter)(nil)
	_ task.QualityRecorder = (*partWriter)(nil)
)
