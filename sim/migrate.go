package sim

import (
	"cmp"
	"slices"
	"time"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/cluster"
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
)

// migrationConfig turns scenario settings and per-migration overrides into
// the model's configuration.
func migrationConfig(m scenarios.Migration, o scenarios.MigrationOverrides, latency time.Duration) (precopy.Config, float64) {
	c := precopy.Config{
		DowntimeLimit:           m.DowntimeLimit,
		SwitchoverCost:          m.SwitchoverCost,
		SetupTime:               m.SetupTime,
		Latency:                 latency,
		MaxIterations:           m.MaxIterations,
		CompletionTimeoutPerGiB: m.CompletionTimeoutPerGiB,
		ProgressTimeout:         m.ProgressTimeout,
		OnLimit:                 precopy.OnLimit(m.OnLimit),
		AutoConverge:            m.AutoConverge,
	}
	bw := m.Bandwidth
	if o.DowntimeLimit != nil {
		c.DowntimeLimit = *o.DowntimeLimit
	}
	if o.MaxIterations != nil {
		c.MaxIterations = *o.MaxIterations
	}
	if o.OnLimit != nil {
		c.OnLimit = precopy.OnLimit(*o.OnLimit)
	}
	if o.AutoConverge != nil {
		c.AutoConverge = *o.AutoConverge
	}
	if o.Bandwidth != nil {
		bw = *o.Bandwidth
	}
	return c.WithDefaults(), bw
}

// transport picks how a pair would talk. A mixed pair has no honest
// transport: it is carried over TCP and flagged, and enforcement (in the
// scheduler) exists so that this never happens.
func transport(a, b cluster.Security) (cluster.Transport, bool) {
	if a == cluster.Secured && b == cluster.Secured {
		return cluster.TransportTLS, false
	}
	return cluster.TransportTCP, a != b
}

// startMigration begins a live migration of vm to dst now. A refused
// migration is still reported, with outcome "rejected".
func (w *world) startMigration(vm, dst string, o scenarios.MigrationOverrides, cause string) int {
	now := w.eng.Now()
	m := &migration{rec: reports.Migration{
		ID: len(w.migs) + 1, VM: vm, Destination: dst, Cause: cause,
		StartMS: reports.MS(now), EndMS: reports.MS(now),
	}, vm: -1, src: -1, dst: -1}
	idx := len(w.migs)
	w.migs = append(w.migs, m)
	reject := func(reason string) int {
		m.done = true
		m.rec.Outcome, m.rec.Reason = "rejected", reason
		return idx
	}
	vi, ok := w.vmIx[vm]
	if !ok {
		return reject(ReasonUnknownVM)
	}
	v := &w.vms[vi]
	m.vm = vi
	m.src = v.host
	src := &w.hosts[v.host]
	m.rec.Source = src.Name
	switch {
	case !v.alive:
		return reject(ReasonVMLost)
	case v.mig >= 0:
		return reject(ReasonBusy)
	}
	di, ok := w.hostIx[dst]
	if !ok {
		return reject(ReasonUnknownHost)
	}
	d := &w.hosts[di]
	m.dst = di
	tr, mixed := transport(src.Security, d.Security)
	m.rec.Transport, m.rec.Mixed = string(tr), mixed
	switch {
	case di == v.host:
		return reject(ReasonSameHost)
	case !d.up || !src.up:
		return reject(ReasonHostDown)
	case src.Security == cluster.Invalid || d.Security == cluster.Invalid:
		return reject(ReasonInvalidCert)
	case d.mem+v.spec.Memory > d.Memory:
		return reject(ReasonNoMemory)
	}
	route, err := w.net.Route(src.Name, d.Name)
	if err != nil {
		return reject(ReasonNoRoute)
	}
	cfg, capBW := migrationConfig(w.sc.Migration, o, w.net.Latency(route))
	wl := precopy.Workload{
		Memory: v.spec.Memory, Resident: v.spec.Resident, WSS: v.spec.WSS, DirtyRate: v.spec.DirtyRate,
	}
	m.stepper = precopy.NewStepper(wl, cfg)
	m.last = now
	d.mem += v.spec.Memory
	v.mig = int32(idx)
	capBW = cluster.StreamCap(&src.Host, &d.Host, capBW)
	m.flow = w.net.AddFlow(route, capBW)
	w.flowMig[m.flow] = int32(idx)
	w.running++
	w.maxConc = max(w.maxConc, w.running)
	m.rate = w.net.Rate(m.flow)
	cfg.BandwidthCap = capBW
	m.rec.PredictedMS = reports.MS(precopy.Predict(wl, cfg, m.rate).TotalTime)
	w.schedule(m, idx)
	w.rates()
	return idx
}

// advance brings a migration's model up to now at the rate it had.
func (w *world) advance(m *migration) {
	now := w.eng.Now()
	if dt := now - m.last; dt > 0 {
		m.stepper.Advance(dt, m.rate)
	}
	m.last = now
	if m.stepper.Phase() == precopy.PhasePostCopy && !m.moved {
		w.moveGuest(m)
	}
}

func (w *world) schedule(m *migration, idx int) {
	m.gen++
	if m.stepper.Done() {
		w.eng.After(0, evMigration, int32(idx), m.gen)
		return
	}
	if d := m.stepper.Next(m.rate); d >= 0 {
		w.eng.After(d, evMigration, int32(idx), m.gen)
	}
}

// rates reschedules the migrations whose bandwidth changed.
func (w *world) rates() {
	for _, f := range w.net.Changed() {
		idx, ok := w.flowMig[f]
		if !ok {
			continue
		}
		m := w.migs[idx]
		w.advance(m)
		m.rate = w.net.Rate(f)
		w.schedule(m, int(idx))
	}
}

// step handles a migration's own event: a round ended, a limit fired, or it
// finished.
func (w *world) step(m *migration) {
	w.advance(m)
	idx := int(w.vms[m.vm].mig)
	if m.stepper.Done() {
		w.finish(m, "")
		return
	}
	w.schedule(m, idx)
}

// moveGuest makes the destination the VM's host: at switch-over, or when
// post-copy resumes the guest there.
func (w *world) moveGuest(m *migration) {
	v := &w.vms[m.vm]
	w.addDemand(m.src, -v.demand())
	w.hosts[m.src].vms--
	v.host = m.dst
	w.addDemand(m.dst, v.demand())
	w.hosts[m.dst].vms++
	m.moved = true
}

// finish ends a migration. failure is "" when the model ended it, otherwise
// the reason a fault ended it.
func (w *world) finish(m *migration, failure string) {
	v := &w.vms[m.vm]
	r := m.stepper.Result()
	m.done = true
	w.running--
	w.net.RemoveFlow(m.flow)
	delete(w.flowMig, m.flow)
	v.mig = -1

	now := w.eng.Now()
	m.rec.EndMS = reports.MS(now)
	m.rec.DurationMS = m.rec.EndMS - m.rec.StartMS
	m.rec.Bytes = r.TransferredBytes
	m.rec.Rounds = r.Iterations
	m.rec.Throttle = r.Throttle
	if failure != "" {
		m.rec.Outcome, m.rec.Reason = "failed", failure
		if m.moved {
			w.hosts[m.src].mem -= v.spec.Memory
		} else {
			w.hosts[m.dst].mem -= v.spec.Memory
		}
		w.rates()
		return
	}
	m.rec.Outcome, m.rec.Reason = string(r.Outcome), r.Reason
	m.rec.DowntimeMS = reports.MS(r.Downtime)
	if r.Outcome == precopy.Aborted {
		w.hosts[m.dst].mem -= v.spec.Memory
	} else {
		if !m.moved {
			w.moveGuest(m)
		}
		w.hosts[m.src].mem -= v.spec.Memory
	}
	w.rates()
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
	for _, m := range w.migs {
		if m.done || (m.src != h && m.dst != h) {
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
	for i := range w.vms {
		v := &w.vms[i]
		if v.alive && v.host == h {
			w.kill(int32(i), why)
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
	w.addDemand(v.host, -v.demand())
	hs.mem -= v.spec.Memory
	hs.vms--
	w.lost = append(w.lost, reports.LostVM{
		VM: v.spec.Name, Host: hs.Name, AtMS: reports.MS(w.eng.Now()), Reason: why,
	})
}

func (w *world) report() *reports.Report {
	r := &w.rep
	r.Scenario = w.sc.Name
	r.Seed = w.seed
	r.DurationMS = reports.MS(w.sc.Sim.Duration)
	r.Lost = w.lost
	if r.Lost == nil {
		r.Lost = []reports.LostVM{}
	}
	if r.Events == nil {
		r.Events = []reports.EventRecord{}
	}
	s := &r.Summary
	s.Events = w.eng.Processed
	s.MaxConcurrent = w.maxConc
	s.HostsCrashed = w.crashed
	s.VMsLost = len(w.lost)
	var durations float64
	var finished int
	r.Migrations = make([]reports.Migration, 0, len(w.migs))
	for _, m := range w.migs {
		rec := m.rec
		r.Migrations = append(r.Migrations, rec)
		s.Migrations++
		switch rec.Outcome {
		case "completed":
			s.Completed++
		case "forced":
			s.Forced++
		case "postcopy":
			s.PostCopy++
		case "aborted":
			s.Aborted++
		case "failed":
			s.Failed++
		case "rejected":
			s.Rejected++
		}
		if rec.Mixed && rec.Outcome != "rejected" {
			s.MixedSecurity++
		}
		s.BytesMoved += rec.Bytes
		s.TotalDowntimeMS += rec.DowntimeMS
		s.MaxDowntimeMS = max(s.MaxDowntimeMS, rec.DowntimeMS)
		if rec.Outcome == "completed" || rec.Outcome == "forced" || rec.Outcome == "postcopy" {
			durations += rec.DurationMS
			finished++
		}
	}
	if finished > 0 {
		s.MeanDurationMS = durations / float64(finished)
	}
	s.OverCapacityMS = []reports.HostTime{}
	for i := range w.hosts {
		if t := w.hosts[i].overTotal; t > 0 {
			s.OverCapacityMS = append(s.OverCapacityMS, reports.HostTime{Host: w.hosts[i].Name, MS: reports.MS(t)})
		}
	}
	slices.SortStableFunc(r.Migrations, func(a, b reports.Migration) int {
		return cmp.Or(cmp.Compare(a.StartMS, b.StartMS), cmp.Compare(a.ID, b.ID))
	})
	return r
}
