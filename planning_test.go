package av1job

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
)

// TestCostRule: a chunk predicted to cost far more than a maximum-length
// chunk of typical content is split, at a good keyframe near the middle of
// its cost, into parts of at least the minimum length; cheap chunks stay
// whole; the plan is the same from the same measures.
func TestCostRule(t *testing.T) {
	// Three cheap scenes (bars), then an expensive one (noise, churning
	// cells), 240 frames each.
	const frames = 960
	a := &scene.Analysis{Frames: frames, Detail: make([]float64, frames), Motion: make([]float64, frames), Scores: make([]float64, frames),
		Bytes: make([]int64, frames)}
	var total int64
	for i := range frames {
		a.Detail[i], a.Motion[i], a.Bytes[i] = 3, 1, 300
		if i >= 720 {
			a.Detail[i], a.Motion[i], a.Bytes[i] = 40, 20, 30000
		}
		a.Scores[i] = 0.2
		total += a.Bytes[i]
	}
	a.Scores[820] = 1.5 // the best place for a keyframe near the middle of the expensive scene
	// The source's bit rate is what its frames' sizes add up to.
	src := &probe.Source{Video: probe.Video{Width: 640, Height: 360, FrameRate: big.NewRat(24, 1), BitRate: float64(total) * 8 / (frames / 24.0)}}
	o := NewOptions("in.mkv", "out.mkv")
	o.Speed, o.MinSceneLen, o.MaxSceneLen = SpeedOf(10), 24, 10
	plans := make([][]plan.Chunk, 2)
	for k := range plans {
		rule := newCostRule(&o, src)
		rule.See(a.Detail, a.Motion, a.Bytes)
		planner := &plan.Planner{MinLen: o.MinSceneLen, MaxLen: 240, Split: rule.Split}
		plans[k] = planner.Finish(frames, []int{0, 240, 480, 720}, a.Scores)
		rule.Price(plans[k])
	}
	if fmt.Sprint(plans[0]) != fmt.Sprint(plans[1]) {
		t.Fatalf("two plans of the same measures differ:\n%v\n%v", plans[0], plans[1])
	}
	chunks := plans[0]
	if len(chunks) < 3 || chunks[0].End != 240 || chunks[1].End != 480 || chunks[2].End != 720 {
		t.Errorf("a cheap scene was split: %v", chunks)
	}
	var expensive []plan.Chunk
	for _, c := range chunks {
		if c.Start >= 720 {
			expensive = append(expensive, c)
		}
		if c.Frames() < o.MinSceneLen {
			t.Errorf("%v is shorter than the minimum", c)
		}
	}
	if len(expensive) < 2 {
		t.Fatalf("the expensive scene was not split: %v", chunks)
	}
	found := false
	for _, c := range expensive {
		found = found || c.Start == 820
	}
	if len(expensive) == 2 && !found {
		t.Errorf("split at %d, not at the best keyframe near the middle (820): %v", expensive[1].Start, chunks)
	}
	if !(chunks[len(chunks)-1].Cost > 0 && chunks[0].Cost > 0 && plan.Before(expensive[0], chunks[0])) {
		t.Errorf("an expensive part does not go before the cheap chunk: %v", chunks)
	}
}
