package sim

import (
	"context"
	"fmt"
	"slices"
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
	s := w.snapshotHosts(make([]cluster.Host, len(w.hosts)))
	s.VMs, _ = w.fillVMs(make([]cluster.VM, 0, len(w.vms)), nil, false)
	s.Links = w.links()
	return s
}

// coreSnapshot is snapshot for the driving Core, its VMs written over
// the array of the snapshot before last. The Core keeps one snapshot (the
// last it was given, until the next replaces it) and nothing else keeps
// any, so two arrays take turns: a fresh 32 MB array per snapshot was
// half of all allocation on the 10,000-host day, and the GC cycles it
// caused. Snapshots handed out by Snapshot (other drivers, conformance
// specs) are always fresh, as their holders may keep them.
func (w *world) coreSnapshot() *cluster.Snapshot {
	i := w.snapTurn
	w.snapTurn = 1 - i
	// The hosts take turns too: the Core copies them as it overlays
	// what it knows, and keeps nothing else of them.
	if w.snapHosts[i] == nil {
		w.snapHosts[i] = make([]cluster.Host, len(w.hosts))
	}
	s := w.snapshotHosts(w.snapHosts[i])
	if !w.refresh(w.snapVMs[i], w.snapOn[i]) {
		if w.snapVMs[i] == nil {
			// Sized once: grown by append, the 32 MB array was copied
			// and cleared over and over (0.8 s at 10,000 hosts).
			w.snapVMs[i], w.snapOn[i] = make([]cluster.VM, 0, len(w.vms)), make([]int32, 0, len(w.vms))
		}
		w.snapVMs[i], w.snapOn[i] = w.fillVMs(w.snapVMs[i][:0], w.snapOn[i][:0], true)
	}
	s.VMs, s.VMHosts = w.snapVMs[i], w.snapOn[i]
	// The links never change in a run: the Core's snapshots share one
	// list (10,000 entries at 10,000 hosts, rebuilt ~290 times before).
	if w.snapLinks == nil {
		w.snapLinks = w.links()
	}
	s.Links = w.snapLinks
	return s
}

// links is the scenario's network as a snapshot lists it; nil for none.
func (w *world) links() []cluster.Link {
	var out []cluster.Link
	for _, l := range w.sc.Network.Links {
		out = append(out, cluster.Link{Name: l.Name, A: l.A, B: l.B, Bandwidth: l.Bandwidth, Latency: l.Latency})
	}
	return slices.Clip(out)
}

func (w *world) snapshotHosts(hosts []cluster.Host) *cluster.Snapshot {
	s := &cluster.Snapshot{At: w.eng.Now(), Groups: w.sc.Groups, Hosts: hosts}
	for i := range w.hosts {
		s.Hosts[i] = w.hosts[i].Host
	}
	return s
}

// fillVMs appends the live VMs to vms and, with hosts, the index of each
// one's host to on.
func (w *world) fillVMs(vms []cluster.VM, on []int32, hosts bool) ([]cluster.VM, []int32) {
	for i := range w.vms {
		v := &w.vms[i]
		if !v.alive {
			continue
		}
		vm := v.spec.VM
		vm.Host = w.hosts[v.host].Name
		vm.CPU = v.demand()
		vm.Migrating = v.mig >= 0
		vms = append(vms, vm)
		if hosts {
			on = append(on, v.host)
		}
	}
	return vms, on
}

// refresh brings vms and on, filled by fillVMs for an earlier snapshot,
// up to now in place when they still list the VMs alive now. Only a VM's
// host, demand and migrating flag change in a run (the rest is its
// scenario's), so that writes three fields where fillVMs copies 200,000
// VMs from their scattered specs. VMs only ever die, so the same count
// means the same VMs; it reports false, vms half written, otherwise.
func (w *world) refresh(vms []cluster.VM, on []int32) bool {
	if vms == nil {
		return false
	}
	j := 0
	for i := range w.vms {
		v := &w.vms[i]
		if !v.alive {
			continue
		}
		if j == len(vms) {
			return false
		}
		vm := &vms[j]
		if on[j] != v.host {
			on[j] = v.host
			vm.Host = w.hosts[v.host].Name
		}
		vm.CPU = v.demand()
		vm.Migrating = v.mig >= 0
		j++
	}
	return j == len(vms)
}

// follow: the world runs every migration to its end whoever drives it, so
// a migration an earlier Core started reports to the new one by itself.
// One the world does not have is answered at once.
func (w *world) follow(c cluster.FollowMigration) {
	if i, ok := w.byID[c.ID]; ok && !w.migs[i].done {
		return
	}
	w.emit(cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: cluster.OutcomeFailed, Reason: "no such migration to follow",
		Err: fmt.Errorf("%w: migration %d of %s", cluster.ErrNotFound, c.ID, c.VM)})
}

// Apply carries out commands now, in virtual time.
func (w *world) Apply(_ context.Context, cmds []cluster.Command) error {
	for _, c := range cmds {
		switch c := c.(type) {
		case cluster.StartMigration:
			w.start(c)
		case cluster.FollowMigration:
			w.follow(c)
		case cluster.AbortMigration:
			w.intervene(c.ID, cluster.LimitAbort, c.Reason)
		case cluster.ForceSwitchover:
			w.intervene(c.ID, cluster.LimitForce, c.Reason)
		case cluster.StartPostCopy:
			w.intervene(c.ID, cluster.LimitPostcopy, c.Reason)
		default:
			return fmt.Errorf("sim: %w %T", cluster.ErrUnknownCommand, c)
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

// drive hands the world to core: the world becomes the Core's Env and
// events it emits go to the Core's Node.
func (w *world) drive(core *scheduler.Core) {
	w.node = scheduler.NewNode(core, coreEnv{w}, w.eng.Now)
	w.node.OnReady = func(rd scheduler.Ready) {
		for _, p := range rd.Plans {
			w.plans = append(w.plans, planRecord{plan: p, at: w.eng.Now()})
		}
	}
	w.Subscribe(w.node.Push)
}

// pump runs the Core's loop (scheduler.Node) after the engine's events of
// an instant, until the Core and the world have nothing left to say.
func (w *world) pump() {
	if w.node == nil {
		return
	}
	if err := w.node.Run(); err != nil {
		panic(err) // an event the Core cannot read, or a command the world refuses: a bug in this package
	}
}

// coreEnv is the world as the Core's Env (scheduler.Node).
type coreEnv struct{ w *world }

// Persist keeps the journal in memory: a simulated run cannot crash
// half-way.
func (e coreEnv) Persist(recs []scheduler.Record) error {
	e.w.journal = append(e.w.journal, recs...)
	return nil
}

// Execute is Apply in virtual time: the world carries commands out at once.
func (e coreEnv) Execute(cmds []cluster.Command) error { return e.w.Apply(context.Background(), cmds) }

// SetTimer schedules the timer on the engine.
func (e coreEnv) SetTimer(t scheduler.Timer) {
	e.w.timers = append(e.w.timers, t.Key)
	e.w.eng.Schedule(t.At, evTimer, int32(len(e.w.timers)-1), 0)
}

// Snapshot for the Core: the world as it is at this instant.
func (e coreEnv) Snapshot() (*cluster.Snapshot, error) { return e.w.coreSnapshot(), nil }

type planRecord struct {
	plan *plan.Plan
	at   time.Duration
}
