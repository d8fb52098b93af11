package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/engine"
	"github.com/droverlab/drover/scheduler/network"
	"github.com/droverlab/drover/scheduler/precopy"
)

// Reasons a migration is refused or fails; constant so tests match on them.
const (
	ReasonUnknownVM     = "unknown vm"
	ReasonVMLost        = "vm is lost"
	ReasonBusy          = "vm is already migrating"
	ReasonSameHost      = "vm already on destination"
	ReasonUnknownHost   = "unknown destination host"
	ReasonHostDown      = "host is down"
	ReasonNoMemory      = "insufficient memory on destination"
	ReasonInvalidCert   = "host certificate invalid"
	ReasonNoRoute       = "no network route"
	ReasonSourceCrashed = "source host crashed"
	ReasonDestCrashed   = "destination host crashed"
	ReasonWrongSource   = "vm is not on the named source"
)

type migration struct {
	rec      reports.Migration
	id       int
	vm       int32
	src, dst int32
	stepper  *precopy.Stepper
	flow     network.FlowID
	hasFlow  bool
	lifted   bool // the flow's cap is lifted for the final copy
	route    []network.LinkID
	capBW    float64
	wl       precopy.Workload
	cfg      precopy.Config
	rate     float64
	last     time.Duration // when the stepper was last advanced
	slot     engine.Slot   // its next state change
	round    int
	moved    bool // the guest already runs on the destination (post-copy)
	done     bool
	// fixed marks CloudSim's model: a constant rate and no flow, and
	// penalty the CPU demand it adds to the destination (cloudsim.go).
	fixed     bool
	penalised bool
	penalty   float64
	ghosts    []ghost
}

// modelConfig is what the hypervisor is told: the time limits stay with
// the scheduler's executor, which acts on them through commands, exactly
// as it does on real hosts.
func modelConfig(m scheduler.Migration, o cluster.MigrationOptions, latency time.Duration) precopy.Config {
	c := precopy.Config{
		Profile:        m.Profile,
		Throttle:       m.Throttle,
		DowntimeLimit:  m.DowntimeLimit,
		SwitchoverCost: m.SwitchoverCost,
		SetupTime:      m.SetupTime,
		Latency:        latency,
		AutoConverge:   o.AutoConverge,
	}
	if o.DowntimeLimit > 0 {
		c.DowntimeLimit = o.DowntimeLimit
	}
	return c.WithDefaults()
}

// transport is what a pair would actually use: TLS only when both ends are
// secured. A mixed pair travels over TCP and is flagged; enforcement in
// the scheduler exists so that this never happens.
func transport(a, b cluster.Security) (cluster.Transport, bool) {
	if a == cluster.Secured && b == cluster.Secured {
		return cluster.TransportTLS, false
	}
	return cluster.TransportTCP, a != b
}

// start carries out a StartMigration. A refused one is still reported, with
// outcome rejected, and answered with MigrationDone.
func (w *world) start(c cluster.StartMigration) {
	now := w.eng.Now()
	m := &migration{id: c.ID, rec: reports.Migration{
		ID: c.ID, VM: c.VM, Source: c.Source, Destination: c.Destination, Cause: c.Cause,
		StartMS: reports.MS(now), EndMS: reports.MS(now), Transport: string(c.Transport),
	}, vm: -1, src: -1, dst: -1}
	idx := len(w.migs)
	w.migs = append(w.migs, m)
	w.byID[c.ID] = int32(idx)
	rejectErr := func(reason string, err error) {
		m.done = true
		m.rec.Outcome, m.rec.Reason = cluster.OutcomeRejected, reason
		w.emit(cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: cluster.OutcomeRejected, Reason: reason, Err: err})
	}
	reject := func(reason string) { rejectErr(reason, nil) }
	vi, ok := w.vmIx[c.VM]
	if !ok {
		rejectErr(ReasonUnknownVM, fmt.Errorf("%w: vm %s", cluster.ErrNotFound, c.VM))
		return
	}
	v := &w.vms[vi]
	m.vm = vi
	m.src = v.host
	src := &w.hosts[v.host]
	switch {
	case !v.alive:
		reject(ReasonVMLost)
		return
	case v.mig >= 0:
		reject(ReasonBusy)
		return
	case c.Source != "" && c.Source != src.Name:
		reject(ReasonWrongSource)
		return
	}
	di, ok := w.hostIx[c.Destination]
	if !ok {
		rejectErr(ReasonUnknownHost, fmt.Errorf("%w: host %s", cluster.ErrNotFound, c.Destination))
		return
	}
	d := &w.hosts[di]
	m.dst = di
	tr, mixed := transport(src.Security, d.Security)
	m.rec.Mixed = mixed
	if c.Transport == cluster.TransportTLS && tr != cluster.TransportTLS {
		// A daemon without TLS refuses a qemu+tls connection outright.
		reject(ReasonInvalidCert)
		return
	}
	m.rec.Transport = string(tr)
	switch {
	case di == v.host:
		reject(ReasonSameHost)
		return
	case !d.up || !src.up:
		reject(ReasonHostDown)
		return
	case src.Security == cluster.Invalid || d.Security == cluster.Invalid:
		reject(ReasonInvalidCert)
		return
	case d.mem+v.spec.Memory > d.Memory:
		reject(ReasonNoMemory)
		return
	}
	route, err := w.net.Route(src.Name, d.Name)
	if err != nil {
		reject(ReasonNoRoute)
		return
	}
	cfg := modelConfig(w.sc.Migration, c.Options, w.net.Latency(route)).For(v.spec.TCG)
	cfg.CopyShared = true
	// QEMU's unthrottled final copy is bounded by the path, not the cap.
	rate, link := cfg.Profile.Stream(cluster.StreamCap(&src.Host, &d.Host, 0), c.Options.Bandwidth, tr == cluster.TransportTLS)
	cfg.LinkRate, cfg.TLS, cfg.Wall = link, tr == cluster.TransportTLS, true
	cfg.Bound = cfg.Profile.Bound(c.Options.Bandwidth, cfg.TLS)
	wl := precopy.Workload{
		Memory: v.spec.Memory, Resident: v.spec.Resident, WSS: v.spec.WSS, DirtyRate: v.spec.DirtyRate,
	}
	fixed := w.sc.Sim.MigrationModel == scenarios.MigrationCloudSim
	if fixed {
		cfg, wl, rate = cloudSimModel(cfg, wl, c.Options.Bandwidth, d)
	}
	m.stepper = precopy.NewStepper(wl, cfg)
	m.last = now
	m.slot = w.eng.NewSlot(evMigration, int32(idx), 0)
	d.mem += v.spec.Memory
	v.mig = int32(idx)
	m.capBW = rate
	m.route, m.wl, m.cfg = route, wl, cfg
	m.rec.Links = w.linkNames(route)
	w.active[int32(idx)] = true
	w.running++
	w.maxConc = max(w.maxConc, w.running)
	if fixed {
		w.startFixed(m, rate, c.Via)
	}
	w.openFlow(m, idx)
	w.schedule(m, idx)
	w.rates()
}

// linkNames names each directed link of route for the report: a link's
// two directions are separate capacities, so each is told apart by the
// way it carries traffic ("up" from the A end given in the scenario,
// towards the spine in the generated topologies).
func (w *world) linkNames(route []network.LinkID) []string {
	out := make([]string, len(route))
	for i, id := range route {
		dir := "up"
		if id%2 == 1 {
			dir = "down"
		}
		out[i] = w.net.LinkName(id) + " " + dir
	}
	return out
}

// openFlow puts a migration on the network once its setup is over: a
// migration that is still connecting sends nothing and must not hold a
// share of any link.
func (w *world) openFlow(m *migration, idx int) {
	if m.fixed {
		return
	}
	if ph := m.stepper.Phase(); m.hasFlow || m.stepper.Done() || ph == precopy.PhaseSetup || ph == precopy.PhaseFinishing {
		return
	}
	m.flow = w.net.AddFlow(m.route, m.capBW)
	m.hasFlow = true
	w.flowMig[m.flow] = int32(idx)
	m.rate = w.net.Rate(m.flow)
	w.unpredicted = append(w.unpredicted, m)
}

// predict records what the model alone would have said, at the bandwidth
// the transfer got once every flow of its instant was open: the report
// sets it beside what sharing did later.
func (w *world) predict() {
	for _, m := range w.unpredicted {
		cfg := m.cfg
		cfg.BandwidthCap = m.capBW
		m.rec.PredictedMS = reports.MS(precopy.Predict(m.wl, cfg, m.rate).TotalTime)
	}
	w.unpredicted = w.unpredicted[:0]
}

// intervene carries out an executor's limit action or an abort.
func (w *world) intervene(id int, action cluster.OnLimit, reason string) {
	idx, ok := w.byID[id]
	if !ok {
		return
	}
	m := w.migs[idx]
	if m.done {
		return
	}
	w.advance(m)
	m.stepper.Intervene(action, reason, m.rate)
	w.schedule(m, int(idx))
	w.rates()
}

// advance brings a migration's model up to now at the rate it had, and
// reports a new round.
func (w *world) advance(m *migration) {
	now := w.eng.Now()
	if dt := now - m.last; dt > 0 {
		m.stepper.Advance(dt, m.rate)
	}
	m.last = now
	if m.hasFlow && m.stepper.Phase() == precopy.PhaseFinishing {
		// libvirt's confirm sends nothing: the link is free for others.
		w.net.RemoveFlow(m.flow)
		delete(w.flowMig, m.flow)
		m.hasFlow, m.rate = false, 0
	}
	if ph := m.stepper.Phase(); m.hasFlow && !m.lifted && (ph == precopy.PhaseStopAndCopy || ph == precopy.PhasePostCopy) {
		// QEMU lifts its rate limit for the final copy: the stream now
		// takes what the path gives it among the others.
		w.net.RemoveFlow(m.flow)
		delete(w.flowMig, m.flow)
		m.flow = w.net.AddFlow(m.route, m.cfg.LinkRate)
		w.flowMig[m.flow] = w.byID[m.id]
		m.rate, m.lifted = w.net.Rate(m.flow), true
	}
	if m.stepper.Phase() == precopy.PhasePostCopy && !m.moved {
		w.moveGuest(m)
	}
	if !m.hasFlow {
		w.openFlow(m, int(w.byID[m.id]))
	}
	if r := m.stepper.Round(); r != m.round && !m.stepper.Done() {
		m.round = r
		w.emit(cluster.MigrationProgress{ID: m.id, Iteration: r, Sent: m.stepper.Sent(), Remaining: m.stepper.Remaining()})
	}
}

// schedule moves the migration's slot to its next state change at the
// rate it has now.
func (w *world) schedule(m *migration, idx int) {
	if m.stepper.Done() {
		w.eng.Set(m.slot, w.eng.Now())
		return
	}
	if d := m.stepper.Next(m.rate); d >= 0 {
		w.eng.Set(m.slot, w.eng.Now()+d)
	} else {
		w.eng.Clear(m.slot)
	}
}

// rates reschedules the migrations whose bandwidth changed, until no
// more change (advancing one may open its flow and move the others).
func (w *world) rates() {
	for {
		changed := w.net.Changed()
		if len(changed) == 0 {
			return
		}
		for _, f := range changed {
			idx, ok := w.flowMig[f]
			if !ok {
				continue
			}
			m := w.migs[idx]
			w.advance(m)
			// advance may have closed the flow or opened a new one.
			m.rate = 0
			if m.hasFlow {
				m.rate = w.net.Rate(m.flow)
			}
			w.schedule(m, int(idx))
		}
	}
}

// step handles a migration's own event: a round ended, or it finished.
func (w *world) step(m *migration) {
	w.advance(m)
	if m.stepper.Done() {
		w.finish(m, "")
		return
	}
	w.schedule(m, int(w.vms[m.vm].mig))
	w.rates()
}

// moveGuest makes the destination the VM's host: at switch-over, or when
// post-copy resumes the guest there.
func (w *world) moveGuest(m *migration) {
	v := &w.vms[m.vm]
	// Closed here, not only by addDemand: a VM without demand still
	// switches its hosts on and off (power.go).
	w.touch(m.src)
	w.touch(m.dst)
	w.addDemand(m.src, -v.demand())
	w.hosts[m.src].vms--
	w.leave(m.vm, m.src)
	v.host = m.dst
	w.onHost[m.dst] = append(w.onHost[m.dst], m.vm)
	w.addDemand(m.dst, v.demand())
	w.hosts[m.dst].vms++
	m.moved = true
}

// leave takes vm off host h's list.
func (w *world) leave(vm, h int32) {
	l := w.onHost[h]
	for i, x := range l {
		if x == vm {
			l[i] = l[len(l)-1]
			w.onHost[h] = l[:len(l)-1]
			return
		}
	}
}

// runningMigrations lists the indexes of unfinished migrations in start
// order; a crash walks these, not the whole history.
func (w *world) runningMigrations() []int32 {
	out := make([]int32, 0, len(w.active))
	for idx := range w.active {
		out = append(out, idx)
	}
	slices.Sort(out)
	return out
}

// finish ends a migration. failure is "" when the model ended it, otherwise
// the reason a fault ended it.
func (w *world) finish(m *migration, failure string) {
	w.endPenalty(m)
	v := &w.vms[m.vm]
	r := m.stepper.Result()
	m.done = true
	// Nothing reads the model of an ended migration (its record holds
	// what the report needs): let it go, or the 87,000 migrations of the
	// 10,000-host day's evacuation keep 80 MB of steppers to the end.
	m.stepper = nil
	delete(w.active, w.byID[m.id])
	w.running--
	if m.hasFlow {
		w.net.RemoveFlow(m.flow)
		delete(w.flowMig, m.flow)
		m.hasFlow = false
	}
	v.mig = -1

	now := w.eng.Now()
	m.rec.EndMS = reports.MS(now)
	m.rec.DurationMS = m.rec.EndMS - m.rec.StartMS
	m.rec.Bytes = r.TransferredBytes
	m.rec.Rounds = r.Iterations
	m.rec.Throttle = r.Throttle
	done := cluster.MigrationDone{ID: m.id, VM: v.spec.Name, Bytes: r.TransferredBytes, Rounds: r.Iterations}
	if failure != "" {
		m.rec.Outcome, m.rec.Reason = cluster.OutcomeFailed, failure
		if m.moved {
			w.hosts[m.src].mem -= v.spec.Memory
		} else {
			w.hosts[m.dst].mem -= v.spec.Memory
		}
		done.Outcome, done.Reason = cluster.OutcomeFailed, failure
		done.Lost = m.moved
		m.endGhosts()
		w.emit(done)
		w.rates()
		return
	}
	m.rec.Outcome, m.rec.Reason = r.Outcome, r.Reason
	m.rec.DowntimeMS = reports.MS(r.Downtime)
	if r.Outcome == cluster.OutcomeAborted {
		w.hosts[m.dst].mem -= v.spec.Memory
	} else {
		if !m.moved {
			w.moveGuest(m)
		}
		w.hosts[m.src].mem -= v.spec.Memory
	}
	done.Outcome, done.Reason, done.Downtime = r.Outcome, r.Reason, r.Downtime
	m.endGhosts()
	w.emit(done)
	w.rates()
	if m.fixed {
		w.finishIfIdle(m.vm)
	}
}

// crash takes a host down: its VMs are lost, migrations touching it fail.
// A guest whose migration had not yet switched over survives on its source
// when the destination dies; in post-copy its state is split across both
// hosts, so losing either loses it.
func (w *world) crash(h int32, why string) {
	hs := &w.hosts[h]
	if !hs.up {
		return
	}
	w.crashed++
	// The failure is news before its consequences: a scheduler that hears
	// of the failed migrations first would retry them onto this host.
	hs.State = cluster.HostDown
	w.emit(cluster.HostFailed{Host: hs.Name})
	for _, idx := range w.runningMigrations() {
		m := w.migs[idx]
		if m.src != h && m.dst != h {
			continue
		}
		w.advance(m)
		m.stepper.Abort(why)
		if m.src == h {
			w.finish(m, ReasonSourceCrashed)
		} else {
			w.finish(m, ReasonDestCrashed)
		}
		if m.moved {
			w.kill(m.vm, why)
		}
	}
	w.touch(h)
	hs.up = false
	hs.State = cluster.HostDown
	for _, i := range append([]int32(nil), w.onHost[h]...) {
		if v := &w.vms[i]; v.alive && v.host == h {
			w.kill(i, why)
		}
	}
	hs.cpu, hs.mem, hs.vms = 0, 0, 0
	w.settle(h)
}

func (w *world) kill(vi int32, why string) {
	v := &w.vms[vi]
	if !v.alive {
		return
	}
	v.alive = false
	hs := &w.hosts[v.host]
	w.touch(v.host)
	w.addDemand(v.host, -v.demand())
	hs.mem -= v.spec.Memory
	hs.vms--
	w.leave(vi, v.host)
	w.lost = append(w.lost, reports.LostVM{
		VM: v.spec.Name, Host: hs.Name, AtMS: reports.MS(w.eng.Now()), Reason: why,
	})
}
