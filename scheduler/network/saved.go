package network

import "slices"

// Flows is a copy of a network's flows, their rates and the order they sit
// in on each link, taken by SaveFlows and put back by RestoreFlows. A plan
// timer keeps a few of them to resume a timing instead of repeating it.
//
// The order of a link's entries is kept too: refills sum rates and build
// their heap in that order, so a network restored with the same flows added
// in another order could round differently, and exact replays are the point.
type Flows struct {
	flows  []flow
	free   []int32
	lastID FlowID
	dirty  []FlowID
	caps   []capItem
	links  []LinkID  // links carrying a flow,
	on     [][]entry // and their entries
}

// SaveFlows copies the network's flows. Links and their capacities are not
// part of it: a saved state is only restored into the network it came from,
// with the same links.
func (n *Network) SaveFlows() *Flows {
	s := &Flows{
		flows:  make([]flow, len(n.flows)),
		free:   slices.Clone(n.free),
		lastID: n.lastID,
		dirty:  slices.Clone(n.dirty),
		caps:   slices.Clone(n.caps),
	}
	seen := map[LinkID]bool{}
	for i := range n.flows {
		f := &n.flows[i]
		if f.id == 0 {
			continue
		}
		c := *f
		c.route, c.pos = slices.Clone(f.route), slices.Clone(f.pos)
		s.flows[i] = c
		for _, id := range f.route {
			if !seen[id] {
				seen[id] = true
				s.links = append(s.links, id)
				s.on = append(s.on, slices.Clone(n.links[id].flows))
			}
		}
	}
	return s
}

// RestoreFlows puts back the flows of s, saved from this network, in place
// of the ones it carries now. s is not changed and can be restored again.
func (n *Network) RestoreFlows(s *Flows) {
	for i := range n.flows {
		if f := &n.flows[i]; f.id != 0 {
			for _, id := range f.route {
				n.links[id].flows = n.links[id].flows[:0]
			}
		}
	}
	n.flows = n.flows[:0]
	clear(n.slotOf)
	for i := range s.flows {
		f := s.flows[i]
		if f.id != 0 {
			f.route, f.pos = slices.Clone(f.route), slices.Clone(f.pos)
			n.slotOf[f.id] = int32(i)
		}
		n.flows = append(n.flows, f)
	}
	n.free = append(n.free[:0], s.free...)
	// IDs stay unique over the network's life: the flows added from here
	// take IDs above every earlier one, in the order they would have had.
	n.lastID = max(n.lastID, s.lastID)
	n.dirty = append(n.dirty[:0], s.dirty...)
	n.caps = append(n.caps[:0], s.caps...)
	for i, id := range s.links {
		n.links[id].flows = append(n.links[id].flows[:0], s.on[i]...)
	}
}
