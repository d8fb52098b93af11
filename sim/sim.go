// Package sim runs a scenario in virtual time: VM workloads change, faults
// strike, the scheduler's Core decides, and live migrations run as flows on
// a shared network, each advanced by the pre-copy model as its bandwidth
// changes. One thread, one seeded event queue: the same scenario and seed
// give the same report, byte for byte.
package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/engine"
	"github.com/droverlab/drover/scheduler/network"
	"github.com/droverlab/drover/scheduler/policy"
)

// Options tune a run without changing the scenario.
type Options struct {
	// Seed replaces the scenario's seed when set.
	Seed *uint64
	// Progress, when set, is called now and then with the virtual time
	// reached; it must not touch the simulation.
	Progress func(now, total time.Duration)
	// Policy and Evacuation replace the scenario's (for comparisons).
	Policy     *string
	Evacuation *string
	// MaxEvents bounds the events a run may process (0: DefaultMaxEvents;
	// negative: no bound); a run that needs more ends with ErrBudget.
	MaxEvents int64
}

// DefaultMaxEvents is a thousand times what the generated 1,000-host day
// needs (48,000): a run that needs more is almost surely a mistake.
const DefaultMaxEvents = 50_000_000

// ErrBudget is wrapped by the error of a run that exceeded its event budget.
var ErrBudget = errors.New("event budget exceeded")

// PolicyOf is sc's policy with the replacements o asks for.
func (o Options) PolicyOf(sc *scenarios.Scenario) scheduler.Policy {
	p := sc.Policy
	if o.Policy != nil {
		p.Name = *o.Policy
	}
	if o.Evacuation != nil {
		p.Evacuation = *o.Evacuation
	}
	return p
}

// Event kinds on the engine's queue.
const (
	evScenario  uint16 = iota // A: index into scenario events
	evMigration               // A: migration index (a slot: one pending each)
	evWorkload                // A: workload group
	evSample
	evSpikeEnd // A: scenario event index of the spike
	evZoneFail // A: scenario event index of the warning
	evTimer    // A: index into timer keys
)

// Result is a finished run: its report and the Core's journal.
type Result struct {
	Report  *reports.Report
	Journal []scheduler.Record
}

// Run simulates sc from time zero to its duration and returns the report.
func Run(sc *scenarios.Scenario, opts Options) (*reports.Report, error) {
	r, err := RunFull(sc, opts)
	if err != nil {
		return nil, err
	}
	return r.Report, nil
}

// RunFull is Run that also returns the journal.
func RunFull(sc *scenarios.Scenario, opts Options) (*Result, error) {
	w, err := newWorld(sc, opts)
	if err != nil {
		return nil, err
	}
	if err := w.run(); err != nil {
		return nil, err
	}
	// The report is copied out of the world: a pointer into it would keep
	// the whole world (its network, Core and migrations, 700 MB at
	// 10,000 hosts) alive while the caller encodes the report, the run's
	// memory peak.
	rep := *w.report()
	return &Result{Report: &rep, Journal: w.journal}, nil
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
}

func (v *vmState) demand() float64 { return v.base * v.factor }

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
	// unpredicted are migrations whose flow opened at this instant: their
	// prediction waits until every flow of the instant is open, so that
	// it does not depend on which one the simulator opened first.
	unpredicted []*migration
	migs        []*migration
	// byID maps a command's migration ID to its index in migs.
	byID    map[int]int32
	running int
	groups  []workloadGroup
	rng     interface{ Float64() float64 }

	node    *scheduler.Node // nil: no Core drives the world
	sink    func(cluster.Event)
	timers  []string
	journal []scheduler.Record
	plans   []planRecord

	rep      reports.Report
	lost     []reports.LostVM
	crashed  int
	finished int // VMs ended at 0% demand under CloudSim's model (cloudsim.go)
	maxConc  int
	warnings []warning
	opts     Options
	// onHost lists the VMs on each host; active the running migrations.
	onHost [][]int32
	active map[int32]bool
	// pool is each host's migration pool, for the imbalance measure.
	pool     []int
	poolSums []policy.Sums
	// acct is each host's energy and SLA accounting (power.go).
	acct []hostAcct
	// acctFrom is when the accounting starts: 0, or under CloudSim's
	// model its first update (cloudsim.go).
	acctFrom time.Duration
	// snapVMs are the two arrays the Core's snapshots take turns in
	// (coreSnapshot); snapTurn is the one the next snapshot fills.
	snapVMs   [2][]cluster.VM
	snapOn    [2][]int32 // the VMs' host indices, each array's VMHosts
	snapHosts [2][]cluster.Host
	snapTurn  int
	snapLinks []cluster.Link // the Core's snapshots' links, built once
}

// warning follows one disaster warning to its end.
type warning struct {
	event   int
	zone    string
	at      time.Duration
	failsAt time.Duration
	vms     []int32 // in the zone when warned
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
		byID:    map[int]int32{},
		active:  map[int32]bool{},
		opts:    opts,
	}
	w.rng = w.eng.Rand("workload")
	hosts := slices.Clone(sc.Hosts)
	slices.SortStableFunc(hosts, func(a, b cluster.Host) int { return cmp.Compare(a.Name, b.Name) })
	for i := range hosts {
		hosts[i].State = cluster.HostUp
		w.hosts = append(w.hosts, hostState{Host: hosts[i], up: true})
		w.hostIx[hosts[i].Name] = int32(i)
		w.net.AddNode(hosts[i].Name)
	}
	for _, l := range sc.Network.Links {
		if err := w.net.AddLink(l.Name, l.A, l.B, l.Bandwidth, l.Latency); err != nil {
			return nil, fmt.Errorf("network: link %s: %w", l.Name, err)
		}
	}
	w.onHost = make([][]int32, len(w.hosts))
	order := make([]int, len(sc.VMs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(sc.VMs[a].Name, sc.VMs[b].Name) })
	groups := map[time.Duration]int{}
	for _, si := range order {
		spec := &sc.VMs[si]
		i := len(w.vms)
		h, ok := w.hostIx[spec.Host]
		if !ok {
			return nil, fmt.Errorf("vm %s: unknown host %q", spec.Name, spec.Host)
		}
		v := vmState{spec: spec, host: h, alive: true, factor: 1, mig: -1}
		var interval time.Duration
		switch spec.Demand.Kind {
		case scenarios.DemandTrace:
			if len(spec.Demand.Trace) > 0 {
				v.base = traceSample(&spec.Demand, 0, sc.Sim.MigrationModel == scenarios.MigrationCloudSim)
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
		w.onHost[h] = append(w.onHost[h], int32(i))
		hs := &w.hosts[h]
		hs.cpu += v.demand()
		hs.mem += spec.Memory
		hs.vms++
	}
	for i := range w.hosts {
		w.settle(int32(i))
	}
	if sc.Sim.MigrationModel == scenarios.MigrationCloudSim {
		w.acctFrom = firstUpdate(w.groups)
	}
	cfg, err := scheduler.NewConfig(opts.PolicyOf(sc), sc.Migration)
	if err != nil {
		return nil, err
	}
	core, err := scheduler.New(cfg)
	if err != nil {
		return nil, err
	}
	pools := map[string]int{}
	for i := range w.hosts {
		k := policy.PoolKey(&w.hosts[i].Host, cfg.TLS)
		if _, ok := pools[k]; !ok {
			pools[k] = len(pools)
		}
		w.pool = append(w.pool, pools[k])
	}
	w.poolSums = make([]policy.Sums, len(pools))
	w.drive(core)
	return w, nil
}

func (w *world) run() error {
	total := w.sc.Sim.Duration
	budget := uint64(w.opts.MaxEvents)
	switch {
	case w.opts.MaxEvents == 0:
		budget = DefaultMaxEvents
	case w.opts.MaxEvents < 0:
		budget = math.MaxUint64
	}
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
			w.rep.Hosts[i].Zone, w.rep.Hosts[i].Rack = w.hosts[i].Zone, w.hosts[i].Rack
		}
		w.eng.Schedule(0, evSample, 0, 0)
	}
	w.node.Core().Start(0)
	w.pump()
	for {
		ev, ok := w.eng.Next(total)
		if !ok {
			break
		}
		if w.eng.Processed > budget {
			return fmt.Errorf("sim: %w: %d events by %s of %s; give --max-events to allow more", ErrBudget, budget,
				w.eng.Now().Round(time.Second), total)
		}
		w.process(ev)
		if w.opts.Progress != nil && w.eng.Processed&0xffff == 0 {
			w.opts.Progress(w.eng.Now(), total)
		}
	}
	w.eng.AdvanceTo(total)
	for _, m := range w.migs {
		if !m.done {
			w.advance(m)
			m.rec.Outcome = cluster.OutcomeUnfinished
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
	return nil
}

// process handles an event and, once the instant's last event is handled,
// runs the driver loop: events of one instant reach the Core together, so
// maintenance requested for several hosts at once is planned as one drain.
func (w *world) process(ev engine.Event) {
	w.handle(ev)
	if next, ok := w.eng.Peek(); ok && next == w.eng.Now() {
		return
	}
	w.pump()
	w.predict()
}

func (w *world) handle(ev engine.Event) {
	switch ev.Kind {
	case evScenario:
		w.scenarioEvent(int(ev.A))
	case evMigration:
		if m := w.migs[ev.A]; !m.done {
			w.step(m)
		}
	case evWorkload:
		w.workload(int(ev.A))
		if w.sc.Sim.MigrationModel == scenarios.MigrationCloudSim {
			w.finishIdle(int(ev.A))
		}
		w.eng.After(w.groups[ev.A].interval, evWorkload, ev.A, 0)
	case evSample:
		w.sample()
		w.eng.After(w.sc.Sim.SampleInterval, evSample, 0, 0)
	case evSpikeEnd:
		e := &w.sc.Events[ev.A]
		w.spike(e, 1/e.Factor)
		w.record("load-spike-end", joinNames(e.VMs), "")
	case evZoneFail:
		e := &w.sc.Events[ev.A]
		w.record("zone-failure", e.Zone, "")
		for i := range w.hosts {
			if w.hosts[i].Zone == e.Zone {
				w.crash(int32(i), "zone "+e.Zone+" failed")
			}
		}
	case evTimer:
		w.emit(cluster.TimerFired{Key: w.timers[ev.A]})
	}
}

func (w *world) record(kind, target, detail string) {
	w.rep.Events = append(w.rep.Events, reports.EventRecord{
		AtMS: reports.MS(w.eng.Now()), Kind: kind, Target: target, Detail: detail,
	})
}

func (w *world) scenarioEvent(i int) {
	e := &w.sc.Events[i]
	switch e.Kind {
	case scenarios.EventMigrate:
		w.record(string(e.Kind), e.VM, "to "+e.Host)
		w.emit(cluster.MigrationRequested{VM: e.VM, Host: e.Host, Options: requestOptions(w.sc.Migration, e.Options)})
	case scenarios.EventHostCrash:
		w.record(string(e.Kind), e.Host, "")
		if h, ok := w.hostIx[e.Host]; ok {
			w.crash(h, "host crashed")
		}
	case scenarios.EventLinkDown, scenarios.EventLinkUp:
		w.record(string(e.Kind), e.Link, "")
		if err := w.net.SetDown(e.Link, e.Kind == scenarios.EventLinkDown); err == nil {
			w.rates()
		}
	case scenarios.EventLinkDegraded:
		w.record(string(e.Kind), e.Link, reports.FormatRate(e.Bandwidth))
		if err := w.net.SetDegraded(e.Link, e.Bandwidth); err == nil {
			w.rates()
		}
	case scenarios.EventMaintenance:
		w.record(string(e.Kind), e.Host, "")
		if h, ok := w.hostIx[e.Host]; ok {
			w.hosts[h].maintenance = true
			w.emit(cluster.MaintenanceRequested{Hosts: []string{e.Host}})
		}
	case scenarios.EventDisasterWarning:
		w.record(string(e.Kind), e.Zone, fmt.Sprintf("fails at %s", e.FailsAt))
		wn := warning{event: i, zone: e.Zone, at: w.eng.Now(), failsAt: e.FailsAt}
		for vi := range w.vms {
			if v := &w.vms[vi]; v.alive && w.hosts[v.host].Zone == e.Zone {
				wn.vms = append(wn.vms, int32(vi))
			}
		}
		w.warnings = append(w.warnings, wn)
		w.eng.Schedule(e.FailsAt, evZoneFail, int32(i), 0)
		w.emit(cluster.DisasterWarning{Zone: e.Zone, FailsAt: e.FailsAt})
	case scenarios.EventLoadSpike:
		w.record(string(e.Kind), joinNames(e.VMs), fmt.Sprintf("x%g for %s", e.Factor, e.For))
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
	w.account(h, now-hs.lastChange)
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
			if len(d.Trace) > 0 {
				v.base = traceSample(d, int(now/d.TraceInterval), w.sc.Sim.MigrationModel == scenarios.MigrationCloudSim)
			}
		case scenarios.DemandRandomWalk:
			step := (2*w.rng.Float64() - 1) * d.Walk.Step
			v.base = math.Min(d.Walk.Max, math.Max(d.Walk.Min, v.base+step))
		}
		w.addDemand(v.host, v.demand()-old)
	}
}

func (w *world) sample() {
	w.rep.SampleTimesMS = append(w.rep.SampleTimesMS, reports.MS(w.eng.Now()))
	clear(w.poolSums)
	// Each series sized for the run's samples at its first (at most
	// 4,096 at once): grown by append, 30,000 series were reallocated
	// nine times each over a 10,000-host day.
	n := 1
	if iv := w.sc.Sim.SampleInterval; iv > 0 {
		n = int(min(w.sc.Sim.Duration/iv+1, 4096))
	}
	for i := range w.hosts {
		hs := &w.hosts[i]
		s := &w.rep.Hosts[i]
		if s.CPU == nil {
			s.CPU, s.Memory, s.VMs = make([]float64, 0, n), make([]float64, 0, n), make([]int, 0, n)
		}
		var cpu, mem float64
		if hs.up {
			cpu = hs.cpu / float64(hs.CPUs)
			mem = float64(hs.mem) / float64(hs.Memory)
			if !hs.maintenance {
				w.poolSums[w.pool[i]].Add(cpu, mem, 1)
			}
		}
		s.CPU = append(s.CPU, reports.Round4(cpu))
		s.Memory = append(s.Memory, reports.Round4(mem))
		s.VMs = append(s.VMs, hs.vms)
	}
	// The same measure the balancer acts on.
	w.rep.Imbalance = append(w.rep.Imbalance, reports.Round4(policy.Combine(w.poolSums, policy.DefaultWeights)))
}

// SnapshotAt runs sc up to at and returns the cluster as it is then, for
// planning from a later point of a scenario.
func SnapshotAt(sc *scenarios.Scenario, at time.Duration, opts Options) (*cluster.Snapshot, error) {
	w, err := newWorld(sc, opts)
	if err != nil {
		return nil, err
	}
	core := w.node.Core()
	if at > 0 {
		// With the Core up to the instant before at; then the world's own
		// events at at (load changes, crashes) without it: what the Core
		// would decide at at (a warning, a maintenance request and the
		// moves its policies start then) is the plan's to decide.
		saved := w.sc.Sim.Duration
		w.sc = ptr(*w.sc)
		w.sc.Sim.Duration = at - 1
		if err := w.run(); err != nil {
			return nil, err
		}
		w.node, w.sink = nil, nil
		for {
			ev, ok := w.eng.Next(at)
			if !ok {
				break
			}
			w.process(ev)
		}
		w.eng.AdvanceTo(at)
		w.sc.Sim.Duration = saved
	}
	// As the Core sees it: hosts it drains are in maintenance, warned zones
	// take no guests, hosts it knows failed are down.
	return core.View(w.snapshot()), nil
}

func ptr[T any](v T) *T { return &v }
