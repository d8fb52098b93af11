package sim

import (
	"slices"
	"time"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

// CloudSim's migration model (migration.model: cloudsim), to reproduce its
// PlanetLab figures: a migration lasts memory / (bandwidth / 2) whatever
// the guest does and whatever else the network carries
// (cloudsim/power/PowerDatacenter.java updateCloudletProcessing:
// vm.getRam() / (targetHost.getBw() / (2 * 8000))), and while it runs the
// source gives the VM 90% of its request and the destination reserves 10%
// (cloudsim/VmSchedulerTimeSharedOverSubscription.java with
// PowerVm's migration shares).
//
// Here: the guest's memory is copied once (no dirtying, no working set, no
// set-up, switch-over or latency) at a constant rate that holds no share
// of any link: the per-migration bandwidth cap when the scenario sets one
// (drover gen planetlab sets CloudSim's 62.5 MiB/s, so 1740 MiB take
// 27.84 s as in CloudSim), else half the destination's NIC bandwidth.
//
// The hosts feel it as CloudSim's utilisation and state history do
// (cloudsim/HostDynamicWorkload.java updateVmsProcessing, mirrored by
// plreplay's hostUpdate): the source's utilisation keeps the VM's whole
// demand (its 90% divided by 0.9 again), the destination's gains the 10%
// it reserves, and the destination, whose requested MIPS count the VM's
// whole request against the 10% allocated, is the host counted as
// violating for SLATAH while the VM migrates in; it is active then too
// (utilisation above 0), even if it held no VM before.

// cloudSimModel turns a migration's pre-copy configuration and workload
// into CloudSim's, and gives its constant rate in bytes/s.
func cloudSimModel(cfg precopy.Config, wl precopy.Workload, capBW float64, dst *hostState) (precopy.Config, precopy.Workload, float64) {
	cfg.SetupTime, cfg.SwitchoverCost, cfg.Latency = 0, 0, 0
	// An ideal stream: every granted byte is a guest byte, nothing is
	// paused, headed or scanned.
	cfg.Profile = precopy.Profile{Name: "cloudsim", Version: 1, Goodput: 1, GoodputTLS: 1, Overlap: 1, WindowMS: cfg.Profile.WindowMS}
	wl.Resident, wl.WSS, wl.DirtyRate = wl.Memory, 0, 0
	rate := capBW
	if rate <= 0 {
		rate = dst.NICBandwidth() / 2
	}
	cfg.LinkRate, cfg.BandwidthCap = rate, rate
	return cfg, wl, rate
}

// A VM that CloudSim's consolidation round placed twice (off an
// overloaded host, then on again while evacuating the underloaded host it
// was put on) migrates twice at once there: both migrations start at the
// same update, from the same source, take the same RAM / (BW / 2), and
// the later in the plan decides where the VM ends
// (cloudsim/power/PowerVmAllocationPolicyMigrationAbstract.java
// optimizeAllocation returns both; PowerDatacenter sends both). The plan
// keeps the second as the move and names the first destination in
// plan.Move.Via; the simulator runs each Via host as a ghost: the same
// 10% reserved there, active and violating as a destination, reported as
// a completed migration of its own (ID 0: no plan's move) that ends with
// the move, and no memory taken, as CloudSim admits none.
type ghost struct {
	host int32
	rec  reports.Migration
}

// startFixed runs m at its constant rate and adds MigrationPenalty of its
// VM's demand to the destination until it ends, and to each ghost's host
// in via; meanwhile they count as violating and active (see above).
func (w *world) startFixed(m *migration, rate float64, via []string) {
	m.fixed, m.rate = true, rate
	m.rec.PredictedMS = reports.MS(precopy.Predict(m.wl, m.cfg, rate).TotalTime)
	v := &w.vms[m.vm]
	m.penalty, m.penalised = MigrationPenalty*v.demand(), true
	w.initAcct()
	for _, name := range via {
		h, ok := w.hostIx[name]
		if !ok || h == m.src || h == m.dst || !w.hosts[h].up {
			continue
		}
		rec := m.rec
		rec.ID, rec.Destination, rec.Links = 0, name, nil
		rec.Reason = "CloudSim's double move: placed here, then moved on to " + w.hosts[m.dst].Name + " in the same round"
		m.ghosts = append(m.ghosts, ghost{host: h, rec: rec})
		w.reserve(h, m.penalty)
	}
	w.reserve(m.dst, m.penalty)
	w.touch(m.src)
	w.acct[m.src].out = append(w.acct[m.src].out, m)
}

// overShortfall is what the VMs leaving host hs under CloudSim's model are
// denied per second beyond their 10% while hs is over capacity: CloudSim
// scales every share on an over-subscribed host by capacity / requested
// (cloudsim/VmSchedulerTimeSharedOverSubscription.java
// redistributeMipsDueToOverSubscription), so a migrating VM gets 90% of
// its scaled request, and PDM charges the difference from its whole
// request (power/Helper.java getSlaMetrics; plreplay's hostUpdate). The
// host's demand is CloudSim's requested total: its VMs' whole requests
// and 10% of those migrating in.
func (w *world) overShortfall(hs *hostState, out []*migration) float64 {
	scale := float64(hs.CPUs) / hs.cpu
	var sum float64
	for _, m := range out {
		sum += w.vms[m.vm].demand()
	}
	return (1 - MigrationPenalty) * sum * (1 - scale)
}

// reserve adds an incoming migration's share to host h.
func (w *world) reserve(h int32, penalty float64) {
	w.touch(h)
	a := &w.acct[h]
	a.incoming++
	a.inPenalty += penalty
	w.addDemand(h, penalty)
}

// release takes back what reserve added.
func (w *world) release(h int32, penalty float64) {
	w.touch(h)
	a := &w.acct[h]
	if a.incoming--; a.incoming == 0 {
		a.inPenalty = 0 // no rounding left over
	} else {
		a.inPenalty -= penalty
	}
	w.addDemand(h, -penalty)
}

// endPenalty takes back what startFixed added, before the VM moves or
// stays, and ends its ghosts as the move ends.
func (w *world) endPenalty(m *migration) {
	if !m.penalised {
		return
	}
	m.penalised = false
	for i := range m.ghosts {
		w.release(m.ghosts[i].host, m.penalty)
	}
	w.release(m.dst, m.penalty)
	m.penalty = 0
	w.touch(m.src)
	a := &w.acct[m.src]
	a.out = slices.DeleteFunc(a.out, func(x *migration) bool { return x == m })
}

// endGhosts closes m's ghosts' records as m's own closes: CloudSim's first
// migration of the two lands at the same instant and is overtaken.
func (m *migration) endGhosts() {
	for i := range m.ghosts {
		g := &m.ghosts[i].rec
		g.EndMS, g.DurationMS = m.rec.EndMS, m.rec.DurationMS
		g.Bytes, g.Rounds = m.rec.Bytes, m.rec.Rounds
		g.Outcome = m.rec.Outcome
		if m.rec.Outcome == cluster.OutcomeFailed {
			g.Reason = m.rec.Reason
		}
	}
}

// CloudSim's updates fall 0.1 s after each trace sample, where it reads a
// VM's demand interpolated toward the next sample
// (cloudsim/UtilizationModelPlanetLabInMemory.java getUtilization; its
// 289th sample is its 288th). Under migration.model cloudsim the simulator
// applies that value for the interval, so the policy sees what CloudSim's
// round sees: most of all, a VM at 0% whose next sample is not 0 still
// asks a little, so its host is active and a candidate for evacuation
// rather than switched off. Energy hardly moves (1/3000 of a sample's
// slope).
const updateOffset = 100 * time.Millisecond

// traceSample is trace-driven demand d over interval k: sample k, or
// under CloudSim's model its value 0.1 s later.
func traceSample(d *scenarios.Demand, k int, cloudSim bool) float64 {
	n := len(d.Trace)
	x := d.Trace[k%n]
	if !cloudSim {
		return x
	}
	next := d.Trace[min(k%n+1, n-1)]
	return x + (next-x)*float64(updateOffset)/float64(d.TraceInterval)
}

// CloudSim's hosts allocate nothing before its first update, one
// scheduling interval in (its cloudlets start processing there), and the
// energy of a frame whose previous utilisation is 0 is 0
// (cloudsim/power/PowerHost.java getEnergyLinearInterpolation), so that
// first interval costs nothing; its host state histories and VMs'
// demand histories start at that update too, a host's history as active
// (power/Helper.java getTimesBeforeHostShutdown starts from true, so a
// host empty at the first update counts one shutdown). Under
// migration.model cloudsim the simulator's accounting therefore starts at
// the first workload update: 300 s of a PlanetLab day, 3% of its energy.
func firstUpdate(groups []workloadGroup) time.Duration {
	var first time.Duration
	for _, g := range groups {
		if first == 0 || g.interval < first {
			first = g.interval
		}
	}
	return first
}

// CloudSim ends a VM that requests no CPU at an update and is not
// migrating (cloudsim/HostDynamicWorkload.java getCompletedVms, removed by
// cloudsim/power/PowerDatacenter.java), for good. Its updates fall 0.1 s
// after each sample (and at each migration's end), where its demand is
// interpolated toward the next sample, so it reads 0 only where the trace
// is 0% at the sample before and the one after: the rule plreplay's update
// applies (requested MIPS == 0, not migrating). The simulator applies the
// same rule to trace-driven VMs under migration.model cloudsim, at each
// trace sample and each migration's end, reading the samples around now;
// a VM that ends leaves its host at once (the host may switch off), is no
// longer in the Core's snapshots and is counted in the report's
// vms_finished.

// finishIdle ends the VMs of workload group g that CloudSim would find
// finished at this update.
func (w *world) finishIdle(g int) {
	for _, i := range w.groups[g].vms {
		w.finishIfIdle(i)
	}
}

// finishIfIdle ends VM vi if, under CloudSim's rule above, it is finished
// now.
func (w *world) finishIfIdle(vi int32) {
	v := &w.vms[vi]
	d := &v.spec.Demand
	if !v.alive || v.mig >= 0 || d.Kind != scenarios.DemandTrace || d.TraceInterval <= 0 || len(d.Trace) == 0 {
		return
	}
	// What CloudSim's update reads (traceSample) is 0 only where the
	// sample before now and the one after both are.
	if traceSample(d, int(w.eng.Now()/d.TraceInterval), true) != 0 || v.demand() != 0 {
		return
	}
	v.alive = false
	hs := &w.hosts[v.host]
	w.touch(v.host)
	hs.mem -= v.spec.Memory
	hs.vms--
	w.settle(v.host)
	w.leave(vi, v.host)
	w.finished++
	w.record("vm-finished", v.spec.Name, "CPU trace at 0% (CloudSim ends it)")
}
