package policy_test

import (
	"fmt"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

// small is a cluster of 8 GiB hosts: h1 is full with a and b, h2 holds c
// and has room for one more 4 GiB VM, h3 is empty.
func small() *cluster.Snapshot {
	var hosts []cluster.Host
	for _, n := range []string{"h1", "h2", "h3"} {
		hosts = append(hosts, MakeHost(n).Memory(8*GiB).Obj())
	}
	return Snapshot(hosts, []cluster.VM{
		MakeVM("a", "h1").Obj(), MakeVM("b", "h1").Obj(), MakeVM("c", "h2").Obj(),
	})
}

// add plans the named VM onto the named host.
func add(b *policy.Builder, vm, host string) *plan.Move {
	GinkgoHelper()
	v, h := b.St.VMIndex(vm), b.St.HostIndex(host)
	Expect(v).To(BeNumerically(">=", 0), vm)
	Expect(h).To(BeNumerically(">=", 0), host)
	return b.Add(v, h, "test")
}

// summary is "vm:source->destination after" per move, for short assertions.
func summary(moves []plan.Move) []string {
	var out []string
	for _, m := range moves {
		s := m.VM + ":" + m.Source + "->" + m.Destination
		for _, a := range m.After {
			s += fmt.Sprintf(" %d", a)
		}
		out = append(out, s)
	}
	return out
}

var _ = Describe("Builder", func() {
	It("makes a move into a full host wait for the departure that frees it", func() {
		b := policy.NewBuilder(input(small()))
		first := add(b, "a", "h2")
		Expect(first.ID).To(Equal(1))
		Expect(first.After).To(BeEmpty(), "h2 has room for a")
		second := add(b, "c", "h1")
		Expect(second.After).To(Equal([]int{1}), "h1 has room for c only once a has left")
		Expect(b.Moves()).To(HaveLen(2))
		Expect(summary(b.Moves())).To(Equal([]string{"a:h1->h2", "c:h2->h1 1"}))
	})

	It("waits for as many departures as the room needs, and no more", func() {
		var hosts []cluster.Host
		for _, n := range []string{"h1", "h2", "h3", "h4"} {
			hosts = append(hosts, MakeHost(n).Memory(8*GiB).Obj())
		}
		snap := Snapshot(hosts, []cluster.VM{
			MakeVM("a", "h1").Obj(), MakeVM("b", "h1").Obj(), MakeVM("c", "h2").Memory(8 * GiB).Obj(),
			MakeVM("d", "h3").Obj(),
		})
		b := policy.NewBuilder(input(snap))
		add(b, "a", "h4")
		add(b, "b", "h4")
		big := add(b, "c", "h1")
		Expect(big.After).To(Equal([]int{1, 2}), "8 GiB needs both 4 GiB VMs gone")
		b2 := policy.NewBuilder(input(snap))
		add(b2, "a", "h4")
		add(b2, "b", "h3")
		small := add(b2, "d", "h1")
		Expect(small.After).To(Equal([]int{1}), "4 GiB needs one departure only")
	})

	It("counts earlier arrivals against the room", func() {
		var hosts []cluster.Host
		for _, n := range []string{"h1", "h2", "h3"} {
			hosts = append(hosts, MakeHost(n).Memory(8*GiB).Obj())
		}
		snap := Snapshot(hosts, []cluster.VM{ // h1 and h2 full, h3 empty
			MakeVM("a", "h1").Obj(), MakeVM("b", "h1").Obj(), MakeVM("c", "h2").Obj(), MakeVM("d", "h2").Obj(),
		})
		b := policy.NewBuilder(input(snap))
		add(b, "a", "h3")
		Expect(add(b, "c", "h1").After).To(Equal([]int{1}))
		Expect(add(b, "b", "h3").After).To(BeEmpty(), "h3 holds a and has room for b")
		Expect(add(b, "d", "h1").After).To(Equal([]int{1, 3}), "c took the room a left: d needs b gone too")
	})

	It("replaces the first move of a VM moved twice", func() {
		b := policy.NewBuilder(input(small()))
		add(b, "a", "h2")
		add(b, "b", "h3")
		add(b, "a", "h3")
		Expect(summary(b.Moves())).To(Equal([]string{"b:h1->h3", "a:h1->h3"}))
		Expect(b.Moves()[0].ID).To(Equal(1))
		Expect(b.Moves()[1].ID).To(Equal(2))
		Expect(b.St.Memory).To(Equal([]int64{0, 4 * GiB, 8 * GiB}))
	})

	It("Remove takes a move back and renumbers the rest", func() {
		b := policy.NewBuilder(input(small()))
		add(b, "a", "h2")
		add(b, "c", "h1") // waits for a
		add(b, "b", "h3")
		Expect(summary(b.Moves())).To(Equal([]string{"a:h1->h2", "c:h2->h1 1", "b:h1->h3"}))
		b.Remove(b.St.VMIndex("b"))
		Expect(summary(b.Moves())).To(Equal([]string{"a:h1->h2", "c:h2->h1 1"}))
		Expect(b.St.Place[b.St.VMIndex("b")]).To(Equal(b.St.HostIndex("h1")))
		Expect(b.St.Memory).To(Equal([]int64{8 * GiB, 4 * GiB, 0}))
		b.Remove(b.St.VMIndex("b")) // nothing planned for b: no-op
		Expect(b.Moves()).To(HaveLen(2))
	})

	It("Remove renumbers the dependencies of the moves that stay", func() {
		var hosts []cluster.Host
		for _, n := range []string{"h1", "h2", "h3", "h4"} {
			hosts = append(hosts, MakeHost(n).Memory(8*GiB).Obj())
		}
		snap := Snapshot(hosts, []cluster.VM{ // h1 and h2 full
			MakeVM("a", "h1").Obj(), MakeVM("b", "h1").Obj(), MakeVM("c", "h2").Obj(), MakeVM("d", "h2").Obj(),
		})
		b := policy.NewBuilder(input(snap))
		add(b, "c", "h3")
		add(b, "a", "h4")
		add(b, "d", "h1") // waits for a
		Expect(summary(b.Moves())).To(Equal([]string{"c:h2->h3", "a:h1->h4", "d:h2->h1 2"}))
		b.Remove(b.St.VMIndex("c"))
		Expect(summary(b.Moves())).To(Equal([]string{"a:h1->h4", "d:h2->h1 1"}))
		Expect(b.Moves()[1].ID).To(Equal(2))
	})

	// Was a bug (fixed): Remove (and Add replacing a VM's earlier move) drops a move that
	// later moves wait for, and Moves() silently drops the dangling
	// dependency: the dependent move keeps its destination although the
	// room it was waiting for never frees, so the plan overcommits that
	// host's memory. Fix (scheduler/policy/policy.go, undo): also undo,
	// recursively, every live move whose After holds the dropped move's ID
	// (policies then see those VMs unplaced), or recompute the waiting
	// move's room and refuse to keep it.
	It("never leaves a host over its memory after Remove", func() {
		b := policy.NewBuilder(input(small()))
		add(b, "a", "h2")
		add(b, "c", "h1") // waits for a
		b.Remove(b.St.VMIndex("a"))
		for h := range b.St.Snap.Hosts {
			Expect(b.St.Memory[h]).To(BeNumerically("<=", b.St.Snap.Hosts[h].Memory), b.St.Snap.Hosts[h].Name)
		}
	})

	// Was a bug (fixed): Add reckons room in memory only. A host at its vCPU limit
	// (cores × overcommit) that takes a VM while another leaves gets no
	// dependency, so for a while it runs more vCPUs than the Capacity
	// filter allows. Fix (scheduler/policy/policy.go, Add): track base and
	// arrived vCPUs as for memory and keep adding departures to After until
	// both needs are met (limit: host CPUs × in.Overcommit, 1 if unset).
	It("makes a move wait for a departure when only the vCPU limit lacks room", func() {
		hosts := []cluster.Host{MakeHost("h1").CPUs(4).Obj(), MakeHost("h2").CPUs(4).Obj(), MakeHost("h3").CPUs(4).Obj()}
		snap := Snapshot(hosts, []cluster.VM{ // 4 cores × 4 = 16 vCPUs per host: h1 is full
			MakeVM("a", "h1").VCPUs(16).Obj(), MakeVM("c", "h2").VCPUs(8).Obj(),
		})
		b := policy.NewBuilder(input(snap))
		add(b, "a", "h3")
		Expect(add(b, "c", "h1").After).To(Equal([]int{1}), "c may land on h1 only after a left it")
	})

	Describe("Finish", func() {
		It("times the plan and keeps the policy's limits", func() {
			in := input(small())
			in.Now = 42
			b := policy.NewBuilder(in)
			add(b, "a", "h2")
			add(b, "c", "h1")
			limits := plan.Limits{MaxParallel: 3, MaxPerHostOut: 1}
			p, err := b.Finish("test", limits, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(p.Policy).To(Equal("test"))
			Expect(p.At).To(BeEquivalentTo(42))
			Expect(p.Limits).To(Equal(limits))
			Expect(p.Moves[1].Predicted.Start).To(Equal(p.Moves[0].Predicted.End), "c waits for a")
			Expect(p.Makespan).To(Equal(p.Moves[1].Predicted.End))
			Expect(p.LowerBound).To(BeNumerically(">", 0))
			for _, m := range p.Moves {
				Expect(m.Predicted.Outcome).To(Equal(cluster.OutcomeCompleted))
				Expect(m.Transport).To(Equal(cluster.TransportTLS))
			}
		})

		It("renumbers after the policy's own order, dependencies included", func() {
			b := policy.NewBuilder(input(small()))
			add(b, "a", "h2")
			add(b, "c", "h1")
			p, err := b.Finish("test", plan.Limits{}, func(m []plan.Move) { slices.Reverse(m) })
			Expect(err).NotTo(HaveOccurred())
			Expect(summary(p.Moves)).To(Equal([]string{"c:h2->h1 2", "a:h1->h2"}))
			Expect(p.Moves[0].Predicted.Start).To(Equal(p.Moves[1].Predicted.End))
		})

		It("carries the placer's rejections", func() {
			in := input(small())
			in.Explain = true
			b := policy.NewBuilder(in)
			dst, why := b.Placer.Best(b.St.VMIndex("c"), func(*cluster.State, int, int) float64 { return 0 })
			Expect(dst).To(Equal(b.St.HostIndex("h3")))
			Expect(why).To(BeEmpty())
			p, err := b.Finish("test", plan.Limits{}, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(p.Rejections).To(HaveLen(2), "h1 is full, h2 is c's own")
		})

		It("reports a network it cannot time", func() {
			snap := small()
			snap.Hosts[2].NICs = 0
			b := policy.NewBuilder(input(snap))
			_, err := b.Finish("test", plan.Limits{}, nil)
			Expect(err).To(MatchError(ContainSubstring("no NIC bandwidth")))
		})
	})

	It("Renumber gives IDs 1..n in order and keeps every dependency on its move", func() {
		moves := []plan.Move{
			{ID: 7, VM: "x", After: []int{3}},
			{ID: 3, VM: "y"},
			{ID: 5, VM: "z", After: []int{7, 3}},
		}
		policy.Renumber(moves)
		Expect(moves).To(Equal([]plan.Move{
			{ID: 1, VM: "x", After: []int{2}},
			{ID: 2, VM: "y"},
			{ID: 3, VM: "z", After: []int{1, 2}},
		}))
	})

	DescribeTable("SourceLimits: as many out of each source as its NIC ports (one more with overlap), two in",
		func(nics []int, sources []string, overlap bool, want plan.Limits) {
			var hosts []cluster.Host
			for i, n := range nics {
				hosts = append(hosts, MakeHost(string(rune('a'+i))).NICs(n, 1e9).Obj())
			}
			src := map[string]bool{}
			for _, s := range sources {
				src[s] = true
			}
			Expect(policy.SourceLimits(cluster.NewState(Snapshot(hosts, nil)), src, overlap)).To(Equal(want))
		},
		Entry("2 ports", []int{2, 4}, []string{"a"}, false, plan.Limits{MaxPerHostOut: 2, MaxPerHostIn: 2}),
		Entry("2 ports, overlap", []int{2, 4}, []string{"a"}, true, plan.Limits{MaxPerHostOut: 3, MaxPerHostIn: 2}),
		Entry("the most ports among sources", []int{2, 4, 1}, []string{"a", "b"}, true, plan.Limits{MaxPerHostOut: 5, MaxPerHostIn: 2}),
		Entry("no source: one port assumed", []int{8}, nil, true, plan.Limits{MaxPerHostOut: 2, MaxPerHostIn: 2}),
	)

	It("VMsOn lists the VMs of the named hosts in snapshot order", func() {
		snap := Snapshot([]cluster.Host{MakeHost("h1").Obj(), MakeHost("h2").Obj(), MakeHost("h3").Obj()},
			[]cluster.VM{MakeVM("d", "h3").Obj(), MakeVM("c", "h1").Obj(), MakeVM("b", "h2").Obj(), MakeVM("a", "h3").Obj()})
		st := cluster.NewState(snap)
		got := policy.VMsOn(st, map[string]bool{"h3": true, "h1": true})
		var names []string
		for _, i := range got {
			names = append(names, snap.VMs[i].Name)
		}
		Expect(names).To(Equal([]string{"a", "c", "d"}))
	})
})
