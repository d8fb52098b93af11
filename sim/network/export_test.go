package network

// DropRouteCache forgets every cached route and tree, so that benchmarks can
// time the search itself.
func (n *Network) DropRouteCache() { n.rt.reset() }
