package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

var _ backend.Backend = (*world)(nil)

// requestOptions turns a scenario migrate event's overrides into options.
func requestOptions(m scheduler.Migration, o scenarios.MigrationOverrides) cluster.MigrationOptions {
	opts := cluster.MigrationOptions{Bandwidth: m.Bandwidth, DowntimeLimit: m.DowntimeLimit, AutoConverge: m.AutoConverge}
	if o.Bandwidth != nil {
		opts.Bandwidth = *o.Bandwidth
	}
	if o.DowntimeLimit != nil {
		opts.DowntimeLimit = *o.DowntimeLimit
	}
	if o.AutoConverge != nil {
		opts.AutoConverge = *o.AutoConverge
	}
	if o.MaxIterations != nil {
		opts.MaxIterations = *o.MaxIterations
	}
	if o.OnLimit != nil {
		opts.OnLimit = *o.OnLimit
	}
	return opts
}

// Snapshot is the world as a real backend would report it.
func (w *world) Snapshot(context.Context) (*cluster.Snapshot, error) {
	return w.snapshot(), nil
}

func (w *world) snapshot() *cluster.Snapshot {
	s := &cluster.Snapshot{At: w.eng.Now(), Groups: w.sc.Groups, Hosts: make([]cluster.Host, len(w.hosts))}
	for i := range w.hosts {
		s.Hosts[i] = w.hosts[i].Host
	}
	s.VMs = make([]cluster.VM, 0, len(w.vms))
	for i := range w.vms {
		v := &w.vms[i]
		if !v.alive {
			continue
		}
		vm := v.spec.VM
		vm.Host = w.hosts[v.host].Name
		vm.CPU = v.demand()
		vm.Migrating = v.mig >= 0
		s.VMs = append(s.VMs, vm)
	}
	for _, l := range w.sc.Network.Links {
		s.Links = append(s.Links, cluster.Link{Name: l.Name, A: l.A, B: l.B, Bandwidth: l.Bandwidth, Latency: l.Latency})
	}
	return s
}

// Apply carries out commands now, in virtual time.
func (w *world) Apply(_ context.Context, cmds []cluster.Command) error {
	for _, c := range cmds {
		switch c := c.(type) {
		case cluster.StartMigration:
			w.start(c)
		case cluster.AbortMigration:
			w.intervene(c.ID, cluster.LimitAbort, c.Reason)
		case cluster.ForceSwitchover:
			w.intervene(c.ID, cluster.LimitForce, c.Reason)
		case cluster.StartPostCopy:
			w.intervene(c.ID, cluster.LimitPostcopy, c.Reason)
		default:
			return fmt.Errorf("sim: unknown command %T", c)
		}
	}
	return nil
}

// Subscribe sets the sink; events are delivered from the event loop.
func (w *world) Subscribe(sink func(cluster.Event)) { w.sink = sink }

func (w *world) emit(ev cluster.Event) {
	if w.sink != nil {
		w.sink(ev)
	}
}

// pump is the driver loop of the scheduler package comment, run after
// every engine event until the Core and the world have nothing left to say.
func (w *world) pump() {
	if w.core == nil {
		return
	}
	ctx := context.Background()
	for {
		if len(w.outbox) > 0 {
			ev := w.outbox[0]
			w.outbox = w.outbox[1:]
			if err := w.core.Step(w.eng.Now(), ev); err != nil {
				panic(err) // an event the Core cannot read is a bug in this package
			}
			continue
		}
		if !w.core.HasReady() {
			return
		}
		rd := w.core.Ready()
		w.journal = append(w.journal, rd.Journal...)
		for _, p := range rd.Plans {
			w.plans = append(w.plans, planRecord{plan: p, at: w.eng.Now()})
		}
		if err := w.Apply(ctx, rd.Commands); err != nil {
			panic(err)
		}
		for _, t := range rd.Timers {
			w.timers = append(w.timers, t.Key)
			w.eng.Schedule(t.At, evTimer, int32(len(w.timers)-1), 0)
		}
		w.core.Advance(rd)
		if rd.NeedSnapshot {
			w.outbox = append(w.outbox, cluster.SnapshotTaken{Snap: w.snapshot()})
		}
	}
}

type planRecord struct {
	plan *plan.Plan
	at   time.Duration
}
