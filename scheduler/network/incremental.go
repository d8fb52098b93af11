package network

import "math"

// Shortcuts that settle an AddFlow or RemoveFlow without progressive filling.
//
// Both rest on the uniqueness of the max-min allocation: an allocation is the
// max-min fair one iff it is feasible and every flow has a bottleneck, its cap
// or a saturated link on which no flow gets more. The network holds that
// allocation before the change, so if the old rates (plus the new flow's)
// still satisfy the condition after it, they are the answer and no other
// rate moves. Each test below only admits changes that cannot touch any
// existing flow's bottleneck: it reads the links on the changed flow's route
// and the flows on them, which costs far less than refilling the component
// when, as in a zone evacuation, most migrations run at their NIC cap on
// links with room to spare. Anything the tests do not admit goes through
// recompute, so they only need to be sufficient, never complete.

// satTol is the relative margin under a link's capacity from which the link
// counts as saturated, and under a cap from which a flow counts as at its cap.
// Rates from progressive filling reach a bottleneck to within a few rounding
// errors, far inside it; a link or flow wrongly counted as saturated or
// uncapped only sends the change through a full recomputation.
const satTol = 1e-9

// maxShortcutHops bounds the routes the shortcuts handle: they look for a
// link the route crosses twice by comparing hops pairwise.
const maxShortcutHops = 16

// linkLoad sums the rates of the entries on link id.
func (n *Network) linkLoad(id LinkID) float64 {
	var sum float64
	for _, e := range n.links[id].flows {
		sum += n.flows[e.slot].rate
	}
	return sum
}

// simpleRoute reports whether route is short and crosses no link twice.
func simpleRoute(route []LinkID) bool {
	if len(route) > maxShortcutHops {
		return false
	}
	for i := 1; i < len(route); i++ {
		for j := 0; j < i; j++ {
			if route[i] == route[j] {
				return false
			}
		}
	}
	return true
}

// saturated reports whether a link carrying load counts as full.
func saturated(load, capacity float64) bool {
	return load >= capacity*(1-satTol)
}

// settleAdded tries to give the just-attached flow f its rate without
// touching any other: it reports false, leaving f.rate unspecified, when a
// recomputation is needed.
//
// The old rates stay max-min fair with f added at rate r if no link on f's
// route was saturated before (so no existing flow has its bottleneck there),
// the route has room for r on every link, and f has a bottleneck at r: its
// cap, or a link f fills and on which no flow is faster. A capped flow tries
// r = cap; an uncapped one r = the least room left on its route.
func (n *Network) settleAdded(f *flow) bool {
	if !simpleRoute(f.route) {
		return false
	}
	f.rate = 0
	room := 0.0
	for i, id := range f.route {
		c := n.links[id].capacity
		load := n.linkLoad(id) // f counts 0
		if saturated(load, c) {
			return false
		}
		if r := c - load; i == 0 || r < room {
			room = r
		}
	}
	if f.cap > 0 {
		if f.cap > room {
			// Some link might still fit f.cap once rounding is
			// accounted for, but then it is all but saturated: refill.
			return false
		}
		// Check the sum as progressive filling's users will see it.
		f.rate = f.cap
		for _, id := range f.route {
			if n.linkLoad(id) > n.links[id].capacity {
				f.rate = 0
				return false
			}
		}
		return true
	}
	if !(room > 0) {
		return false
	}
	// f fills the tightest link; it needs one where no other flow is faster.
	for _, id := range f.route {
		c := n.links[id].capacity
		if c-n.linkLoad(id) != room {
			continue
		}
		fastest := true
		for _, e := range n.links[id].flows {
			if n.flows[e.slot].rate > room {
				fastest = false
				break
			}
		}
		if fastest {
			f.rate = room
			return true
		}
	}
	return false
}

// removable reports whether flow f, still attached, can leave without moving
// any other rate: every link on its route either was not saturated, so no
// flow has its bottleneck there, or carries no other flow below its cap, so
// every flow on it keeps its cap as bottleneck.
func (n *Network) removable(f *flow) bool {
	if !simpleRoute(f.route) {
		return false
	}
	for _, id := range f.route {
		l := &n.links[id]
		if !saturated(n.linkLoad(id), l.capacity) {
			continue
		}
		for _, e := range l.flows {
			g := &n.flows[e.slot]
			if g == f {
				continue
			}
			if !(g.cap > 0 && g.rate >= g.cap*(1-satTol)) {
				return false
			}
		}
	}
	return true
}

// Partial refills. Progressive filling raises every flow at one level and
// freezes flows as links (or caps) saturate, in order of level. A change to
// one flow f leaves every freezing event below some level L exactly as it
// was, so the flows whose rates are under L keep them, and only the others
// need filling again, on top of the fixed ones (recompute's below, fill's
// from). Filling the rest from a lower threshold than L is exact too: the
// fixed flows must be exactly those that freeze below the threshold in the
// new allocation, which any threshold up to L gives. Each threshold below is
// lowered by refillMargin so that rounding in the old rates or in L cannot
// fix a flow whose event sits at L itself.
const refillMargin = 1e-9

// refillLevel is the threshold for removing a flow that had rate r: below r,
// no link on its route had saturated (it would have frozen the flow), and
// without the flow those links only saturate later, so every event under r
// happens as before.
func refillLevel(r float64) float64 {
	if !(r > 0) || math.IsInf(r, 1) {
		return 0
	}
	return r * (1 - refillMargin)
}

// addedLevel is the threshold for adding flow f, attached to its links but
// not yet filled: the level at which the new filling first involves f, at
// its cap or at a link on its route saturating. Up to that level every other
// flow rises and freezes as before, so the load on a link of f's route at
// level x is the sum over its other flows of min(old rate, x), plus x per
// traversal by f; the link saturates where that reaches its capacity, found
// by water-filling over the old rates (at most one pass per flow on the
// link, usually two or three).
func (n *Network) addedLevel(f *flow) float64 {
	t := math.Inf(1)
	if f.cap > 0 {
		t = f.cap
	}
	for _, id := range f.route {
		l := &n.links[id]
		c := l.capacity
		if !(c > 0) {
			return 0
		}
		mult := 0
		for _, e := range l.flows {
			if &n.flows[e.slot] == f {
				mult++
			}
		}
		x := c / float64(len(l.flows))
		for range len(l.flows) + 1 {
			sum, rising := 0.0, mult
			for _, e := range l.flows {
				g := &n.flows[e.slot]
				switch {
				case g == f:
				case g.rate < x:
					sum += g.rate
				default:
					rising++
				}
			}
			nx := (c - sum) / float64(rising)
			if !(nx > x) {
				break
			}
			x = nx
		}
		t = min(t, x)
	}
	if !(t > 0) || math.IsInf(t, 1) {
		return 0
	}
	return t * (1 - refillMargin)
}
