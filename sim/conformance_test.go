package sim_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/backend/backendtest"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/sim"
)

type simHarness struct{ w *sim.World }

func (h simHarness) Backend() backend.Backend { return h.w }

func (h simHarness) Fixture() backendtest.Fixture {
	return backendtest.Fixture{
		Source: "h1", Destination: "h2", VM: "v1", SlowVM: "slow", Transport: cluster.TransportTLS,
		SlowOptions: cluster.MigrationOptions{Bandwidth: 1 << 20},
		Patience:    10 * time.Minute,
	}
}

func (h simHarness) Wait(d time.Duration, cond func() bool) bool { return h.w.Advance(d, cond) }

var _ = Describe("the simulator as a backend", func() {
	backendtest.Specs(func() backendtest.Harness {
		sc := world(3, vm("v1", "h1", 1*GiB, 10*float64(MiB)), vm("slow", "h1", 2*GiB, 0))
		for i := range sc.VMs {
			sc.VMs[i].MACs = []string{cluster.MAC(i + 1)}
		}
		w, err := sim.NewWorld(sc, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		return simHarness{w}
	}, nil)
})
