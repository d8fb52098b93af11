package plan_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/precopy"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

// evacuation is a zone's evacuation in small: hosts in four racks whose
// uplinks the moves share, the VMs of the first two racks moved into the
// other two, some after others; enough moves that the timer marks them.
func evacuation(r *rand.Rand) (*cluster.Snapshot, []plan.Move) {
	var hosts []cluster.Host
	var links []cluster.Link
	for rack := range 4 {
		tor := fmt.Sprintf("tor%d", rack)
		links = append(links, cluster.Link{Name: tor, A: tor, B: "spine", Bandwidth: 40 * Gbit})
		for i := range 10 {
			h := fmt.Sprintf("r%dh%d", rack, i)
			hosts = append(hosts, MakeHost(h).Obj())
			links = append(links, cluster.Link{Name: h, A: h, B: tor, Bandwidth: 20 * Gbit})
		}
	}
	var vms []cluster.VM
	var moves []plan.Move
	for i := range 1200 {
		src := hosts[r.IntN(20)].Name
		mem := int64(1+r.IntN(8)) * GiB
		v := MakeVM(fmt.Sprintf("v%d", i), src).Memory(mem).Resident(mem / 2).WSS(mem / 8).DirtyRate(float64(r.IntN(50)) * float64(MiB)).Obj()
		vms = append(vms, v)
		m := plan.Move{ID: i + 1, VM: v.Name, Source: src, Destination: hosts[20+r.IntN(20)].Name}
		if i > 0 && r.IntN(10) == 0 {
			m.After = []int{1 + r.IntN(i)}
		}
		moves = append(moves, m)
	}
	snap := Snapshot(hosts, vms)
	snap.Links = links
	return snap, moves
}

// without is moves less those drop says, and less the moves that wait for a
// dropped one, renumbered from 1 in the same order as a policy's builder
// does.
func without(moves []plan.Move, drop func(*plan.Move) bool) []plan.Move {
	gone := map[int]bool{}
	for i := range moves {
		m := &moves[i]
		if drop(m) || slices.ContainsFunc(m.After, func(a int) bool { return gone[a] }) {
			gone[m.ID] = true
		}
	}
	renum := map[int]int{}
	var out []plan.Move
	for _, m := range moves {
		if gone[m.ID] {
			continue
		}
		renum[m.ID] = len(out) + 1
		m.ID, m.After, m.Predicted = len(out)+1, slices.Clone(m.After), plan.Prediction{}
		for j, a := range m.After {
			m.After[j] = renum[a]
		}
		out = append(out, m)
	}
	return out
}

var _ = Describe("Timer timing a plan again less some moves", func() {
	cfg := precopy.Config{}.WithDefaults()
	limits := plan.Limits{MaxParallel: 24, MaxPerHostOut: 2, MaxPerHostIn: 2}

	// again times the plan of moves on the timer that timed first, and on
	// a new one, and expects the two alike.
	again := func(snap *cluster.Snapshot, t *plan.Timer, moves []plan.Move, budget time.Duration) (resumed bool) {
		GinkgoHelper()
		p := &plan.Plan{Limits: limits, Moves: moves}
		q := &plan.Plan{Limits: limits, Moves: slices.Clone(moves)}
		done, err := t.ScheduleBy(p, budget)
		Expect(err).NotTo(HaveOccurred())
		fresh, err := plan.NewTimer(snap, cfg)
		Expect(err).NotTo(HaveOccurred())
		want, err := fresh.ScheduleBy(q, budget)
		Expect(err).NotTo(HaveOccurred())
		Expect(done).To(Equal(want))
		if done {
			Expect(p).To(Equal(q))
		}
		return plan.Resumed(t)
	}

	It("predicts what timing from zero does, resuming where the late moves started", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 3))
		snap, moves := evacuation(r)
		t, err := plan.NewTimer(snap, cfg)
		Expect(err).NotTo(HaveOccurred())
		first := &plan.Plan{Limits: limits, Moves: moves}
		Expect(t.Schedule(first)).To(Succeed())
		cut := first.Makespan * 9 / 10
		late := without(first.Moves, func(m *plan.Move) bool { return m.Predicted.End > cut })
		Expect(len(late)).To(BeNumerically("<", len(moves)))
		Expect(again(snap, t, late, -1)).To(BeTrue(), "the late moves start last: a mark comes before")
		// And with a budget, which a timing resumed at a mark past it would
		// not see.
		Expect(t.Schedule(first)).To(Succeed())
		Expect(again(snap, t, late, cut)).To(BeTrue())
		Expect(t.Schedule(first)).To(Succeed())
		Expect(again(snap, t, late, cut/4)).To(BeTrue())
		// Timed again, less more moves, from that timing's own marks: those
		// start where it resumed, so the timing may start from zero.
		again(snap, t, without(late, func(m *plan.Move) bool { return m.Predicted.End > cut*9/10 }), -1)
	})

	It("predicts what timing from zero does whichever moves are dropped", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 4))
		for trial := range 4 {
			snap, moves := evacuation(r)
			t, err := plan.NewTimer(snap, cfg)
			Expect(err).NotTo(HaveOccurred())
			Expect(t.Schedule(&plan.Plan{Limits: limits, Moves: moves})).To(Succeed())
			// Dropped at random, most of them late in the order; one
			// trial with a budget the plan misses.
			budget := time.Duration(-1)
			if trial == 3 {
				budget = time.Minute
			}
			again(snap, t, without(moves, func(m *plan.Move) bool { return r.IntN(len(moves)) < m.ID/20 }), budget)
		}
	})

	It("times from zero a plan that is not the last one less some moves", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 5))
		snap, moves := evacuation(r)
		t, err := plan.NewTimer(snap, cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(t.Schedule(&plan.Plan{Limits: limits, Moves: moves})).To(Succeed())
		// A dependency dropped with the move it waited for, its
		// dependent kept: the two plans part as soon as that one is ready.
		kept := slices.Clone(moves[:len(moves)-10])
		for i := range kept {
			kept[i].After = nil
		}
		Expect(again(snap, t, kept, -1)).To(BeFalse())
		// Another order.
		Expect(t.Schedule(&plan.Plan{Limits: limits, Moves: moves})).To(Succeed())
		rev := slices.Clone(moves[:len(moves)-1])
		slices.Reverse(rev)
		for i := range rev {
			rev[i].After = nil
		}
		Expect(again(snap, t, rev, -1)).To(BeFalse())
	})
})

var _ = Describe("NewTimerLike", func() {
	cfg := precopy.Config{}.WithDefaults()
	limits := plan.Limits{MaxParallel: 24, MaxPerHostOut: 2, MaxPerHostIn: 2}

	It("times on the last timer's network what a new timer times the same", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 6))
		snap, moves := evacuation(r)
		prev, err := plan.NewTimer(snap, cfg)
		Expect(err).NotTo(HaveOccurred())
		// Left with flows in its network: a timing stopped at its budget.
		done, err := prev.ScheduleBy(&plan.Plan{Limits: limits, Moves: slices.Clone(moves)}, time.Minute)
		Expect(err).NotTo(HaveOccurred())
		Expect(done).To(BeFalse())
		for _, n := range []int{10, 300} {
			// The snapshot copied, as the Core's take turns in two arrays.
			again := *snap
			again.Hosts, again.Links = slices.Clone(snap.Hosts), slices.Clone(snap.Links)
			t, err := plan.NewTimerLike(prev, &again, cfg)
			Expect(err).NotTo(HaveOccurred())
			fresh, err := plan.NewTimer(&again, cfg)
			Expect(err).NotTo(HaveOccurred())
			p := &plan.Plan{Limits: limits, Moves: slices.Clone(moves[:n])}
			q := &plan.Plan{Limits: limits, Moves: slices.Clone(moves[:n])}
			Expect(t.Schedule(p)).To(Succeed())
			Expect(fresh.Schedule(q)).To(Succeed())
			Expect(p).To(Equal(q))
			prev = t
		}
	})

	It("builds a network of its own for other links", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 7))
		snap, moves := evacuation(r)
		prev, err := plan.NewTimer(snap, cfg)
		Expect(err).NotTo(HaveOccurred())
		slower := *snap
		slower.Links = slices.Clone(snap.Links)
		for i := range slower.Links {
			slower.Links[i].Bandwidth /= 4
		}
		t, err := plan.NewTimerLike(prev, &slower, cfg)
		Expect(err).NotTo(HaveOccurred())
		fresh, err := plan.NewTimer(&slower, cfg)
		Expect(err).NotTo(HaveOccurred())
		p := &plan.Plan{Limits: limits, Moves: slices.Clone(moves[:50])}
		q := &plan.Plan{Limits: limits, Moves: slices.Clone(moves[:50])}
		Expect(t.Schedule(p)).To(Succeed())
		Expect(fresh.Schedule(q)).To(Succeed())
		Expect(p).To(Equal(q))
		fast := &plan.Plan{Limits: limits, Moves: slices.Clone(moves[:50])}
		Expect(prev.Schedule(fast)).To(Succeed())
		Expect(fast.Makespan).To(BeNumerically("<", p.Makespan))
	})
})
