// Package sim runs a scenario in virtual time: VM workloads change, faults
// strike, and live migrations run as flows on a shared network, each advanced
// by the pre-copy model as its bandwidth changes. One thread, one seeded
// event queue: the same scenario and seed give the same report, byte for byte.
package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/sim/engine"
	"github.com/droverlab/drover/sim/network"
)

// Options tune a run without changing the scenario.
type Options struct {
	// Seed replaces the scenario's seed when set.
	Seed *uint64
	// Progress, when set, is called now and then with the virtual time
	// reached; it must not touch the simulation.
	Progress func(now, total time.Duration)
}

// Event kinds on the engine's queue.
const (
	evScenario  uint16 = iota // A: index into scenario events
	evMigration               // A: migration index, B: generation
	evWorkload                // A: workload group
	evSample
	evSpikeEnd // A: scenario event index of the spike
	evZoneFail // A: scenario event index of the warning
)

// Run simulates sc from time zero to its duration and returns the report.
func Run(sc *scenarios.Scenario, opts Options) (*reports.Report, error) {
	w, err := newWorld(sc, opts)
	if err != nil {
		return nil, err
	}
	w.run()
	return w.report(), nil
}

type hostState struct {
	cluster.Host
	up          bool
	maintenance bool
	cpu         float64 // demand of VMs running here, cores
	mem         int64   // memory of resident VMs plus inbound reservations
	vms         int
	over        bool
	lastChange  time.Duration
	overTotal   time.Duration
}

type vmState struct {
	spec   *scenarios.VM
	host   int32
	alive  bool
	base   float64 // demand before spikes
	factor float64 // product of active spike factors
	mig    int32   // index of the running migration, -1 if none
	trace  int     // next trace index
}

func (v *vmState) demand() float64 { return v.base * v.factor }

type migration struct {
	rec      reports.Migration
	vm       int32
	src, dst int32
	stepper  *precopy.Stepper
	flow     network.FlowID
	rate     float64
	last     time.Duration // when the stepper was last advanced
	gen      int64
	moved    bool // the guest already runs on the destination (post-copy)
	done     bool
}

type workloadGroup struct {
	interval time.Duration
	vms      []int32
}

type world struct {
	sc     *scenarios.Scenario
	seed   uint64
	eng    *engine.Engine
	net    *network.Network
	hosts  []hostState
	hostIx map[string]int32
	vms    []vmState
	vmIx   map[string]int32
	// flowMig maps a live flow to its migration.
	flowMig map[network.FlowID]int32
	migs    []*migration
	running int
	groups  []workloadGroup
	rng     interface{ Float64() float64 }

	rep     reports.Report
	lost    []reports.LostVM
	crashed int
	maxConc int
	opts    Options
}

func newWorld(sc *scenarios.Scenario, opts Options) (*world, error) {
	seed := sc.Sim.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	w := &world{
		sc:      sc,
		seed:    seed,
		eng:     engine.New(seed),
		net:     network.New(),
		hostIx:  make(map[string]int32, len(sc.Hosts)),
		vmIx:    make(map[string]int32, len(sc.VMs)),
		flowMig: make(map[network.FlowID]int32),
		opts:    opts,
	}
	w.rng = w.eng.Rand("workload")
	for i := range sc.Hosts {
		w.hosts = append(w.hosts, hostState{Host: sc.Hosts[i], up: true})
		w.hostIx[sc.Hosts[i].Name] = int32(i)
		w.net.AddNode(sc.Hosts[i].Name)
	}
	for _, l := range sc.Network.Links {
		if err := w.net.AddLink(l.Name, l.A, l.B, l.Bandwidth, l.Latency); err != nil {
			return nil, fmt.Errorf("network: link %s: %w", l.Name, err)
		}
	}
	groups := map[time.Duration]int{}
	for i := range sc.VMs {
		spec := &sc.VMs[i]
		h, ok := w.hostIx[spec.Host]
		if !ok {
			return nil, fmt.Errorf("vm %s: unknown host %q", spec.Name, spec.Host)
		}
		v := vmState{spec: spec, host: h, alive: true, factor: 1, mig: -1}
		var interval time.Duration
		switch spec.Demand.Kind {
		case scenarios.DemandTrace:
			if len(spec.Demand.Trace) > 0 {
				v.base = spec.Demand.Trace[0]
				v.trace = 1
			}
			interval = spec.Demand.TraceInterval
		case scenarios.DemandRandomWalk:
			v.base = spec.Demand.Walk.Start
			interval = spec.Demand.Walk.Interval
		default:
			v.base = spec.Demand.Constant
		}
		if interval > 0 {
			g, ok := groups[interval]
			if !ok {
				g = len(w.groups)
				groups[interval] = g
				w.groups = append(w.groups, workloadGroup{interval: interval})
			}
			w.groups[g].vms = append(w.groups[g].vms, int32(i))
		}
		w.vms = append(w.vms, v)
		w.vmIx[spec.Name] = int32(i)
		hs := &w.hosts[h]
		hs.cpu += v.demand()
		hs.mem += spec.Memory
		hs.vms++
	}
	for i := range w.hosts {
		w.hosts[i].over = w.hosts[i].cpu > float64(w.hosts[i].CPUs)+1e-9
	}
	return w, nil
}

func (w *world) run() {
	total := w.sc.Sim.Duration
	for i := range w.sc.Events {
		w.eng.Schedule(w.sc.Events[i].At, evScenario, int32(i), 0)
	}
	for g := range w.groups {
		w.eng.Schedule(w.groups[g].interval, evWorkload, int32(g), 0)
	}
	if iv := w.sc.Sim.SampleInterval; iv > 0 {
		w.rep.SampleIntervalMS = reports.MS(iv)
		w.rep.Hosts = make([]reports.HostSeries, len(w.hosts))
		for i := range w.hosts {
			w.rep.Hosts[i].Name = w.hosts[i].Name
		}
		w.eng.Schedule(0, evSample, 0, 0)
	}
	for {
		ev, ok := w.eng.Next(total)
		if !ok {
			break
		}
		w.handle(ev)
		if w.opts.Progress != nil && w.eng.Processed&0xffff == 0 {
			w.opts.Progress(w.eng.Now(), total)
		}
	}
	w.eng.AdvanceTo(total)
	for i := range w.migs {
		if m := w.migs[i]; !m.done {
			w.advance(m)
			m.rec.Outcome = "unfinished"
			m.rec.EndMS = reports.MS(total)
			m.rec.DurationMS = m.rec.EndMS - m.rec.StartMS
			r := m.stepper.Result()
			m.rec.Bytes, m.rec.Rounds = r.TransferredBytes, r.Iterations
		}
	}
	for i := range w.hosts {
		w.touch(int32(i))
	}
	if w.opts.Progress != nil {
		w.opts.Progress(total, total)
	}
}

func (w *world) handle(ev engine.Event) {
	switch ev.Kind {
	case evScenario:
		w.scenarioEvent(int(ev.A))
	case evMigration:
		m := w.migs[ev.A]
		if m.done || m.gen != ev.B {
			return // superseded by a rate change
		}
		w.step(m)
	case evWorkload:
		w.workload(int(ev.A))
		w.eng.After(w.groups[ev.A].interval, evWorkload, ev.A, 0)
	case evSample:
		w.sample()
		w.eng.After(w.sc.Sim.SampleInterval, evSample, 0, 0)
	case evSpikeEnd:
		e := &w.sc.Events[ev.A]
		w.spike(e, 1/e.Factor)
		w.record(e.Kind, "load-spike-end", joinNames(e.VMs), "")
	case evZoneFail:
		e := &w.sc.Events[ev.A]
		w.record(e.Kind, "zone-failure", e.Zone, "")
		for i := range w.hosts {
			if w.hosts[i].Zone == e.Zone {
				w.crash(int32(i), "zone "+e.Zone+" failed")
			}
		}
	}
}

func (w *world) record(_ scenarios.EventKind, kind, target, detail string) {
	w.rep.Events = append(w.rep.Events, reports.EventRecord{
		AtMS: reports.MS(w.eng.Now()), Kind: kind, Target: target, Detail: detail,
	})
}

func (w *world) scenarioEvent(i int) {
	e := &w.sc.Events[i]
	switch e.Kind {
	case scenarios.EventMigrate:
		w.record(e.Kind, string(e.Kind), e.VM, "to "+e.Host)
		w.startMigration(e.VM, e.Host, e.Options, "scenario")
	case scenarios.EventHostCrash:
		w.record(e.Kind, string(e.Kind), e.Host, "")
		if h, ok := w.hostIx[e.Host]; ok {
			w.crash(h, "host crashed")
		}
	case scenarios.EventLinkDown, scenarios.EventLinkUp:
		w.record(e.Kind, string(e.Kind), e.Link, "")
		if err := w.net.SetDown(e.Link, e.Kind == scenarios.EventLinkDown); err == nil {
			w.rates()
		}
	case scenarios.EventLinkDegraded:
		w.record(e.Kind, string(e.Kind), e.Link, reports.FormatRate(e.Bandwidth))
		if err := w.net.SetDegraded(e.Link, e.Bandwidth); err == nil {
			w.rates()
		}
	case scenarios.EventMaintenance:
		w.record(e.Kind, string(e.Kind), e.Host, "")
		if h, ok := w.hostIx[e.Host]; ok {
			w.hosts[h].maintenance = true
		}
	case scenarios.EventDisasterWarning:
		w.record(e.Kind, string(e.Kind), e.Zone, fmt.Sprintf("fails at %s", e.FailsAt))
		w.eng.Schedule(e.FailsAt, evZoneFail, int32(i), 0)
	case scenarios.EventLoadSpike:
		w.record(e.Kind, string(e.Kind), joinNames(e.VMs), fmt.Sprintf("x%g for %s", e.Factor, e.For))
		w.spike(e, e.Factor)
		w.eng.After(e.For, evSpikeEnd, int32(i), 0)
	}
}

func joinNames(names []string) string {
	if len(names) <= 3 {
		return fmt.Sprint(names)
	}
	return fmt.Sprintf("[%s %s ... %s] (%d)", names[0], names[1], names[len(names)-1], len(names))
}

// touch closes the over-capacity interval of a host before its demand
// changes; demand is piecewise constant, so the accounting is exact.
func (w *world) touch(h int32) {
	hs := &w.hosts[h]
	now := w.eng.Now()
	if hs.over {
		hs.overTotal += now - hs.lastChange
	}
	hs.lastChange = now
}

func (w *world) settle(h int32) {
	hs := &w.hosts[h]
	hs.over = hs.up && hs.cpu > float64(hs.CPUs)+1e-9
}

func (w *world) addDemand(h int32, d float64) {
	if d == 0 {
		return
	}
	w.touch(h)
	w.hosts[h].cpu += d
	w.settle(h)
}

func (w *world) spike(e *scenarios.Event, factor float64) {
	for _, name := range e.VMs {
		i, ok := w.vmIx[name]
		if !ok {
			continue
		}
		v := &w.vms[i]
		old := v.demand()
		v.factor *= factor
		if v.alive {
			w.addDemand(v.host, v.demand()-old)
		}
	}
}

func (w *world) workload(g int) {
	now := w.eng.Now()
	for _, i := range w.groups[g].vms {
		v := &w.vms[i]
		if !v.alive {
			continue
		}
		old := v.demand()
		d := &v.spec.Demand
		switch d.Kind {
		case scenarios.DemandTrace:
			if n := len(d.Trace); n > 0 {
				v.base = d.Trace[int(now/d.TraceInterval)%n]
			}
		case scenarios.DemandRandomWalk:
			step := (2*w.rng.Float64() - 1) * d.Walk.Step
			v.base = math.Min(d.Walk.Max, math.Max(d.Walk.Min, v.base+step))
		}
		w.addDemand(v.host, v.demand()-old)
	}
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func (w *world) sample() {
	w.rep.SampleTimesMS = append(w.rep.SampleTimesMS, reports.MS(w.eng.Now()))
	for i := range w.hosts {
		hs := &w.hosts[i]
		s := &w.rep.Hosts[i]
		var cpu, mem float64
		if hs.up {
			cpu = round4(hs.cpu / float64(hs.CPUs))
			mem = round4(float64(hs.mem) / float64(hs.Memory))
		}
		s.CPU = append(s.CPU, cpu)
		s.Memory = append(s.Memory, mem)
		s.VMs = append(s.VMs, hs.vms)
	}
}
