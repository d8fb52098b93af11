package network_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/droverlab/drover/scheduler/network"
)

// benchRoutes draws host pairs on a 1,000-host leaf-spine (40 racks, 1.25e9
// B/s host links, uplinks at a third of a rack's host bandwidth) and routes
// them, so the flow benchmark times rate recomputation and nothing else.
// With inRack, both ends share a rack, which splits the flows into one
// component per rack.
func benchRoutes(count int, inRack bool) (*network.Network, [][]network.LinkID) {
	n, hs := leafSpine(1000, 40, 1.25e9)
	r := rand.New(rand.NewPCG(1, 2))
	routes := make([][]network.LinkID, 0, count)
	for len(routes) < count {
		i, j := r.IntN(len(hs)), r.IntN(len(hs))
		if inRack {
			j = i/25*25 + r.IntN(25)
		}
		if i == j {
			continue
		}
		route, err := n.Route(hs[i], hs[j])
		if err != nil {
			panic(err)
		}
		routes = append(routes, route)
	}
	return n, routes
}

// BenchmarkAddRemoveFlow keeps a fixed number of migrations running: each op
// ends the oldest flow, starts a new one (a third carry a libvirt-style cap)
// and collects Changed, as the simulator does on every migration event.
func BenchmarkAddRemoveFlow(b *testing.B) {
	for _, c := range []struct {
		live   int
		inRack bool
	}{{500, false}, {5000, false}, {5000, true}} {
		name := fmt.Sprintf("flows=%d", c.live)
		if c.inRack {
			name += "/in-rack"
		}
		live := c.live
		b.Run(name, func(b *testing.B) {
			n, routes := benchRoutes(8192, c.inRack)
			r := rand.New(rand.NewPCG(3, 4))
			add := func() network.FlowID {
				c := 0.0
				if r.IntN(3) == 0 {
					c = 1e8 + r.Float64()*4e8
				}
				return n.AddFlow(routes[r.IntN(len(routes))], c)
			}
			ring := make([]network.FlowID, live)
			for i := range ring {
				ring[i] = add()
			}
			n.Changed()
			changed, i := 0, 0
			for b.Loop() {
				n.RemoveFlow(ring[i])
				ring[i] = add()
				changed += len(n.Changed())
				i = (i + 1) % live
			}
			b.ReportMetric(float64(changed)/float64(b.N), "changed/op")
		})
	}
}

// BenchmarkRoute times route lookups between random hosts of the same
// leaf-spine: cached pairs, and cold ones that need a search from the source.
func BenchmarkRoute(b *testing.B) {
	n, hs := leafSpine(1000, 40, 1.25e9)
	r := rand.New(rand.NewPCG(5, 6))
	pairs := make([][2]string, 4096)
	for i := range pairs {
		pairs[i] = [2]string{hs[r.IntN(len(hs))], hs[r.IntN(len(hs))]}
		for pairs[i][0] == pairs[i][1] {
			pairs[i][1] = hs[r.IntN(len(hs))]
		}
	}
	b.Run("cached", func(b *testing.B) {
		for _, p := range pairs {
			if _, err := n.Route(p[0], p[1]); err != nil {
				b.Fatal(err)
			}
		}
		i := 0
		for b.Loop() {
			p := pairs[i%len(pairs)]
			if _, err := n.Route(p[0], p[1]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("cold", func(b *testing.B) {
		i := 0
		for b.Loop() {
			n.DropRouteCache()
			p := pairs[i%len(pairs)]
			if _, err := n.Route(p[0], p[1]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkEvacuation mirrors the simulator's zone evacuation: a 10,000-host
// leaf-spine (400 racks of 25, host links 6.25e9 B/s, uplinks oversubscribed
// 3:1) with 200 migrations in flight, each from a host in one half to a host
// in the other and capped at one 25 Gbit/s NIC port. Each op ends the oldest
// migration, starts a new one and collects Changed. In "spread" the hosts
// are drawn from whole halves, so nearly every migration runs at its cap; in
// "hot" the destinations come from 60 hosts, so their links saturate and
// most changes move other rates, as placement's favourites do in the
// simulated day.
func BenchmarkEvacuation(b *testing.B) {
	for _, hot := range []int{0, 60} {
		name := "spread"
		if hot > 0 {
			name = "hot"
		}
		b.Run(name, func(b *testing.B) {
			const live = 200
			n, hs := leafSpine(10000, 400, 6.25e9)
			r := rand.New(rand.NewPCG(7, 8))
			half := len(hs) / 2
			routes := make([][]network.LinkID, 8192)
			for i := range routes {
				dst := half + r.IntN(half)
				if hot > 0 {
					dst = half + r.IntN(hot)*(half/hot)
				}
				route, err := n.Route(hs[r.IntN(half)], hs[dst])
				if err != nil {
					b.Fatal(err)
				}
				routes[i] = route
			}
			add := func() network.FlowID { return n.AddFlow(routes[r.IntN(len(routes))], 3.125e9) }
			ring := make([]network.FlowID, live)
			for i := range ring {
				ring[i] = add()
			}
			n.Changed()
			changed, i := 0, 0
			for b.Loop() {
				n.RemoveFlow(ring[i])
				ring[i] = add()
				changed += len(n.Changed())
				i = (i + 1) % live
			}
			b.ReportMetric(float64(changed)/float64(b.N), "changed/op")
		})
	}
}
