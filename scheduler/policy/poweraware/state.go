package poweraware

import "math"

// HistoryLength is how many utilisation values a VM keeps, newest first
// (power/PowerVm.java HISTORY_LENGTH = 30, addUtilizationHistoryValue).
const HistoryLength = 30

// SchedulingInterval is the time between two optimisation rounds, in
// seconds (examples/power/Constants.java SCHEDULING_INTERVAL = 300). The LR
// detectors use it to turn a migration time into a number of intervals.
const SchedulingInterval = 300.0

// PowerModel gives a host's draw in watts at a CPU utilisation in [0, 1];
// it fails outside that range, as CloudSim's PowerModelSpecPower.getPower
// throws. planetlab.PowerModel satisfies it.
type PowerModel interface {
	Power(u float64) (float64, error)
}

// Host is the allocation policy's view of one host at a scheduling round.
type Host struct {
	// MIPS is the total capacity, PEMIPS that of one core: a VM's request
	// is capped at one core (its VMs have one PE), and a VM whose request
	// exceeds a core is not suitable (cloudsim/Host.java isSuitableForVm,
	// cloudsim/VmSchedulerTimeSharedOverSubscription.java allocatePesForVm).
	MIPS, PEMIPS float64
	// Bandwidth in kbit/s, for the migration-time estimate of LR.
	Bandwidth float64
	Power     PowerModel
	// Utilization is the CPU utilisation measured at the last update
	// (cloudsim/HostDynamicWorkload.java getUtilizationOfCpu). It does not
	// change while a round plans: CloudSim's PABFD compares the power after
	// a placement with host.getPower() at this value, and a host at 0 counts
	// as switched off.
	Utilization float64
	// VMs are indexes into State.VMs, in the host's list order (the order
	// ties are broken in).
	VMs []int
	// RAM (MiB) and Size (in VM MIPS, the sum of the sizes of the VMs it
	// may hold) bound what the host takes, when not 0. CloudSim checks
	// neither once the VMs exist (see Suitable), so the replay leaves them
	// 0; the shared-core adapter sets them to what the cluster's capacity
	// filter will check, memory and vCPUs × overcommit, so that it plans
	// no move the Core must refuse.
	RAM, Size float64
}

// VM is the policy's view of one VM.
type VM struct {
	// MIPS is the VM's size; RAM in MiB sets its migration time.
	MIPS float64
	RAM  float64
	// Requested is the MIPS the VM asks for now
	// (cloudsim/Vm.java getCurrentRequestedTotalMips).
	Requested float64
	// Reserved is the request the host's VM scheduler last allocated for
	// (VmSchedulerTimeShared mipsMapRequested). It equals Requested during
	// a round; at the initial placement CloudSim's already-created VMs keep
	// the full MIPS they were created with while requesting 0.
	Reserved float64
	// History is the VM's CPU utilisation (0–1) at past updates, newest
	// first, at most HistoryLength values (power/PowerVm.java).
	History []float64
	// Host is the index of the VM's host.
	Host int
}

// State is what a round reads and, on scratch copies, changes.
type State struct {
	Hosts []Host
	VMs   []VM
	// powerNow caches each host's power at its Utilization during a round
	// (Optimize fills it; nil means compute).
	powerNow []float64
	// alloc caches Allocated and Available per host during a round
	// (Optimize makes it; nil means compute); add and remove clear a
	// host's entry.
	alloc []allocCache
}

type allocCache struct {
	valid            bool
	allocated, avail float64
}

// allocation is Allocated and Available of host h, from the cache when a
// round keeps one.
func (s *State) allocation(h int) (allocated, avail float64) {
	if s.alloc == nil {
		return s.Allocated(h), s.Available(h)
	}
	c := &s.alloc[h]
	if !c.valid {
		c.allocated, c.avail, c.valid = s.Allocated(h), s.Available(h), true
	}
	return c.allocated, c.avail
}

// Clone copies the host VM lists, the only part a round changes, so that a
// round can create and destroy VMs on hosts as CloudSim does between its
// saveAllocation and restoreAllocation without touching the caller's state.
func (s *State) Clone() *State {
	c := &State{Hosts: make([]Host, len(s.Hosts)), VMs: s.VMs}
	copy(c.Hosts, s.Hosts)
	for i := range c.Hosts {
		c.Hosts[i].VMs = append([]int(nil), s.Hosts[i].VMs...)
	}
	return c
}

// capped is a reservation capped at one core
// (VmSchedulerTimeSharedOverSubscription.allocatePesForVm).
func capped(h *Host, mips float64) float64 { return math.Min(mips, h.PEMIPS) }

// Allocated is the MIPS host h allocates to its VMs in total
// (power/PowerVmAllocationPolicyMigrationAbstract.java getUtilizationOfCpuMips,
// summing host.getTotalAllocatedMipsForVm). When the capped reservations
// fit, each VM gets its own; otherwise every VM is scaled by capacity / sum
// and floored (VmSchedulerTimeSharedOverSubscription.redistributeMipsDueToOverSubscription).
// No migrations are in flight at a round: CloudSim's take at most 27.84 s
// of a 300 s interval, so the 0.1 and 0.9 migration factors do not appear.
func (s *State) Allocated(h int) float64 {
	host := &s.Hosts[h]
	var sum float64
	for _, v := range host.VMs {
		sum += capped(host, s.VMs[v].Reserved)
	}
	if sum <= host.MIPS {
		return sum
	}
	scale := host.MIPS / sum
	var alloc float64
	for _, v := range host.VMs {
		alloc += math.Floor(capped(host, s.VMs[v].Reserved) * scale)
	}
	return alloc
}

// Available is the MIPS host h has free: capacity minus the capped
// reservations, or 0 once they overflow (VmSchedulerTimeShared.getAvailableMips).
func (s *State) Available(h int) float64 {
	host := &s.Hosts[h]
	avail := host.MIPS
	for _, v := range host.VMs {
		c := capped(host, s.VMs[v].Reserved)
		if avail < c {
			return 0
		}
		avail -= c
	}
	return avail
}

// Suitable reports whether VM v fits host h now: one core holds its request
// and the free MIPS cover it (cloudsim/Host.java isSuitableForVm). RAM and
// bandwidth are not checked: the PlanetLab cloudlets request none
// (UtilizationModelNull), so after instantiation CloudSim reserves 0 MiB for
// a VM and these checks always pass. A host with RAM or Size set checks
// them as well (the shared-core adapter's hosts).
func (s *State) Suitable(h, v int) bool {
	host := &s.Hosts[h]
	r := s.VMs[v].Requested
	if host.PEMIPS < r {
		return false
	}
	if host.RAM > 0 || host.Size > 0 {
		ram, size := s.VMs[v].RAM, s.VMs[v].MIPS
		for _, x := range host.VMs {
			ram += s.VMs[x].RAM
			size += s.VMs[x].MIPS
		}
		if (host.RAM > 0 && ram > host.RAM) || (host.Size > 0 && size > host.Size+1e-9) {
			return false
		}
	}
	_, avail := s.allocation(h)
	return avail >= r
}

// RequestedUtilization is the sum of the VMs' requests over the host's
// capacity: the utilisation the THR, IQR and MAD detectors test
// (isHostOverUtilized in PowerVmAllocationPolicyMigrationStaticThreshold
// and …InterQuartileRange/…MedianAbsoluteDeviation, via the abstract
// adaptive-threshold class).
func (s *State) RequestedUtilization(h int) float64 {
	host := &s.Hosts[h]
	var sum float64
	for _, v := range host.VMs {
		sum += s.VMs[v].Requested
	}
	return sum / host.MIPS
}

// HostHistory is the host's utilisation history, newest first: at each
// past update, the sum over its present VMs of their utilisation × their
// MIPS / host MIPS, with the trailing (oldest) zeros cut off
// (power/PowerHostUtilizationHistory.java getUtilizationHistory,
// MathUtil.trimZeroTail). The VMs' histories move with them, so a host that
// just received a VM looks as if it always had it.
func (s *State) HostHistory(h int) []float64 {
	hist, n := s.hostHistory(h)
	return append([]float64(nil), hist[:n]...)
}

// hostHistory is HostHistory in a fixed array and its length, so that the
// detectors, called for every candidate host of every placement, do not
// allocate.
func (s *State) hostHistory(h int) (hist [HistoryLength]float64, n int) {
	host := &s.Hosts[h]
	for _, v := range host.VMs {
		vm := &s.VMs[v]
		for i, u := range vm.History {
			if i >= HistoryLength {
				break
			}
			hist[i] += u * vm.MIPS / host.MIPS
		}
	}
	return hist, countNonZeroBeginning(hist[:])
}

// countNonZeroBeginning is the length of data without its trailing zeros
// (MathUtil.countNonZeroBeginning).
func countNonZeroBeginning(data []float64) int {
	i := len(data) - 1
	for i >= 0 {
		if data[i] != 0 {
			break
		}
		i--
	}
	return i + 1
}

// remove deletes v from host h's list, keeping the order (Host.vmDestroy).
func (s *State) remove(h, v int) {
	host := &s.Hosts[h]
	for i, x := range host.VMs {
		if x == v {
			host.VMs = append(host.VMs[:i], host.VMs[i+1:]...)
			if s.alloc != nil {
				s.alloc[h].valid = false
			}
			return
		}
	}
}

// add appends v to host h's list (Host.vmCreate).
func (s *State) add(h, v int) {
	s.Hosts[h].VMs = append(s.Hosts[h].VMs, v)
	if s.alloc != nil {
		s.alloc[h].valid = false
	}
}
