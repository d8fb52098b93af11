package main

import (
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/registry"
	"github.com/droverlab/drover/sim"
)

func TestProf(t *testing.T) {
	sc, err := scenarios.Load("/tmp/g10k.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := sim.CoreConfig(sc, sim.Options{})
	snap, _ := sim.SnapshotAt(sc, 0, sim.Options{})
	f, _ := os.Create("/tmp/dis.prof")
	pprof.StartCPUProfile(f)
	defer pprof.StopCPUProfile()
	for _, name := range []string{"disaster", "balance"} {
		pol, _ := registry.New(name, registry.Settings{})
		in := &policy.Input{Snap: snap, Settings: cfg.Settings, Zone: "b", Deadline: 30 * time.Minute}
		t0 := time.Now()
		p, err := pol.Plan(in)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d moves %d unplaced in %s", name, len(p.Moves), len(p.Unplaced), time.Since(t0))
	}
}
