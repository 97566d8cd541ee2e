package scenebench

import (
	"math"
	"strings"
	"testing"
)

func TestScore(t *testing.T) {
	cases := []struct {
		name            string
		truth, detected []int
		want            Result
		p, r, f1        float64
	}{
		{"exact", []int{10, 20, 30}, []int{10, 20, 30}, Result{3, 0, 0}, 1, 1, 1},
		{"one frame early or late counts", []int{10, 20}, []int{9, 21}, Result{2, 0, 0}, 1, 1, 1},
		{"two frames off does not", []int{10, 20}, []int{8, 22}, Result{0, 2, 2}, 0, 0, 0},
		{"frame 0 is never a cut", []int{0, 10}, []int{0, 10}, Result{1, 0, 0}, 1, 1, 1},
		{"a true cut matches one detection", []int{10}, []int{9, 10, 11}, Result{1, 2, 0}, 1.0 / 3, 1, 0.5},
		{"each detection finds its own cut", []int{10, 12}, []int{11, 13}, Result{2, 0, 0}, 1, 1, 1},
		{"missed and spurious", []int{10, 20, 30}, []int{0, 9, 11, 21, 35}, Result{2, 2, 1}, 0.5, 2.0 / 3, 4.0 / 7},
		{"unsorted input with duplicates", []int{30, 10, 20}, []int{21, 21, 10}, Result{2, 0, 1}, 1, 2.0 / 3, 0.8},
		{"nothing to find, nothing found", nil, []int{0}, Result{0, 0, 0}, 1, 1, 1},
		{"nothing found", []int{5}, nil, Result{0, 0, 1}, 1, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Score(tc.truth, tc.detected)
			if got != tc.want {
				t.Fatalf("Score = %+v, want %+v", got, tc.want)
			}
			for _, m := range []struct {
				name      string
				got, want float64
			}{{"precision", got.Precision(), tc.p}, {"recall", got.Recall(), tc.r}, {"F1", got.F1(), tc.f1}} {
				if math.Abs(m.got-m.want) > 1e-9 {
					t.Errorf("%s = %.4f, want %.4f", m.name, m.got, m.want)
				}
			}
		})
	}
	if s := (Result{1, 2, 3}).Add(Result{4, 5, 6}); s != (Result{5, 7, 9}) {
		t.Errorf("Add = %+v", s)
	}
}

func TestTruth(t *testing.T) {
	src := Lavfi("color", "c=red")
	c := Clip{Name: "t", Frame: Frame{64, 36, 25}, Shots: []Shot{
		{Src: src, Frames: 10, Flashes: []Flash{{3, White}}},
		{Src: src, Frames: 10},                               // cut at 10
		{Src: src, Frames: 10, How: Fade, In: 4},             // fade [20,24), shot from 24
		{Src: src, Frames: 5, Flashes: []Flash{{2, Insert}}}, // cut at 34, flash at 36
	}}
	got := c.Truth()
	if got.Frames != 39 || len(got.Cuts) != 2 || got.Cuts[0] != 10 || got.Cuts[1] != 34 ||
		len(got.Transitions) != 1 || got.Transitions[0] != [2]int{20, 24} ||
		len(got.Flashes) != 2 || got.Flashes[0] != 3 || got.Flashes[1] != 36 {
		t.Fatalf("Truth = %+v", got)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := c
	bad.Shots = append([]Shot(nil), c.Shots...)
	bad.Shots[2].In = 11
	if bad.Validate() == nil {
		t.Error("a transition longer than the shot before it passed")
	}
	for _, r := range Set() {
		if err := r.Validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestHeldOut pins the held-out clips of seed 1, those the README's
// figures were measured on: their cache keys hash their whole ffmpeg
// command lines, so any change to how they are drawn or rendered, on any
// platform, shows here. It also checks that a clip's graph does not change
// between calls, that another seed draws other clips, and that the clips
// of many seeds are valid recipes.
func TestHeldOut(t *testing.T) {
	want := []string{"heldout-1-6bfe7c625750.mp4", "heldout-2-f3456b1e8e80.mp4", "heldout-3-75ddc6f490a3.mp4", "heldout-4-0a4b6b334faf.mp4"}
	clips, other := HeldOut(1, 4, 360), HeldOut(2, 4, 360)
	if len(clips) != len(want) {
		t.Fatalf("%d clips, want %d", len(clips), len(want))
	}
	for i, c := range clips {
		if c.Key() != want[i] {
			t.Errorf("clip %d: key %s, want %s (the clips of seed 1 changed)", i+1, c.Key(), want[i])
		}
		if first := c.Graph(); c.Graph() != first {
			t.Errorf("clip %s: the graph changes from call to call", c.Name)
		}
		if c.Frame.H != 360 || !strings.HasPrefix(c.Name, HeldOutPrefix) {
			t.Errorf("clip %s at %dx%d", c.Name, c.Frame.W, c.Frame.H)
		}
		if c.Graph() == other[i].Graph() {
			t.Errorf("clip %s is the same with another seed", c.Name)
		}
	}
	for seed := uint64(1); seed <= 200; seed++ {
		for _, c := range HeldOut(seed, 4, 360) {
			if err := c.Validate(); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		}
	}
}
