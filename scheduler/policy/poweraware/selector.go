package poweraware

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Selector picks the next VM to move off an overloaded host, among the VMs
// on its list in st; ok is false when there is none. All VMs are
// migratable at a round (CloudSim's migrations end within an interval, so
// none is still in migration: PowerVmSelectionPolicy.getMigratableVms).
type Selector interface {
	// Name is the selector's short name in policy names ("mmt", …).
	Name() string
	Select(st *State, h int) (vm int, ok bool)
}

// MMT, minimum migration time, picks the VM with the least RAM, the first
// in the host's list on ties
// (power/PowerVmSelectionPolicyMinimumMigrationTime.java).
type MMT struct{}

func (MMT) Name() string { return "mmt" }

func (MMT) Select(st *State, h int) (int, bool) {
	return argmin(st, h, func(v *VM) float64 { return v.RAM })
}

// MU, minimum utilisation, picks the VM requesting the fewest MIPS, the
// first on ties (power/PowerVmSelectionPolicyMinimumUtilization.java:
// getTotalUtilizationOfCpuMips at the current time).
type MU struct{}

func (MU) Name() string { return "mu" }

func (MU) Select(st *State, h int) (int, bool) {
	return argmin(st, h, func(v *VM) float64 { return v.Requested })
}

// argmin is the first VM of host h with the smallest metric, starting, as
// CloudSim does, from Double.MAX_VALUE with a strict comparison.
func argmin(st *State, h int, metric func(*VM) float64) (int, bool) {
	best, bestV := math.MaxFloat64, -1
	for _, v := range st.Hosts[h].VMs {
		if m := metric(&st.VMs[v]); m < best {
			best, bestV = m, v
		}
	}
	return bestV, bestV >= 0
}

// RS, random selection, picks a VM uniformly
// (power/PowerVmSelectionPolicyRandomSelection.java). CloudSim draws from
// an unseeded java.util.Random; here the caller's seeded source makes a
// run repeat.
type RS struct{ Rand *rand.Rand }

// NewRS returns RS drawing from a PCG stream of seed.
func NewRS(seed uint64) *RS { return &RS{Rand: rand.New(rand.NewPCG(seed, 0x7273))} }

func (*RS) Name() string { return "rs" }

func (s *RS) Select(st *State, h int) (int, bool) {
	vms := st.Hosts[h].VMs
	if len(vms) == 0 {
		return -1, false
	}
	return vms[s.Rand.IntN(len(vms))], true
}

// MC, maximum correlation, picks the VM whose utilisation history is best
// explained by the other VMs' (the largest R² of a multiple linear
// regression of its history on theirs, over the length of the shortest
// history), falling back to MMT when the regression cannot be made (fewer
// observations than regressors, a singular design)
// (power/PowerVmSelectionPolicyMaximumCorrelation.java, fallback as in
// examples/power/RunnerAbstract.java). As in CloudSim, the best starts at
// Double.MIN_VALUE, so when no R² is positive the first VM is picked.
type MC struct{}

func (MC) Name() string { return "mc" }

func (MC) Select(st *State, h int) (int, bool) {
	vms := st.Hosts[h].VMs
	if len(vms) == 0 {
		return -1, false
	}
	r2, ok := correlations(st, vms)
	if !ok {
		return MMT{}.Select(st, h)
	}
	best, idx := math.SmallestNonzeroFloat64, 0
	for i, r := range r2 {
		if r > best {
			best, idx = r, i
		}
	}
	return vms[idx], true
}

// correlations are the R² of each VM's history regressed (with an
// intercept) on the others' (getCorrelationCoefficients, commons-math
// OLSMultipleLinearRegression.calculateRSquared). ok is false where
// commons-math throws an IllegalArgumentException: fewer observations than
// the intercept plus the regressors, or a singular design.
func correlations(st *State, vms []int) ([]float64, bool) {
	n := len(vms)
	m := math.MaxInt
	for _, v := range vms {
		m = min(m, len(st.VMs[v].History))
	}
	if n < 2 || m < n {
		return nil, false
	}
	out := make([]float64, n)
	for i := range n {
		x := mat.NewDense(m, n, nil)
		y := mat.NewVecDense(m, nil)
		for r := range m {
			x.Set(r, 0, 1)
			c := 1
			for j, v := range vms {
				if j == i {
					y.SetVec(r, st.VMs[v].History[r])
					continue
				}
				x.Set(r, c, st.VMs[v].History[r])
				c++
			}
		}
		var qr mat.QR
		qr.Factorize(x)
		var beta mat.VecDense
		if err := qr.SolveVecTo(&beta, false, y); err != nil {
			return nil, false
		}
		var fit mat.VecDense
		fit.MulVec(x, &beta)
		mean := mat.Sum(y) / float64(m)
		var ssr, sst float64
		for r := range m {
			d := y.AtVec(r) - fit.AtVec(r)
			ssr += d * d
			e := y.AtVec(r) - mean
			sst += e * e
		}
		out[i] = 1 - ssr/sst
	}
	return out, true
}

// NewSelector builds a selector from its short name; seed feeds RS.
func NewSelector(name string, seed uint64) (Selector, error) {
	switch name {
	case "mmt":
		return MMT{}, nil
	case "mc":
		return MC{}, nil
	case "rs":
		return NewRS(seed), nil
	case "mu":
		return MU{}, nil
	}
	return nil, fmt.Errorf("poweraware: unknown VM selector %q (want mmt, mc, rs or mu)", name)
}
