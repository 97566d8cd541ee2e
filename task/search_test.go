package task

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/av1job/av1job/internal/quality"
)

// run searches with score curve f, from tg's known probes on, and
// returns the probes made and the decision.
func run(t *testing.T, tg TargetQuality, f func(q int) float64) ([]Probe, decision) {
	t.Helper()
	probes := tg.Known
	for i := len(probes); ; i++ {
		tg.Known = probes
		next, d := tg.search()
		if next == 0 {
			return probes, d
		}
		if i >= tg.Probes {
			t.Fatalf("probe %d asked for after %d probes: %v", next, i, probes)
		}
		if next < tg.MinQ || next > tg.MaxQ {
			t.Fatalf("probe at %d, outside %d-%d", next, tg.MinQ, tg.MaxQ)
		}
		for _, p := range probes {
			if p.Quantizer == next {
				t.Fatalf("quantizer %d probed twice: %v", next, probes)
			}
		}
		probes = append(probes, Probe{Quantizer: next, Score: f(next)})
	}
}

func TestNext(t *testing.T) {
	seed := seedFromEnv(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	noise := make([]float64, 256)
	for i := range noise {
		noise[i] = 2*rng.Float64() - 1 // bounded: ±1 point
	}
	linear := func(q int) float64 { return 95 - 0.25*float64(q) } // 80 at q 60
	tg := TargetQuality{Score: 80, Metric: quality.SSIMULACRA2, Stat: quality.StatMean, MinQ: 20, MaxQ: 220, Probes: 4}
	tests := []struct {
		name    string
		target  TargetQuality
		f       func(q int) float64
		wantQ   [2]int // the decision's quantizer must fall in this range
		reached bool
	}{
		{"linear", tg, linear, [2]int{58, 60}, true},
		{"convex", tg, func(q int) float64 { return 100 - 20*math.Sqrt(float64(q)/60) }, [2]int{56, 60}, true},
		{"noisy", tg, func(q int) float64 { return linear(q) + noise[q] }, [2]int{44, 70}, true},
		{"flat above", tg, func(int) float64 { return 90 }, [2]int{220, 220}, true},
		{"flat below", tg, func(int) float64 { return 60 }, [2]int{20, 20}, false},
		{"unreachable", TargetQuality{Score: 99, Metric: quality.PSNR, Stat: quality.StatMin, MinQ: 20, MaxQ: 220, Probes: 6}, linear, [2]int{20, 20}, false},
		{"steep", tg, func(q int) float64 { return 100 - 2*float64(q) }, [2]int{8, 10}, true},
		{"easy scene", TargetQuality{Score: 80, Metric: quality.SSIMULACRA2, Stat: quality.StatMean, MinQ: 20, MaxQ: 220, Probes: 4},
			func(q int) float64 { return 99 - 0.08*float64(q) }, [2]int{200, 220}, true},
		{"one probe", TargetQuality{Score: 80, Metric: quality.SSIMULACRA2, Stat: quality.StatMean, MinQ: 20, MaxQ: 220, Probes: 1}, linear, [2]int{20, 120}, false},
		// Scores that hold up, then fall off a cliff (a flat scene at high
		// quantizers): 80 at 170.
		{"cliff", TargetQuality{Score: 80, Metric: quality.SSIMULACRA2, Stat: quality.StatMean, MinQ: 40, MaxQ: 255, Probes: 4}, func(q int) float64 {
			if q < 200 {
				return 95 - 0.1*float64(q-40) - 0.1*float64(max(q-150, 0))
			}
			return 76 - 1.5*float64(q-200)
		}, [2]int{166, 170}, true},
		{"narrow range", TargetQuality{Score: 80, Metric: quality.SSIMULACRA2, Stat: quality.StatMean, MinQ: 59, MaxQ: 61, Probes: 4}, linear, [2]int{59, 60}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "steep" {
				tc.target.MinQ = 1
			}
			probes, d := run(t, tc.target, tc.f)
			if d.Quantizer < tc.wantQ[0] || d.Quantizer > tc.wantQ[1] {
				t.Errorf("decision %+v after %v; want a quantizer in %v", d, probes, tc.wantQ)
			}
			if tc.name != "one probe" && tc.name != "noisy" && d.Reached != tc.reached { // noise may leave every probe below
				t.Errorf("decision %+v: reached %v, want %v", d, d.Reached, tc.reached)
			}
			// Resumed from any prefix of its probes, in any order, the
			// search goes on the same way.
			for k := 0; k <= len(probes); k++ {
				prefix := append([]Probe(nil), probes[:k]...)
				rng.Shuffle(len(prefix), func(i, j int) { prefix[i], prefix[j] = prefix[j], prefix[i] })
				resumed := tc.target
				resumed.Known = prefix
				_, d2 := run(t, resumed, func(q int) float64 {
					for _, p := range probes {
						if p.Quantizer == q {
							return p.Score
						}
					}
					t.Fatalf("resumed search probes %d, which the first did not", q)
					return 0
				})
				if d2 != d {
					t.Errorf("resumed after %d probes: decision %+v, want %+v", k, d2, d)
				}
			}
		})
	}
}

func TestNextKeepsTheBracketOnNonMonotoneScores(t *testing.T) {
	tg := TargetQuality{Score: 80, Metric: quality.SSIMULACRA2, Stat: quality.StatMean, MinQ: 20, MaxQ: 220, Probes: 4}
	// q 100 passes again after 80 failed: the bracket is [60, 80).
	probes := []Probe{{Quantizer: 60, Score: 82}, {Quantizer: 80, Score: 78}, {Quantizer: 100, Score: 81}, {Quantizer: 70, Score: 79}}
	tg.Known = probes
	next, d := tg.search()
	if next != 0 || d.Quantizer < 60 || d.Quantizer >= 70 || !d.Reached {
		t.Errorf("Next = %d, %+v; want a decision in [60,70)", next, d)
	}
}

// TestNextProperties: on random score curves, ranges and probe counts the
// search ends within its probes, never probes outside the range or twice
// (run checks both), and decides a quantizer inside the range; with a
// bracket, the decision lies in it.
func TestNextProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(seedFromEnv(t), 2))
	for i := 0; i < 5000; i++ {
		lo := 1 + rng.IntN(200)
		tg := TargetQuality{Score: 20 + 80*rng.Float64(), Metric: quality.SSIMULACRA2, Stat: quality.StatMean, MinQ: lo, MaxQ: lo + rng.IntN(256-lo), Probes: 1 + rng.IntN(8)}
		a, b, noise := 100*rng.Float64(), rng.Float64(), rng.Float64()*3
		cliff := tg.MinQ + rng.IntN(tg.MaxQ-tg.MinQ+1)
		f := func(q int) float64 {
			v := a + 20 - b*float64(q)
			if q > cliff {
				v -= 2 * float64(q-cliff)
			}
			return v + noise*math.Sin(float64(q)*1.7)
		}
		probes, d := run(t, tg, f)
		if d.Quantizer < tg.MinQ || d.Quantizer > tg.MaxQ {
			t.Fatalf("target %+v: decision %+v outside the range after %v", tg, d, probes)
		}
		if pass, fail := bracket(sortedProbes(probes), tg.Score); pass != nil && fail != nil && (d.Quantizer < pass.Quantizer || d.Quantizer >= fail.Quantizer) {
			t.Fatalf("target %+v: decision %+v outside the bracket [%d,%d) of %v", tg, d, pass.Quantizer, fail.Quantizer, probes)
		}
	}
}
