// Package place finds destinations for VMs: it runs the constraint chain over
// candidate hosts, ranks the feasible ones and keeps every refusal so a plan
// can explain itself. Policies decide what to move; place decides where.
package place

import (
	"fmt"
	"math"

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
	TLS     filter.TLSMode
	// Explain keeps every refusal; off, only a summary per VM is kept.
	Explain    bool
	Rejections []framework.Rejection
	// Exclude lists host indexes never to use (draining, failed, warned).
	Exclude map[int]bool
}

// New returns a placer over st with the default constraint chain.
func New(st *cluster.State, tls filter.TLSMode, overcommit float64) *Placer {
	return &Placer{St: st, Filters: filter.Default(tls, overcommit), TLS: tls, Exclude: map[int]bool{}}
}

// Feasible reports whether vm may go to dst now, with the refusal if not.
func (p *Placer) Feasible(vm, dst int) *framework.Status {
	if p.Exclude[dst] {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "host excluded by policy").WithPlugin("policy")
	}
	return framework.RunFilters(p.Filters, p.St, vm, dst)
}

// Best returns the feasible destination with the highest score (ties to
// the lowest index, so placements replay), or -1 and a summary of why none.
func (p *Placer) Best(vm int, score Scorer) (int, string) {
	best, bestScore := -1, math.Inf(-1)
	counts := map[string]int{}
	var order []string
	for h := range p.St.Snap.Hosts {
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
	why := "no feasible host"
	for i, k := range order {
		if i == 0 {
			why += ": "
		} else {
			why += ", "
		}
		why += fmt.Sprintf("%d refused by %s", counts[k], k)
	}
	return -1, why
}

// Transport is the transport a move will use under the placer's mode.
func (p *Placer) Transport(vm, dst int) cluster.Transport {
	src := p.St.Snap.Host(p.St.Snap.VMs[vm].Host)
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
