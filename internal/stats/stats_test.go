package stats

import (
	"math"
	"testing"
)

func TestSpearman(t *testing.T) {
	cases := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{[]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		{[]float64{1, 2, 3, 4, 5}, []float64{2, 1, 4, 3, 5}, 0.8},
		{[]float64{1, 1, 2}, []float64{1, 2, 3}, math.Sqrt(3) / 2},
	}
	for _, tc := range cases {
		if got := Spearman(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Spearman(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
