package network

import (
	"cmp"
	"math"
	"slices"
)

// recompute re-runs progressive filling over the flows that share links,
// transitively, with the seed links: the connected component (or, after a
// removal split it, components) of the flow-link graph the change touched.
//
// Why that is exact: max-min fairness couples two flows only through a link
// both cross. Its allocation is the unique one in which every flow has a
// bottleneck, a saturated link (or its cap) where no flow gets more; every
// term of that condition involves one flow and the links on its route, and
// hence one component. So the global max-min allocation is the union of each
// component's own max-min allocation, and a change to a flow or to a link's
// capacity cannot move the allocation of a component that does not contain
// it. Progressive filling never mixes components either, since freezing a
// flow only touches the links on its route. Flows outside the recomputed
// component therefore already hold the rates a full recomputation would give.
//
// below is a level under which the change cannot move any rate: flows whose
// rate is under it keep it (see refillLevel), and only the rest, coupled
// through links where they meet, are filled again; 0 refills everything.
func (n *Network) recompute(seeds []LinkID, below float64) {
	n.epoch++
	if n.epoch == 0 {
		// Wrapped: stale marks could pass for current ones.
		for i := range n.fs {
			n.fs[i].mark = 0
		}
		for i := range n.flows {
			n.flows[i].mark = 0
		}
		n.epoch = 1
	}
	ep := n.epoch
	comp := n.compLinks[:0]
	for _, id := range seeds {
		if s := &n.fs[id]; s.mark != ep {
			s.mark = ep
			comp = append(comp, id)
		}
	}
	flows := n.compFlows[:0]
	for i := 0; i < len(comp); i++ {
		l := &n.links[comp[i]]
		// The link's starting point for fill: what the fixed flows leave
		// of its capacity, shared by the entries to fill.
		fixed, cnt := 0.0, int32(0)
		for _, e := range l.flows {
			f := &n.flows[e.slot]
			if f.rate < below {
				fixed += f.rate
				continue
			}
			cnt++
			if f.mark == ep {
				continue
			}
			f.mark = ep
			flows = append(flows, e.slot)
			for _, id := range f.route {
				if s := &n.fs[id]; s.mark != ep {
					s.mark = ep
					comp = append(comp, id)
				}
			}
		}
		s := &n.fs[comp[i]]
		s.rem, s.cnt = l.capacity-fixed, cnt
	}
	n.compLinks, n.compFlows = comp, flows
	n.fill(comp, flows, below)
}

// capItem is a capped flow, copied out so sorting does not chase slots.
type capItem struct {
	cap  float64
	id   FlowID
	slot int32
}

func compareCaps(a, b capItem) int {
	if c := cmp.Compare(a.cap, b.cap); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// heapItem is a link in the bottleneck heap. key is a lower bound on the
// level at which the link saturates, rem/cnt: freezing a flow at a level no
// higher than that can only raise it, so keys are refreshed lazily when they
// reach the top instead of on every freeze.
type heapItem struct {
	key float64
	id  LinkID
}

// fill runs progressive filling on whole components: every unfrozen flow
// rises at the same level; the link (or cap) that saturates at the lowest
// level is the next bottleneck, and its unfrozen flows freeze at that level.
//
// Links sit in a min-heap by saturation level. Each leaves it once, as a
// bottleneck or when its last flow freezes elsewhere, and stale keys are
// refreshed only when they reach the top; so a component with F flows of h
// hops on L links costs O(F·h + (L+R)·log L), R being the refreshes. A linear
// scan of the links per bottleneck, O(B·L) for B bottlenecks, measured 5x
// slower on the 500-flow leaf-spine benchmark and 2x on the 5,000-flow one.
// Capped flows are merged in by cap: a cap is a private link whose level
// never changes.
//
// recompute has set each link's rem and cnt. With from > 0 the flows not in
// flows (not marked) are fixed at their rates, all under from: they only take
// their rates out of rem, and the marked ones fill from level from up.
func (n *Network) fill(comp []LinkID, flows []int32, from float64) {
	h := n.heap[:0]
	ep := n.epoch
	for _, id := range comp {
		s := &n.fs[id]
		s.pos = -1
		if s.cnt > 0 {
			s.pos = int32(len(h))
			h = append(h, heapItem{s.rem / float64(s.cnt), id})
		}
	}
	n.heap = h
	for i := (len(h) - 2) / 4; i >= 0 && len(h) > 1; i-- {
		n.siftDown(i)
	}
	capped := n.capped[:0]
	for _, s := range flows {
		f := &n.flows[s]
		f.frozen = false
		if f.cap > 0 {
			capped = append(capped, capItem{f.cap, f.id, s})
		}
	}
	// Both ways give the (cap, id) order: filter the network's sorted list
	// when the component holds a good share of it, else sort what we have.
	if len(capped) >= len(n.caps)/8 {
		capped = capped[:0]
		for _, c := range n.caps {
			if n.flows[c.slot].mark == n.epoch {
				capped = append(capped, c)
			}
		}
	} else {
		slices.SortFunc(capped, compareCaps)
	}
	n.capped = capped

	// level only rises; clamping to it keeps rounding in rem from freezing a
	// later bottleneck a hair below an earlier one.
	level := from
	next := 0
	// An unfrozen flow keeps its links in the heap, so an empty heap means
	// every flow is frozen.
	for len(n.heap) > 0 {
		// Settle the top: refresh a stale key and re-sift until the top's
		// key is current, and so truly minimal.
		for {
			top := &n.heap[0]
			s := &n.fs[top.id]
			k := s.rem / float64(s.cnt)
			if k <= top.key {
				top.key = k
				break
			}
			top.key = k
			n.siftDown(0)
		}
		for next < len(capped) && n.flows[capped[next].slot].frozen {
			next++
		}
		if next < len(capped) && capped[next].cap < n.heap[0].key {
			f := &n.flows[capped[next].slot]
			level = math.Max(level, f.cap)
			n.freeze(f, level)
			next++
			continue
		}
		id := n.heap[0].id
		level = math.Max(level, n.heap[0].key)
		n.remove(0)
		for _, e := range n.links[id].flows {
			if f := &n.flows[e.slot]; f.mark == ep && !f.frozen {
				n.freeze(f, level)
			}
		}
	}
}

// freeze fixes f's rate at r and takes it out of the links it crosses that
// have not saturated yet. A rate that moves at all puts f on the dirty list;
// Changed applies the tolerance later, against the last reported rate.
func (n *Network) freeze(f *flow, r float64) {
	f.frozen = true
	if f.rate != r {
		f.rate = r
		if !f.dirty {
			f.dirty = true
			n.dirty = append(n.dirty, f.id)
		}
	}
	for _, id := range f.route {
		if s := &n.fs[id]; s.pos >= 0 {
			s.rem -= r
			if s.cnt--; s.cnt == 0 {
				// Saturated by other bottlenecks: dropping it here, usually
				// near the bottom, is cheaper than sifting it off the top.
				n.remove(int(s.pos))
			}
		}
	}
}

// Heap order is by key alone: ties pop in an order fixed by the heap's
// history, which the operations determine, so results still replay exactly.
// The heap is 4-ary: half the depth of a binary one, for a few more compares
// per level over items that share a cache line.
func (n *Network) siftDown(i int) {
	h := n.heap
	x := h[i]
	for {
		c := 4*i + 1
		if c >= len(h) {
			break
		}
		m := c
		for j := c + 1; j < c+4 && j < len(h); j++ {
			if h[j].key < h[m].key {
				m = j
			}
		}
		if h[m].key >= x.key {
			break
		}
		h[i] = h[m]
		n.fs[h[i].id].pos = int32(i)
		i = m
	}
	h[i] = x
	n.fs[x.id].pos = int32(i)
}

func (n *Network) siftUp(i int) {
	h := n.heap
	x := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if h[p].key <= x.key {
			break
		}
		h[i] = h[p]
		n.fs[h[i].id].pos = int32(i)
		i = p
	}
	h[i] = x
	n.fs[x.id].pos = int32(i)
}

// remove takes the link at index i out of the heap.
func (n *Network) remove(i int) {
	h := n.heap
	n.fs[h[i].id].pos = -1
	last := len(h) - 1
	if i != last {
		h[i] = h[last]
	}
	n.heap = h[:last]
	if i != last {
		moved := h[i].id
		n.siftDown(i)
		n.siftUp(int(n.fs[moved].pos))
	}
}
