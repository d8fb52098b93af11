package scenarios_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scenarios"
)

var _ = Describe("Generate", func() {
	It("writes a loadable 1000-host, 20000-VM scenario", func() {
		data, err := scenarios.Generate(scenarios.GenOptions{Hosts: 1000, VMs: 20000, Seed: 1})
		Expect(err).NotTo(HaveOccurred())
		Expect(len(data)).To(BeNumerically("<", 200_000), "ranges keep the file small")
		sc, err := scenarios.Parse("gen.yaml", data)
		Expect(err).NotTo(HaveOccurred())

		Expect(sc.Hosts).To(HaveLen(1000))
		Expect(sc.VMs).To(HaveLen(20000))
		Expect(sc.Zones).To(HaveLen(2))
		racks := 0
		for _, z := range sc.Zones {
			racks += len(z.Racks)
		}
		Expect(racks).To(Equal(40))
		Expect(sc.Network.Topology).To(Equal(scenarios.TopologyLeafSpine))
		Expect(sc.Network.Links).To(HaveLen(1000 + 40))
		Expect(sc.Sim.Duration).To(Equal(24 * time.Hour))

		kinds := map[scenarios.EventKind]int{}
		for _, e := range sc.Events {
			kinds[e.Kind]++
		}
		Expect(kinds[scenarios.EventLoadSpike]).To(BeNumerically(">=", 2))
		Expect(kinds[scenarios.EventMaintenance]).To(BeNumerically(">=", 2))
		Expect(kinds[scenarios.EventDisasterWarning]).To(Equal(1))

		demand := map[scenarios.DemandKind]int{}
		sizes := map[int64]bool{}
		for _, v := range sc.VMs {
			demand[v.Demand.Kind]++
			sizes[v.Memory] = true
		}
		Expect(demand[scenarios.DemandRandomWalk]).To(BeNumerically(">", demand[scenarios.DemandConstant]))
		Expect(demand[scenarios.DemandConstant]).To(BeNumerically(">", 0))
		Expect(len(sizes)).To(BeNumerically(">=", 3), "mixed VM sizes")
	})

	It("is byte-identical for the same seed and differs for another", func() {
		a, err := scenarios.Generate(scenarios.GenOptions{Hosts: 200, VMs: 3000, Seed: 7})
		Expect(err).NotTo(HaveOccurred())
		b, err := scenarios.Generate(scenarios.GenOptions{Hosts: 200, VMs: 3000, Seed: 7})
		Expect(err).NotTo(HaveOccurred())
		Expect(a).To(Equal(b))
		c, err := scenarios.Generate(scenarios.GenOptions{Hosts: 200, VMs: 3000, Seed: 8})
		Expect(err).NotTo(HaveOccurred())
		Expect(c).NotTo(Equal(a))
	})

	It("scales to 10000 hosts and 200000 VMs", func() {
		// How fast is BenchmarkGenerate's and BenchmarkLoadGenerated's
		// (make bench), not a timed test's.
		data, err := scenarios.Generate(scenarios.GenOptions{Hosts: 10000, VMs: 200000, Seed: 1})
		Expect(err).NotTo(HaveOccurred())
		sc, err := scenarios.Parse("gen.yaml", data)
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Hosts).To(HaveLen(10000))
		Expect(sc.VMs).To(HaveLen(200000))
		Expect(sc.Network.Links).To(HaveLen(10000 + 400))
	})

	DescribeTable("other shapes load too",
		func(opts scenarios.GenOptions) {
			data, err := scenarios.Generate(opts)
			Expect(err).NotTo(HaveOccurred())
			sc, err := scenarios.Parse("gen.yaml", data)
			Expect(err).NotTo(HaveOccurred(), "%s", data)
			Expect(sc.Hosts).To(HaveLen(opts.Hosts))
			Expect(sc.VMs).To(HaveLen(opts.VMs))
		},
		Entry("one host, no VMs", scenarios.GenOptions{Hosts: 1}),
		Entry("tiny", scenarios.GenOptions{Hosts: 3, VMs: 7, Seed: 3}),
		Entry("three zones", scenarios.GenOptions{Hosts: 7, VMs: 100, Racks: 3, Zones: 3, Seed: 5}),
		Entry("dense: 200 VMs per host", scenarios.GenOptions{Hosts: 10, VMs: 2000, Seed: 9}),
		Entry("short run", scenarios.GenOptions{Hosts: 50, VMs: 500, Duration: 10 * time.Minute, SampleInterval: time.Minute}),
		Entry("many zones", scenarios.GenOptions{Hosts: 60, VMs: 600, Racks: 30, Zones: 30, Seed: 2}),
	)

	DescribeTable("refuses impossible options",
		func(opts scenarios.GenOptions, want string) {
			_, err := scenarios.Generate(opts)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("no hosts", scenarios.GenOptions{}, "at least one host"),
		Entry("negative VMs", scenarios.GenOptions{Hosts: 1, VMs: -1}, "VM count"),
		Entry("more racks than hosts", scenarios.GenOptions{Hosts: 2, Racks: 3}, "racks"),
		Entry("more zones than racks", scenarios.GenOptions{Hosts: 2, Racks: 1, Zones: 2}, "zones"),
	)
})

// BenchmarkLoadGenerated1000 parses the generated 1000-host, 20000-VM file.
func BenchmarkLoadGenerated1000(b *testing.B) {
	benchLoad(b, scenarios.GenOptions{Hosts: 1000, VMs: 20000, Seed: 1})
}

// The generator and the loader at the size the tests check, as
// benchmarks: BENCHMARKS.md records their figures.
func BenchmarkGenerate10kHosts(b *testing.B) {
	for b.Loop() {
		if _, err := scenarios.Generate(scenarios.GenOptions{Hosts: 10000, VMs: 200000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadGenerated10kHosts(b *testing.B) {
	benchLoad(b, scenarios.GenOptions{Hosts: 10000, VMs: 200000, Seed: 1})
}

// benchLoad times loading the scenario opts generates.
func benchLoad(b *testing.B, opts scenarios.GenOptions) {
	data, err := scenarios.Generate(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := scenarios.Parse("gen.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostile validates a 1 MB file of junk keys (BENCHMARKS.md: the
// bound is 1 s and 200 MB).
func BenchmarkHostile(b *testing.B) {
	data := hostile()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scenarios.Parse("hostile.yaml", data); err == nil {
			b.Fatal("a hostile file passed")
		}
	}
}
