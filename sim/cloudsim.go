package sim

import (
	"github.com/droverlab/drover/reports"
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

// startFixed runs m at its constant rate and moves MigrationPenalty of its
// VM's demand from source to destination until it ends; meanwhile the
// source counts as violating (CloudSim: allocated < requested there, for
// SLATAH).
func (w *world) startFixed(m *migration, rate float64) {
	m.fixed, m.rate = true, rate
	m.rec.PredictedMS = reports.MS(precopy.Predict(m.wl, m.cfg, rate).TotalTime)
	v := &w.vms[m.vm]
	m.penalty, m.penalised = MigrationPenalty*v.demand(), true
	w.touch(m.src)
	w.initAcct()
	w.acct[m.src].penalised++
	w.addDemand(m.src, -m.penalty)
	w.addDemand(m.dst, m.penalty)
}

// endPenalty gives the source back what startFixed moved, before the VM
// moves or stays.
func (w *world) endPenalty(m *migration) {
	if !m.penalised {
		return
	}
	m.penalised = false
	w.touch(m.src)
	w.acct[m.src].penalised--
	w.addDemand(m.src, m.penalty)
	w.addDemand(m.dst, -m.penalty)
	m.penalty = 0
}
