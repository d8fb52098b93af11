package sim_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/sim"
)

// powerScenario is one G4-like host of 10 cores for an hour, with the
// power line given, and the VMs given (YAML flow entries).
func powerScenario(power string, vms ...string) string {
	s := `name: power
sim: {seed: 1, duration: 1h, sample_interval: 5m}
zones: [{name: a, racks: [r1]}]
host_classes:
  - {name: g4, cpus: 10, memory: 4GiB, nics: {speed: 1Gbit/s}, ` + power + `}
hosts:
  - {names: "h[1-2]", class: g4, rack: r1}
`
	if len(vms) > 0 {
		s += "vms:\n"
		for _, v := range vms {
			s += "  - " + v + "\n"
		}
	}
	return s
}

// withTrace parses yaml and turns a VM whose cpu is written "trace a b"
// into a trace of a then b cores, 30 minutes each (a scenario's traces
// live in files).
func withTrace(yaml string) *scenarios.Scenario {
	var trace []float64
	for _, line := range strings.Split(yaml, "\n") {
		if i := strings.Index(line, `cpu: "trace `); i >= 0 {
			var a, b float64
			_, err := fmt.Sscanf(line[i:], `cpu: "trace %g %g"`, &a, &b)
			Expect(err).NotTo(HaveOccurred())
			trace = []float64{a, b}
			yaml = strings.Replace(yaml, line, line[:i]+"cpu: 0}", 1)
		}
	}
	sc, err := scenarios.Parse("power.yaml", []byte(yaml))
	Expect(err).NotTo(HaveOccurred())
	if trace != nil {
		sc.VMs[0].Demand = scenarios.Demand{Kind: scenarios.DemandTrace, Trace: trace, TraceInterval: 30 * time.Minute}
	}
	return sc
}

var _ = Describe("Host power", func() {
	energy := func(yaml string) float64 {
		sc := withTrace(yaml)
		rep, err := sim.Run(sc, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Summary.Consolidation).NotTo(BeNil())
		return rep.Summary.Consolidation.EnergyKWh
	}

	DescribeTable("integrates each host's power over virtual time",
		func(power string, want float64, vms ...string) {
			Expect(energy(powerScenario(power, vms...))).To(BeNumerically("~", want, 1e-9))
		},
		// Two idle G4 hosts for 1 h: 2 · 86 W · 1 h.
		Entry("idle, never switched off", "power: {model: hp-ml110-g4}", 2*0.086),
		Entry("empty hosts switched off draw nothing", "power: {model: hp-ml110-g4, switch_off: true}", 0.0),
		// h1 at 50% (5 of 10 cores): 102 W for 1 h; h2 empty, off.
		Entry("half loaded, the other off", "power: {model: hp-ml110-g4, switch_off: true}", 0.102,
			`{names: v1, vcpus: 5, memory: 1GiB, hosts: h1, cpu: 5}`),
		// A written table: h1 at 25% (2.5 cores) draws 20 + (30 − 20)/10 · 5 = 25 W,
		// h2 empty but on: 0 W at idle here.
		Entry("watts written out, linear between steps", "power: {watts: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]}", 0.025,
			`{names: v1, vcpus: 4, memory: 1GiB, hosts: h1, cpu: 2.5}`),
		// Demand above capacity is not served: the host draws its 100%.
		Entry("overloaded counts as 100%", "power: {model: hp-ml110-g4, switch_off: true}", 0.117,
			`{names: v1, vcpus: 16, memory: 1GiB, hosts: h1, cpu: 16}`),
		// A trace of 0% then 100% for 30 min each: (86 + 117) / 2 W·h.
		Entry("piecewise constant between trace samples", "power: {model: hp-ml110-g4, switch_off: true}", 0.1015,
			`{names: v1, vcpus: 10, memory: 1GiB, hosts: h1, cpu: "trace 0 10"}`),
	)

	It("reports nothing without a power model, and the SLA figures with one", func() {
		sc, err := scenarios.Parse("power.yaml", []byte(powerScenario("security: tls",
			`{names: v1, vcpus: 4, memory: 1GiB, hosts: h1, cpu: 2}`)))
		Expect(err).NotTo(HaveOccurred())
		rep, err := sim.Run(sc, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Summary.Consolidation).To(BeNil())

		// h1 over capacity for the second half hour of the hour it is
		// active: SLATAH 0.5. One migration-free run: PDM 0.
		sc = withTrace(powerScenario("power: {model: hp-ml110-g5, switch_off: true}",
			`{names: v1, vcpus: 16, memory: 1GiB, hosts: h1, cpu: "trace 5 15"}`))
		rep, err = sim.Run(sc, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		c := rep.Summary.Consolidation
		Expect(c).NotTo(BeNil())
		Expect(c.PoweredHosts).To(Equal(2))
		Expect(c.SLATAH).To(BeNumerically("~", 0.5, 1e-12))
		Expect(c.PDM).To(BeZero())
		// G5: 116 W at 50% for 30 min, 135 W at 100% for 30 min.
		Expect(c.EnergyKWh).To(BeNumerically("~", (116+135)/2.0/1000, 1e-9))
	})

	DescribeTable("a bad power model is an error at its place",
		func(power, want string) {
			_, err := scenarios.Parse("power.yaml", []byte(powerScenario(power)))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("unknown name", "power: {model: hp-dl380}", `power.yaml:5:`),
		Entry("position", "power: {watts: [1, 2, 3]}", `power.yaml:5:79: host_classes[0].power.watts: want 11 values`),
		Entry("short table", "power: {watts: [1, 2, 3]}", "want 11 values"),
		Entry("negative", "power: {watts: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1]}", "value 11 (-1 W at 100%) must be 0 or more"),
		Entry("both", "power: {model: hp-ml110-g4, watts: [0,1,2,3,4,5,6,7,8,9,10]}", "give model or watts, not both"),
		Entry("neither", "power: {switch_off: true}", "needs model"),
	)
})
