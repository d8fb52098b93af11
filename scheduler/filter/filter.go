// Package filter holds the constraints every policy obeys: capacity, pool
// compatibility, host state, affinity and TLS enforcement. Each is a
// framework.FilterPlugin with constant reasons, so a plan can say why a host
// was refused.
package filter

import (
	"fmt"
	"strconv"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/framework"
)

// Reasons, constant so that tests and --explain match on them.
const (
	ReasonSameHost        = "vm already on host"
	ReasonHostNotUsable   = "host not usable"
	ReasonInsufficientMem = "insufficient memory"
	ReasonInsufficientCPU = "insufficient cpu"
	ReasonAntiAffinity    = "anti-affinity group member on host"
	ReasonAffinity        = "affinity group members elsewhere"
	ReasonMixedSecurity   = "mixed security states"
	ReasonUnsecured       = "unsecured host under tls required"
	ReasonInvalidCert     = "host certificate invalid"
	ReasonPinned          = "vm pinned to its host"
)

// Capacity refuses hosts without room: memory is never overcommitted; vCPUs
// may be, up to Overcommit times the host's cores.
type Capacity struct {
	Overcommit float64
}

const CapacityName = "capacity"

var _ framework.FilterPlugin = Capacity{}

func (Capacity) Name() string { return CapacityName }

// Fits says whether Filter would pass vm on dst, without building the
// refusal's reasons: a placement search that only counts refusals asks
// this for every host of a pool, for every VM it cannot place.
func (c Capacity) Fits(st *cluster.State, vm, dst int) bool {
	if st.Place[vm] == dst {
		return true
	}
	h := &st.Snap.Hosts[dst]
	v := &st.Snap.VMs[vm]
	return st.Memory[dst]+v.Memory <= h.Memory && float64(st.VCPUs[dst]+v.VCPUs) <= c.vcpuLimit(h)+1e-9
}

func (c Capacity) vcpuLimit(h *cluster.Host) float64 {
	oc := c.Overcommit
	if oc <= 0 {
		oc = 1
	}
	return float64(h.CPUs) * oc
}

func (c Capacity) Filter(st *cluster.State, vm, dst int) *framework.Status {
	if st.Place[vm] == dst {
		return nil // a VM always fits where it already is
	}
	h := &st.Snap.Hosts[dst]
	v := &st.Snap.VMs[vm]
	var reasons []string
	if st.Memory[dst]+v.Memory > h.Memory {
		reasons = append(reasons, fmt.Sprintf("%s: need %d, used %d, capacity %d", ReasonInsufficientMem, v.Memory, st.Memory[dst], h.Memory))
	}
	if limit := c.vcpuLimit(h); float64(st.VCPUs[dst]+v.VCPUs) > limit+1e-9 {
		reasons = append(reasons, fmt.Sprintf("%s: need %d vcpus, used %d, capacity %g", ReasonInsufficientCPU, v.VCPUs, st.VCPUs[dst], limit))
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	return nil
}

// HostState refuses the VM's own host and hosts in maintenance or down.
// Pinned refuses every destination to a VM that cannot be live-migrated
// (cluster.VM.Pinned), so plans list it as unplaced with the reason
// instead of failing at the hypervisor.
type Pinned struct{}

const PinnedName = "pinned"

var _ framework.FilterPlugin = Pinned{}

func (Pinned) Name() string { return PinnedName }

func (Pinned) Filter(st *cluster.State, vm, _ int) *framework.Status {
	if why := st.Snap.VMs[vm].Pinned; why != "" {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonPinned+": "+why)
	}
	return nil
}

type HostState struct{}

const HostStateName = "host-state"

var _ framework.FilterPlugin = HostState{}

func (HostState) Name() string { return HostStateName }

func (HostState) Filter(st *cluster.State, vm, dst int) *framework.Status {
	if st.Origin[vm] == dst {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonSameHost)
	}
	h := &st.Snap.Hosts[dst]
	if !h.Usable() {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("%s: %s", ReasonHostNotUsable, h.State))
	}
	return nil
}

// Pool refuses a destination that cannot share a pool with the VM's current
// host: CPU model, memory size and NIC ports must match.
type Pool struct{}

const PoolName = "pool"

var _ framework.FilterPlugin = Pool{}

func (Pool) Name() string { return PoolName }

func (Pool) Filter(st *cluster.State, vm, dst int) *framework.Status {
	src := st.Source(vm)
	if src == nil {
		return nil
	}
	if ok, why := cluster.Compatible(src, &st.Snap.Hosts[dst]); !ok {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, why)
	}
	return nil
}

// Affinity keeps anti-affinity members apart and affinity members together.
// A member of an affinity group may go only where every other member is
// planned, or where they can follow: members still on the VM's own source
// host are expected to move with it.
type Affinity struct{}

const AffinityName = "affinity"

var _ framework.FilterPlugin = Affinity{}

func (Affinity) Name() string { return AffinityName }

func (Affinity) Filter(st *cluster.State, vm, dst int) *framework.Status {
	g := st.Snap.VMs[vm].Group
	if g == "" {
		return nil
	}
	switch st.GroupKind(g) {
	case cluster.AntiAffinity:
		n := st.GroupOn(g, dst)
		if st.Place[vm] == dst {
			n--
		}
		if n > 0 {
			return framework.NewStatus(framework.Unschedulable, fmt.Sprintf("%s: group %s", ReasonAntiAffinity, g))
		}
	case cluster.Affinity:
		src := st.Place[vm]
		for _, m := range st.Members(g) {
			if m == vm {
				continue
			}
			if p := st.Place[m]; p != dst && p != src {
				return framework.NewStatus(framework.Unschedulable, fmt.Sprintf("%s: group %s", ReasonAffinity, g))
			}
		}
	}
	return nil
}

// TLS enforces a cluster.TLSMode.
type TLS struct {
	Mode cluster.TLSMode
}

const TLSName = "tls"

var _ framework.FilterPlugin = TLS{}

func (TLS) Name() string { return TLSName }

func (t TLS) Filter(st *cluster.State, vm, dst int) *framework.Status {
	src := st.Source(vm)
	if src == nil {
		return nil
	}
	_, s := Transport(t.Mode, src, &st.Snap.Hosts[dst])
	return s
}

// Transport decides how a pair of hosts may migrate under mode, or why they
// may not. Every planned migration carries the transport this returns.
func Transport(mode cluster.TLSMode, src, dst *cluster.Host) (cluster.Transport, *framework.Status) {
	if src.Security == cluster.Invalid || dst.Security == cluster.Invalid {
		return "", framework.NewStatus(framework.UnschedulableAndUnresolvable,
			fmt.Sprintf("%s: %s is %s, %s is %s", ReasonInvalidCert, src.Name, src.Security, dst.Name, dst.Security))
	}
	secured := src.Security == cluster.Secured && dst.Security == cluster.Secured
	switch mode {
	case cluster.TLSRequired:
		if !secured {
			return "", framework.NewStatus(framework.UnschedulableAndUnresolvable,
				fmt.Sprintf("%s: %s is %s, %s is %s", ReasonUnsecured, src.Name, src.Security, dst.Name, dst.Security))
		}
	case cluster.TLSOff:
	default: // matching
		if src.Security != dst.Security {
			return "", framework.NewStatus(framework.UnschedulableAndUnresolvable,
				fmt.Sprintf("%s: %s is %s, %s is %s", ReasonMixedSecurity, src.Name, src.Security, dst.Name, dst.Security))
		}
	}
	if secured {
		return cluster.TransportTLS, nil
	}
	return cluster.TransportTCP, nil
}

// PoolKey names the migration pool of a host under mode: hosts of
// different pools never exchange VMs (cluster.Compatible), nor, unless TLS
// enforcement is off, hosts of different security states.
//
// The key reads as fmt's "%s/%d/%dx%g" but is built with strconv: every
// balancing run keys each host, 2.9 million keys over a 10,000-host day,
// and Sprintf was most of building the run's tracker.
func PoolKey(h *cluster.Host, mode cluster.TLSMode) string {
	var buf [96]byte
	k := append(buf[:0], h.CPUModel...)
	k = append(k, '/')
	k = strconv.AppendInt(k, h.Memory, 10)
	k = append(k, '/')
	k = strconv.AppendInt(k, int64(h.NICs), 10)
	k = append(k, 'x')
	k = strconv.AppendFloat(k, h.NICSpeed, 'g', -1, 64)
	if mode != cluster.TLSOff {
		k = append(k, '/')
		k = append(k, h.Security...)
	}
	return string(k)
}

// Default is the chain every policy starts from. Cheap, unresolvable checks
// come first so most refusals cost one comparison; capacity, which planned
// moves change, comes last.
func Default(tls cluster.TLSMode, overcommit float64) []framework.FilterPlugin {
	return []framework.FilterPlugin{Pinned{}, HostState{}, TLS{Mode: tls}, Pool{}, Affinity{}, Capacity{Overcommit: overcommit}}
}
