package network

import (
	"fmt"
	"math"
	"slices"
)

// changeTolerance is the relative rate change below which Changed stays
// quiet: recomputation reorders floating-point sums, and rescheduling a
// migration for a rounding error would only churn the event heap.
const changeTolerance = 1e-9

// flow is one slot of Network.flows.
type flow struct {
	id    FlowID // 0 while the slot is free
	route []LinkID
	pos   []int32 // pos[i]: index of this flow's entry in links[route[i]].flows
	cap   float64 // 0: none
	rate  float64
	// reported is the rate Changed last reported; the caller is scheduled
	// on it, so later changes are measured from it, not from the previous
	// recomputation, and many tiny steps cannot drift unseen.
	reported float64
	fresh    bool // added since the last Changed: reported whatever its rate
	dirty    bool // listed in Network.dirty

	mark   uint32 // == Network.epoch: in the component being recomputed
	frozen bool   // progressive filling has fixed its rate
}

// AddFlow starts a flow along route with a cap in bytes/s (0, negative or NaN
// means none: the cap acts as a private link of that capacity, as libvirt's
// migration bandwidth limit does). It returns the new flow's ID after
// recomputing the rates it affects. The route is copied. A flow with an empty
// route runs at its cap, or at +Inf with none. AddFlow panics if a LinkID is
// out of range: routes come from Route, so that is a programming error.
func (n *Network) AddFlow(route []LinkID, cap float64) FlowID {
	for _, id := range route {
		if !n.valid(id) {
			panic(fmt.Sprintf("network: AddFlow: link %d out of range [0,%d)", id, len(n.links)))
		}
	}
	if !(cap > 0) || math.IsInf(cap, 1) {
		cap = 0
	}
	var slot int32
	if k := len(n.free); k > 0 {
		slot, n.free = n.free[k-1], n.free[:k-1]
	} else {
		slot = int32(len(n.flows))
		n.flows = append(n.flows, flow{})
	}
	n.lastID++
	f := &n.flows[slot]
	*f = flow{
		id:    n.lastID,
		route: append(f.route[:0], route...),
		pos:   f.pos[:0],
		cap:   cap,
		fresh: true,
		dirty: true,
		mark:  f.mark,
	}
	n.slotOf[f.id] = slot
	if cap > 0 {
		c := capItem{cap, f.id, slot}
		i, _ := slices.BinarySearchFunc(n.caps, c, compareCaps)
		n.caps = slices.Insert(n.caps, i, c)
	}
	n.dirty = append(n.dirty, f.id)
	for hop, id := range route {
		l := &n.links[id]
		f.pos = append(f.pos, int32(len(l.flows)))
		l.flows = append(l.flows, entry{slot: slot, hop: int32(hop)})
	}
	if len(route) == 0 {
		f.rate = cap
		if cap == 0 {
			f.rate = math.Inf(1)
		}
	} else if !n.settleAdded(f) {
		below := n.addedLevel(f)
		f.rate = math.Inf(1) // never below: f is filled
		n.recompute(f.route, below)
	}
	return f.id
}

// RemoveFlow ends the flow and recomputes the rates of the flows that shared
// links with it. Unknown IDs are ignored.
func (n *Network) RemoveFlow(id FlowID) {
	slot, ok := n.slotOf[id]
	if !ok {
		return
	}
	f := &n.flows[slot]
	// Decided before f leaves its links: the test reads the loads with it.
	settled := n.removable(f)
	for i, lid := range f.route {
		l := &n.links[lid]
		p, last := f.pos[i], len(l.flows)-1
		if moved := l.flows[last]; int(p) != last {
			l.flows[p] = moved
			n.flows[moved.slot].pos[moved.hop] = p
		}
		l.flows = l.flows[:last]
	}
	delete(n.slotOf, id)
	if f.cap > 0 {
		i, _ := slices.BinarySearchFunc(n.caps, capItem{f.cap, id, slot}, compareCaps)
		n.caps = slices.Delete(n.caps, i, i+1)
	}
	if !settled {
		n.recompute(f.route, refillLevel(f.rate))
	}
	f.id = 0
	n.free = append(n.free, slot)
}

// Rate is the flow's current max-min fair rate in bytes/s: 0 if a link on its
// route is down, and 0 for unknown IDs.
func (n *Network) Rate(id FlowID) float64 {
	slot, ok := n.slotOf[id]
	if !ok {
		return 0
	}
	return n.flows[slot].rate
}

// Changed returns, sorted, the live flows added since the last call and those
// whose rate moved by at least 1e-9 relative from the rate this method last
// reported for them; then it starts a new period. A flow removed in between
// is not listed.
func (n *Network) Changed() []FlowID {
	var out []FlowID
	for _, id := range n.dirty {
		slot, ok := n.slotOf[id]
		if !ok {
			continue
		}
		f := &n.flows[slot]
		f.dirty = false
		if f.fresh || differs(f.rate, f.reported) {
			if out == nil {
				// Sized for the worst at once: growing it was half of
				// this method's time in a 90,000-move plan's timing.
				out = make([]FlowID, 0, len(n.dirty))
			}
			out = append(out, id)
			f.reported, f.fresh = f.rate, false
		}
	}
	n.dirty = n.dirty[:0]
	slices.Sort(out)
	return out
}

// differs reports a relative difference of at least changeTolerance.
func differs(a, b float64) bool {
	if a == b {
		return false
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return true
	}
	return math.Abs(a-b) >= changeTolerance*math.Max(math.Abs(a), math.Abs(b))
}

// Flows returns the IDs of live flows, sorted.
func (n *Network) Flows() []FlowID {
	out := make([]FlowID, 0, len(n.slotOf))
	for id := range n.slotOf {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// LinkLoad returns the sum of the rates of the flows on the link direction,
// counting a flow once per traversal.
func (n *Network) LinkLoad(id LinkID) float64 {
	if !n.valid(id) {
		return 0
	}
	var sum float64
	for _, e := range n.links[id].flows {
		sum += n.flows[e.slot].rate
	}
	return sum
}
