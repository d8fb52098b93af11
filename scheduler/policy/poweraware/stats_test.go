package poweraware

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Hand-computed values of CloudSim's statistics.
func TestStatistics(t *testing.T) {
	twelve := []float64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	tests := []struct {
		name      string
		got, want float64
	}{
		// (n+1)/2 = 2.5: halfway between the 2nd and 3rd of 1,2,3,4.
		{"median even", Median([]float64{4, 1, 3, 2}), 2.5},
		{"median odd", Median([]float64{5, 1, 3}), 3},
		{"median one", Median([]float64{7}), 7},
		// median 3, deviations 2,1,0,1,97, their median 1.
		{"mad", MAD([]float64{1, 2, 3, 4, 100}), 1},
		{"mad empty", MAD(nil), 0},
		// n = 12: positions round(3.25) = 3 and round(9.75) = 10: 10 − 3.
		{"iqr 12", IQR(twelve), 7},
		// n = 13: round(3.5) = 4 (half up) and round(10.5) = 11: 11 − 4.
		{"iqr 13", IQR(append([]float64{13}, twelve...)), 7},
		// n = 4: round(1.25) = 1, round(3.75) = 4: 40 − 10.
		{"iqr 4", IQR([]float64{40, 10, 30, 20}), 30},
	}
	for _, tt := range tests {
		if !near(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// The regression is least squares at x = 1..n, as CloudSim's "loess" turns
// out to be (its weights never apply).
func TestLoess(t *testing.T) {
	line := make([]float64, 10)
	for i := range line {
		line[i] = 1 + 2*float64(i+1)
	}
	step := []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	tests := []struct {
		name   string
		y      []float64
		a, b   float64
		robust bool
	}{
		{"exact line", line, 1, 2, false},
		{"exact line, robust", line, 1, 2, true},
		// x̄ = 5.5, ȳ = 0.1, Sxx = 82.5, Sxy = 4.5·0.9 + 0.1·4.5 = 4.5:
		// slope 4.5/82.5 = 0.0545…, intercept 0.1 − 5.5·slope = −0.2.
		{"step", step, -0.2, 4.5 / 82.5, false},
		{"step, robust", step, -0.2, 4.5 / 82.5, true},
	}
	for _, tt := range tests {
		a, b := Loess(tt.y)
		if tt.robust {
			a, b = RobustLoess(tt.y)
		}
		if math.Abs(a-tt.a) > 1e-12 || math.Abs(b-tt.b) > 1e-12 {
			t.Errorf("%s: (%v, %v), want (%v, %v)", tt.name, a, b, tt.a, tt.b)
		}
	}
}

func TestWeightsAreInverseAndPositive(t *testing.T) {
	w := tricubeWeights(10)
	// i = 9: (9−9)/9 = 0, k = 1, weight 1; i = 2: k = (1 − (7/9)³)³.
	if w[9] != 1 || !near(w[2], 1/math.Pow(1-math.Pow(7.0/9, 3), 3)) || w[0] != w[2] || w[1] != w[2] {
		t.Errorf("tricube weights %v", w)
	}
	for i, x := range w {
		if !(x > 0) {
			t.Errorf("weight %d = %v: CloudSim's weighting would apply", i, x)
		}
	}
}
