package sim_test

import (
	"bytes"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/sim"
)

// consolidation: h1 at 90% (a, b, c), h2 at 50% (d), h3 at 10% (e), every
// host a G4 that switches off when empty, thr-mmt-0.8 every 5 minutes
// (scheduler/policy/poweraware TestSharedPlansOverloadThenUnderload works
// the first round by hand: c to h2 off the overloaded h1, then e to h2,
// emptying h3).
const consolidationYAML = `name: consolidation
sim: {seed: 3, duration: 30m, sample_interval: 5m}
zones: [{name: a, racks: [r1]}]
host_classes:
  - {name: g4, cpus: 10, memory: 64GiB, nics: {speed: 1Gbit/s}, power: {model: hp-ml110-g4, switch_off: true}}
hosts:
  - {names: "h[1-3]", class: g4, rack: r1}
vms:
  - {names: a, vcpus: 4, memory: 4GiB, wss: 64MiB, hosts: h1, cpu: 4}
  - {names: b, vcpus: 4, memory: 2GiB, wss: 64MiB, hosts: h1, cpu: 3}
  - {names: c, vcpus: 2, memory: 1GiB, wss: 64MiB, hosts: h1, cpu: 2}
  - {names: d, vcpus: 5, memory: 2GiB, wss: 64MiB, hosts: h2, cpu: 5}
  - {names: e, vcpus: 2, memory: 1GiB, wss: 64MiB, hosts: h3, cpu: 1}
policy: {name: thr-mmt-0.8, interval: 5m}
`

var _ = Describe("The paper's policies in the simulator", func() {
	runYAML := func(text string, opts sim.Options) *reports.Report {
		return runText("consolidation.yaml", text, opts)
	}

	It("runs thr-mmt-0.8 from the scenario through the plan and dispatch path", func() {
		rep := runYAML(consolidationYAML, sim.Options{})
		var moves []string
		for _, m := range rep.Migrations {
			moves = append(moves, m.VM+":"+m.Source+"->"+m.Destination+" "+string(m.Outcome)+" "+m.Cause)
		}
		Expect(moves).To(Equal([]string{
			"c:h1->h2 completed thr-mmt-0.8",
			"e:h3->h2 completed thr-mmt-0.8",
		}))
		c := rep.Summary.Consolidation
		Expect(c).NotTo(BeNil())
		Expect(c.Shutdowns).To(Equal(1), "h3, emptied")
		Expect(c.PDM).To(BeNumerically(">", 0), "two migrations cost 10% of their VMs' demand while they ran")
		// After the moves h1 is at 70% (106 W), h2 at 80% (112 W), h3 off,
		// for most of the half hour; before them, 117 + 102 + 89.4 W.
		Expect(c.EnergyKWh).To(BeNumerically(">", (106+112)*0.5/1000))
		Expect(c.EnergyKWh).To(BeNumerically("<", (117+102+89.4)*0.5/1000))
	})

	It("replays byte for byte with the same seed", func() {
		var out [2]bytes.Buffer
		for i := range out {
			rep := runYAML(consolidationYAML, sim.Options{})
			Expect(rep.WriteJSON(&out[i])).To(Succeed())
		}
		Expect(out[0].String()).To(Equal(out[1].String()))
	})

	It("takes the policy from --policy as well", func() {
		name := "iqr-mmt-1.5"
		rep := runYAML(consolidationYAML, sim.Options{Policy: &name})
		Expect(rep.Policy).To(Equal("iqr-mmt-1.5"))
	})
})
