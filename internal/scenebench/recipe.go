// Package scenebench is the benchmark set for scene-cut detectors: clip
// recipes built from ffmpeg's lavfi sources, with the true cut frames known
// by construction, and the scoring of a detector's cuts against them.
//
// A clip is a sequence of shots. A shot starts either with a hard cut (a
// true cut) or with a transition from the shot before (a cross fade, a
// dissolve or a fade through black: not a cut, so a detection inside one is
// a false positive), and may contain single-frame flashes (not cuts either).
// The clips are generated once into a cache directory, keyed by a hash of
// the ffmpeg command line, and encoded with libx264 like a user's source;
// only the recipes live in the repository. Besides the recipes (Recipes,
// Set), on which detector settings are chosen, HeldOut draws clips at
// random from a seed, to check those settings on clips they were not
// chosen on.
package scenebench

import "fmt"

// Frame is the geometry a source is rendered at.
type Frame struct {
	W, H int
	Rate int // frames per second
}

// A Source renders an endless lavfi video stream at f's size and rate; the
// shot trims it.
type Source func(f Frame) string

// Transition is how a shot begins.
type Transition int

// Transitions. Every kind but Cut blends the shot with the one before over
// Shot.In frames and is not a scene cut.
const (
	Cut       Transition = iota // hard cut: the shot's first frame is a true cut
	Fade                        // cross fade (xfade=transition=fade)
	Dissolve                    // random-pixel dissolve (xfade=transition=dissolve)
	FadeBlack                   // fade to black and up again (xfade=transition=fadeblack)
)

var xfadeName = map[Transition]string{Fade: "fade", Dissolve: "dissolve", FadeBlack: "fadeblack"}

func (t Transition) String() string {
	if t == Cut {
		return "cut"
	}
	return xfadeName[t]
}

// FlashKind is what a flash frame shows.
type FlashKind int

// Flash kinds: each replaces one frame of a shot; the shot resumes after it.
const (
	White  FlashKind = iota // a white frame
	Bright                  // the shot's frame, overexposed (a photographer's flash, lightning)
	Insert                  // one frame of an unrelated source
)

// Flash is a single-frame flash at frame At of a shot (counted from the
// shot's first frame after its incoming transition).
type Flash struct {
	At   int
	Kind FlashKind
}

// Shot is one scene of a clip.
type Shot struct {
	Src     Source
	Frames  int        // frames after the incoming transition
	How     Transition // how the shot begins (ignored for the first shot)
	In      int        // length of the incoming transition in frames (not for Cut)
	Flashes []Flash
}

// Clip is a benchmark clip.
type Clip struct {
	Name  string
	About string // what the clip tests
	Frame Frame
	Shots []Shot
}

// Truth is what a clip contains, by construction.
type Truth struct {
	Frames      int
	Cuts        []int    // first frames of shots that start with a hard cut
	Transitions [][2]int // [start, end) of each fade or dissolve
	Flashes     []int    // frames that are a flash
}

// Truth computes where the clip's cuts, transitions and flashes are.
func (c Clip) Truth() Truth {
	var t Truth
	pos := 0
	for i, s := range c.Shots {
		if i > 0 {
			if s.How == Cut {
				t.Cuts = append(t.Cuts, pos)
			} else {
				t.Transitions = append(t.Transitions, [2]int{pos, pos + s.In})
				pos += s.In
			}
		}
		for _, f := range s.Flashes {
			t.Flashes = append(t.Flashes, pos+f.At)
		}
		pos += s.Frames
	}
	t.Frames = pos
	return t
}

// Validate reports a recipe error: a transition longer than a neighbouring
// shot's own frames, a flash outside its shot, or a shot without frames.
func (c Clip) Validate() error {
	for i, s := range c.Shots {
		if s.Frames < 1 {
			return fmt.Errorf("%s: shot %d has no frames", c.Name, i)
		}
		if i > 0 && s.How != Cut && (s.In < 2 || s.In > c.Shots[i-1].Frames || s.In > s.Frames) {
			return fmt.Errorf("%s: shot %d: a %d-frame %s does not fit", c.Name, i, s.In, s.How)
		}
		for _, f := range s.Flashes {
			if f.At < 1 || f.At >= s.Frames-1 {
				return fmt.Errorf("%s: shot %d: flash at %d outside the shot", c.Name, i, f.At)
			}
		}
	}
	return nil
}

// Scaled returns the clip rendered at another height, the width following
// the aspect ratio (rounded to even).
func (c Clip) Scaled(name string, height int) Clip {
	w := (c.Frame.W*height/c.Frame.H + 1) &^ 1
	c.Name = name
	c.Frame.W, c.Frame.H = w, height
	return c
}
