package evacuate_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
	"github.com/droverlab/drover/scheduler/precopy"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

func TestEvacuate(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "evacuate")
}

// cluster16 has 16 hosts with 10 VMs each of mixed sizes, drawn with
// Ginkgo's seed.
func cluster16() *cluster.Snapshot { return cluster16Seed(uint64(GinkgoRandomSeed())) }

func cluster16Seed(seed uint64) *cluster.Snapshot {
	var hosts []cluster.Host
	var vms []cluster.VM
	r := rand.New(rand.NewPCG(seed, 1))
	sizes := []int64{2, 4, 8, 16, 2, 4, 8, 2, 4, 6}
	for h := range 16 {
		name := fmt.Sprintf("h%02d", h)
		hosts = append(hosts, MakeHost(name).Obj())
		for i := range sizes {
			s := sizes[r.IntN(len(sizes))]
			vms = append(vms, MakeVM(fmt.Sprintf("v%02d-%d", h, i), name).Memory(s*GiB).Resident(s*GiB*7/10).WSS(s*GiB/10).
				DirtyRate(float64(5+i*5)*float64(MiB)).Obj())
		}
	}
	return Snapshot(hosts, vms)
}

func input(snap *cluster.Snapshot, drain ...string) *policy.Input {
	return &policy.Input{Snap: snap, Drain: drain, Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{SetupTime: 500 * time.Millisecond}.WithDefaults(),
	}}
}

var _ = Describe("evacuate", func() {
	// Over 60 seeds the ratio ran from 1.014 to 1.093 (median 1.041); one
	// seed of CI's gave 1.108. Fixed seeds keep the figure honest and the
	// test stable: a mean within 1.06, each within 1.13 (the calibrated
	// profile's per-sync pauses cost seed 17 a 1.123).
	It("drains the hosts within about 1.05x of the lower bound", func() {
		var sum float64
		const n = 20
		for seed := range uint64(n) {
			p, err := must(evacuate.New(evacuate.Args{})).Plan(input(cluster16Seed(seed+1), "h03", "h07"))
			Expect(err).NotTo(HaveOccurred())
			Expect(p.Moves).To(HaveLen(20))
			Expect(p.Unplaced).To(BeEmpty())
			for _, m := range p.Moves {
				Expect(m.Destination).NotTo(BeElementOf("h03", "h07"))
				Expect(m.Predicted.Outcome).To(Equal(cluster.OutcomeCompleted))
			}
			Expect(p.Ratio()).To(BeNumerically("<=", 1.13), "seed %d: makespan %s, lower bound %s", seed+1, p.Makespan, p.LowerBound)
			sum += p.Ratio()
		}
		GinkgoWriter.Printf("mean makespan / lower bound over %d clusters: %.3f\n", n, sum/n)
		Expect(sum / n).To(BeNumerically("<=", 1.06))
	})

	It("leaves a pinned VM where it is and says why", func() {
		snap := cluster16()
		for i := range snap.VMs {
			if snap.VMs[i].Host == "h03" && snap.VMs[i].Name == "v03-0" {
				snap.VMs[i].Pinned = "local file disk vda (/srv/v03-0.qcow2) without shared storage"
			}
		}
		p, err := must(evacuate.New(evacuate.Args{})).Plan(input(snap, "h03"))
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Moves).To(HaveLen(9))
		Expect(p.Unplaced).To(HaveLen(1))
		Expect(p.Unplaced[0].VM).To(Equal("v03-0"))
		Expect(p.Unplaced[0].Reason).To(ContainSubstring("refused by " + filter.PinnedName))
	})

	It("beats the fixed-batch baseline (by 25% and more on the bundled scenarios, see sim/examples_test.go)", func() {
		planned, err := must(evacuate.New(evacuate.Args{})).Plan(input(cluster16(), "h03", "h07"))
		Expect(err).NotTo(HaveOccurred())
		batch, err := must(evacuate.New(evacuate.Args{Strategy: evacuate.StrategyFixedBatch})).Plan(input(cluster16(), "h03", "h07"))
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("planned %s fixed-batch %s\n", planned.Makespan, batch.Makespan)
		// Two hosts of ten random VMs: the batches' waste varies with
		// the sizes drawn, so only "clearly shorter" holds for every draw.
		Expect(float64(planned.Makespan)).To(BeNumerically("<=", 0.9*float64(batch.Makespan)))
	})
})

func must[T any](v T, err error) T {
	Expect(err).NotTo(HaveOccurred())
	return v
}
