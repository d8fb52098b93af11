// Package place finds destinations for VMs: it runs the constraint chain over
// candidate hosts, ranks the feasible ones and keeps every refusal so a plan
// can explain itself. Policies decide what to move; place decides where.
package place

import (
	"fmt"
	"math"
	"slices"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/scheduler/framework"
)

// Scorer ranks a feasible destination for a VM; higher is better.
type Scorer func(st *cluster.State, vm, dst int) float64

// Placer places VMs on a what-if state.
type Placer struct {
	St      *cluster.State
	Filters []framework.FilterPlugin
	TLS     cluster.TLSMode
	// Explain keeps every refusal; off, only a summary per VM is kept.
	Explain    bool
	Rejections []framework.Rejection
	// Exclude lists host indexes never to use (draining, failed, warned).
	Exclude map[int]bool

	// pools groups host indexes by pool; order keeps each pool's hosts
	// sorted by load for BestLeastLoaded. Both are built on first use.
	pools  map[string][]int
	poolOf []string
	order  map[string][]int
	// excluded lists each pool's excluded hosts in pool order, and mixed
	// whether its hosts differ in cores; both are built with order. A
	// zone evacuation fails to place thousands of VMs, each of which
	// asked every host of its pool for both.
	excluded map[string][]int
	mixed    map[string]bool
	// outside caches, per pool, how the other pools' hosts refuse.
	outside map[string]*tally
}

type tally struct {
	counts map[string]int
	order  []string
}

// New returns a placer over st with the default constraint chain.
func New(st *cluster.State, tls cluster.TLSMode, overcommit float64) *Placer {
	return &Placer{St: st, Filters: filter.Default(tls, overcommit), TLS: tls, Exclude: map[int]bool{}}
}

// excludedPlugin answers for hosts in Exclude.
const excludedPlugin = "policy"

// Feasible reports whether vm may go to dst now, with the refusal if not.
func (p *Placer) Feasible(vm, dst int) *framework.Status {
	if p.Exclude[dst] {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "host excluded by policy").WithPlugin(excludedPlugin)
	}
	return framework.RunFilters(p.Filters, p.St, vm, dst)
}

// refusedBy names the plugin that refuses vm on dst, as Feasible's
// Plugin would, or "" if none does. It builds no Status: searches that
// only count refusals by plugin ask it of every host in a pool for each
// VM they cannot place, and the refusals' formatted reasons were most of
// an evacuation plan's cost at 10,000 hosts.
func (p *Placer) refusedBy(vm, dst int) string {
	if p.Exclude[dst] {
		return excludedPlugin
	}
	return p.filteredBy(vm, dst)
}

// filteredBy is refusedBy for a host known not to be excluded.
func (p *Placer) filteredBy(vm, dst int) string {
	for _, f := range p.Filters {
		if c, ok := f.(filter.Capacity); ok {
			if !c.Fits(p.St, vm, dst) {
				return f.Name()
			}
			continue
		}
		if s := f.Filter(p.St, vm, dst); !s.IsSuccess() {
			return f.Name()
		}
	}
	return ""
}

func (p *Placer) buildPools() {
	if p.pools != nil {
		return
	}
	p.pools = map[string][]int{}
	p.poolOf = make([]string, len(p.St.Snap.Hosts))
	for h := range p.St.Snap.Hosts {
		k := filter.PoolKey(&p.St.Snap.Hosts[h], p.TLS)
		p.poolOf[h] = k
		p.pools[k] = append(p.pools[k], h)
	}
}

// candidates are the hosts worth asking: with --explain every host, so
// each refusal is recorded; otherwise only the VM's own pool, since the
// pool and TLS filters refuse every other host anyway.
func (p *Placer) candidates(vm int) []int {
	p.buildPools()
	src := p.St.Origin[vm]
	if p.Explain || src < 0 {
		all := make([]int, len(p.St.Snap.Hosts))
		for i := range all {
			all[i] = i
		}
		return all
	}
	return p.pools[p.poolOf[src]]
}

// Best returns the feasible destination with the highest score (ties to
// the lowest index, so placements replay), or -1 and a summary of why none.
func (p *Placer) Best(vm int, score Scorer) (int, string) {
	best, bestScore := -1, math.Inf(-1)
	counts := map[string]int{}
	var order []string
	for _, h := range p.candidates(vm) {
		s := p.Feasible(vm, h)
		if !s.IsSuccess() {
			key := s.Plugin()
			if counts[key] == 0 {
				order = append(order, key)
			}
			counts[key]++
			if p.Explain {
				p.Rejections = append(p.Rejections, framework.Rejection{
					VM: p.St.Snap.VMs[vm].Name, Host: p.St.Snap.Hosts[h].Name,
					Plugin: s.Plugin(), Code: s.Code().String(), Reason: s.Reasons(),
				})
			}
			continue
		}
		if sc := score(p.St, vm, h); sc > bestScore {
			best, bestScore = h, sc
		}
	}
	if best >= 0 {
		return best, ""
	}
	return -1, p.why(vm, counts, order)
}

func (p *Placer) why(vm int, counts map[string]int, order []string) string {
	if !p.Explain {
		// The search skipped the hosts of other pools; ask them now, on
		// the failure path only, so the summary names the filter that
		// really refuses each, as with --explain.
		p.buildPools()
		if src := p.St.Origin[vm]; src >= 0 {
			// Hosts of other pools refuse every VM of a source pool
			// alike (pool, TLS, policy), so ask them once per pool.
			key := p.poolOf[src]
			if p.outside == nil {
				p.outside = map[string]*tally{}
			}
			t, ok := p.outside[key]
			if !ok {
				t = &tally{counts: map[string]int{}}
				for h := range p.St.Snap.Hosts {
					if p.poolOf[h] == key {
						continue
					}
					s := p.Feasible(vm, h)
					if t.counts[s.Plugin()] == 0 {
						t.order = append(t.order, s.Plugin())
					}
					t.counts[s.Plugin()]++
				}
				p.outside[key] = t
			}
			for _, k := range t.order {
				if counts[k] == 0 {
					order = append(order, k)
				}
				counts[k] += t.counts[k]
			}
		}
	}
	why := "no feasible host"
	for i, k := range order {
		if i == 0 {
			why += ": "
		} else {
			why += ", "
		}
		why += fmt.Sprintf("%d refused by %s", counts[k], k)
	}
	return why
}

// load orders hosts for LeastLoaded: within a pool (same size) the host
// with the lowest used fraction of memory plus CPU scores highest for any VM.
func (p *Placer) load(h int) float64 {
	host := &p.St.Snap.Hosts[h]
	return float64(p.St.Memory[h])/float64(host.Memory) + p.St.CPU[h]/float64(host.CPUs)
}

func (p *Placer) less(a, b int) bool {
	la, lb := p.load(a), p.load(b)
	return la < lb || la == lb && a < b
}

// BestLeastLoaded is Best with the LeastLoaded score, in O(log hosts) per
// placement rather than O(hosts): each pool's hosts stay sorted by load,
// and the first feasible one wins. Callers that change the state report
// the hosts they changed with Touched; Exclude must be complete before the
// first call.
func (p *Placer) BestLeastLoaded(vm int) (int, string) {
	if p.Explain {
		return p.Best(vm, LeastLoaded)
	}
	p.buildPools()
	src := p.St.Origin[vm]
	if src < 0 || p.mixedPool(p.poolOf[src]) {
		// The load order ranks hosts alike for every VM only when they
		// have the same cores: a VM's share of a host depends on its size.
		return p.Best(vm, LeastLoaded)
	}
	key := p.poolOf[src]
	if p.order == nil {
		p.order = map[string][]int{}
	}
	ord, ok := p.order[key]
	if !ok {
		// Excluded hosts never receive: leave them out of the order, or
		// a drained host, emptier with every placement, would sit at its
		// front and be asked first every time.
		ord = slices.DeleteFunc(slices.Clone(p.pools[key]), func(h int) bool { return p.Exclude[h] })
		slices.SortFunc(ord, func(a, b int) int {
			if p.less(a, b) {
				return -1
			}
			if p.less(b, a) {
				return 1
			}
			return 0
		})
		p.order[key] = ord
		if p.excluded == nil {
			p.excluded = map[string][]int{}
		}
		p.excluded[key] = slices.DeleteFunc(slices.Clone(p.pools[key]), func(h int) bool { return !p.Exclude[h] })
	}
	counts := map[string]int{}
	var order []string
	// Exclude is complete before the first call, so ord holds no
	// excluded host and p.excluded only those: asking Exclude again per
	// host was 40 million map reads for a zone's 8,000 VMs with no room.
	for _, h := range ord {
		by := p.filteredBy(vm, h)
		if by == "" {
			return h, ""
		}
		if counts[by] == 0 {
			order = append(order, by)
		}
		counts[by]++
	}
	// Hosts left out of the order are refused by the policy; count them
	// as Best would.
	if n := len(p.excluded[key]); n > 0 {
		if counts[excludedPlugin] == 0 {
			order = append(order, excludedPlugin)
		}
		counts[excludedPlugin] += n
	}
	return -1, p.why(vm, counts, order)
}

// mixedPool is mixedCores, computed once per pool: hosts' cores do not
// change in a snapshot.
func (p *Placer) mixedPool(key string) bool {
	m, ok := p.mixed[key]
	if !ok {
		if p.mixed == nil {
			p.mixed = map[string]bool{}
		}
		m = p.mixedCores(key)
		p.mixed[key] = m
	}
	return m
}

func (p *Placer) mixedCores(key string) bool {
	hs := p.pools[key]
	for _, h := range hs {
		if p.St.Snap.Hosts[h].CPUs != p.St.Snap.Hosts[hs[0]].CPUs {
			return true
		}
	}
	return false
}

// Touched re-sorts host h after its load changed.
func (p *Placer) Touched(h int) {
	if p.order == nil || h < 0 {
		return
	}
	ord, ok := p.order[p.poolOf[h]]
	if !ok || p.Exclude[h] {
		return
	}
	i := slices.Index(ord, h)
	if i < 0 {
		return
	}
	ord = slices.Delete(ord, i, i+1)
	j, _ := slices.BinarySearchFunc(ord, h, func(x, y int) int {
		if p.less(x, y) {
			return -1
		}
		if p.less(y, x) {
			return 1
		}
		return 0
	})
	p.order[p.poolOf[h]] = slices.Insert(ord, j, h)
}

// Transport is the transport a move will use under the placer's mode.
func (p *Placer) Transport(vm, dst int) cluster.Transport {
	src := p.St.Source(vm)
	if src == nil {
		return ""
	}
	t, _ := filter.Transport(p.TLS, src, &p.St.Snap.Hosts[dst])
	return t
}

// LeastLoaded scores a host by the room left after the move, memory and
// CPU alike, so VMs spread out.
func LeastLoaded(st *cluster.State, vm, dst int) float64 {
	h := &st.Snap.Hosts[dst]
	v := &st.Snap.VMs[vm]
	mem := 1 - float64(st.Memory[dst]+v.Memory)/float64(h.Memory)
	cpu := 1 - (st.CPU[dst]+v.CPU)/float64(h.CPUs)
	return 50*mem + 50*cpu
}
