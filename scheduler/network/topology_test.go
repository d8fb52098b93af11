package network_test

import (
	"fmt"
	"math"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/network"
)

const ms = time.Millisecond

var _ = Describe("Topology", func() {
	It("gives each node name one index", func() {
		n := network.New()
		Expect(n.AddNode("a")).To(Equal(0))
		Expect(n.AddNode("b")).To(Equal(1))
		Expect(n.AddNode("a")).To(Equal(0))
		mustLink(n, "ac", "a", "c", 1, 0)
		Expect(n.AddNode("c")).To(Equal(2))
	})

	It("adds both directions of a link under one name", func() {
		n := network.New()
		mustLink(n, "x", "a", "b", 100, ms)
		mustLink(n, "y", "b", "c", 50, 2*ms)
		ab, ba, ok := n.LinkByName("y")
		Expect(ok).To(BeTrue())
		Expect([]network.LinkID{ab, ba}).To(Equal([]network.LinkID{2, 3}))
		Expect(n.LinkName(ab)).To(Equal("y"))
		Expect(n.LinkName(ba)).To(Equal("y"))
		Expect(n.Capacity(ab)).To(Equal(50.0))
		Expect(n.Capacity(ba)).To(Equal(50.0))
		Expect(n.NumLinks()).To(Equal(4))
		Expect(mustRoute(n, "c", "b")).To(Equal([]network.LinkID{ba}))
		Expect(mustRoute(n, "b", "c")).To(Equal([]network.LinkID{ab}))
		_, _, ok = n.LinkByName("z")
		Expect(ok).To(BeFalse())
		Expect(n.LinkName(99)).To(BeEmpty())
		Expect(n.Capacity(-1)).To(BeZero())
	})

	DescribeTable("AddLink refuses",
		func(name, a, b string, bw float64, lat time.Duration, want error) {
			n := network.New()
			mustLink(n, "taken", "p", "q", 1, 0)
			Expect(n.AddLink(name, a, b, bw, lat)).To(MatchError(want))
			Expect(n.NumLinks()).To(Equal(2))
		},
		Entry("a duplicate name", "taken", "a", "b", 1.0, ms, network.ErrDuplicateLink),
		Entry("a duplicate name on other nodes", "taken", "p", "q", 1.0, ms, network.ErrDuplicateLink),
		Entry("zero bandwidth", "l", "a", "b", 0.0, ms, network.ErrInvalidLink),
		Entry("negative bandwidth", "l", "a", "b", -5.0, ms, network.ErrInvalidLink),
		Entry("NaN bandwidth", "l", "a", "b", math.NaN(), ms, network.ErrInvalidLink),
		Entry("infinite bandwidth", "l", "a", "b", math.Inf(1), ms, network.ErrInvalidLink),
		Entry("negative latency", "l", "a", "b", 1.0, -ms, network.ErrInvalidLink),
		Entry("a loop", "l", "a", "a", 1.0, ms, network.ErrInvalidLink),
		Entry("an empty name", "", "a", "b", 1.0, ms, network.ErrInvalidLink),
	)

	It("refuses state changes on unknown links and bad bandwidths", func() {
		n := network.New()
		mustLink(n, "l", "a", "b", 10, 0)
		Expect(n.SetDown("nope", true)).To(MatchError(network.ErrUnknownLink))
		Expect(n.SetDegraded("nope", 1)).To(MatchError(network.ErrUnknownLink))
		Expect(n.SetDegraded("l", 0)).To(MatchError(network.ErrInvalidLink))
		Expect(n.SetCapacity(7, 1)).To(MatchError(network.ErrUnknownLink))
		Expect(n.SetCapacity(0, -1)).To(MatchError(network.ErrInvalidLink))
		Expect(n.Capacity(0)).To(Equal(10.0))
	})
})

var _ = Describe("Route", func() {
	It("prefers fewer hops over lower latency", func() {
		n := network.New()
		mustLink(n, "slow", "a", "b", 1, 10*ms)
		mustLink(n, "f1", "a", "c", 1, ms)
		mustLink(n, "f2", "c", "b", 1, ms)
		r := mustRoute(n, "a", "b")
		Expect(names(n, r)).To(Equal([]string{"slow"}))
		Expect(n.Latency(r)).To(Equal(10 * ms))
		Expect(n.Latency(mustRoute(n, "a", "c"))).To(Equal(ms))
	})

	It("breaks hop ties by total latency before names", func() {
		n := network.New()
		mustLink(n, "a1", "a", "y", 1, ms)
		mustLink(n, "a2", "y", "b", 1, 5*ms)
		mustLink(n, "z1", "a", "x", 1, 2*ms)
		mustLink(n, "z2", "x", "b", 1, 2*ms)
		r := mustRoute(n, "a", "b")
		Expect(names(n, r)).To(Equal([]string{"z1", "z2"}))
		Expect(n.Latency(r)).To(Equal(4 * ms))
	})

	It("breaks latency ties by the first differing link name", func() {
		n := network.New()
		// Equal latency: [m z] beats [n a] at the first name.
		mustLink(n, "n", "a", "y", 1, ms)
		mustLink(n, "a", "y", "b", 1, ms)
		mustLink(n, "m", "a", "x", 1, ms)
		mustLink(n, "z", "x", "b", 1, ms)
		Expect(names(n, mustRoute(n, "a", "b"))).To(Equal([]string{"m", "z"}))
		// Parallel links: the smaller name wins.
		mustLink(n, "p2", "b", "c", 1, ms)
		mustLink(n, "p1", "b", "c", 1, ms)
		Expect(names(n, mustRoute(n, "a", "c"))).To(Equal([]string{"m", "z", "p1"}))
	})

	It("compares whole prefixes, not just the last hop", func() {
		n := network.New()
		// Two 3-hop routes a->d that differ at the second hop only; the
		// last hops are named so that a last-hop-only rule picks wrong.
		mustLink(n, "s", "a", "b", 1, ms)
		mustLink(n, "u", "b", "c1", 1, ms)
		mustLink(n, "t", "b", "c2", 1, ms)
		mustLink(n, "x", "c1", "d", 1, ms)
		mustLink(n, "y", "c2", "d", 1, ms)
		Expect(names(n, mustRoute(n, "a", "d"))).To(Equal([]string{"s", "t", "y"}))
	})

	It("returns ErrNoRoute for unreachable, unknown or identical ends", func() {
		n := network.New()
		mustLink(n, "l", "a", "b", 1, ms)
		mustLink(n, "m", "c", "d", 1, ms)
		for _, p := range [][2]string{{"a", "c"}, {"a", "a"}, {"a", "ghost"}, {"ghost", "a"}} {
			_, err := n.Route(p[0], p[1])
			Expect(err).To(MatchError(network.ErrNoRoute), "%v", p)
			_, err = n.Route(p[0], p[1]) // now cached
			Expect(err).To(MatchError(network.ErrNoRoute), "%v", p)
		}
	})

	It("forgets cached routes when the topology grows", func() {
		n := network.New()
		mustLink(n, "l1", "a", "b", 1, ms)
		mustLink(n, "l2", "b", "c", 1, ms)
		Expect(names(n, mustRoute(n, "a", "c"))).To(Equal([]string{"l1", "l2"}))
		_, err := n.Route("a", "e")
		Expect(err).To(MatchError(network.ErrNoRoute))
		mustLink(n, "short", "a", "c", 1, 9*ms)
		mustLink(n, "ce", "c", "e", 1, ms)
		Expect(names(n, mustRoute(n, "a", "c"))).To(Equal([]string{"short"}))
		Expect(names(n, mustRoute(n, "a", "e"))).To(Equal([]string{"short", "ce"}))
	})

	It("routes across a leaf-spine through the rack uplinks", func() {
		n, hs := leafSpine(40, 4, 1e9)
		Expect(names(n, mustRoute(n, hs[0], hs[39]))).To(Equal([]string{"h0000", "rack-r00", "rack-r03", "h0039"}))
		Expect(names(n, mustRoute(n, hs[1], hs[2]))).To(Equal([]string{"h0001", "h0002"}))
	})

	It("routes a host through its one NIC link exactly as its own tree would", func() {
		n, hs := leafSpine(60, 4, 1e9)
		for _, a := range hs {
			for _, b := range hs {
				if a != b {
					Expect(mustRoute(n, a, b)).To(Equal(n.TreeRoute(a, b)), "%s->%s", a, b)
				}
			}
			for _, sw := range []string{"leaf-r00", "leaf-r03", "spine"} {
				Expect(mustRoute(n, a, sw)).To(Equal(n.TreeRoute(a, sw)), "%s->%s", a, sw)
			}
		}
	})

	It("matches brute force on random graphs, whatever the order links were added in", func() {
		r := rng("route brute force")
		for trial := range 300 {
			nodes := 3 + r.IntN(6)
			var specs []linkSpec
			taken := map[string]bool{}
			for range 4 + r.IntN(10) {
				a, b := r.IntN(nodes), r.IntN(nodes)
				name := fmt.Sprintf("l%02d", r.IntN(40))
				if a == b || taken[name] {
					continue
				}
				taken[name] = true
				// Few distinct latencies, so ties are common.
				specs = append(specs, linkSpec{name, fmt.Sprint("n", a), fmt.Sprint("n", b), time.Duration(1+r.IntN(2)) * ms})
			}
			build := func(order []int) *network.Network {
				n := network.New()
				for i := range nodes {
					n.AddNode(fmt.Sprint("n", i))
				}
				for _, i := range order {
					s := specs[i]
					mustLink(n, s.name, s.a, s.b, 1, s.lat)
				}
				return n
			}
			order := make([]int, len(specs))
			for i := range order {
				order[i] = i
			}
			n1 := build(order)
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			n2 := build(order)
			for s := range nodes {
				for d := range nodes {
					src, dst := fmt.Sprint("n", s), fmt.Sprint("n", d)
					want, ok := bruteRoute(specs, src, dst)
					r1, err1 := n1.Route(src, dst)
					r2, err2 := n2.Route(src, dst)
					if !ok {
						Expect(err1).To(MatchError(network.ErrNoRoute), "trial %d %s->%s", trial, src, dst)
						Expect(err2).To(MatchError(network.ErrNoRoute))
						continue
					}
					Expect(err1).NotTo(HaveOccurred())
					Expect(err2).NotTo(HaveOccurred())
					Expect(names(n1, r1)).To(Equal(want), "trial %d %s->%s %v", trial, src, dst, specs)
					Expect(names(n2, r2)).To(Equal(want), "trial %d %s->%s", trial, src, dst)
					Expect(n1.Latency(r1)).To(Equal(n2.Latency(r2)))
				}
			}
		}
	})
})

type linkSpec struct {
	name string
	a, b string
	lat  time.Duration
}

// bruteRoute enumerates every simple path and keeps the best by (hops,
// latency, names).
func bruteRoute(specs []linkSpec, src, dst string) ([]string, bool) {
	if src == dst {
		return nil, false
	}
	type edge struct {
		to, name string
		lat      time.Duration
	}
	out := map[string][]edge{}
	for _, s := range specs {
		out[s.a] = append(out[s.a], edge{s.b, s.name, s.lat})
		out[s.b] = append(out[s.b], edge{s.a, s.name, s.lat})
	}
	var best, path []string
	var bestLat time.Duration
	found := false
	seen := map[string]bool{src: true}
	var dfs func(u string, lat time.Duration)
	dfs = func(u string, lat time.Duration) {
		if u == dst {
			if !found || len(path) < len(best) ||
				len(path) == len(best) && (lat < bestLat || lat == bestLat && slices.Compare(path, best) < 0) {
				best, bestLat, found = slices.Clone(path), lat, true
			}
			return
		}
		for _, e := range out[u] {
			if seen[e.to] {
				continue
			}
			seen[e.to] = true
			path = append(path, e.name)
			dfs(e.to, lat+e.lat)
			path = path[:len(path)-1]
			seen[e.to] = false
		}
	}
	dfs(src, 0)
	return best, found
}
