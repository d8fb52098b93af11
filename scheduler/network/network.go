// Package network models the simulator's data-centre network: nodes joined by
// full-duplex links, fixed routes between nodes, and flows (live migrations)
// that share the directed links they cross by max-min fairness.
//
// A Network is built once (AddNode, AddLink), then flows come and go and links
// go down, come back or degrade. Every such change recomputes the rates of the
// flows it can affect before the call returns, and Changed tells the caller
// which flows need rescheduling. A Network is single-threaded: it holds scratch
// buffers, so callers must not use one from two goroutines.
package network

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// LinkID is an index into the network's directed links. The two directions
// of the link added by the k-th AddLink are 2k (a->b) and 2k+1 (b->a).
type LinkID int32

// FlowID identifies a flow. IDs start at 1 and are never reused.
type FlowID int64

var (
	// ErrNoRoute means no route joins the two nodes: one is unknown,
	// unreachable, or both are the same node.
	ErrNoRoute = errors.New("network: no route")
	// ErrUnknownLink means no link has the given name or ID.
	ErrUnknownLink = errors.New("network: unknown link")
	// ErrDuplicateLink means AddLink was given a name already in use.
	ErrDuplicateLink = errors.New("network: duplicate link")
	// ErrInvalidLink means a link's parameters are unusable: an empty name, a
	// bandwidth that is not positive and finite, a negative latency, or a
	// link from a node to itself.
	ErrInvalidLink = errors.New("network: invalid link")
)

// link is one direction of a full-duplex link.
type link struct {
	name     string
	from, to int32
	latency  time.Duration
	// set is the capacity while up: nominal until degraded. It survives a
	// down/up cycle, so a link that was degraded comes back degraded.
	set float64
	// capacity is what flows share now: 0 while the link is down.
	capacity float64
	// flows holds one entry per traversal by a live flow, in no particular
	// order; a flow that crosses the link twice consumes its rate twice.
	flows []entry
}

// fillState is a link's progressive-filling scratch, kept apart from link so
// the hot loop reads 16 densely packed bytes per link, not a cold struct.
type fillState struct {
	mark uint32  // == Network.epoch: in the component being recomputed
	cnt  int32   // entries of flows not yet frozen
	pos  int32   // index in Network.heap; -1 once saturated
	rem  float64 // capacity not yet taken by frozen flows
}

// entry places a flow on a link: flows[slot].route[hop] is this link.
type entry struct {
	slot int32
	hop  int32
}

// Network is a topology with the flows currently crossing it. The zero value
// is not usable; call New.
type Network struct {
	nodes   []string
	nodeIdx map[string]int32
	out     [][]LinkID // directed links leaving each node

	links  []link
	byName map[string]int32 // name -> k, the pair 2k, 2k+1
	down   []bool           // per pair

	rt routeCache

	flows  []flow // slots; free ones are listed in free
	free   []int32
	slotOf map[FlowID]int32
	lastID FlowID
	dirty  []FlowID // flows whose rate moved since the last Changed

	epoch uint32
	fs    []fillState // per directed link
	// Scratch reused across recomputations to keep them allocation-free.
	compLinks []LinkID
	compFlows []int32
	capped    []capItem
	caps      []capItem // every capped flow, by (cap, id)
	heap      []heapItem
}

// New returns an empty network.
func New() *Network {
	return &Network{
		nodeIdx: make(map[string]int32),
		byName:  make(map[string]int32),
		slotOf:  make(map[FlowID]int32),
	}
}

// Reserve makes room for that many more nodes and full-duplex links, so
// that building a large topology does not grow its tables step by step: plans time their moves on a topology of their own, and at
// 10,000 hosts the growing was most of building one, 288 times a day.
func (n *Network) Reserve(nodes, links int) {
	if len(n.nodeIdx) == 0 && len(n.byName) == 0 {
		n.nodeIdx = make(map[string]int32, nodes)
		n.byName = make(map[string]int32, links)
	}
	n.nodes = slices.Grow(n.nodes, nodes)
	n.out = slices.Grow(n.out, nodes)
	n.down = slices.Grow(n.down, links)
	n.links = slices.Grow(n.links, 2*links)
	n.fs = slices.Grow(n.fs, 2*links)
}

// AddNode registers a node (host or switch) by name and returns its index.
// Adding an existing name returns the index it already has.
func (n *Network) AddNode(name string) int {
	if i, ok := n.nodeIdx[name]; ok {
		return int(i)
	}
	i := int32(len(n.nodes))
	n.nodes = append(n.nodes, name)
	n.out = append(n.out, nil)
	n.nodeIdx[name] = i
	n.rt.reset()
	return int(i)
}

// AddLink adds a full-duplex link called name between nodes a and b, adding
// the nodes if they are new. It creates two directed links, a->b and b->a,
// each with the full bandwidth (bytes/s) and latency. Errors:
// ErrDuplicateLink if name is taken, ErrInvalidLink for an empty name, a
// bandwidth that is not positive and finite, a negative latency or a == b.
// Routes computed before the call are forgotten; flows keep theirs.
func (n *Network) AddLink(name, a, b string, bandwidth float64, latency time.Duration) error {
	_, dup := n.byName[name]
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidLink)
	case dup:
		return fmt.Errorf("%w: %q", ErrDuplicateLink, name)
	case !validBandwidth(bandwidth):
		return fmt.Errorf("%w: %q: bandwidth %v must be positive and finite", ErrInvalidLink, name, bandwidth)
	case latency < 0:
		return fmt.Errorf("%w: %q: negative latency %v", ErrInvalidLink, name, latency)
	case a == b:
		return fmt.Errorf("%w: %q joins %q to itself", ErrInvalidLink, name, a)
	}
	ia, ib := int32(n.AddNode(a)), int32(n.AddNode(b))
	k := int32(len(n.down))
	n.byName[name] = k
	n.down = append(n.down, false)
	for _, d := range [2][2]int32{{ia, ib}, {ib, ia}} {
		id := LinkID(len(n.links))
		n.links = append(n.links, link{
			name: name, from: d[0], to: d[1], latency: latency,
			set: bandwidth, capacity: bandwidth,
		})
		n.fs = append(n.fs, fillState{})
		n.out[d[0]] = append(n.out[d[0]], id)
	}
	n.rt.reset()
	return nil
}

func validBandwidth(bw float64) bool { return bw > 0 && !math.IsInf(bw, 1) }

// NumLinks is the number of directed links; valid LinkIDs are 0..NumLinks()-1.
func (n *Network) NumLinks() int { return len(n.links) }

// LinkByName returns both directions of the named link: ab runs from the a
// given to AddLink to its b.
func (n *Network) LinkByName(name string) (ab, ba LinkID, ok bool) {
	k, ok := n.byName[name]
	if !ok {
		return -1, -1, false
	}
	return LinkID(2 * k), LinkID(2*k + 1), true
}

// LinkName returns the name of the link id belongs to, or "" if id is unknown.
func (n *Network) LinkName(id LinkID) string {
	if !n.valid(id) {
		return ""
	}
	return n.links[id].name
}

// Capacity returns the direction's current capacity in bytes/s: 0 while the
// link is down or if id is unknown.
func (n *Network) Capacity(id LinkID) float64 {
	if !n.valid(id) {
		return 0
	}
	return n.links[id].capacity
}

// Latency is the one-way latency of route: the sum over its links.
func (n *Network) Latency(route []LinkID) time.Duration {
	var d time.Duration
	for _, id := range route {
		d += n.links[id].latency
	}
	return d
}

func (n *Network) valid(id LinkID) bool { return id >= 0 && int(id) < len(n.links) }

// SetDown takes the named link down (both directions to capacity 0) or brings
// it back up at the last capacity set for each direction (nominal unless
// degraded). Setting the state it already has changes nothing. Error:
// ErrUnknownLink.
func (n *Network) SetDown(name string, down bool) error {
	k, ok := n.byName[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownLink, name)
	}
	if n.down[k] == down {
		return nil
	}
	n.down[k] = down
	n.applyCapacity(LinkID(2*k), LinkID(2*k+1))
	return nil
}

// SetDegraded sets both directions of the named link to bandwidth (bytes/s);
// restoring means setting the nominal bandwidth again. While the link is down
// the new bandwidth is remembered and takes effect when it comes up. Errors:
// ErrUnknownLink, ErrInvalidLink for a bandwidth that is not positive and
// finite (use SetDown for an outage).
func (n *Network) SetDegraded(name string, bandwidth float64) error {
	k, ok := n.byName[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownLink, name)
	}
	if !validBandwidth(bandwidth) {
		return fmt.Errorf("%w: %q: bandwidth %v must be positive and finite", ErrInvalidLink, name, bandwidth)
	}
	ab, ba := LinkID(2*k), LinkID(2*k+1)
	n.links[ab].set, n.links[ba].set = bandwidth, bandwidth
	n.applyCapacity(ab, ba)
	return nil
}

// SetCapacity is SetDegraded for one direction only, for asymmetric faults.
// Errors: ErrUnknownLink, ErrInvalidLink.
func (n *Network) SetCapacity(id LinkID, bandwidth float64) error {
	if !n.valid(id) {
		return fmt.Errorf("%w: id %d", ErrUnknownLink, id)
	}
	if !validBandwidth(bandwidth) {
		return fmt.Errorf("%w: %q: bandwidth %v must be positive and finite", ErrInvalidLink, n.links[id].name, bandwidth)
	}
	n.links[id].set = bandwidth
	n.applyCapacity(id)
	return nil
}

// applyCapacity brings the directions' current capacity in line with their
// pair's down state and set capacity, and recomputes the flows affected.
func (n *Network) applyCapacity(ids ...LinkID) {
	changed := ids[:0:0]
	for _, id := range ids {
		l := &n.links[id]
		c := l.set
		if n.down[id/2] {
			c = 0
		}
		if c != l.capacity {
			l.capacity = c
			changed = append(changed, id)
		}
	}
	if len(changed) > 0 {
		n.recompute(changed, 0)
	}
}
