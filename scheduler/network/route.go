package network

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// treeBudget bounds the shortest-path trees kept, in entries (one LinkID per
// node per tree): about 32 MiB, or some 800 sources at 10,000 hosts. Past it
// the trees are dropped and rebuilt on demand; routes already asked for stay.
// Hosts with one NIC link borrow their switch's tree (see route), so a
// leaf-spine fabric needs one tree per rack: 400 at 10,000 hosts, which the
// budget keeps with room to spare.
const treeBudget = 1 << 23

// routeCache keeps routes per (src, dst) pair, and the shortest-path tree of
// each recent source so that further destinations from it cost a walk, not a
// search. Both depend on topology only, never on link state.
type routeCache struct {
	pairs       map[[2]int32][]LinkID // nil value: unreachable
	trees       map[int32][]LinkID    // per source: the link into each node, -1 if none
	treeEntries int

	// BFS scratch.
	dist     []int32
	lat      []time.Duration
	rank     []int32 // a node's route's position in its layer, by names
	ranked   int     // layers below this one have ranks
	order    []int32
	starts   []int
	scratch  []int32
	building []LinkID // the tree under construction
}

func (c *routeCache) reset() {
	c.pairs = nil
	c.trees = nil
	c.treeEntries = 0
}

// Route returns the directed links from node src to node dst: fewest hops,
// ties broken by lowest total latency, then by the lexicographically smallest
// sequence of link names. Routes ignore link state: a flow routed over a link
// that is down stalls at rate 0, as a migration on a fixed path would. The
// returned slice is shared with the cache and must not be modified. Error:
// ErrNoRoute if either node is unknown, dst is unreachable, or src == dst.
func (n *Network) Route(src, dst string) ([]LinkID, error) {
	s, ok := n.nodeIdx[src]
	if !ok {
		return nil, fmt.Errorf("%w: unknown node %q", ErrNoRoute, src)
	}
	d, ok := n.nodeIdx[dst]
	if !ok {
		return nil, fmt.Errorf("%w: unknown node %q", ErrNoRoute, dst)
	}
	if s == d {
		return nil, fmt.Errorf("%w: %q to itself", ErrNoRoute, src)
	}
	key := [2]int32{s, d}
	r, ok := n.rt.pairs[key]
	if !ok {
		r = n.route(s, d)
		if n.rt.pairs == nil {
			n.rt.pairs = make(map[[2]int32][]LinkID)
		}
		n.rt.pairs[key] = r
	}
	if r == nil {
		return nil, fmt.Errorf("%w: %q to %q", ErrNoRoute, src, dst)
	}
	return r, nil
}

// route finds the best route from s to d, nil if there is none.
//
// A node with a single link out (a host's NIC to its top-of-rack switch)
// reaches every other node through that link's far end t, so its best
// route is that link followed by t's best route: one hop more for all,
// the same latency added to all, and the same first name, so the order
// of fewest hops, then latency, then names is decided by the rest. The
// rest never comes back through s (it would cross the link to t twice).
// Asking for t's tree instead of s's keeps the trees in the cache to one
// per switch: at 10,000 hosts an evacuation from thousands of sources
// rebuilt a 10,000-node tree for almost every move, as no budget keeps
// thousands of trees.
func (n *Network) route(s, d int32) []LinkID {
	out := n.out[s]
	if len(out) != 1 {
		return n.walk(n.tree(s), s, d)
	}
	first := out[0]
	t := n.links[first].to
	if t == d {
		return []LinkID{first}
	}
	rest := n.walk(n.tree(t), t, d)
	if rest == nil {
		return nil
	}
	r := make([]LinkID, 0, 1+len(rest))
	return append(append(r, first), rest...)
}

// walk reads the route to d out of the tree rooted at s; nil if unreachable.
func (n *Network) walk(tree []LinkID, s, d int32) []LinkID {
	hops := 0
	for v := d; v != s; v = n.links[tree[v]].from {
		if tree[v] < 0 {
			return nil
		}
		hops++
	}
	r := make([]LinkID, hops)
	for v := d; v != s; v = n.links[tree[v]].from {
		hops--
		r[hops] = tree[v]
	}
	return r
}

// tree returns, for every node, the last link of the best route from src to
// it (-1 for src and unreachable nodes).
//
// It is a BFS by layers. Within a layer the best route to v is chosen among
// the predecessors u one layer up by (latency, order of u's route, name of
// the link u->v). That is exact because routes in one layer have equal length:
// a best route's prefix must be a best route to u (a faster or, at equal
// latency, lexicographically smaller prefix would improve it), and comparing
// two candidate routes name by name decides at the prefixes unless both come
// through the same u. So it is enough to rank a layer's routes in name order
// (sort by (rank of u, link name); names are unique per node, so the order is
// total) and compare ranks instead of walking sequences. Ranking is done only
// when a tie needs it: in a tree-like fabric most nodes have one predecessor,
// and sorting every layer cost a third of the search.
func (n *Network) tree(src int32) []LinkID {
	if t, ok := n.rt.trees[src]; ok {
		return t
	}
	c := &n.rt
	nn := len(n.nodes)
	parent := make([]LinkID, nn)
	c.dist = grow(c.dist, nn)
	c.lat = grow(c.lat, nn)
	c.rank = grow(c.rank, nn)
	for i := range parent {
		parent[i] = -1
		c.dist[i] = -1
	}
	dist, lat := c.dist, c.lat
	dist[src], lat[src], c.rank[src] = 0, 0, 0
	// order holds the nodes in BFS order, layer k at order[starts[k]:starts[k+1]].
	order := append(c.order[:0], src)
	starts := append(c.starts[:0], 0, 1)
	c.ranked, c.building = 1, parent
	for d := int32(1); ; d++ {
		layer := order[starts[d-1]:starts[d]]
		if len(layer) == 0 {
			break
		}
		for _, u := range layer {
			for _, id := range n.out[u] {
				l := &n.links[id]
				v, t := l.to, lat[u]+l.latency
				switch {
				case dist[v] < 0:
					dist[v], lat[v], parent[v] = d, t, id
					order = append(order, v)
				case dist[v] == d && n.better(t, u, id, lat[v], parent[v], int(d-1), order, starts):
					lat[v], parent[v] = t, id
				}
			}
		}
		starts = append(starts, len(order))
	}
	c.order, c.starts, c.building = order, starts, nil

	if c.treeEntries+nn > treeBudget {
		c.trees, c.treeEntries = nil, 0
	}
	if c.trees == nil {
		c.trees = make(map[int32][]LinkID)
	}
	c.trees[src] = parent
	c.treeEntries += nn
	return parent
}

// better reports whether reaching a node at latency t over link id from u, in
// layer k, beats the current best, reached at latency cur over link curID.
func (n *Network) better(t time.Duration, u int32, id LinkID, cur time.Duration, curID LinkID, k int, order []int32, starts []int) bool {
	if t != cur {
		return t < cur
	}
	cu := n.links[curID].from
	if u == cu {
		return n.links[id].name < n.links[curID].name
	}
	n.rankLayers(k, order, starts)
	return n.rt.rank[u] < n.rt.rank[cu]
}

// rankLayers ranks the routes of layers up to k in name order, each from
// the ranks of the layer above.
func (n *Network) rankLayers(k int, order []int32, starts []int) {
	c := &n.rt
	for ; c.ranked <= k; c.ranked++ {
		byName := append(c.scratch[:0], order[starts[c.ranked]:starts[c.ranked+1]]...)
		slices.SortFunc(byName, func(a, b int32) int {
			la, lb := &n.links[c.building[a]], &n.links[c.building[b]]
			if r := cmp.Compare(c.rank[la.from], c.rank[lb.from]); r != 0 {
				return r
			}
			return strings.Compare(la.name, lb.name)
		})
		for i, v := range byName {
			c.rank[v] = int32(i)
		}
		c.scratch = byName
	}
}

func grow[T any](s []T, size int) []T {
	if cap(s) < size {
		return make([]T, size)
	}
	return s[:size]
}
