package scheduler_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/schedtest"
)

// submitted is an operator's plan as drover plan --out writes it.
func submitted(policy string, limits plan.Limits, moves ...plan.Move) *plan.Plan {
	return &plan.Plan{Policy: policy, Limits: limits, Moves: moves}
}

// refusals maps each refused VM to its reason.
func refusals(rs []scheduler.Record) map[string]string {
	out := map[string]string{}
	for _, r := range schedtest.RecordsOf(rs, scheduler.RecRefuse) {
		Expect(r.Outcome).To(Equal(cluster.OutcomeRejected))
		out[r.VM] = r.Reason
	}
	return out
}

var _ = Describe("Core running a submitted plan", func() {
	It("waits for a snapshot, then runs the plan under its limits with its options", func() {
		h := schedtest.NewHarness(config(), fiveHosts())
		m1 := mv(1, "v1", "h1", "h2")
		m1.Bandwidth, m1.DowntimeLimit = 50e6, 150*time.Millisecond
		m2 := mv(2, "v2", "h1", "h3")
		m2.Transport = cluster.TransportTCP // stale: the hosts are secured
		m3 := mv(3, "v3", "h1", "h2", 1)
		pl := submitted("balance", plan.Limits{MaxPerHostOut: 2}, m1, m2, m3)

		ok(h.Step(scheduler.PlanSubmitted{Plan: pl}))
		rds := h.Readies()
		Expect(rds).To(HaveLen(2))
		Expect(rds[0].NeedSnapshot).To(BeTrue())
		Expect(rds[0].Journal).To(BeEmpty(), "nothing is checked before the snapshot")

		rd := rds[1]
		Expect(kinds(rd.Journal)).To(Equal([]string{"plan", "move", "move", "move", "start", "start"}))
		Expect(rd.Journal[0].Reason).To(Equal("submitted plan: 3 of 3 moves accepted, 0 refused"))
		Expect(rd.Plans).To(HaveLen(1))
		for _, r := range schedtest.RecordsOf(rd.Journal, scheduler.RecMove) {
			Expect(r.Policy).To(Equal("balance"))
			Expect(*r.Limits).To(Equal(pl.Limits))
		}
		Expect(startedIDs(h.Started())).To(Equal([]int{1, 2}), "3 waits for 1")
		s1, s2 := startOf(h, "v1"), startOf(h, "v2")
		Expect(s1.Cause).To(Equal("balance"))
		Expect(s1.Options.Bandwidth).To(Equal(50e6))
		Expect(s1.Options.DowntimeLimit).To(Equal(150 * time.Millisecond))
		Expect(s2.Transport).To(Equal(cluster.TransportTLS), "the transport is recomputed")

		ok(h.Complete(2))
		Expect(startedIDs(h.Started())).To(Equal([]int{1, 2}), "3 still waits for 1")
		ok(h.Complete(1))
		Expect(startedIDs(h.Started())).To(Equal([]int{1, 2, 3}))
		ok(h.Complete(3))
		Expect(h.Core.Idle()).To(BeTrue())
		Expect(pl.Moves[1].Transport).To(Equal(cluster.TransportTCP), "the caller's plan is left alone")
		expectContract(h)
	})

	It("names the cause apply when the plan names no policy", func() {
		h := schedtest.NewHarness(config(), fiveHosts())
		ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("", plan.Limits{}, mv(1, "v1", "h1", "h2"))}))
		Expect(startOf(h, "v1").Cause).To(Equal(scheduler.CauseApply))
	})

	It("refuses every move that no longer holds and runs the rest", func() {
		w := world([]cluster.Host{
			schedtest.MakeHost("h1").Obj(), schedtest.MakeHost("h2").Obj(), schedtest.MakeHost("h3").Obj(),
			schedtest.MakeHost("full").Obj(),
			schedtest.MakeHost("down").State(cluster.HostMaintenance).Obj(),
			schedtest.MakeHost("plain").Security(cluster.Unsecured).Obj(),
		}, vmsOn("h1", "v", 9), []cluster.VM{schedtest.MakeVM("f1", "full").Memory(256 * schedtest.GiB).Obj()})
		cfg := config()
		cfg.Evacuate = fixed("drain", plan.Limits{}, mv(1, "v9", "h1", "h3"))
		h := schedtest.NewHarness(cfg, w)
		ok(h.Step(cluster.MaintenanceRequested{Hosts: []string{"h9"}}))
		Expect(h.Running()).To(Equal([]int{1}), "v9 is on its way")
		h.UpdateVM("v2", func(v *cluster.VM) { v.Host = "h3" }) // moved since the plan was made
		h.UpdateVM("v3", func(v *cluster.VM) { v.Host = "h2" }) // the plan already ran this move

		m := h.Mark()
		ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("balance", plan.Limits{},
			mv(1, "v1", "h1", "h2"),
			mv(2, "v2", "h1", "h2"),
			mv(3, "v3", "h1", "h2"),
			mv(4, "gone", "h1", "h2"),
			mv(5, "v5", "h1", "nowhere"),
			mv(6, "v6", "h1", "full"),
			mv(7, "v7", "h1", "down"),
			mv(8, "v8", "h1", "plain"),
			mv(9, "v9", "h1", "h2"),
			mv(10, "v1", "h1", "h3"),
			mv(10, "v4", "h1", "h3"),
			mv(11, "v4", "h1", "h3"),
		)}))
		j := h.JournalSince(m)
		Expect(j[0].Reason).To(Equal("submitted plan: 2 of 12 moves accepted, 10 refused"))
		r := refusals(j)
		Expect(r).To(HaveLen(10))
		Expect(r).To(HaveKeyWithValue("v2", "vm is not on the plan's source: on h3, not h1"))
		Expect(r).To(HaveKeyWithValue("v3", scheduler.ReasonOnDestination))
		Expect(r).To(HaveKeyWithValue("gone", scheduler.ReasonUnknownVM))
		Expect(r).To(HaveKeyWithValue("v5", scheduler.ReasonUnknownDestination))
		Expect(r).To(HaveKeyWithValue("v6", ContainSubstring(filter.ReasonInsufficientMem)))
		Expect(r).To(HaveKeyWithValue("v7", ContainSubstring(filter.ReasonHostNotUsable)))
		Expect(r).To(HaveKeyWithValue("v8", ContainSubstring(filter.ReasonMixedSecurity)))
		Expect(r).To(HaveKeyWithValue("v9", scheduler.ReasonMigrating))
		Expect(r).To(HaveKeyWithValue("v1", "vm is moved by another move of this plan (1)"))
		Expect(r).To(HaveKeyWithValue("v4", "duplicate move id 10"))
		for _, rec := range schedtest.RecordsOf(j, scheduler.RecRefuse) {
			Expect(rec.Policy).To(Equal("balance"))
			Expect(rec.ID).To(BeZero(), "a refusal names no move ID: IDs belong to queued moves")
		}
		Expect(h.StartedSince(m)).To(ConsistOf(
			SatisfyAll(HaveField("VM", "v1"), HaveField("Destination", "h2")),
			SatisfyAll(HaveField("VM", "v4"), HaveField("Destination", "h3"))))
		expectContract(h)
	})

	Describe("dependencies", func() {
		// small holds two 128 GiB guests and is full; w1 leaves it first,
		// then v1 (as big) takes its place.
		var h *schedtest.Harness
		BeforeEach(func() {
			big := func(name, host string) cluster.VM {
				return schedtest.MakeVM(name, host).Memory(128 * schedtest.GiB).Obj()
			}
			w := world(hostsNamed("h1", "h3", "small"),
				[]cluster.VM{big("v1", "h1"), big("v2", "h1"), big("w1", "small"), big("w2", "small")})
			h = schedtest.NewHarness(config(), w)
		})

		It("judges a move with the room its dependencies free, and waits for them", func() {
			ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("consolidate", plan.Limits{},
				mv(1, "v1", "h1", "small", 2), mv(2, "w1", "small", "h3"))}))
			Expect(refusals(h.Journal())).To(BeEmpty())
			Expect(startedIDs(h.Started())).To(Equal([]int{2}))
			ok(h.Complete(2))
			Expect(startOf(h, "v1").Destination).To(Equal("small"))
		})

		It("judges a move without a refused dependency, and refuses it if it needed it", func() {
			h.UpdateVM("w1", func(v *cluster.VM) { v.Host = "h3" })
			h.UpdateVM("v2", func(v *cluster.VM) { v.Host = "small" }) // small is full again
			ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("consolidate", plan.Limits{},
				mv(1, "v1", "h1", "small", 2), mv(2, "w1", "small", "h3"))}))
			r := refusals(h.Journal())
			Expect(r).To(HaveKeyWithValue("w1", scheduler.ReasonOnDestination))
			Expect(r).To(HaveKeyWithValue("v1", ContainSubstring(filter.ReasonInsufficientMem)))
			Expect(h.Started()).To(BeEmpty())
			Expect(h.Core.Idle()).To(BeTrue())
		})

		It("runs a move free of a refused dependency it no longer needs", func() {
			h.UpdateVM("w1", func(v *cluster.VM) { v.Host = "h3" }) // room on small already
			ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("consolidate", plan.Limits{},
				mv(1, "v1", "h1", "small", 2), mv(2, "w1", "small", "h3"))}))
			Expect(refusals(h.Journal())).To(HaveKey("w1"))
			Expect(startedIDs(h.Started())).To(Equal([]int{1}))
			Expect(h.Journal()).To(ContainElement(SatisfyAll(HaveField("Kind", scheduler.RecMove), HaveField("Move.VM", "v1"), HaveField("Move.After", BeEmpty()))))
		})

		It("refuses a dependency cycle instead of waiting forever", func() {
			ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("x", plan.Limits{},
				mv(1, "v1", "h1", "h3", 2), mv(2, "v2", "h1", "h3", 1), mv(3, "w1", "small", "h3"))}))
			Expect(refusals(h.Journal())).To(Equal(map[string]string{"v1": scheduler.ReasonCycle, "v2": scheduler.ReasonCycle}))
			Expect(startedIDs(h.Started())).To(Equal([]int{1}))
			Expect(startOf(h, "w1").ID).To(Equal(1), "queued moves take the Core's IDs")
		})
	})

	It("journals an empty or wholly refused plan and stays idle", func() {
		h := schedtest.NewHarness(config(), fiveHosts())
		ok(h.Step(scheduler.PlanSubmitted{}))
		ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("balance", plan.Limits{}, mv(1, "v1", "h2", "h3"))}))
		Expect(kinds(h.Journal())).To(Equal([]string{"plan", "plan", "refuse"}))
		Expect(h.Journal()[0].Policy).To(Equal(scheduler.CauseApply))
		Expect(h.Started()).To(BeEmpty())
		Expect(h.Core.Idle()).To(BeTrue())
		expectContract(h)
	})

	It("does not let two plans count on the same room", func() {
		w := world(hostsNamed("h1", "small"), []cluster.VM{
			schedtest.MakeVM("v1", "h1").Memory(200 * schedtest.GiB).Obj(),
			schedtest.MakeVM("v2", "h1").Memory(50 * schedtest.GiB).Obj(),
			schedtest.MakeVM("w1", "small").Memory(50 * schedtest.GiB).Obj(),
		})
		h := schedtest.NewHarness(config(), w)
		ok(h.StepAll(
			scheduler.PlanSubmitted{Plan: submitted("a", plan.Limits{}, mv(1, "v1", "h1", "small"))},
			scheduler.PlanSubmitted{Plan: submitted("b", plan.Limits{}, mv(1, "v2", "h1", "small"))}))
		Expect(refusals(h.Journal())).To(HaveKeyWithValue("v2", ContainSubstring(filter.ReasonInsufficientMem)))
		Expect(startedIDs(h.Started())).To(Equal([]int{1}))
	})
})

var _ = Describe("Core restored while running a submitted plan", func() {
	It("resumes the plan without repeating finished moves, with its limits and options", func() {
		cfg := config()
		moves := []plan.Move{mv(1, "v1", "h1", "h2"), mv(2, "v2", "h1", "h3"), mv(3, "v3", "h1", "h4"), mv(4, "v4", "h1", "h5", 3)}
		for i := range moves {
			moves[i].Bandwidth = float64(i+1) * 1e6
		}
		limits := plan.Limits{MaxParallel: 1}
		h := schedtest.NewHarness(cfg, fiveHosts())
		ok(h.Step(scheduler.PlanSubmitted{Plan: submitted("balance", limits, moves...)}))
		ok(h.Complete(1))
		Expect(h.Running()).To(Equal([]int{2}))

		// The driver died with 2 under way; the world never saw it start.
		w := h.Snapshot()
		w.VM("v2").Migrating = false
		r, err := schedtest.RestoreHarness(cfg, time.Minute, roundTrip(h.Journal()), w)
		Expect(err).NotTo(HaveOccurred())
		Expect(startedIDs(r.Started())).To(Equal([]int{2}), "1 is done; 2 runs again; the limit holds 3 back")
		Expect(r.Started()[0].Options.Bandwidth).To(Equal(2e6))
		Expect(r.Started()[0].Cause).To(Equal("balance"))
		ok(r.Complete(2))
		Expect(startedIDs(r.Started())).To(Equal([]int{2, 3}))
		ok(r.Complete(3))
		Expect(startedIDs(r.Started())).To(Equal([]int{2, 3, 4}), "4 still waits for 3 after the restore")
		Expect(r.Started()[2].Options.Bandwidth).To(Equal(4e6))
		ok(r.Complete(4))
		Expect(r.Core.Idle()).To(BeTrue())
		for _, v := range r.Snapshot().VMs {
			Expect(v.Host).NotTo(Equal("h1"), v.Name)
		}
		expectContract(r)
	})
})
