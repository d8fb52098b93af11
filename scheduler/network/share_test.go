package network_test

import (
	"math"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/network"
)

// chain builds n0 - n1 - ... with links l1, l2, ... of the given capacities.
func chain(caps ...float64) *network.Network {
	n := network.New()
	for i, c := range caps {
		mustLink(n, "l"+string(rune('1'+i)), "n"+string(rune('0'+i)), "n"+string(rune('1'+i)), c, ms)
	}
	return n
}

// star joins s1..s4 to switch x on 100 B/s links, and x to d on one of 90.
func star() *network.Network {
	n := network.New()
	for _, s := range []string{"s1", "s2", "s3", "s4"} {
		mustLink(n, s, s, "x", 100, ms)
	}
	mustLink(n, "xd", "x", "d", 90, ms)
	return n
}

var _ = Describe("Max-min sharing", func() {
	DescribeTable("a single flow gets the smaller of its path and its cap",
		func(caps []float64, flowCap, want float64) {
			n := chain(caps...)
			id := n.AddFlow(mustRoute(n, "n0", "n"+string(rune('0'+len(caps)))), flowCap)
			Expect(n.Rate(id)).To(Equal(want))
			Expect(n.Changed()).To(Equal([]network.FlowID{id}))
		},
		Entry("no cap", []float64{100}, 0.0, 100.0),
		Entry("cap below", []float64{100}, 30.0, 30.0),
		Entry("cap above", []float64{100}, 250.0, 100.0),
		Entry("negative cap is none", []float64{100}, -1.0, 100.0),
		Entry("NaN cap is none", []float64{100}, math.NaN(), 100.0),
		Entry("narrowest hop", []float64{100, 40, 70}, 0.0, 40.0),
		Entry("narrowest hop under cap", []float64{100, 40, 70}, 50.0, 40.0),
	)

	It("splits one link in half between two flows, per direction", func() {
		n := chain(100)
		r := mustRoute(n, "n0", "n1")
		a, b := n.AddFlow(r, 0), n.AddFlow(r, 0)
		c := n.AddFlow(mustRoute(n, "n1", "n0"), 0)
		Expect(n.Rate(a)).To(Equal(50.0))
		Expect(n.Rate(b)).To(Equal(50.0))
		Expect(n.Rate(c)).To(Equal(100.0), "the other direction is a separate link")
		Expect(n.LinkLoad(r[0])).To(Equal(100.0))
		n.RemoveFlow(a)
		Expect(n.Rate(b)).To(Equal(100.0))
		Expect(n.Rate(a)).To(BeZero())
	})

	It("gives the parking-lot allocation", func() {
		n := chain(1, 1, 1)
		long := n.AddFlow(mustRoute(n, "n0", "n3"), 0)
		var short []network.FlowID
		for i := range 3 {
			short = append(short, n.AddFlow(mustRoute(n, "n"+string(rune('0'+i)), "n"+string(rune('1'+i))), 0))
		}
		Expect(n.Rate(long)).To(Equal(0.5))
		for _, id := range short {
			Expect(n.Rate(id)).To(Equal(0.5))
		}
	})

	It("gives the known allocation on three links with mixed routes and a cap", func() {
		// l1=10, l2=6, l3=9. Flows: A over l1 l2 l3, B over l1 l2, C over
		// l2, D over l3 (cap 5), E over l1. l2 saturates first at 6/3=2
		// (A, B, C); then D's cap at 5; then l1 with 10-2-2=6 left for E;
		// l3 keeps 9-2-5=2 spare.
		n := chain(10, 6, 9)
		a := n.AddFlow(mustRoute(n, "n0", "n3"), 0)
		b := n.AddFlow(mustRoute(n, "n0", "n2"), 0)
		c := n.AddFlow(mustRoute(n, "n1", "n2"), 0)
		d := n.AddFlow(mustRoute(n, "n2", "n3"), 5)
		e := n.AddFlow(mustRoute(n, "n0", "n1"), 0)
		got := []float64{n.Rate(a), n.Rate(b), n.Rate(c), n.Rate(d), n.Rate(e)}
		Expect(got).To(Equal([]float64{2, 2, 2, 5, 6}))
		l3, _, _ := n.LinkByName("l3")
		Expect(n.LinkLoad(l3)).To(Equal(7.0))

		// Without its cap D takes l3's remainder instead.
		n.RemoveFlow(d)
		d = n.AddFlow(mustRoute(n, "n2", "n3"), 0)
		Expect(n.Rate(d)).To(Equal(7.0))
		Expect(n.Rate(e)).To(Equal(6.0))
	})

	It("gives equal rates to the flows of one bottleneck, less any capped flow", func() {
		n := star()
		var ids []network.FlowID
		for _, s := range []string{"s1", "s2", "s3"} {
			ids = append(ids, n.AddFlow(mustRoute(n, s, "d"), 0))
		}
		for _, id := range ids {
			Expect(n.Rate(id)).To(Equal(30.0))
		}
		capped := n.AddFlow(mustRoute(n, "s4", "d"), 12)
		Expect(n.Rate(capped)).To(Equal(12.0))
		for _, id := range ids {
			Expect(n.Rate(id)).To(BeNumerically("~", 26, 1e-12))
		}
	})

	It("counts a flow once per traversal of a link", func() {
		n := chain(100)
		ab, ba, _ := n.LinkByName("l1")
		twice := n.AddFlow([]network.LinkID{ab, ba, ab}, 0)
		Expect(n.Rate(twice)).To(Equal(50.0))
		Expect(n.LinkLoad(ab)).To(Equal(100.0))
		other := n.AddFlow([]network.LinkID{ab}, 0)
		Expect(n.Rate(twice)).To(BeNumerically("~", 100.0/3, 1e-12))
		Expect(n.Rate(other)).To(BeNumerically("~", 100.0/3, 1e-12))
		n.RemoveFlow(twice)
		Expect(n.Rate(other)).To(Equal(100.0))
		Expect(n.LinkLoad(ba)).To(BeZero())
	})

	It("runs a flow with an empty route at its cap, or without bound", func() {
		n := network.New()
		Expect(n.Rate(n.AddFlow(nil, 7))).To(Equal(7.0))
		Expect(math.IsInf(n.Rate(n.AddFlow(nil, 0)), 1)).To(BeTrue())
	})

	It("panics on a route outside the network", func() {
		n := chain(1)
		Expect(func() { n.AddFlow([]network.LinkID{2}, 0) }).To(PanicWith(ContainSubstring("out of range")))
	})

	It("lists live flows in order and ignores unknown ones", func() {
		n := chain(100)
		r := mustRoute(n, "n0", "n1")
		a, b, c := n.AddFlow(r, 0), n.AddFlow(r, 0), n.AddFlow(r, 0)
		n.RemoveFlow(b)
		n.RemoveFlow(b)
		n.RemoveFlow(999)
		d := n.AddFlow(r, 0)
		Expect(d).To(BeNumerically(">", c), "IDs are not reused")
		Expect(n.Flows()).To(Equal([]network.FlowID{a, c, d}))
		Expect(n.Rate(b)).To(BeZero())
	})
})

var _ = Describe("Link state", func() {
	var (
		n          *network.Network
		through    network.FlowID // s1 -> d: crosses xd
		local      network.FlowID // s1 -> s2: shares s1 with through
		ab, ba, s1 network.LinkID
	)
	BeforeEach(func() {
		n = star()
		through = n.AddFlow(mustRoute(n, "s1", "d"), 0)
		local = n.AddFlow(mustRoute(n, "s1", "s2"), 0)
		ab, ba, _ = n.LinkByName("xd")
		s1, _, _ = n.LinkByName("s1")
		Expect([]float64{n.Rate(through), n.Rate(local)}).To(Equal([]float64{50, 50}))
		n.Changed()
	})

	It("stops flows over a link that is down and restores them when it is up", func() {
		Expect(n.SetDown("xd", true)).To(Succeed())
		Expect(n.Capacity(ab)).To(BeZero())
		Expect(n.Capacity(ba)).To(BeZero())
		Expect(n.Rate(through)).To(BeZero())
		Expect(n.Rate(local)).To(Equal(100.0), "the stalled flow frees its share of s1")
		Expect(n.LinkLoad(s1)).To(Equal(100.0))
		Expect(n.Changed()).To(Equal([]network.FlowID{through, local}))
		Expect(n.SetDown("xd", true)).To(Succeed())
		Expect(n.Changed()).To(BeEmpty())

		Expect(n.SetDown("xd", false)).To(Succeed())
		Expect(n.Capacity(ab)).To(Equal(90.0))
		Expect([]float64{n.Rate(through), n.Rate(local)}).To(Equal([]float64{50, 50}))
		Expect(n.Changed()).To(Equal([]network.FlowID{through, local}))
	})

	It("starts a flow added while its link is down at 0", func() {
		Expect(n.SetDown("xd", true)).To(Succeed())
		late := n.AddFlow(mustRoute(n, "s2", "d"), 0)
		Expect(n.Rate(late)).To(BeZero())
		Expect(n.SetDown("xd", false)).To(Succeed())
		Expect(n.Rate(late)).To(Equal(45.0))
		Expect(n.Rate(through)).To(Equal(45.0))
		Expect(n.Rate(local)).To(Equal(55.0))
	})

	It("degrades both directions and restores them", func() {
		Expect(n.SetDegraded("xd", 20)).To(Succeed())
		Expect(n.Capacity(ab)).To(Equal(20.0))
		Expect(n.Capacity(ba)).To(Equal(20.0))
		Expect([]float64{n.Rate(through), n.Rate(local)}).To(Equal([]float64{20, 80}))
		Expect(n.SetDegraded("xd", 90)).To(Succeed())
		Expect([]float64{n.Rate(through), n.Rate(local)}).To(Equal([]float64{50, 50}))
	})

	It("applies a degradation made while down when the link comes up", func() {
		Expect(n.SetDown("xd", true)).To(Succeed())
		Expect(n.SetDegraded("xd", 30)).To(Succeed())
		Expect(n.Capacity(ab)).To(BeZero())
		Expect(n.Rate(through)).To(BeZero())
		Expect(n.SetDown("xd", false)).To(Succeed())
		Expect(n.Capacity(ab)).To(Equal(30.0))
		Expect(n.Capacity(ba)).To(Equal(30.0))
		Expect(n.Rate(through)).To(Equal(30.0))
	})

	It("degrades one direction with SetCapacity and keeps it across down/up", func() {
		Expect(n.SetCapacity(ab, 10)).To(Succeed())
		Expect(n.Capacity(ba)).To(Equal(90.0))
		Expect(n.Rate(through)).To(Equal(10.0))
		Expect(n.SetDown("xd", true)).To(Succeed())
		Expect(n.SetDown("xd", false)).To(Succeed())
		Expect(n.Capacity(ab)).To(Equal(10.0))
		Expect(n.Capacity(ba)).To(Equal(90.0))
		Expect(n.Rate(through)).To(Equal(10.0))
	})
})

var _ = Describe("Changed", func() {
	It("reports exactly the flows whose rate moved", func() {
		n := star()
		mustLink(n, "far", "p", "q", 100, ms) // a separate component
		a := n.AddFlow(mustRoute(n, "s1", "d"), 0)
		b := n.AddFlow(mustRoute(n, "s2", "d"), 0)
		far := n.AddFlow(mustRoute(n, "p", "q"), 0)
		Expect(n.Changed()).To(Equal([]network.FlowID{a, b, far}), "new flows are reported once")
		Expect(n.Changed()).To(BeEmpty())

		c := n.AddFlow(mustRoute(n, "s3", "d"), 0)
		Expect(n.Changed()).To(Equal([]network.FlowID{a, b, c}))

		// s3 -> s4 shares s3's uplink with c, but c is held to 30 at xd:
		// only the new flow is reported.
		e := n.AddFlow(mustRoute(n, "s3", "s4"), 0)
		Expect(n.Rate(e)).To(Equal(70.0))
		Expect(n.Changed()).To(Equal([]network.FlowID{e}))

		// Removing c speeds up a, b and e; c itself is gone.
		n.RemoveFlow(c)
		Expect(n.Changed()).To(Equal([]network.FlowID{a, b, e}))
		Expect(n.Rate(e)).To(Equal(100.0))

		// A change that comes and goes between two calls is not a change.
		Expect(n.SetDown("xd", true)).To(Succeed())
		Expect(n.SetDown("xd", false)).To(Succeed())
		Expect(n.Changed()).To(BeEmpty())

		// A flow added and removed in between is not listed.
		n.RemoveFlow(n.AddFlow(mustRoute(n, "p", "q"), 0))
		Expect(n.Changed()).To(BeEmpty())
	})

	It("ignores changes under 1e-9 relative but not their sum", func() {
		n := chain(1e9)
		a := n.AddFlow(mustRoute(n, "n0", "n1"), 0)
		n.Changed()
		Expect(n.SetDegraded("l1", 1e9*(1+6e-10))).To(Succeed())
		Expect(n.Rate(a)).To(Equal(1e9 * (1 + 6e-10)))
		Expect(n.Changed()).To(BeEmpty())
		Expect(n.SetDegraded("l1", 1e9*(1+12e-10))).To(Succeed())
		Expect(n.Changed()).To(Equal([]network.FlowID{a}), "measured from the rate last reported")
		Expect(n.SetDegraded("l1", 1e9*(1+18e-10))).To(Succeed())
		Expect(n.Changed()).To(BeEmpty())
	})
})
