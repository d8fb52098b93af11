package sim

import (
	"math"
	"time"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/reports/consolidation"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/cluster"
)

// MigrationPenalty is the share of a migrating VM's CPU demand counted as
// lost while it migrates, for PDM: CloudSim's 10%
// (cloudsim/power/PowerVm.java, VmSchedulerTimeShared: a migrating VM gets
// 90% of its request on its source).
const MigrationPenalty = 0.1

// hostAcct is what the consolidation figures need of one host, summed
// interval by interval.
type hostAcct struct {
	joules float64
	// active is the time the host was up and held a VM; demand the
	// integral of its VMs' CPU demand (core-seconds).
	active time.Duration
	demand float64
	// held says the host held a VM at the end of the last interval, so
	// that emptying it counts as a shutdown.
	held      bool
	shutdowns int
	// violation is the time the host could not give its VMs all they
	// asked for: demand above its cores, or, under CloudSim's migration
	// model, a VM migrating in, given 10% of its demand there (incoming
	// counts those migrations; sim/cloudsim.go).
	violation time.Duration
	incoming  int
	// inPenalty is the CPU the incoming migrations add (cores): part of
	// the host's utilisation, not of its VMs' requests.
	inPenalty float64
	// out are the migrations under CloudSim's model leaving the host, and
	// shortfall what their VMs were denied beyond the 10% while it was
	// over capacity (core-seconds; cloudsim.go).
	out       []*migration
	shortfall float64
}

// account charges host h for the interval of length dt that ends now,
// during which its state (up, demand, VMs) did not change: touch calls it
// before anything changes. The rule is piecewise constant: the host draws
// the power of its CPU utilisation (demand over cores, capped at 1: demand
// above capacity is not served) for the whole interval, or nothing while
// it is down, or, if it switches off when empty, while it holds no VM.
// Demand changes at the workload's updates (trace samples, random-walk
// steps, spikes) and when VMs arrive and leave, so the integral is exact
// for the demand the simulator models.
func (w *world) account(h int32, dt time.Duration) {
	w.initAcct()
	hs, a := &w.hosts[h], &w.acct[h]
	// A host receiving a VM under CloudSim's model is busy (active,
	// powered) though it holds none yet.
	busy := hs.vms > 0 || a.incoming > 0
	if w.acctFrom > 0 {
		dt = min(dt, max(w.eng.Now()-w.acctFrom, 0))
	}
	if dt == 0 {
		// A state that lasts no time is replaced, as in CloudSim's host
		// history (an entry at the same time replaces the last): a VM
		// whose incoming 10% ends just before it lands empties no host.
		// Before acctFrom nothing is recorded at all.
		return
	}
	if hs.up && hs.SwitchOff && a.held && !busy {
		a.shutdowns++
	}
	if hs.up {
		sec := dt.Seconds()
		a.demand += (hs.cpu - a.inPenalty) * sec
		if busy {
			a.active += dt
		}
		if hs.over || a.incoming > 0 {
			a.violation += dt
		}
		if hs.over && len(a.out) > 0 {
			a.shortfall += w.overShortfall(hs, a.out) * sec
		}
		if hs.Power != nil && (busy || !hs.SwitchOff) {
			u := 0.0
			if hs.CPUs > 0 {
				u = min(math.Max(hs.cpu, 0)/float64(hs.CPUs), 1)
			}
			if p, err := hs.Power.Power(u); err == nil {
				a.joules += p * sec
			}
		}
	}
	a.held = hs.up && busy
}

// initAcct makes the accounting on first use.
func (w *world) initAcct() {
	if w.acct != nil {
		return
	}
	w.acct = make([]hostAcct, len(w.hosts))
	for i := range w.hosts {
		// CloudSim's history starts active (see cloudsim.go).
		w.acct[i].held = w.hosts[i].vms > 0 || w.acctFrom > 0
	}
}

// reportConsolidation sets the summary's energy and SLA figures when any
// host has a power model.
func (w *world) reportConsolidation(s *reports.Summary) {
	powered := 0
	for i := range w.hosts {
		if w.hosts[i].Power != nil {
			powered++
		}
	}
	if powered == 0 || w.acct == nil {
		return
	}
	c := &reports.Consolidation{PoweredHosts: powered}
	var joules float64
	times := make([]consolidation.HostTime, len(w.hosts))
	demand := consolidation.VMDemand{}
	for i := range w.hosts {
		a := &w.acct[i]
		joules += a.joules
		times[i] = consolidation.HostTime{Active: a.active.Seconds(), Violation: a.violation.Seconds()}
		demand.Requested += a.demand
		demand.UnderMigration += a.shortfall
		c.Shutdowns += a.shutdowns
	}
	for _, m := range w.migs {
		end := time.Duration(m.rec.EndMS * float64(time.Millisecond))
		if m.rec.EndMS < m.rec.StartMS || m.rec.Outcome == cluster.OutcomeRejected {
			continue
		}
		start := time.Duration(m.rec.StartMS * float64(time.Millisecond))
		demand.UnderMigration += MigrationPenalty * demandIntegral(w.vms[m.vm].spec, w.vms[m.vm].demand(), start, end, w.sc.Sim.MigrationModel == scenarios.MigrationCloudSim)
	}
	c.EnergyKWh = reports.Round4(joules / consolidation.JoulesPerKWh)
	c.SLATAH, _ = consolidation.SLATAH(times)
	c.PDM, _ = consolidation.PDM([]consolidation.VMDemand{demand})
	c.SLAV = consolidation.SLAV(c.SLATAH, c.PDM)
	c.ESV = consolidation.ESV(joules/consolidation.JoulesPerKWh, c.SLAV)
	s.Consolidation = c
}

// demandIntegral is a VM's CPU demand integrated over [start, end), in
// core-seconds, from its demand model: exact for constant and trace
// demand (held for each trace interval, as the workload applies it);
// a random walk's steps are not kept, so its demand now stands for the
// whole span. Load spikes are left out.
func demandIntegral(vm *scenarios.VM, now float64, start, end time.Duration, cloudSim bool) float64 {
	d := &vm.Demand
	switch {
	case d.Kind == scenarios.DemandConstant:
		return d.Constant * (end - start).Seconds()
	case d.Kind == scenarios.DemandTrace && len(d.Trace) > 0 && d.TraceInterval > 0:
		var sum float64
		for t := start; t < end; {
			k := int(t / d.TraceInterval)
			next := min(time.Duration(k+1)*d.TraceInterval, end)
			sum += traceSample(d, k, cloudSim) * (next - t).Seconds()
			t = next
		}
		return sum
	}
	return now * (end - start).Seconds()
}
