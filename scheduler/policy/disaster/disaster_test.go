package disaster_test

import (
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy/disaster"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

// inZone lists the VMs on zone "a".
func inZone(snap *cluster.Snapshot) []string {
	var out []string
	for _, v := range snap.VMs {
		if strings.HasPrefix(v.Host, "a") {
			out = append(out, v.Name)
		}
	}
	return out
}

// accounted checks every VM of the zone is either moved out of it or
// unplaced, never both, and nothing else moves.
func accounted(snap *cluster.Snapshot, p *plan.Plan) (saved, lost []string) {
	GinkgoHelper()
	for _, m := range p.Moves {
		Expect(snap.Host(m.Source).Zone).To(Equal("a"), m.VM)
		Expect(snap.Host(m.Destination).Zone).To(Equal("b"), m.VM)
		Expect(m.Source).To(Equal(snap.VM(m.VM).Host))
		saved = append(saved, m.VM)
	}
	for _, u := range p.Unplaced {
		lost = append(lost, u.VM)
	}
	all := append(slices.Clone(saved), lost...)
	slices.Sort(all)
	Expect(all).To(Equal(inZone(snap)))
	return saved, lost
}

var _ = Describe("disaster", func() {
	pol := func(a disaster.Args) *disaster.Disaster { return must(disaster.New(a)) }

	It("moves every VM out of the warned zone, only to hosts outside it", func() {
		snap := zones(6, noPrio)
		p := must(pol(disaster.Args{}).Plan(input(snap, time.Hour)))
		Expect(p.Policy).To(Equal("disaster"))
		Expect(p.At).To(Equal(now))
		Expect(p.Deadline).To(Equal(now + time.Hour))
		saved, lost := accounted(snap, p)
		Expect(saved).To(HaveLen(12))
		Expect(lost).To(BeEmpty())
		for _, m := range p.Moves {
			Expect(m.Reason).To(Equal("zone a fails at 2h0m0s"))
			Expect(m.Predicted.Outcome).To(Equal(cluster.OutcomeCompleted))
			Expect(m.Predicted.Late).To(BeFalse())
			Expect(m.Transport).To(Equal(cluster.TransportTLS))
		}
	})

	It("drains sooner than the deadline when time is ample, one migration per NIC port out of each warned host", func() {
		snap := zones(6, noPrio)
		in := input(snap, time.Hour)
		in.Limits = plan.Limits{MaxParallel: 4}
		p := must(pol(disaster.Args{}).Plan(in))
		Expect(p.Limits).To(Equal(plan.Limits{MaxParallel: 4, MaxPerHostOut: 2, MaxPerHostIn: 2}))
		Expect(p.Makespan).To(BeNumerically("<", time.Minute))
		Expect(p.Makespan).To(BeNumerically(">=", p.LowerBound))
	})

	It("orders moves by priority, highest first", func() {
		snap := zones(6, func(h, i int) int { return (i * 7) % 5 })
		p := must(pol(disaster.Args{}).Plan(input(snap, time.Hour)))
		Expect(p.Moves).To(HaveLen(12))
		for i := 1; i < len(p.Moves); i++ {
			Expect(p.Moves[i].Priority).To(BeNumerically("<=", p.Moves[i-1].Priority), "move %d", i+1)
			Expect(p.Moves[i].Priority).To(Equal(snap.VM(p.Moves[i].VM).Priority))
		}
		for i, m := range p.Moves {
			Expect(m.ID).To(Equal(i+1), "renumbered in dispatch order")
		}
	})

	Describe("a deadline too short to save everyone", func() {
		// Half the VMs of each host matter (priority 10), half do not.
		important := func(_, i int) int {
			if i%2 == 0 {
				return 10
			}
			return 0
		}

		It("keeps only moves predicted to end before the deadline, margin kept", func() {
			snap := zones(6, important)
			in := input(snap, 6*time.Second)
			p := must(pol(disaster.Args{}).Plan(in))
			saved, lost := accounted(snap, p)
			Expect(saved).NotTo(BeEmpty())
			Expect(lost).NotTo(BeEmpty())
			budget := time.Duration(float64(6*time.Second) * 0.9)
			for _, m := range p.Moves {
				Expect(m.Predicted.End).To(BeNumerically("<=", budget), m.VM)
				Expect(p.At + m.Predicted.End).To(BeNumerically("<", in.Deadline))
				Expect(m.Predicted.Late).To(BeFalse())
				Expect(m.Predicted.Outcome).To(Equal(cluster.OutcomeCompleted))
			}
			Expect(p.Makespan).To(BeNumerically("<=", budget))
			for _, u := range p.Unplaced {
				Expect(u.Reason).To(ContainSubstring("cannot be saved"))
				Expect(u.Host).To(Equal(snap.VM(u.VM).Host))
				Expect(u.Priority).To(Equal(snap.VM(u.VM).Priority))
			}
			GinkgoWriter.Printf("saved %d, lost %d, makespan %s\n", len(saved), len(lost), p.Makespan)
		})

		It("saves the high-priority VMs first", func() {
			snap := zones(6, important)
			p := must(pol(disaster.Args{}).Plan(input(snap, 8*time.Second)))
			_, lost := accounted(snap, p)
			Expect(lost).NotTo(BeEmpty())
			for _, u := range p.Unplaced {
				Expect(u.Priority).To(BeZero(), "%s lost while a priority-0 VM was kept?", u.VM)
			}
			kept := map[string]bool{}
			for _, m := range p.Moves {
				kept[m.VM] = true
			}
			for _, v := range snap.VMs {
				if v.Priority == 10 {
					Expect(kept).To(HaveKey(v.Name))
				}
			}
		})

		It("saves fewer with a wider margin", func() {
			snap := zones(6, noPrio)
			narrow := must(pol(disaster.Args{Margin: new(0.01)}).Plan(input(snap, 6*time.Second)))
			wide := must(pol(disaster.Args{Margin: new(0.5)}).Plan(input(snap, 6*time.Second)))
			Expect(len(wide.Moves)).To(BeNumerically("<", len(narrow.Moves)))
			Expect(wide.Makespan).To(BeNumerically("<=", 3*time.Second))
		})

		It("saves everyone given the time", func() {
			snap := zones(6, important)
			short := must(pol(disaster.Args{}).Plan(input(snap, 6*time.Second)))
			long := must(pol(disaster.Args{}).Plan(input(snap, 10*time.Minute)))
			Expect(long.Unplaced).To(BeEmpty())
			Expect(long.Moves).To(HaveLen(12))
			Expect(len(short.Moves)).To(BeNumerically("<", 12))
		})
	})

	It("reports VMs with nowhere to go", func() {
		snap := zones(2, noPrio)
		for i := range snap.VMs {
			if snap.VMs[i].Host == "a1" {
				snap.VMs[i].Memory = 300 * GiB // more than any host has
			}
		}
		p := must(pol(disaster.Args{}).Plan(input(snap, time.Hour)))
		_, lost := accounted(snap, p)
		Expect(lost).To(ConsistOf("a1-00", "a1-01"))
		for _, u := range p.Unplaced {
			Expect(u.Reason).To(HavePrefix("no feasible host: "))
			Expect(u.Reason).To(ContainSubstring("refused by capacity"))
		}
	})

	DescribeTable("refuses to plan without a zone in the future",
		func(zone string, deadline time.Duration, want string) {
			in := input(zones(1, noPrio), 0)
			in.Zone, in.Deadline = zone, deadline
			_, err := pol(disaster.Args{}).Plan(in)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("no zone", "", now+time.Hour, "disaster: no zone"),
		Entry("deadline now", "a", now, "disaster: deadline 1h0m0s is not after now 1h0m0s"),
		Entry("deadline past", "a", now-time.Second, "is not after now"),
		Entry("a zone without hosts", "c", now+time.Hour, `disaster: zone "c" has no hosts`),
	)

	DescribeTable("validates its margin",
		func(margin float64, ok bool) {
			_, err := disaster.New(disaster.Args{Margin: new(margin)})
			if ok {
				Expect(err).NotTo(HaveOccurred())
			} else {
				Expect(err).To(MatchError(ContainSubstring("margin must be in [0, 1)")))
			}
		},
		Entry("0: no reserve", 0.0, true),
		Entry("0.5", 0.5, true),
		Entry("1", 1.0, false),
		Entry("negative", -0.1, false),
	)

	Describe("the fixed-batch baseline", func() {
		fixed := func() *disaster.Disaster { return pol(disaster.Args{FixedBatch: true}) }

		It("is named fixed-batch and keeps the baseline's batch limits whatever the settings", func() {
			snap := zones(6, noPrio)
			in := input(snap, time.Hour)
			in.Limits = plan.Limits{MaxParallel: 40, MaxPerHostOut: 8}
			p := must(fixed().Plan(in))
			Expect(fixed().Name()).To(Equal("fixed-batch"))
			Expect(p.Policy).To(Equal("fixed-batch"))
			Expect(p.Limits).To(Equal(evacuate.FixedBatchLimits))
			Expect(p.Limits.Batch).To(BeTrue())
			saved, _ := accounted(snap, p)
			Expect(saved).To(HaveLen(12))
		})

		It("starts VMs in name order, blind to priority", func() {
			snap := zones(6, func(h, i int) int { return i })
			p := must(fixed().Plan(input(snap, time.Hour)))
			var names []string
			for _, m := range p.Moves {
				names = append(names, m.VM)
			}
			Expect(names).To(Equal(inZone(snap)))
			// Batches of at most 5, at most 2 out of a host, each waiting
			// for the whole batch before: moves that start apart never
			// overlap.
			batches := map[time.Duration]int{}
			for _, m := range p.Moves {
				batches[m.Predicted.Start]++
				for _, e := range p.Moves {
					if e.Predicted.Start < m.Predicted.Start {
						Expect(e.Predicted.End).To(BeNumerically("<=", m.Predicted.Start), "%s overlaps %s", e.VM, m.VM)
					}
				}
			}
			Expect(len(batches)).To(BeNumerically(">=", 3), "12 VMs from 2 hosts at 2 per host: 3 batches at least")
			for start, n := range batches {
				Expect(n).To(BeNumerically("<=", 4), "batch at %s", start)
			}
		})

		It("gives up no VM for the deadline, and flags the moves that end late", func() {
			snap := zones(6, noPrio)
			in := input(snap, 6*time.Second)
			p := must(fixed().Plan(in))
			Expect(p.Unplaced).To(BeEmpty())
			Expect(p.Moves).To(HaveLen(12))
			Expect(p.Deadline).To(Equal(in.Deadline))
			late := 0
			for _, m := range p.Moves {
				Expect(m.Predicted.Late).To(Equal(p.At+m.Predicted.End > in.Deadline), m.VM)
				if m.Predicted.Late {
					late++
				}
			}
			Expect(late).To(BeNumerically(">", 0))
			Expect(late).To(BeNumerically("<", 12))
		})
	})

	// Was a bug (fixed): the estimate-first cut drops a move when the estimate of the
	// plan's prefix up to it is past the budget (plan.Timer.Estimate keeps
	// a running maximum over every link), so once one warned host's NICs
	// are busy past the deadline, every later move is cut, even from a
	// warned host whose NICs sit idle. With two equal warned hosts and no
	// priorities, all of a2's VMs are given up and 3 of 12 VMs are saved,
	// where the fixed-batch baseline finishes 8 of them within the budget
	// (the deadline less the 10% margin).
	// Fix (scheduler/policy/disaster/disaster.go, the est loop; or
	// scheduler/plan/timing.go, Estimate): judge each move by the links
	// it crosses (the load on its own route over their capacity), not by
	// the worst link of the prefix; and count only the moves kept so far.
	It("saves from every warned host, at least as many as the fixed-batch baseline finishes in time", func() {
		snap := zones(6, noPrio)
		in := input(snap, 6*time.Second)
		budget := time.Duration(float64(6*time.Second) * 0.9)
		base := must(pol(disaster.Args{FixedBatch: true}).Plan(in))
		inTime := 0
		for _, m := range base.Moves {
			if m.Predicted.End <= budget {
				inTime++
			}
		}
		p := must(pol(disaster.Args{}).Plan(in))
		from := map[string]int{}
		for _, m := range p.Moves {
			from[m.Source]++
		}
		Expect(from).To(HaveKey("a1"))
		Expect(from).To(HaveKey("a2"))
		Expect(len(p.Moves)).To(BeNumerically(">=", inTime))
	})
})
