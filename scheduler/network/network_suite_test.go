package network_test

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/network"
)

func TestNetwork(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "sim/network")
}

// rng gives each spec its own stream from Ginkgo's seed, so one spec's draws
// never shift another's and --seed replays any of them.
func rng(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), h.Sum64()))
}

func mustLink(n *network.Network, name, a, b string, bw float64, lat time.Duration) {
	GinkgoHelper()
	Expect(n.AddLink(name, a, b, bw, lat)).To(Succeed())
}

func mustRoute(n *network.Network, src, dst string) []network.LinkID {
	GinkgoHelper()
	r, err := n.Route(src, dst)
	Expect(err).NotTo(HaveOccurred())
	return r
}

func names(n *network.Network, route []network.LinkID) []string {
	out := make([]string, len(route))
	for i, id := range route {
		out[i] = n.LinkName(id)
	}
	return out
}

// leafSpine builds hosts h0000.. spread evenly over racks, each on its own
// link to its rack's leaf, and every leaf on one uplink to a single spine
// sized at a third of the rack's host bandwidth (3:1 oversubscription).
func leafSpine(hosts, racks int, hostBW float64) (*network.Network, []string) {
	n := network.New()
	perRack := hosts / racks
	up := float64(perRack) * hostBW / 3
	var hs []string
	for r := range racks {
		leaf := fmt.Sprintf("leaf-r%02d", r)
		if err := n.AddLink(fmt.Sprintf("rack-r%02d", r), leaf, "spine", up, 5*time.Microsecond); err != nil {
			panic(err)
		}
		for i := range perRack {
			h := fmt.Sprintf("h%04d", r*perRack+i)
			if err := n.AddLink(h, h, leaf, hostBW, 2*time.Microsecond); err != nil {
				panic(err)
			}
			hs = append(hs, h)
		}
	}
	return n, hs
}
