package policy

import (
	"math"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
)

// Weights say how much CPU and memory count in the imbalance.
type Weights struct{ CPU, Memory float64 }

// DefaultWeights count CPU and memory alike.
var DefaultWeights = Weights{CPU: 1, Memory: 1}

// PoolKey names the migration pool of a host: hosts of different pools can
// never exchange VMs, so balancing them against each other is meaningless.
// Pools follow cluster.Compatible and, under TLS matching, security state.
func PoolKey(h *cluster.Host, tls cluster.TLSMode) string { return filter.PoolKey(h, tls) }

// Imbalance is the weighted mean of the coefficients of variation of CPU
// and memory utilisation over the usable hosts of each pool, averaged over
// pools by their size (0: perfectly even). CV rather than standard
// deviation, so a lightly and a heavily loaded cluster with the same
// relative spread score the same.
func Imbalance(st *cluster.State, w Weights, tls cluster.TLSMode) float64 {
	return NewTracker(st, w, tls).Value()
}

func combine(c, m float64, w Weights) float64 {
	t := w.CPU + w.Memory
	if t <= 0 {
		return 0
	}
	return (w.CPU*c + w.Memory*m) / t
}

// Sums accumulates utilisation of one pool; CV from running sums lets a
// planner evaluate thousands of candidate moves in O(1) each.
type Sums struct{ N, C, C2, M, M2 float64 }

// Add counts a host with CPU and memory utilisation c and m (sign -1
// removes it).
func (s *Sums) Add(c, m, sign float64) {
	s.N += sign
	s.C += sign * c
	s.C2 += sign * c * c
	s.M += sign * m
	s.M2 += sign * m * m
}

// Value is the pool's combined CV.
func (s *Sums) Value(w Weights) float64 {
	return combine(cvSums(s.C, s.C2, s.N), cvSums(s.M, s.M2, s.N), w)
}

// Combine averages pools' values weighted by their host counts.
func Combine(pools []Sums, w Weights) float64 {
	var num, den float64
	for i := range pools {
		if pools[i].N >= 2 {
			num += pools[i].N * pools[i].Value(w)
			den += pools[i].N
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// Tracker keeps each pool's sums so the imbalance after a candidate move
// costs O(1) to evaluate.
type Tracker struct {
	st             *cluster.State
	w              Weights
	usable         []bool
	pool           []int
	pools          []Sums
	cpuCap, memCap []float64
	// val caches each pool's value; num and den are Combine's running
	// sums, so Value and After cost O(1), not O(pools).
	val      []float64
	num, den float64
}

// NewTracker starts tracking st.
func NewTracker(st *cluster.State, w Weights, tls cluster.TLSMode) *Tracker {
	n := len(st.Snap.Hosts)
	t := &Tracker{st: st, w: w, usable: make([]bool, n), pool: make([]int, n),
		cpuCap: make([]float64, n), memCap: make([]float64, n)}
	ids := map[string]int{}
	for h := range st.Snap.Hosts {
		host := &st.Snap.Hosts[h]
		t.cpuCap[h], t.memCap[h] = float64(host.CPUs), float64(host.Memory)
		t.usable[h] = host.Usable()
		k := PoolKey(host, tls)
		id, ok := ids[k]
		if !ok {
			id = len(ids)
			ids[k] = id
		}
		t.pool[h] = id
	}
	t.pools = make([]Sums, len(ids))
	t.val = make([]float64, len(ids))
	t.Reset()
	return t
}

// Pool is the pool index of host h.
func (t *Tracker) Pool(h int) int { return t.pool[h] }

// Reset recomputes the sums from the state (after st.Move).
func (t *Tracker) Reset() {
	clear(t.pools)
	for h := range t.usable {
		if t.usable[h] {
			t.pools[t.pool[h]].Add(t.st.CPU[h]/t.cpuCap[h], float64(t.st.Memory[h])/t.memCap[h], 1)
		}
	}
	t.num, t.den = 0, 0
	for p := range t.pools {
		t.val[p] = 0
		if t.pools[p].N >= 2 {
			t.val[p] = t.pools[p].Value(t.w)
			t.num += t.pools[p].N * t.val[p]
			t.den += t.pools[p].N
		}
	}
}

// Value is the current imbalance.
func (t *Tracker) Value() float64 {
	if t.den == 0 {
		return 0
	}
	return t.num / t.den
}

// After is the imbalance if vm moved from its planned host to dst.
func (t *Tracker) After(vm, dst int) float64 {
	src := t.st.Place[vm]
	if dst == src {
		return t.Value()
	}
	v := &t.st.Snap.VMs[vm]
	ps, pd := -1, -1
	var saveS, saveD Sums
	swap := func(h int, dc float64, dm int64) int {
		if h < 0 || !t.usable[h] {
			return -1
		}
		p := t.pool[h]
		s := &t.pools[p]
		s.Add(t.st.CPU[h]/t.cpuCap[h], float64(t.st.Memory[h])/t.memCap[h], -1)
		s.Add((t.st.CPU[h]+dc)/t.cpuCap[h], float64(t.st.Memory[h]+dm)/t.memCap[h], 1)
		return p
	}
	if src >= 0 && t.usable[src] {
		saveS = t.pools[t.pool[src]]
	}
	if dst >= 0 && t.usable[dst] {
		saveD = t.pools[t.pool[dst]]
	}
	ps = swap(src, -v.CPU, -v.Memory)
	pd = swap(dst, v.CPU, v.Memory)
	num := t.num
	for i, p := range [2]int{ps, pd} {
		if p < 0 || i == 1 && p == ps || t.pools[p].N < 2 {
			continue
		}
		num += t.pools[p].N * (t.pools[p].Value(t.w) - t.val[p])
	}
	val := 0.0
	if t.den > 0 {
		val = num / t.den
	}
	// Restore in reverse order so a shared pool ends as it began.
	if pd >= 0 {
		t.pools[pd] = saveD
	}
	if ps >= 0 {
		t.pools[ps] = saveS
	}
	return val
}

// Hosts is the number of usable hosts the measure spans.
func (t *Tracker) Hosts() int {
	n := 0
	for _, u := range t.usable {
		if u {
			n++
		}
	}
	return n
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
