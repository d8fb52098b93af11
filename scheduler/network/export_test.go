package network

// DropRouteCache forgets every cached route and tree, so that benchmarks can
// time the search itself.
func (n *Network) DropRouteCache() { n.rt.reset() }

// RecomputeAll refills every flow from scratch, so that tests can compare
// the incremental paths with a full progressive filling.
func (n *Network) RecomputeAll() {
	all := make([]LinkID, len(n.links))
	for i := range all {
		all[i] = LinkID(i)
	}
	n.recompute(all, 0)
}

// TreeRoute is the route from src to dst read out of src's own
// shortest-path tree, without the single-link shortcut of Route.
func (n *Network) TreeRoute(src, dst string) []LinkID {
	s, d := n.nodeIdx[src], n.nodeIdx[dst]
	return n.walk(n.tree(s), s, d)
}
