package poweraware

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
)

// Shared runs one detector × selector pair as a policy of the shared core
// (policy.Policy): each call reads the cluster from policy.Input, runs one
// Optimize round on it and returns its moves as a plan, so that the
// simulator and the real driver run it through the same plan and dispatch
// path as every other policy. The Core calls it once per policy interval.
//
// How the cluster model maps to the policy's view (State):
//   - CPU capacity and demand are in the scenario's units (cores; the
//     PlanetLab generator's cores are 20 MIPS each, planetlab/plscenario),
//     and ratios are all the policy reads, so the unit does not matter. A
//     host's PEMIPS is its whole capacity: the cluster model has no core
//     speed, so a VM's request is never refused for exceeding one core as
//     CloudSim's is.
//   - A VM's request is its current demand (VM.CPU) capped at its vCPUs;
//     its MIPS its vCPUs; its RAM its memory in MiB (for MMT and LR).
//   - A host's utilisation at the last update is its VMs' demand over its
//     cores, capped at 1 (what it can give them).
//   - Power is the host's cluster.Host.Power; a host without one gets
//     LinearPower, so that PABFD still prefers the host whose draw rises
//     least, in proportion to the utilisation it adds.
//   - A host takes a VM only if its memory and its vCPUs (cores ×
//     overcommit) hold it as well, the cluster's capacity filter's rules,
//     which CloudSim does not apply once VMs exist: without them the
//     round would plan moves the Core refuses, again every interval.
//   - Only hosts that are up and usable take part; VMs already migrating,
//     or on a host that is not usable, stay out of the round, and pinned
//     VMs are never moved.
//
// History: the detectors IQR, MAD, LR and LRR and the selector MC read each
// VM's utilisation history (HistoryLength values, newest first). The
// cluster model keeps none, so Shared keeps it, keyed by VM name, adding
// each VM's utilisation once per distinct Input.Now, as CloudSim adds one
// at each update before the round (power/PowerVm.java
// addUtilizationHistoryValue). A VM's history moves with it, so the hosts'
// histories (State.HostHistory) follow from their VMs'. Shared is therefore
// stateful: one value runs one cluster, with Now increasing.
type Shared struct {
	name    Name
	pol     *Policy
	history map[string][]float64
	last    time.Duration
	seen    bool
}

var _ policy.Policy = (*Shared)(nil)

// NewShared builds the policy a name stands for (ParseName's syntax); the
// seed feeds RS.
func NewShared(name string, seed uint64) (*Shared, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	p, err := NewPolicy(n, seed)
	if err != nil {
		return nil, err
	}
	return &Shared{name: n, pol: p, history: map[string][]float64{}}, nil
}

// SeedOf is the RS seed of a policy built by name alone: a hash of the
// name, so that the same name draws the same VMs in every run.
func SeedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// Name is the policy's name as ParseName reads it back (thr-mmt-0.8).
func (s *Shared) Name() string { return s.name.String() }

// LinearPower is the stand-in power model of a host that has none: watts
// equal to utilisation, so PABFD's power rise is the utilisation added.
type LinearPower struct{}

// Power is u, for u in [0, 1].
func (LinearPower) Power(u float64) (float64, error) {
	if !(u >= 0 && u <= 1) {
		return 0, fmt.Errorf("poweraware: utilisation %v is outside [0, 1]", u)
	}
	return u, nil
}

// Plan runs one round on in and returns its moves, in the round's order
// (overloaded hosts' VMs first, then the evacuations of underloaded
// hosts). A VM the round moves twice keeps its second move, with the
// first destination in its Via, as CloudSim ends it where its later
// migration goes; one planned away and back is not moved (a move needs
// another host), so its two migrations are not counted.
func (s *Shared) Plan(in *policy.Input) (*plan.Plan, error) {
	snap := in.Snap
	s.record(snap, in.Now)
	st, hostOf, vmOf := s.state(snap, in.Overcommit, in.Pending)
	b := policy.NewBuilder(in)
	// A VM's destinations so far in this round, the latest last.
	var dests map[int][]string
	for _, m := range s.pol.Optimize(st) {
		vm, dst := vmOf[m.VM], hostOf[m.To]
		if snap.VMs[vm].Host == snap.Hosts[dst].Name {
			b.Remove(vm) // planned away and back: no move
			delete(dests, vm)
			continue
		}
		// m.From is where the VM is, not where this round put it.
		from, via := snap.Hosts[hostOf[m.From]].Name, dests[vm]
		reason := "underloaded host " + from + " evacuated"
		if len(via) > 0 {
			reason = "underloaded host " + via[len(via)-1] + " evacuated"
		} else if s.pol.Detector.Overloaded(st, m.From) {
			reason = "overloaded host " + from + " (" + s.name.Detector + ")"
		}
		mv := b.Add(vm, dst, reason)
		mv.Via = slices.Clone(via)
		if dests == nil {
			dests = map[int][]string{}
		}
		dests[vm] = append(via, mv.Destination)
	}
	return b.Finish(s.Name(), in.Limits, nil)
}

// History is the utilisation history Shared keeps for a VM, newest first
// (a copy).
func (s *Shared) History(vm string) []float64 { return slices.Clone(s.history[vm]) }

// record adds each VM's utilisation to its history, once per instant, and
// forgets VMs that are gone.
func (s *Shared) record(snap *cluster.Snapshot, now time.Duration) {
	if s.seen && now <= s.last {
		return
	}
	s.seen, s.last = true, now
	present := make(map[string]bool, len(snap.VMs))
	for i := range snap.VMs {
		v := &snap.VMs[i]
		present[v.Name] = true
		u := 0.0
		if v.VCPUs > 0 {
			u = min(math.Max(v.CPU, 0)/float64(v.VCPUs), 1)
		}
		h := s.history[v.Name]
		if len(h) >= HistoryLength {
			h = h[:HistoryLength-1]
		}
		s.history[v.Name] = append([]float64{u}, h...)
	}
	for name := range s.history {
		if !present[name] {
			delete(s.history, name)
		}
	}
}

// state is the policy's view of snap, with the snapshot index of each of
// its hosts and VMs.
func (s *Shared) state(snap *cluster.Snapshot, overcommit float64, pending []plan.Move) (st *State, hostOf, vmOf []int) {
	if overcommit <= 0 {
		overcommit = 1
	}
	st = &State{}
	idx := make(map[string]int, len(snap.Hosts))
	for i := range snap.Hosts {
		h := &snap.Hosts[i]
		if !h.Usable() || h.CPUs <= 0 {
			continue
		}
		var pm PowerModel = LinearPower{}
		if h.Power != nil {
			pm = h.Power
		}
		idx[h.Name] = len(st.Hosts)
		hostOf = append(hostOf, i)
		st.Hosts = append(st.Hosts, Host{
			MIPS: float64(h.CPUs), PEMIPS: float64(h.CPUs),
			Bandwidth: h.NICBandwidth() * 8 / 1000,
			Power:     pm,
			RAM:       float64(h.Memory) / (1 << 20),
			Size:      float64(h.CPUs) * overcommit,
		})
	}
	for i := range snap.VMs {
		v := &snap.VMs[i]
		h, ok := idx[v.Host]
		if !ok {
			continue
		}
		req := min(math.Max(v.CPU, 0), float64(v.VCPUs))
		host := &st.Hosts[h]
		host.Utilization += req
		if v.Migrating || v.Pinned != "" {
			// Counted on its host, never picked: a VM the policy does
			// not see, but whose room is taken, on its host and on the
			// destination of its move under way.
			take := func(h int) {
				st.Hosts[h].RAM = max(st.Hosts[h].RAM-float64(v.Memory)/(1<<20), 1e-9)
				st.Hosts[h].Size = max(st.Hosts[h].Size-float64(v.VCPUs), 1e-9)
			}
			take(h)
			for _, m := range pending {
				if d, ok := idx[m.Destination]; ok && m.VM == v.Name && d != h {
					take(d)
				}
			}
			continue
		}
		host.VMs = append(host.VMs, len(st.VMs))
		vmOf = append(vmOf, i)
		st.VMs = append(st.VMs, VM{
			MIPS: float64(v.VCPUs), RAM: float64(v.Memory) / (1 << 20),
			Requested: req, Reserved: req,
			History: slices.Clone(s.history[v.Name]),
			Host:    h,
		})
	}
	for h := range st.Hosts {
		st.Hosts[h].Utilization = min(st.Hosts[h].Utilization/st.Hosts[h].MIPS, 1)
	}
	return st, hostOf, vmOf
}
