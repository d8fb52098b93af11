package sim

import (
	"context"
	"time"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
)

// World is the simulator as a bare backend: no scheduler of its own, driven
// by whoever holds it. The conformance specs use it, and so can any driver
// that wants to run its own Core against simulated hosts.
type World struct{ w *world }

var _ backend.Backend = (*World)(nil)

// NewWorld builds the scenario's cluster at time zero. Its timed events
// happen as time advances; its policy settings are ignored.
func NewWorld(sc *scenarios.Scenario, opts Options) (*World, error) {
	w, err := newWorld(sc, opts)
	if err != nil {
		return nil, err
	}
	w.node = nil
	w.sink = nil
	for i := range w.sc.Events {
		w.eng.Schedule(w.sc.Events[i].At, evScenario, int32(i), 0)
	}
	return &World{w: w}, nil
}

func (W *World) Snapshot(ctx context.Context) (*cluster.Snapshot, error) {
	return W.w.Snapshot(ctx)
}

func (W *World) Apply(ctx context.Context, cmds []cluster.Command) error {
	return W.w.Apply(ctx, cmds)
}

func (W *World) Subscribe(sink func(cluster.Event)) { W.w.Subscribe(sink) }

// Now is the virtual time.
func (W *World) Now() time.Duration { return W.w.eng.Now() }

// Advance runs the world for up to d of virtual time, stopping early once
// stop (checked after every event) says so. It reports whether stop did.
func (W *World) Advance(d time.Duration, stop func() bool) bool {
	until := W.w.eng.Now() + d
	for {
		if stop != nil && stop() {
			return true
		}
		ev, ok := W.w.eng.Next(until)
		if !ok {
			W.w.eng.AdvanceTo(until)
			return stop != nil && stop()
		}
		W.w.process(ev)
	}
}

// Drive hands the world to a scheduler Core: from now on the world runs
// the driver loop of the scheduler package for it, in virtual time, and
// appends every journal record to Journal. Drive(nil) detaches the Core,
// as a crashed driver would: its journal stays, its memory is gone.
func (W *World) Drive(core *scheduler.Core) {
	if core == nil {
		W.w.node, W.w.sink = nil, nil
		return
	}
	W.w.drive(core)
	core.Start(W.w.eng.Now())
	W.w.pump()
}

// Inject delivers an operator's event (a maintenance request, a migration
// request, an abort) to the driving Core now.
func (W *World) Inject(ev cluster.Event) {
	W.w.node.Push(ev)
	W.w.pump()
}

// Journal is every record the driving Cores have journalled, in order.
func (W *World) Journal() []scheduler.Record { return W.w.journal }
