package poweraware

import (
	"math"
	"testing"
)

// ramp is n history values, newest first, oldest first reading
// start, start+step, ….
func ramp(n int, start, step float64) []float64 {
	h := make([]float64, n)
	for i := range h {
		h[n-1-i] = start + step*float64(i)
	}
	return h
}

func TestDetectors(t *testing.T) {
	// 1..12 %: IQR 0.07 (TestStatistics), threshold 1 − 1.5·0.07 = 0.895.
	iqrHist := ramp(12, 0.01, 0.01)
	// six at 0.5, six at 0.6: median 0.55, MAD 0.05, threshold 1 − 2.5·0.05 = 0.875.
	madHist := []float64{0.5, 0.6, 0.5, 0.6, 0.5, 0.6, 0.5, 0.6, 0.5, 0.6, 0.5, 0.6}
	// oldest first 0.5, 0.52, …, 0.68: the line 0.48 + 0.02x; a 1740 MiB VM
	// migrates in 27.84 s, one interval, so the prediction is at x = 11:
	// 0.70, × 1.2 = 0.84, × 1.5 = 1.05.
	lrHist := ramp(10, 0.5, 0.02)
	tests := []struct {
		name string
		d    Detector
		req  float64
		hist []float64
		ram  float64
		want bool
	}{
		{"thr above", THR{0.8}, 801, nil, 870, true},
		{"thr at threshold is not over", THR{0.8}, 800, nil, 870, false},
		{"iqr falls back to 0.7 with 11 values", Adaptive{"iqr", 1.5}, 726, iqrHist[:11], 870, true},
		{"iqr fallback below 0.7", Adaptive{"iqr", 1.5}, 700, iqrHist[:11], 870, false},
		{"iqr above 0.895", Adaptive{"iqr", 1.5}, 896, iqrHist, 870, true},
		{"iqr below 0.895", Adaptive{"iqr", 1.5}, 894, iqrHist, 870, false},
		{"mad above 0.875", Adaptive{"mad", 2.5}, 876, madHist, 870, true},
		{"mad below 0.875", Adaptive{"mad", 2.5}, 874, madHist, 870, false},
		{"lr 1.2 predicts 0.84", LR{Safety: 1.2}, 999, lrHist, 1740, false},
		{"lr 1.5 predicts 1.05", LR{Safety: 1.5}, 0, lrHist, 1740, true},
		{"lrr 1.5 predicts 1.05", LR{Robust: true, Safety: 1.5}, 0, lrHist, 1740, true},
		// 20000 MiB take 320 s: two intervals, x = 12: 0.72 · 1.4 = 1.008.
		{"lr looks further for a long migration", LR{Safety: 1.4}, 0, lrHist, 20000, true},
		{"lr 1.4 one interval: 0.98", LR{Safety: 1.4}, 0, lrHist, 1740, false},
		{"lr falls back with 9 values", LR{Safety: 1.5}, 701, lrHist[:9], 1740, true},
	}
	for _, tt := range tests {
		st := build([]Host{host(0.5)}, []VM{vm(0, tt.req, tt.ram, tt.hist...)})
		if got := tt.d.Overloaded(st, 0); got != tt.want {
			t.Errorf("%s: overloaded = %v, want %v", tt.name, got, tt.want)
		}
	}
	st := build([]Host{host(0.5)}, []VM{vm(0, 0, 1740, lrHist...)})
	for _, d := range []LR{{Safety: 1.2}, {Robust: true, Safety: 1.2}} {
		if p, ok := d.Predicted(st, 0); !ok || math.Abs(p-0.84) > 1e-12 {
			t.Errorf("%s predicted %v, %v; want 0.84", d.Name(), p, ok)
		}
	}
	if thr, ok := (Adaptive{"iqr", 1.5}).Threshold(build([]Host{host(0.5)}, []VM{vm(0, 0, 870, iqrHist...)}), 0); !ok || math.Abs(thr-0.895) > 1e-12 {
		t.Errorf("iqr threshold %v, %v; want 0.895", thr, ok)
	}
}

// A host's history sums its VMs' histories weighted by their size, and
// drops the oldest zeros.
func TestHostHistory(t *testing.T) {
	st := build([]Host{host(0)}, []VM{
		{MIPS: 500, History: []float64{1, 0.5, 0}, Host: 0},
		{MIPS: 250, History: []float64{0.4, 0, 0, 0}, Host: 0},
	})
	got := st.HostHistory(0)
	want := []float64{0.6, 0.25}
	if len(got) != len(want) || !near(got[0], want[0]) || !near(got[1], want[1]) {
		t.Errorf("history %v, want %v", got, want)
	}
}

func TestAllocation(t *testing.T) {
	// Two 1000-MIPS VMs on a 1500-MIPS host with 1000-MIPS cores: 900 and
	// 1200 requested, the second capped at one core: 1900 > 1500, scaled by
	// 1500/1900 and floored: 710 + 789 = 1499.
	st := build([]Host{{MIPS: 1500, PEMIPS: 1000}}, []VM{vm(0, 900, 0), vm(0, 1200, 0)})
	if a := st.Allocated(0); a != 1499 {
		t.Errorf("allocated %v, want 1499", a)
	}
	if a := st.Available(0); a != 0 {
		t.Errorf("available %v, want 0", a)
	}
	st = build([]Host{{MIPS: 1500, PEMIPS: 1000}}, []VM{vm(0, 300, 0), vm(0, 1200, 0)})
	if a, f := st.Allocated(0), st.Available(0); a != 1300 || f != 200 {
		t.Errorf("allocated %v, available %v; want 1300, 200", a, f)
	}
}

func TestNewDetectorRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		p    float64
	}{{"thr", 1.5}, {"iqr", 0}, {"mad", -1}, {"lr", math.Inf(1)}, {"xyz", 1}} {
		if _, err := NewDetector(c.name, c.p); err == nil {
			t.Errorf("NewDetector(%q, %v) accepted", c.name, c.p)
		}
	}
}
