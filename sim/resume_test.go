package sim_test

import (
	"context"
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/sim"
)

var _ = Describe("a drain interrupted and resumed from its journal", func() {
	It("finishes without repeating a finished migration", func() {
		sc := load("maintenance.yaml")
		sc.Events = nil // the maintenance request is ours to make
		cfg, err := scheduler.NewConfig(sim.Options{Policy: new(string)}.PolicyOf(sc), sc.Migration)
		Expect(err).NotTo(HaveOccurred())
		w, err := sim.NewWorld(sc, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		first, err := scheduler.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		w.Drive(first)
		w.Inject(cluster.MaintenanceRequested{Hosts: []string{"h03", "h04"}})

		done := func() int {
			n := 0
			for _, r := range w.Journal() {
				if r.Kind == scheduler.RecDone {
					n++
				}
			}
			return n
		}
		Expect(w.Advance(time.Minute, func() bool { return done() >= 10 })).To(BeTrue())

		By("the driver dies: its Core is gone, the journal (as written to disk) remains")
		w.Drive(nil)
		data, err := json.Marshal(w.Journal())
		Expect(err).NotTo(HaveOccurred())
		var records []scheduler.Record
		Expect(json.Unmarshal(data, &records)).To(Succeed())
		w.Advance(5*time.Second, nil) // the world goes on: running migrations end unobserved

		By("a new driver restores a Core from the journal and carries on")
		core, err := scheduler.Restore(cfg, w.Now(), records)
		Expect(err).NotTo(HaveOccurred())
		w.Drive(core)
		Expect(w.Advance(5*time.Minute, func() bool { return core.Idle() })).To(BeTrue())

		snap, err := w.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		for _, v := range snap.VMs {
			Expect(v.Host).NotTo(BeElementOf("h03", "h04"), v.Name)
		}
		// Each VM of the drained hosts was started exactly once, across
		// both drivers, and every move ended completed.
		vmOf := map[int]string{}
		started := map[string]int{}
		outcome := map[int]cluster.Outcome{}
		for _, r := range w.Journal() {
			switch r.Kind {
			case scheduler.RecMove:
				vmOf[r.ID] = r.Move.VM
			case scheduler.RecStart:
				started[vmOf[r.ID]]++
			case scheduler.RecDone:
				outcome[r.ID] = r.Outcome
			}
		}
		Expect(started).NotTo(BeEmpty())
		for vm, n := range started {
			Expect(n).To(Equal(1), vm)
		}
		for id := range vmOf {
			Expect(outcome[id]).To(Equal(cluster.OutcomeCompleted), "move %d", id)
		}
	})
})
