package network_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/network"
)

// world is a random topology plus the test's own record of what the network
// should hold: capacities per direction and live flows, kept independently of
// the Network so that the naive reference checks the link-state rules too.
type world struct {
	r     *rand.Rand
	n     *network.Network
	nodes []string
	links []string
	set   map[network.LinkID]float64 // capacity while up
	down  map[string]bool
	flows map[network.FlowID]flowSpec
	// seen is the rate Changed last reported, fresh the flows added since.
	seen  map[network.FlowID]float64
	fresh map[network.FlowID]bool
}

type flowSpec struct {
	route []network.LinkID
	cap   float64
}

// Few distinct bandwidths make ties between bottlenecks common; the odd
// uniform draw keeps the arithmetic honest.
var bandwidths = []float64{1e6, 2e6, 5e6, 1.25e9}

func (w *world) bandwidth() float64 {
	if w.r.IntN(4) == 0 {
		return 1e5 + w.r.Float64()*1e9
	}
	return bandwidths[w.r.IntN(len(bandwidths))]
}

func newWorld(r *rand.Rand) *world {
	w := &world{
		r: r, n: network.New(),
		set: map[network.LinkID]float64{}, down: map[string]bool{},
		flows: map[network.FlowID]flowSpec{}, seen: map[network.FlowID]float64{}, fresh: map[network.FlowID]bool{},
	}
	nn := 3 + r.IntN(14)
	for i := range nn {
		w.nodes = append(w.nodes, fmt.Sprintf("n%02d", i))
	}
	add := func(a, b string) {
		name := fmt.Sprintf("L%03d", len(w.links))
		bw := w.bandwidth()
		Expect(w.n.AddLink(name, a, b, bw, time.Duration(1+r.IntN(3))*time.Millisecond)).To(Succeed())
		ab, ba, _ := w.n.LinkByName(name)
		w.set[ab], w.set[ba] = bw, bw
		w.links = append(w.links, name)
	}
	// A random tree (sometimes missing an edge, so some pairs are
	// unreachable) and then random extra links.
	for i := 1; i < nn; i++ {
		if r.IntN(10) > 0 {
			add(w.nodes[r.IntN(i)], w.nodes[i])
		}
	}
	for range r.IntN(2 * nn) {
		a, b := r.IntN(nn), r.IntN(nn)
		if a != b {
			add(w.nodes[a], w.nodes[b])
		}
	}
	return w
}

func (w *world) capacity(id network.LinkID) float64 {
	if w.down[w.n.LinkName(id)] {
		return 0
	}
	return w.set[id]
}

func (w *world) live() []network.FlowID {
	ids := make([]network.FlowID, 0, len(w.flows))
	for id := range w.flows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// step applies one random operation and reports whether it did anything.
func (w *world) step() bool {
	r := w.r
	switch k := r.IntN(20); {
	case k < 8 || len(w.flows) == 0:
		route, err := w.n.Route(w.nodes[r.IntN(len(w.nodes))], w.nodes[r.IntN(len(w.nodes))])
		if err != nil {
			Expect(err).To(MatchError(network.ErrNoRoute))
			return false
		}
		c := 0.0
		if r.IntN(3) == 0 {
			c = w.bandwidth() / float64(1+r.IntN(4))
		}
		id := w.n.AddFlow(route, c)
		w.flows[id] = flowSpec{slices.Clone(route), c}
		w.fresh[id] = true
	case k < 13:
		ids := w.live()
		id := ids[r.IntN(len(ids))]
		w.n.RemoveFlow(id)
		delete(w.flows, id)
		delete(w.seen, id)
		delete(w.fresh, id)
	case k < 15:
		name := w.links[r.IntN(len(w.links))]
		bw := w.bandwidth()
		Expect(w.n.SetDegraded(name, bw)).To(Succeed())
		ab, ba, _ := w.n.LinkByName(name)
		w.set[ab], w.set[ba] = bw, bw
	case k < 16:
		id := network.LinkID(r.IntN(w.n.NumLinks()))
		bw := w.bandwidth()
		Expect(w.n.SetCapacity(id, bw)).To(Succeed())
		w.set[id] = bw
	default:
		name := w.links[r.IntN(len(w.links))]
		d := k < 18
		Expect(w.n.SetDown(name, d)).To(Succeed())
		w.down[name] = d
	}
	return true
}

// naive is progressive filling from scratch over every flow, written for
// obviousness: each round rescans every link.
func (w *world) naive() map[network.FlowID]float64 {
	ids := w.live()
	rate := map[network.FlowID]float64{}
	frozen := map[network.FlowID]bool{}
	for len(frozen) < len(ids) {
		rem := map[network.LinkID]float64{}
		cnt := map[network.LinkID]int{}
		for _, id := range ids {
			for _, l := range w.flows[id].route {
				if _, ok := rem[l]; !ok {
					rem[l] = w.capacity(l)
				}
				if frozen[id] {
					rem[l] -= rate[id]
				} else {
					cnt[l]++
				}
			}
		}
		level := math.Inf(1)
		for l, c := range cnt {
			if c > 0 {
				level = min(level, rem[l]/float64(c))
			}
		}
		for _, id := range ids {
			if c := w.flows[id].cap; !frozen[id] && c > 0 {
				level = min(level, c)
			}
		}
		level = max(level, 0)
		for _, id := range ids {
			if frozen[id] {
				continue
			}
			hit := w.flows[id].cap > 0 && w.flows[id].cap <= level
			for _, l := range w.flows[id].route {
				hit = hit || rem[l]/float64(cnt[l]) <= level
			}
			if hit {
				rate[id], frozen[id] = level, true
			}
		}
	}
	return rate
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))+1e-3
}

// checkOptimal asserts feasibility and the max-min optimality condition:
// every flow is at its cap or has a saturated link where no flow is faster.
func (w *world) checkOptimal(ctx string) {
	GinkgoHelper()
	loads := map[network.LinkID]float64{}
	fastest := map[network.LinkID]float64{}
	for _, id := range w.live() {
		rt := w.n.Rate(id)
		Expect(rt).To(BeNumerically(">=", 0), ctx)
		for _, l := range w.flows[id].route {
			loads[l] += rt
			fastest[l] = max(fastest[l], rt)
		}
	}
	for l, load := range loads {
		Expect(load).To(BeNumerically("<=", w.capacity(l)*(1+1e-9)), "%s: link %d over capacity", ctx, l)
		Expect(w.n.LinkLoad(l)).To(BeNumerically("~", load, 1e-9*load+1e-6), ctx)
	}
	for _, id := range w.live() {
		rt, f := w.n.Rate(id), w.flows[id]
		if f.cap > 0 && rt >= f.cap*(1-1e-9) {
			Expect(rt).To(BeNumerically("<=", f.cap*(1+1e-9)), ctx)
			continue
		}
		bottlenecked := false
		for _, l := range f.route {
			c := w.capacity(l)
			if loads[l] >= c*(1-1e-9)-1e-6 && rt >= fastest[l]*(1-1e-9)-1e-6 {
				bottlenecked = true
			}
		}
		Expect(bottlenecked).To(BeTrue(), "%s: flow %d at %v has no bottleneck", ctx, id, rt)
	}
}

// checkChanged asserts Changed's contract against the rates the network
// itself reports: new flows, and flows at least 1e-9 away from the rate
// reported last, exactly.
func (w *world) checkChanged(ctx string) {
	GinkgoHelper()
	var want []network.FlowID
	for _, id := range w.live() {
		rt := w.n.Rate(id)
		old, ok := w.seen[id]
		if w.fresh[id] || !ok || math.Abs(rt-old) >= 1e-9*math.Max(math.Abs(rt), math.Abs(old)) && rt != old {
			want = append(want, id)
			w.seen[id] = rt
		}
	}
	clear(w.fresh)
	Expect(w.n.Changed()).To(Equal(want), ctx)
}

var _ = Describe("Max-min properties", func() {
	It("never exceeds a capacity and gives every flow a bottleneck", func() {
		r := rng("optimality")
		for trial := range 60 {
			w := newWorld(r)
			for range 5 + r.IntN(60) {
				w.step()
			}
			w.checkOptimal(fmt.Sprintf("trial %d", trial))
		}
	})

	It("recomputes incrementally what a full recomputation gives, and reports changes exactly", func() {
		r := rng("incremental")
		for trial := range 40 {
			w := newWorld(r)
			for op := range 150 {
				if !w.step() {
					continue
				}
				ctx := fmt.Sprintf("trial %d op %d", trial, op)
				want := w.naive()
				for _, id := range w.live() {
					Expect(near(w.n.Rate(id), want[id])).To(BeTrue(), "%s: flow %d: got %v, naive %v", ctx, id, w.n.Rate(id), want[id])
				}
				Expect(w.n.Flows()).To(Equal(w.live()), ctx)
				w.checkOptimal(ctx)
				w.checkChanged(ctx)
			}
		}
	})

	It("is deterministic: the same operations give bit-identical rates", func() {
		seed := uint64(GinkgoRandomSeed())
		run := func() []float64 {
			w := newWorld(rand.New(rand.NewPCG(seed, 7)))
			var out []float64
			for range 300 {
				w.step()
				for _, id := range w.live() {
					out = append(out, w.n.Rate(id))
				}
			}
			return out
		}
		a, b := run(), run()
		Expect(len(a)).To(Equal(len(b)))
		for i := range a {
			Expect(math.Float64bits(a[i])).To(Equal(math.Float64bits(b[i])), "value %d", i)
		}
	})

	It("settles and partially refills as a full refill would, on a loaded leaf-spine", func() {
		// Migrations at a NIC-port cap on an oversubscribed fabric, some
		// uncapped, a few hosts sending several: adds and removes take the
		// shortcuts, the partial refills and the full ones in turn.
		n, hs := leafSpine(400, 16, 6.25e9)
		r := rng("partial-refill")
		var live []network.FlowID
		add := func() {
			src := hs[r.IntN(len(hs)/2)]
			if r.IntN(4) == 0 {
				src = hs[r.IntN(8)] // hot sources share host links
			}
			dst := hs[len(hs)/2+r.IntN(len(hs)/2)]
			c := 3.125e9
			switch r.IntN(5) {
			case 0:
				c = 0
			case 1:
				c = 1e8 + r.Float64()*3e9
			}
			live = append(live, n.AddFlow(mustRoute(n, src, dst), c))
		}
		for range 150 {
			add()
		}
		for op := range 1500 {
			if len(live) > 0 && (len(live) > 300 || r.IntN(2) == 0) {
				i := r.IntN(len(live))
				n.RemoveFlow(live[i])
				live = slices.Delete(live, i, i+1)
			} else {
				add()
			}
			got := map[network.FlowID]float64{}
			for _, id := range live {
				got[id] = n.Rate(id)
			}
			n.RecomputeAll()
			for _, id := range live {
				Expect(near(got[id], n.Rate(id))).To(BeTrue(), "op %d: flow %d: incremental %v, full %v", op, id, got[id], n.Rate(id))
			}
		}
	})

	It("shares a leaf-spine fairly under many flows", func() {
		n, hs := leafSpine(200, 8, 1.25e9)
		r := rng("leaf-spine")
		w := &world{r: r, n: n, set: map[network.LinkID]float64{}, down: map[string]bool{}, flows: map[network.FlowID]flowSpec{}}
		for id := network.LinkID(0); int(id) < n.NumLinks(); id++ {
			w.set[id] = n.Capacity(id)
		}
		for range 400 {
			src, dst := hs[r.IntN(len(hs))], hs[r.IntN(len(hs))]
			if src == dst {
				continue
			}
			route := mustRoute(n, src, dst)
			c := 0.0
			if r.IntN(3) == 0 {
				c = 1e8 + r.Float64()*5e8
			}
			w.flows[n.AddFlow(route, c)] = flowSpec{route, c}
		}
		w.checkOptimal("leaf-spine")
		want := w.naive()
		for id, rt := range want {
			Expect(near(n.Rate(id), rt)).To(BeTrue(), "flow %d", id)
		}
	})
})
