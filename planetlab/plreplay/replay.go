// Package plreplay replays one PlanetLab day under a dynamic-consolidation
// policy of scheduler/policy/poweraware exactly as CloudSim 4.0's
// PowerDatacenter runs it, with the set-up, power and metric rules of
// package planetlab, so that its figures can be set beside CloudSim's
// (planetlab/testdata/cloudsim-reference.csv).
//
// It is apart from planetlab so that the reference rules there keep
// importing nothing from drover; the decisions are the shared policy
// package's, the replay only supplies CloudSim's bookkeeping around them.
//
// The event sequence (cloudsim/power/PowerDatacenter.java):
//   - at 0: every VM placed in trace-file order by the policy's PABFD at its
//     full MIPS, the VMs already placed requesting nothing
//     (PowerVmAllocationPolicyMigrationAbstract.findHostForVm through
//     PowerVmAllocationPolicyAbstract.allocateHostForVm; cloudsim/Vm.java
//     asks full MIPS while being instantiated);
//   - at 300.1 s, 600.1 s, …, 86100.1 s (see planetlab.AccountedSeconds): an
//     update of every host (allocation, 10% migration penalty, state
//     histories, energy of the frame since the last event, removal of VMs
//     requesting 0), then one optimisation round, then each planned
//     migration started (the VM joins the destination's list at 10% of its
//     request, the source keeps 90%) and both hosts updated again;
//   - at each migration's end, RAM / (BW / 2) later: an update (with
//     energy) if time has passed, the VM moved, and after the last migration
//     ending at that instant another update (processVmMigrate).
package plreplay

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/reports/consolidation"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
)

// Result is one day under one policy, in the units of the reference CSV
// (fractions, not percent; energy in kWh; durations in seconds).
type Result struct {
	Day, Policy        string
	Migration          string // the migration model: cloudsim or precopy
	Hosts, VMs         int
	EnergyKWh          float64
	Migrations         int
	SLATAH, PDM        float64
	SLAV, ESV          float64
	Shutdowns          int
	MeanMigration      float64
	MaxMigration       float64
	OptimizationRounds int
}

// Limit is the simulated time: events after it are not run
// (examples/power/Constants.java SIMULATION_LIMIT; CloudSim.terminateAt).
const Limit = 24 * 60 * 60.0

// firstUpdate is the time of the first update: the datacenter's first
// event, at 0.1 s (cloudlet submission), schedules it one interval later.
const firstUpdate = 0.1

type host struct {
	typ planetlab.HostType
	// vms in list order, including VMs migrating in (CloudSim's
	// PowerHost.addMigratingInVm adds them to the list at once).
	vms      []int
	util     float64 // utilisation MIPS at the last update
	prevUtil float64
	// SLATAH and shutdown bookkeeping over the state history, folded as
	// entries become final (an entry at the same time replaces the last).
	last       consolidation.HostState
	hasLast    bool
	time       consolidation.HostTime
	prevActive bool
	shutdowns  int
}

type vm struct {
	typ   planetlab.VMType
	trace *planetlab.VM
	// host is where the VM is registered (the source while it migrates);
	// -1 once finished.
	host int
	// dests are the hosts it is migrating to (CloudSim can plan a VM twice
	// in a round; both migrations run, the later to end wins).
	dests       []int
	inMigration bool
	req         float64 // requested MIPS at the last update
	hist        []float64
	last        consolidation.VMState
	hasLast     bool
	demand      consolidation.VMDemand
}

type replay struct {
	hosts       []host
	vms         []vm
	joules      float64
	lastProcess float64
	durations   []float64
	st          poweraware.State
	pol         *poweraware.Policy
	model       MigrationModel
}

type migration struct {
	end      float64
	seq      int
	vm, dest int
}

// Run replays day on nHosts hosts (planetlab.Hosts in the standard
// experiment) under pol, named name in the result, with CloudSim's
// migration model.
func Run(day *planetlab.Day, pol *poweraware.Policy, name string, nHosts int) (*Result, error) {
	return RunModel(day, pol, name, nHosts, CloudSimMigration{})
}

// RunModel is Run with migrations timed by model.
func RunModel(day *planetlab.Day, pol *poweraware.Policy, name string, nHosts int, model MigrationModel) (*Result, error) {
	n := len(day.VMs)
	if n == 0 {
		return nil, fmt.Errorf("plreplay: day %q has no VMs", day.Name)
	}
	r := &replay{hosts: make([]host, nHosts), vms: make([]vm, n), pol: pol, model: model}
	if err := r.init(day); err != nil {
		return nil, err
	}
	res := &Result{Day: day.Name, Policy: name, Migration: model.Name(), Hosts: nHosts, VMs: n}
	for k := 1; ; k++ {
		now := firstUpdate + poweraware.SchedulingInterval*float64(k)
		if now > Limit {
			break
		}
		if err := r.update(now, true); err != nil {
			return nil, err
		}
		moves := r.pol.Optimize(r.state())
		res.OptimizationRounds++
		var pending []migration
		for i, m := range moves {
			pending = append(pending, r.start(now, i, m))
		}
		slices.SortStableFunc(pending, func(a, b migration) int {
			return cmp.Or(cmp.Compare(a.end, b.end), cmp.Compare(a.seq, b.seq))
		})
		for i, m := range pending {
			if m.end > Limit {
				break
			}
			if m.end >= now+poweraware.SchedulingInterval {
				// Rounds assume no migration in flight (CloudSim's end
				// within 28 s); a model that outlasts an interval would
				// need the in-flight rules of the allocation policy.
				return nil, fmt.Errorf("plreplay: a %s migration of VM %d at %.1f s lasts %.1f s, past the next round", r.model.Name(), m.vm, now, m.end-now)
			}
			if m.end > r.lastProcess {
				if err := r.update(m.end, false); err != nil {
					return nil, err
				}
			}
			r.finish(m)
			if i == len(pending)-1 || pending[i+1].end > m.end {
				if err := r.update(m.end, false); err != nil {
					return nil, err
				}
			}
		}
	}
	return r.result(res)
}

// InitialPlacement is where CloudSim's PABFD puts each VM of day at the
// start on nHosts hosts (host index per VM). Every detector answers alike
// then (no history; requests far below any threshold), so it is the same
// for every policy.
func InitialPlacement(day *planetlab.Day, nHosts int) ([]int, error) {
	if len(day.VMs) == 0 {
		return nil, fmt.Errorf("plreplay: day %q has no VMs", day.Name)
	}
	r := &replay{hosts: make([]host, nHosts), vms: make([]vm, len(day.VMs)), pol: &poweraware.Policy{Detector: poweraware.THR{Threshold: 0.8}, Selector: poweraware.MMT{}}, model: CloudSimMigration{}}
	if err := r.init(day); err != nil {
		return nil, err
	}
	out := make([]int, len(r.vms))
	for i := range r.vms {
		out[i] = r.vms[i].host
	}
	return out, nil
}

// init sets up the hosts and VMs and places the VMs.
func (r *replay) init(day *planetlab.Day) error {
	n := len(day.VMs)
	for i := range r.hosts {
		r.hosts[i] = host{typ: planetlab.HostTypeOf(i), prevActive: true}
	}
	for i := range r.vms {
		ti, err := planetlab.VMTypeIndex(i, n)
		if err != nil {
			return err
		}
		r.vms[i] = vm{typ: planetlab.VMTypes[ti], trace: &day.VMs[i], host: -1}
	}
	r.st = poweraware.State{Hosts: make([]poweraware.Host, len(r.hosts)), VMs: make([]poweraware.VM, n)}
	for i := range r.hosts {
		t := r.hosts[i].typ
		r.st.Hosts[i] = poweraware.Host{MIPS: t.MIPS(), PEMIPS: t.MIPSPerPE, Bandwidth: t.Bandwidth, Power: t.Power}
	}
	return r.place()
}

// place is the initial placement by the policy's PABFD, VM by VM in file
// order, each at its full MIPS while the ones before it request nothing
// but keep the full MIPS they were created with reserved.
func (r *replay) place() error {
	for i := range r.vms {
		v := &r.vms[i]
		r.st.VMs[i] = poweraware.VM{MIPS: v.typ.MIPS, RAM: float64(v.typ.RAM), Requested: v.typ.MIPS, Reserved: v.typ.MIPS, Host: -1}
		h := r.pol.FindHost(&r.st, i, nil)
		if h < 0 {
			return fmt.Errorf("plreplay: VM %d (%s, %v MIPS) fits no host", i, v.trace.Name, v.typ.MIPS)
		}
		r.st.Hosts[h].VMs = append(r.st.Hosts[h].VMs, i)
		r.st.VMs[i].Requested = 0
		r.st.VMs[i].Host = h
		v.host = h
		r.hosts[h].vms = append(r.hosts[h].vms, i)
	}
	return nil
}

// state refreshes the policy's view at an update: no migration is in
// flight, so every list holds only the host's own VMs.
func (r *replay) state() *poweraware.State {
	for i := range r.hosts {
		h := &r.hosts[i]
		sh := &r.st.Hosts[i]
		sh.Utilization = planetlab.Utilization(h.util, h.typ.MIPS())
		sh.VMs = append(sh.VMs[:0], h.vms...)
	}
	for i := range r.vms {
		v := &r.vms[i]
		sv := &r.st.VMs[i]
		sv.Requested, sv.Reserved, sv.History, sv.Host = v.req, v.req, v.hist, v.host
	}
	return &r.st
}

// update is PowerDatacenter.updateCloudetProcessingWithoutSchedulingFutureEventsForce
// at t: every host's allocation and histories, the energy of the frame
// since the last event, and the removal of VMs that request nothing.
// atInterval marks the 5-minute updates, where each VM also records its
// utilisation (power/PowerVm.java updateVmProcessing).
func (r *replay) update(t float64, atInterval bool) error {
	dt := t - r.lastProcess
	for i := range r.vms {
		v := &r.vms[i]
		if v.host < 0 {
			continue
		}
		u := v.trace.Utilization(t)
		v.req = u * v.typ.MIPS
		if atInterval {
			v.hist = slices.Insert(v.hist, 0, u)
			if len(v.hist) > poweraware.HistoryLength {
				v.hist = v.hist[:poweraware.HistoryLength]
			}
		}
	}
	for i := range r.hosts {
		r.hostUpdate(i, t)
	}
	if dt > 0 {
		for i := range r.hosts {
			h := &r.hosts[i]
			total := h.typ.MIPS()
			e, err := h.typ.Power.FrameEnergy(planetlab.Utilization(h.prevUtil, total), planetlab.Utilization(h.util, total), dt)
			if err != nil {
				return fmt.Errorf("plreplay: host %d at %.1f s: %w", i, t, err)
			}
			r.joules += e
		}
	}
	for i := range r.hosts {
		h := &r.hosts[i]
		kept := h.vms[:0]
		for _, id := range h.vms {
			v := &r.vms[id]
			if !v.inMigration && v.req == 0 {
				v.host = -1
				continue
			}
			kept = append(kept, id)
		}
		h.vms = kept
	}
	r.lastProcess = t
	return nil
}

// hostUpdate is cloudsim/HostDynamicWorkload.java updateVmsProcessing with
// VmSchedulerTimeSharedOverSubscription's allocation: each VM's request
// capped at one core; a VM migrating in counts 10% of it; when the total
// fits, the source of a migration gets 90% of its VM's request and the
// destination 10%, otherwise every share is scaled to the capacity and
// floored. The host's utilisation counts a migrating VM's source share
// divided by 0.9 again; the VM's own history is written on its source.
func (r *replay) hostUpdate(hi int, t float64) {
	h := &r.hosts[hi]
	h.prevUtil = h.util
	pe, total := h.typ.MIPSPerPE, h.typ.MIPS()
	avail, over := total, false
	var need float64
	for _, id := range h.vms {
		c := math.Min(r.vms[id].req, pe)
		if slices.Contains(r.vms[id].dests, hi) {
			c *= 0.1
		}
		need += c
		if avail >= c {
			avail -= c
		} else {
			over = true
			avail = 0
		}
	}
	scale := total / need
	var util, requested float64
	for _, id := range h.vms {
		v := &r.vms[id]
		c := math.Min(v.req, pe)
		in := slices.Contains(v.dests, hi)
		out := v.inMigration && !in
		alloc := c
		switch {
		case out && over:
			alloc = math.Floor(c * scale * 0.9)
		case out:
			alloc = c * 0.9
		case in && over:
			alloc = math.Floor(c * 0.1 * scale)
		case in:
			alloc = c * 0.1
		case over:
			alloc = math.Floor(c * scale)
		}
		if !in {
			v.record(consolidation.VMState{Time: t, Allocated: alloc, Requested: v.req, InMigration: v.inMigration})
			if v.inMigration {
				alloc /= 0.9
			}
		}
		util += alloc
		requested += v.req
	}
	h.util = util
	h.record(consolidation.HostState{Time: t, Allocated: util, Requested: requested, Active: util > 0})
}

func (h *host) record(e consolidation.HostState) {
	if h.hasLast && h.last.Time == e.Time {
		h.last = e
		return
	}
	if h.hasLast {
		h.fold(e.Time)
	}
	h.last, h.hasLast = e, true
}

// fold makes the last entry final, lasting until next (consolidation.HostTimeOf
// and consolidation.Shutdowns, one entry at a time).
func (h *host) fold(next float64) {
	p := h.last
	if p.Active {
		dt := next - p.Time
		h.time.Active += dt
		if p.Allocated < p.Requested {
			h.time.Violation += dt
		}
	}
	if h.prevActive && !p.Active {
		h.shutdowns++
	}
	h.prevActive = p.Active
}

func (v *vm) record(e consolidation.VMState) {
	if v.hasLast && v.last.Time == e.Time {
		v.last = e
		return
	}
	if v.hasLast {
		p := v.last
		dt := e.Time - p.Time
		v.demand.Requested += p.Requested * dt
		if p.Allocated < p.Requested && p.InMigration {
			v.demand.UnderMigration += (p.Requested - p.Allocated) * dt
		}
	}
	v.last, v.hasLast = e, true
}

// start is PowerDatacenter's start of a planned migration: the count, the
// VM on the destination's list (PowerHost.addMigratingInVm, which updates
// both hosts at once), and the end RAM / (BW / 2) later.
func (r *replay) start(now float64, seq int, m poweraware.Move) migration {
	v := &r.vms[m.VM]
	dest := &r.hosts[m.To]
	v.inMigration = true
	if !slices.Contains(v.dests, m.To) {
		v.dests = append(v.dests, m.To)
		dest.vms = append(dest.vms, m.VM)
		r.hostUpdate(m.To, now)
		r.hostUpdate(v.host, now)
	}
	d := r.model.Seconds(float64(v.typ.RAM), v.typ.MIPS, v.req/v.typ.MIPS, dest.typ.Bandwidth)
	r.durations = append(r.durations, d)
	return migration{end: now + d, seq: seq, vm: m.VM, dest: m.To}
}

// finish is Datacenter.processVmMigrate: the VM leaves the host it is
// registered on and joins the end of the destination's list.
func (r *replay) finish(m migration) {
	v := &r.vms[m.vm]
	if v.host >= 0 {
		src := &r.hosts[v.host]
		src.vms = slices.DeleteFunc(src.vms, func(id int) bool { return id == m.vm })
	}
	dest := &r.hosts[m.dest]
	dest.vms = slices.DeleteFunc(dest.vms, func(id int) bool { return id == m.vm })
	v.dests = slices.DeleteFunc(v.dests, func(h int) bool { return h == m.dest })
	v.inMigration = false
	dest.vms = append(dest.vms, m.vm)
	v.host = m.dest
}

func (r *replay) result(res *Result) (*Result, error) {
	times := make([]consolidation.HostTime, len(r.hosts))
	for i := range r.hosts {
		h := &r.hosts[i]
		if h.hasLast && h.prevActive && !h.last.Active {
			h.shutdowns++
		}
		times[i] = h.time
		res.Shutdowns += h.shutdowns
	}
	demands := make([]consolidation.VMDemand, len(r.vms))
	for i := range r.vms {
		demands[i] = r.vms[i].demand
	}
	var err error
	if res.SLATAH, err = consolidation.SLATAH(times); err != nil {
		return nil, err
	}
	if res.PDM, err = consolidation.PDM(demands); err != nil {
		return nil, err
	}
	res.EnergyKWh = r.joules / planetlab.JoulesPerKWh
	res.SLAV = consolidation.SLAV(res.SLATAH, res.PDM)
	res.ESV = consolidation.ESV(res.EnergyKWh, res.SLAV)
	ms, err := consolidation.MigrationStatsOf(r.durations)
	if err != nil {
		return nil, err
	}
	res.Migrations, res.MeanMigration, res.MaxMigration = ms.Count, ms.Mean, ms.Max
	return res, nil
}
