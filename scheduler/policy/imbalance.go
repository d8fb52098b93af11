package policy

import (
	"math"

	"gonum.org/v1/gonum/stat"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Weights say how much CPU and memory count in the imbalance.
type Weights struct{ CPU, Memory float64 }

// DefaultWeights count CPU and memory alike.
var DefaultWeights = Weights{CPU: 1, Memory: 1}

// Imbalance is the weighted mean of the coefficients of variation of CPU
// and memory utilisation over usable hosts (0: perfectly even). CV rather
// than standard deviation so a lightly and a heavily loaded cluster with
// the same relative spread score the same.
func Imbalance(st *cluster.State, w Weights) float64 {
	cpu, mem, _ := utilisation(st)
	return combine(cv(cpu, nil), cv(mem, nil), w)
}

// WeightedStdDev is the standard deviation of CPU and memory utilisation
// with hosts weighted by capacity (cores, bytes), combined with w; a big
// host that is hot matters more than a small one.
func WeightedStdDev(st *cluster.State, w Weights) float64 {
	cpu, mem, idx := utilisation(st)
	cw := make([]float64, len(idx))
	mw := make([]float64, len(idx))
	for i, h := range idx {
		cw[i] = float64(st.Snap.Hosts[h].CPUs)
		mw[i] = float64(st.Snap.Hosts[h].Memory)
	}
	_, sc := stat.PopMeanStdDev(cpu, cw)
	_, sm := stat.PopMeanStdDev(mem, mw)
	return combine(sc, sm, w)
}

func utilisation(st *cluster.State) (cpu, mem []float64, idx []int) {
	for h := range st.Snap.Hosts {
		host := &st.Snap.Hosts[h]
		if !host.Usable() {
			continue
		}
		cpu = append(cpu, st.CPU[h]/float64(host.CPUs))
		mem = append(mem, float64(st.Memory[h])/float64(host.Memory))
		idx = append(idx, h)
	}
	return cpu, mem, idx
}

func cv(x, w []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	m, s := stat.PopMeanStdDev(x, w)
	if m <= 0 {
		return 0
	}
	return s / m
}

func combine(c, m float64, w Weights) float64 {
	t := w.CPU + w.Memory
	if t <= 0 {
		return 0
	}
	return (w.CPU*c + w.Memory*m) / t
}

// Tracker keeps running sums of utilisation so the imbalance after a
// candidate move costs O(1) to evaluate: planners try thousands of moves.
type Tracker struct {
	st               *cluster.State
	w                Weights
	usable           []bool
	n                float64
	sc, sc2, sm, sm2 float64
	cpuCap, memCap   []float64
}

// NewTracker starts tracking st.
func NewTracker(st *cluster.State, w Weights) *Tracker {
	t := &Tracker{st: st, w: w, usable: make([]bool, len(st.Snap.Hosts)),
		cpuCap: make([]float64, len(st.Snap.Hosts)), memCap: make([]float64, len(st.Snap.Hosts))}
	for h := range st.Snap.Hosts {
		host := &st.Snap.Hosts[h]
		t.cpuCap[h], t.memCap[h] = float64(host.CPUs), float64(host.Memory)
		if host.Usable() {
			t.usable[h] = true
			t.n++
		}
	}
	t.Reset()
	return t
}

// Reset recomputes the sums from the state (after st.Move).
func (t *Tracker) Reset() {
	t.sc, t.sc2, t.sm, t.sm2 = 0, 0, 0, 0
	for h := range t.usable {
		if !t.usable[h] {
			continue
		}
		c, m := t.st.CPU[h]/t.cpuCap[h], float64(t.st.Memory[h])/t.memCap[h]
		t.sc += c
		t.sc2 += c * c
		t.sm += m
		t.sm2 += m * m
	}
}

// Value is the current imbalance.
func (t *Tracker) Value() float64 {
	return combine(cvSums(t.sc, t.sc2, t.n), cvSums(t.sm, t.sm2, t.n), t.w)
}

// After is the imbalance if vm moved from its planned host to dst.
func (t *Tracker) After(vm, dst int) float64 {
	src := t.st.Place[vm]
	v := &t.st.Snap.VMs[vm]
	sc, sc2, sm, sm2 := t.sc, t.sc2, t.sm, t.sm2
	swap := func(h int, dc float64, dm int64) {
		if h < 0 || !t.usable[h] {
			return
		}
		c0, m0 := t.st.CPU[h]/t.cpuCap[h], float64(t.st.Memory[h])/t.memCap[h]
		c1, m1 := (t.st.CPU[h]+dc)/t.cpuCap[h], float64(t.st.Memory[h]+dm)/t.memCap[h]
		sc += c1 - c0
		sc2 += c1*c1 - c0*c0
		sm += m1 - m0
		sm2 += m1*m1 - m0*m0
	}
	swap(src, -v.CPU, -v.Memory)
	swap(dst, v.CPU, v.Memory)
	return combine(cvSums(sc, sc2, t.n), cvSums(sm, sm2, t.n), t.w)
}

// Move applies a move to the state and the sums.
func (t *Tracker) Move(vm, dst int) {
	t.st.Move(vm, dst)
	t.Reset()
}

func cvSums(s, s2, n float64) float64 {
	if n < 2 || s <= 0 {
		return 0
	}
	mean := s / n
	v := s2/n - mean*mean
	if v < 0 {
		v = 0
	}
	return math.Sqrt(v) / mean
}
