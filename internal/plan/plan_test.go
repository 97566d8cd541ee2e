package plan

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestScenes(t *testing.T) {
	cases := []struct {
		name           string
		cuts           []int
		frames         int
		minLen, maxLen int
		score          []float64
		want           []int
	}{
		{"no cuts", nil, 100, 24, 0, nil, []int{0}},
		{"cuts kept", []int{0, 30, 60}, 100, 24, 0, nil, []int{0, 30, 60}},
		{"unsorted and duplicate", []int{60, 30, 30, 0}, 100, 24, 0, nil, []int{0, 30, 60}},
		{"short scene merged into the one before", []int{0, 30, 40, 80}, 110, 24, 0, nil, []int{0, 30, 80}},
		{"short last scene merged", []int{0, 50, 90}, 100, 24, 0, nil, []int{0, 50}},
		{"cut at or past the end ignored", []int{100, 120}, 100, 1, 0, nil, []int{0}},
		{"long scene split evenly", []int{0}, 100, 1, 40, nil, []int{0, 33, 66}},
		{"exact multiple", []int{0}, 80, 1, 40, nil, []int{0, 40}},
		{"split after a cut", []int{0, 10}, 100, 5, 50, nil, []int{0, 10, 55}},
		{"min 1 keeps every cut", []int{1, 2, 3}, 5, 1, 0, nil, []int{0, 1, 2, 3}},
		{"short scene joins across its weaker cut", []int{30, 40}, 110, 24, 0, scores(110, map[int]float64{30: 5, 40: 50}), []int{0, 40}},
		{"short scene joins across its weaker cut, later", []int{30, 40}, 110, 24, 0, scores(110, map[int]float64{30: 50, 40: 5}), []int{0, 30}},
		{"short first scene merged forward", []int{10, 60}, 100, 24, 0, nil, []int{0, 60}},
		{"split at the best frame near the middle", nil, 100, 1, 60, scores(100, map[int]float64{45: 3, 47: 9, 20: 99}), []int{0, 47}},
		{"best frame beyond the window ignored", nil, 100, 1, 60, scores(100, map[int]float64{20: 99, 80: 99}), []int{0, 50}},
		{"split respects the maximum", nil, 100, 1, 52, scores(100, map[int]float64{44: 99, 50: 1}), []int{0, 50}},
		{"three parts with scores", nil, 90, 1, 40, scores(90, map[int]float64{28: 7, 62: 7}), []int{0, 28, 62}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Scenes(tc.cuts, tc.frames, tc.minLen, tc.maxLen, tc.score)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Scenes(%v, %d, %d, %d) = %v, want %v", tc.cuts, tc.frames, tc.minLen, tc.maxLen, got, tc.want)
			}
			// Invariants: starts at 0, increasing, every scene within max.
			chunks := Chunks(got, tc.frames)
			total := 0
			for _, c := range chunks {
				if c.Frames() <= 0 || (tc.maxLen > 0 && c.Frames() > tc.maxLen) {
					t.Errorf("%v: bad length", c)
				}
				total += c.Frames()
			}
			if total != tc.frames {
				t.Errorf("chunks cover %d frames, want %d", total, tc.frames)
			}
		})
	}
}

func scores(n int, at map[int]float64) []float64 {
	s := make([]float64, n)
	for i, v := range at {
		s[i] = v
	}
	return s
}

func TestLongestFirst(t *testing.T) {
	cs := Chunks([]int{0, 10, 40, 50}, 80)
	got := LongestFirst(cs)
	var ids []int
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if want := []int{1, 3, 0, 2}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("order %v, want %v", ids, want)
	}
}

func TestDiff(t *testing.T) {
	old := Fingerprint{"speed": "6", "encoder": "rav1e 0.5.1", "gone": "x"}
	cur := Fingerprint{"speed": "4", "encoder": "rav1e 0.5.1", "new": "y"}
	got := FormatChanges(Diff(old, cur))
	want := "gone: x -> (none); new: (none) -> y; speed: 6 -> 4"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if len(Diff(old, old)) != 0 {
		t.Fatal("a fingerprint differs from itself")
	}
	if old.Sum() == cur.Sum() || old.Sum() != (Fingerprint{"gone": "x", "encoder": "rav1e 0.5.1", "speed": "6"}).Sum() {
		t.Fatal("Sum must depend on content only")
	}
}

func TestSourceIdentity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a")
	big := strings.Repeat("x", 3<<20)
	write := func(s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(big)
	id1, err := SourceIdentity(p)
	if err != nil {
		t.Fatal(err)
	}
	if id1.Size != 3<<20 {
		t.Errorf("size %d, want %d", id1.Size, 3<<20)
	}
	write(big[:len(big)-1] + "y") // same size, last byte differs
	id2, _ := SourceIdentity(p)
	if id1.Size != id2.Size || id1.Sample == id2.Sample {
		t.Fatalf("a change in the tail must change the sample hash (%s %s)", id1.Sample, id2.Sample)
	}
	if _, err := SourceIdentity(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file must be an error")
	}
}

// TestScenesRandom checks the invariants on random cuts and scores.
func TestScenesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		frames := 1 + rng.IntN(600)
		minLen, maxLen := 1+rng.IntN(40), 0
		if rng.IntN(3) > 0 {
			maxLen = minLen + rng.IntN(200)
		}
		var cuts []int
		for range rng.IntN(30) {
			cuts = append(cuts, rng.IntN(frames+10))
		}
		var score []float64
		if rng.IntN(2) == 0 {
			score = make([]float64, frames)
			for k := range score {
				score[k] = rng.Float64() * 10
			}
		}
		got := Scenes(cuts, frames, minLen, maxLen, score)
		if got[0] != 0 {
			t.Fatalf("%v: does not start at 0", got)
		}
		for k, c := range Chunks(got, frames) {
			if c.Frames() <= 0 || (maxLen > 0 && c.Frames() > maxLen) {
				t.Fatalf("frames %d min %d max %d cuts %v: scene %d is %v", frames, minLen, maxLen, cuts, k, c)
			}
			if maxLen == 0 && len(got) > 1 && c.Frames() < minLen {
				t.Fatalf("frames %d min %d cuts %v: scene %v shorter than the minimum", frames, minLen, cuts, c)
			}
		}
	}
}

// BenchmarkScenesCutEveryFrame plans two hours at 60 fps with a cut on
// every frame: the merging of short scenes must stay O(n log n).
func BenchmarkScenesCutEveryFrame(b *testing.B) {
	const frames = 2 * 3600 * 60
	cuts := make([]int, frames)
	score := make([]float64, frames)
	for i := range cuts {
		cuts[i], score[i] = i, float64(i%97)
	}
	for b.Loop() {
		Scenes(cuts, frames, 24, 600, score)
	}
}
