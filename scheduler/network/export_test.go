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
