package sim

import (
	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
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

// startFixed runs m at its constant rate and adds MigrationPenalty of its
// VM's demand to the destination until it ends; meanwhile the destination
// counts as violating and active (see above).
func (w *world) startFixed(m *migration, rate float64) {
	m.fixed, m.rate = true, rate
	m.rec.PredictedMS = reports.MS(precopy.Predict(m.wl, m.cfg, rate).TotalTime)
	v := &w.vms[m.vm]
	m.penalty, m.penalised = MigrationPenalty*v.demand(), true
	w.touch(m.dst)
	w.initAcct()
	a := &w.acct[m.dst]
	a.incoming++
	a.inPenalty += m.penalty
	w.addDemand(m.dst, m.penalty)
}

// endPenalty takes back what startFixed added, before the VM moves or
// stays.
func (w *world) endPenalty(m *migration) {
	if !m.penalised {
		return
	}
	m.penalised = false
	w.touch(m.dst)
	a := &w.acct[m.dst]
	if a.incoming--; a.incoming == 0 {
		a.inPenalty = 0 // no rounding left over
	} else {
		a.inPenalty -= m.penalty
	}
	w.addDemand(m.dst, -m.penalty)
	m.penalty = 0
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
	n := len(d.Trace)
	// The sample before now and the one after; past the last, the last
	// again (CloudSim's 289th sample is its 288th).
	k := int(w.eng.Now()/d.TraceInterval) % n
	if d.Trace[k] != 0 || d.Trace[min(k+1, n-1)] != 0 || v.demand() != 0 {
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
