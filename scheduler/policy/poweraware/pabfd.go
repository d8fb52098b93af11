package poweraware

import (
	"cmp"
	"math"
	"slices"
)

// Move is one migration a round plans: VM from host From to host To.
type Move struct{ VM, From, To int }

// Policy is one detector × selector pair, CloudSim's
// PowerVmAllocationPolicyMigration* with a PowerVmSelectionPolicy*.
type Policy struct {
	Detector Detector
	Selector Selector
}

// overloadedAfter reports whether host h would be overloaded with VM v
// added (PowerVmAllocationPolicyMigrationAbstract.isHostOverUtilizedAfterAllocation:
// vmCreate, isHostOverUtilized, vmDestroy).
func (p *Policy) overloadedAfter(st *State, h, v int) bool {
	// Appended and cut again by hand, not with add and remove: the host's
	// list ends as it began, so its cached allocation stays good.
	host := &st.Hosts[h]
	host.VMs = append(host.VMs, v)
	over := p.Detector.Overloaded(st, h)
	host.VMs = host.VMs[:len(host.VMs)-1]
	return over
}

// FindHost is PABFD's choice for VM v, or -1: among hosts not excluded that
// v suits and that stay not overloaded with it (that test skipped for a host
// allocating nothing), the one whose power rises least, the first on ties
// (power/PowerVmAllocationPolicyMigrationAbstract.java findHostForVm,
// getPowerAfterAllocation, getMaxUtilizationAfterAllocation). The rise is
// the power at (allocated + v's request) / capacity minus the power at the
// utilisation of the last update, so a switched-off host is charged from
// its idle power: CloudSim's arithmetic, which makes empty hosts compete
// with busy ones on the slope of their power curves alone.
func (p *Policy) FindHost(st *State, v int, excluded []bool) int {
	minPower, best := math.MaxFloat64, -1
	req := st.VMs[v].Requested
	for h := range st.Hosts {
		if excluded != nil && excluded[h] {
			continue
		}
		if !st.Suitable(h, v) {
			continue
		}
		alloc, _ := st.allocation(h)
		host := &st.Hosts[h]
		after, err := host.Power.Power((alloc + req) / host.MIPS)
		if err != nil {
			continue // CloudSim exits here; Suitable keeps it from happening
		}
		var now float64
		if st.powerNow != nil {
			now = st.powerNow[h]
		} else if now, err = host.Power.Power(host.Utilization); err != nil {
			continue
		}
		if math.IsNaN(now) {
			continue
		}
		// CloudSim tests the overload before the power; testing it only
		// for a host that would win picks the same host with far fewer
		// detector runs (each LR run fits a regression).
		diff := after - now
		if diff >= minPower {
			continue
		}
		if alloc != 0 && p.overloadedAfter(st, h, v) {
			continue
		}
		minPower, best = diff, h
	}
	return best
}

// sortByRequested orders VMs by decreasing request, stably
// (power/lists/PowerVmList.java sortByCpuUtilization).
func sortByRequested(st *State, vms []int) {
	slices.SortStableFunc(vms, func(a, b int) int { return cmp.Compare(st.VMs[b].Requested, st.VMs[a].Requested) })
}

// Optimize is one round of CloudSim's dynamic consolidation
// (power/PowerVmAllocationPolicyMigrationAbstract.java optimizeAllocation),
// on a scratch copy of st's host lists:
//
//  1. the overloaded hosts, in host order (getOverUtilizedHosts);
//  2. off each, VMs picked by the selector until the host is no longer
//     overloaded (getVmsToMigrateFromHosts);
//  3. those VMs, by decreasing request, placed by PABFD on any host but the
//     overloaded ones; a VM no host takes stays (getNewVmPlacement);
//  4. then, repeatedly, the least utilised host (0 < utilisation at the last
//     update, lowest first) not yet excluded is emptied if all its VMs find
//     a place on hosts that are neither overloaded, switched off (at zero
//     utilisation) nor already emptied; otherwise none of them moves. Hosts that took
//     VMs are no longer candidates for emptying
//     (getMigrationMapFromUnderUtilizedHosts, getUnderUtilizedHost,
//     getNewVmPlacementFromUnderUtilizedHost).
//
// CloudSim quirks kept: the hosts that took VMs in step 3 may still be
// emptied in step 4 (it collects them from a list that is still empty), so a
// VM can be planned twice, and the second move wins; a host whose list is
// empty is never picked as underloaded (areAllVmsMigratingOutOrAnyVmMigratingIn
// answers true for an empty list).
func (p *Policy) Optimize(st *State) []Move {
	st = st.Clone()
	n := len(st.Hosts)
	st.alloc = make([]allocCache, n)
	st.powerNow = make([]float64, n)
	for h := range st.Hosts {
		p, err := st.Hosts[h].Power.Power(st.Hosts[h].Utilization)
		if err != nil {
			p = math.NaN() // FindHost skips it, as it would on the error
		}
		st.powerNow[h] = p
	}
	origin := make([]int, len(st.VMs))
	for h := range st.Hosts {
		for _, v := range st.Hosts[h].VMs {
			origin[v] = h
		}
	}
	overloaded := make([]bool, n)
	var over []int
	for h := range st.Hosts {
		if p.Detector.Overloaded(st, h) {
			overloaded[h] = true
			over = append(over, h)
		}
	}
	var toMove []int
	for _, h := range over {
		for {
			v, ok := p.Selector.Select(st, h)
			if !ok {
				break
			}
			toMove = append(toMove, v)
			st.remove(h, v)
			if !p.Detector.Overloaded(st, h) {
				break
			}
		}
	}
	var moves []Move
	sortByRequested(st, toMove)
	for _, v := range toMove {
		if h := p.FindHost(st, v, overloaded); h >= 0 {
			st.add(h, v)
			moves = append(moves, Move{VM: v, From: origin[v], To: h})
		}
	}

	exclU := slices.Clone(overloaded)
	exclP := slices.Clone(overloaded)
	nExclU := len(over)
	for h := range st.Hosts {
		if st.Hosts[h].Utilization == 0 {
			exclP[h] = true
			if !exclU[h] {
				exclU[h] = true
				nExclU++
			}
		}
	}
	for nExclU < n {
		u, minU := -1, 1.0
		for h := range st.Hosts {
			if exclU[h] {
				continue
			}
			if x := st.Hosts[h].Utilization; x > 0 && x < minU && len(st.Hosts[h].VMs) > 0 {
				u, minU = h, x
			}
		}
		if u < 0 {
			break
		}
		exclU[u], exclP[u] = true, true
		nExclU++
		vms := slices.Clone(st.Hosts[u].VMs)
		if len(vms) == 0 {
			continue
		}
		sortByRequested(st, vms)
		var placed []Move
		for _, v := range vms {
			h := p.FindHost(st, v, exclP)
			if h < 0 {
				for _, m := range placed {
					st.remove(m.To, m.VM)
				}
				placed = nil
				break
			}
			st.add(h, v)
			placed = append(placed, Move{VM: v, From: origin[v], To: h})
		}
		for _, m := range placed {
			if !exclU[m.To] {
				exclU[m.To] = true
				nExclU++
			}
		}
		moves = append(moves, placed...)
	}
	return moves
}
