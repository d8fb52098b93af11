package poweraware

import (
	"fmt"
	"math"
)

// Detector decides whether a host is overloaded, given the VMs now on its
// list in st (which may hold VMs planned onto it in this round). It reads
// st and changes nothing.
type Detector interface {
	// Name is the detector's short name in policy names ("thr", "iqr", …).
	Name() string
	Overloaded(st *State, h int) bool
}

// Fallback is the static threshold the adaptive detectors use while a host
// has too little history (examples/power/RunnerAbstract.java
// getVmAllocationPolicy: a PowerVmAllocationPolicyMigrationStaticThreshold
// with 0.7 as every adaptive policy's fallback).
const Fallback = 0.7

// MinAdaptiveHistory is how many history values IQR and MAD need
// (PowerVmAllocationPolicyMigrationInterQuartileRange.getHostUtilizationIqr
// and …MedianAbsoluteDeviation.getHostUtilizationMad: countNonZeroBeginning
// ≥ 12, "suggested as a safe value").
const MinAdaptiveHistory = 12

// RegressionWindow is how many of the newest values LR and LRR fit
// (PowerVmAllocationPolicyMigrationLocalRegression.isHostOverUtilized:
// length = 10, "to make the regression responsive enough").
const RegressionWindow = 10

// THR is the static threshold: overloaded when the VMs' requests exceed
// Threshold of the host's capacity
// (power/PowerVmAllocationPolicyMigrationStaticThreshold.java isHostOverUtilized).
type THR struct{ Threshold float64 }

func (THR) Name() string { return "thr" }

func (d THR) Overloaded(st *State, h int) bool {
	return st.RequestedUtilization(h) > d.Threshold
}

// Adaptive is IQR or MAD: overloaded when the requests exceed
// 1 − Safety × spread(host history), the spread being the IQR or the MAD of
// up to 30 values; with fewer than 12 values, the THR 0.7 fallback
// (power/PowerVmAllocationPolicyMigrationInterQuartileRange.java,
// …MedianAbsoluteDeviation.java isHostOverUtilized).
type Adaptive struct {
	// Kind is "iqr" or "mad".
	Kind   string
	Safety float64
}

func (d Adaptive) Name() string { return d.Kind }

// Threshold is the upper threshold for host h and whether there was enough
// history to compute it.
func (d Adaptive) Threshold(st *State, h int) (float64, bool) {
	buf, n := st.hostHistory(h)
	if n < MinAdaptiveHistory {
		return 0, false
	}
	hist := buf[:n]
	spread := IQR(hist)
	if d.Kind == "mad" {
		spread = MAD(hist)
	}
	return 1 - d.Safety*spread, true
}

func (d Adaptive) Overloaded(st *State, h int) bool {
	thr, ok := d.Threshold(st, h)
	if !ok {
		return THR{Fallback}.Overloaded(st, h)
	}
	return st.RequestedUtilization(h) > thr
}

// LR is local regression (Robust: robust local regression): fit a line to
// the 10 newest history values (oldest at x = 1), extrapolate it to
// 10 + ⌈longest migration off the host / 300 s⌉ and call the host
// overloaded when Safety × that prediction ≥ 1; with fewer than 10 values,
// the THR 0.7 fallback
// (power/PowerVmAllocationPolicyMigrationLocalRegression.java and
// …LocalRegressionRobust.java isHostOverUtilized, getMaximumVmMigrationTime).
// Unlike the others it never looks at the current requests: only at history.
type LR struct {
	Robust bool
	Safety float64
}

func (d LR) Name() string {
	if d.Robust {
		return "lrr"
	}
	return "lr"
}

// Predicted is the safety-scaled predicted utilisation of host h and
// whether there was enough history to compute it.
func (d LR) Predicted(st *State, h int) (float64, bool) {
	hist, n := st.hostHistory(h)
	if n < RegressionWindow {
		return 0, false
	}
	var rev [RegressionWindow]float64
	for i := range rev {
		rev[i] = hist[RegressionWindow-i-1]
	}
	var a, b float64
	if d.Robust {
		a, b = RobustLoess(rev[:])
	} else {
		a, b = Loess(rev[:])
	}
	intervals := math.Ceil(maxMigrationTime(st, h) / SchedulingInterval)
	return (a + b*(RegressionWindow+intervals)) * d.Safety, true
}

func (d LR) Overloaded(st *State, h int) bool {
	p, ok := d.Predicted(st, h)
	if !ok {
		return THR{Fallback}.Overloaded(st, h)
	}
	return p >= 1
}

// MigrationTime is CloudSim's estimate of a migration, in seconds: RAM /
// (bandwidth / 2), with RAM in MiB and bandwidth in kbit/s
// (power/PowerDatacenter.java updateCloudletProcessing, and
// getMaximumVmMigrationTime of the LR policy).
func MigrationTime(ramMiB, bandwidthKbit float64) float64 {
	return ramMiB / (bandwidthKbit / (2 * 8000))
}

// maxMigrationTime is the longest migration off host h
// (PowerVmAllocationPolicyMigrationLocalRegression.getMaximumVmMigrationTime:
// the largest RAM starts at Integer.MIN_VALUE, so an empty host gives a
// negative time and 0 intervals after ceil, or less).
func maxMigrationTime(st *State, h int) float64 {
	maxRAM := float64(math.MinInt32)
	for _, v := range st.Hosts[h].VMs {
		maxRAM = math.Max(maxRAM, st.VMs[v].RAM)
	}
	return MigrationTime(maxRAM, st.Hosts[h].Bandwidth)
}

// NewDetector builds a detector from its short name and safety parameter
// (threshold for thr).
func NewDetector(name string, param float64) (Detector, error) {
	if !(param > 0) || math.IsInf(param, 0) {
		return nil, fmt.Errorf("poweraware: %s: parameter %v must be a positive number", name, param)
	}
	switch name {
	case "thr":
		if param > 1 {
			return nil, fmt.Errorf("poweraware: thr: threshold %v must be in (0, 1]", param)
		}
		return THR{Threshold: param}, nil
	case "iqr", "mad":
		return Adaptive{Kind: name, Safety: param}, nil
	case "lr":
		return LR{Safety: param}, nil
	case "lrr":
		return LR{Robust: true, Safety: param}, nil
	}
	return nil, fmt.Errorf("poweraware: unknown detector %q (want thr, iqr, mad, lr or lrr)", name)
}
