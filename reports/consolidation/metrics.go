package consolidation

import (
	"errors"
	"fmt"
)

// HostState is one entry of a host's state history, recorded at every
// update (cloudsim/HostStateHistoryEntry.java, written by
// cloudsim/HostDynamicWorkload.java updateVmsProcessing). MIPS are totals
// over the host's VMs; a host is active when it allocates any MIPS.
type HostState struct {
	Time      float64 // seconds
	Allocated float64
	Requested float64
	Active    bool
}

// HostTime is what SLATAH needs of one host: the seconds it was active and,
// of those, the seconds it could not give its VMs all the MIPS they asked for.
type HostTime struct {
	Active, Violation float64
}

// HostTimeOf sums a host's history as CloudSim does
// (examples/power/Helper.java getSlaTimePerActiveHost): each interval
// between consecutive entries belongs to the earlier entry; it counts as
// active time when that entry is active and as violation time when, in
// addition, it allocated less than was requested. Allocated < requested is
// CloudSim's test for "at 100% utilisation": with over-subscription a host
// under-allocates exactly when its VMs ask for more than its capacity.
func HostTimeOf(history []HostState) HostTime {
	var t HostTime
	for i := 1; i < len(history); i++ {
		prev := history[i-1]
		if !prev.Active {
			continue
		}
		dt := history[i].Time - prev.Time
		t.Active += dt
		if prev.Allocated < prev.Requested {
			t.Violation += dt
		}
	}
	return t
}

// SLATAH, SLA violation Time per Active Host, is the share of active host
// time spent overloaded, over all hosts at once:
//
//	SLATAH = Σ_hosts violation time / Σ_hosts active time
//
// (examples/power/Helper.java getSlaTimePerActiveHost). The paper writes it
// as the mean over hosts of each host's ratio; CloudSim, and so the
// reference figures, use this ratio of sums. No active time is an error, as
// CloudSim would print NaN.
func SLATAH(hosts []HostTime) (float64, error) {
	var violation, active float64
	for _, h := range hosts {
		violation += h.Violation
		active += h.Active
	}
	if active == 0 {
		return 0, errors.New("consolidation: SLATAH: no host was ever active")
	}
	return violation / active, nil
}

// VMState is one entry of a VM's state history
// (cloudsim/VmStateHistoryEntry.java, written by
// cloudsim/HostDynamicWorkload.java updateVmsProcessing on the VM's source
// host). InMigration is set only there, never on the destination.
type VMState struct {
	Time        float64 // seconds
	Allocated   float64 // MIPS
	Requested   float64 // MIPS
	InMigration bool
}

// VMDemand is what PDM needs of one VM, in MIPS·seconds: all it requested,
// and what it requested but was not allocated while migrating.
type VMDemand struct {
	Requested, UnderMigration float64
}

// VMDemandOf sums a VM's history as CloudSim does (examples/power/Helper.java
// getSlaMetrics): each interval between consecutive entries takes the
// earlier entry's values; requested MIPS × seconds always count, and
// (requested − allocated) × seconds count as migration degradation when the
// earlier entry was migrating and under-allocated.
func VMDemandOf(history []VMState) VMDemand {
	var d VMDemand
	for i := 1; i < len(history); i++ {
		prev := history[i-1]
		dt := history[i].Time - prev.Time
		d.Requested += prev.Requested * dt
		if prev.Allocated < prev.Requested && prev.InMigration {
			d.UnderMigration += (prev.Requested - prev.Allocated) * dt
		}
	}
	return d
}

// PDM, Performance Degradation due to Migrations, is the share of all
// requested CPU work lost to migrations, over all VMs at once:
//
//	PDM = Σ_vms unallocated MIPS·s while migrating / Σ_vms requested MIPS·s
//
// (examples/power/Helper.java getSlaMetrics, "underallocated_migration").
// The paper writes it as the mean over VMs of each VM's ratio; CloudSim, and
// so the reference figures, use this ratio of sums. With CloudSim's 10%
// penalty (SourceShare) a migration of a VM requesting r MIPS for T seconds
// adds 0.1 · r · T.
func PDM(vms []VMDemand) (float64, error) {
	var lost, requested float64
	for _, v := range vms {
		lost += v.UnderMigration
		requested += v.Requested
	}
	if requested == 0 {
		return 0, errors.New("consolidation: PDM: no VM requested any MIPS")
	}
	return lost / requested, nil
}

// SLAV, the combined SLA violation metric, is SLATAH × PDM
// (examples/power/Helper.java printResults: sla = slaTimePerActiveHost *
// slaDegradationDueToMigration).
func SLAV(slatah, pdm float64) float64 { return slatah * pdm }

// ESV, the energy and SLA violations metric, is energy × SLAV, with energy in
// kWh (Beloglazov & Buyya 2012; CloudSim does not print it, so
// it is computed from the figures it does print).
func ESV(energyKWh, slav float64) float64 { return energyKWh * slav }

// Shutdowns counts a host's switches from active to inactive, the history
// starting as active (examples/power/Helper.java getTimesBeforeHostShutdown,
// whose list length is the "host_shutdowns" column of the reference).
func Shutdowns(history []HostState) int {
	n, prev := 0, true
	for _, e := range history {
		if prev && !e.Active {
			n++
		}
		prev = e.Active
	}
	return n
}

// MigrationStats is the number, mean and maximum duration of migrations, in
// seconds. CloudSim counts migrations as they start
// (cloudsim/power/PowerDatacenter.java incrementMigrationCount).
type MigrationStats struct {
	Count     int
	Mean, Max float64
}

// MigrationStatsOf summarises migration durations in seconds, in the order
// given (the sum is taken in that order, so the same input gives the same
// bits).
func MigrationStatsOf(seconds []float64) (MigrationStats, error) {
	s := MigrationStats{Count: len(seconds)}
	var sum float64
	for i, d := range seconds {
		if !(d >= 0) {
			return MigrationStats{}, fmt.Errorf("consolidation: migration %d lasted %v s", i, d)
		}
		sum += d
		if d > s.Max {
			s.Max = d
		}
	}
	if s.Count > 0 {
		s.Mean = sum / float64(s.Count)
	}
	return s, nil
}
