package sim_test

import (
	"bytes"
	"path/filepath"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/sim"
)

// The bundled scenarios are the project's acceptance tests: what their
// reports must show is what the scheduler promises.

func load(name string) *scenarios.Scenario {
	GinkgoHelper()
	sc, err := scenarios.Load(filepath.Join("..", "scenarios", "examples", name))
	Expect(err).NotTo(HaveOccurred())
	return sc
}

func runWith(sc *scenarios.Scenario, evacuation string) *reports.Report {
	GinkgoHelper()
	opts := sim.Options{}
	if evacuation != "" {
		opts.Evacuation = &evacuation
	}
	rep, err := sim.Run(sc, opts)
	Expect(err).NotTo(HaveOccurred())
	return rep
}

// lastVMs is each host's VM count at the last sample.
func lastVMs(rep *reports.Report) map[string]int {
	out := map[string]int{}
	for _, h := range rep.Hosts {
		out[h.Name] = h.VMs[len(h.VMs)-1]
	}
	return out
}

func evacuationPlan(rep *reports.Report) reports.Plan {
	GinkgoHelper()
	i := slices.IndexFunc(rep.Plans, func(p reports.Plan) bool { return p.Moves > 0 && p.Policy != "balance" })
	Expect(i).To(BeNumerically(">=", 0))
	return rep.Plans[i]
}

var _ = Describe("bundled scenarios", func() {
	It("maintenance: drains the hosts within 1.10x of the lower bound and beats fixed-batch by 25%", func() {
		rep := runWith(load("maintenance.yaml"), "")
		vms := lastVMs(rep)
		for _, h := range []string{"h03", "h04", "h11", "h12"} {
			Expect(vms[h]).To(BeZero(), h)
		}
		Expect(rep.Summary.VMsLost).To(BeZero())
		Expect(rep.Summary.MixedSecurity).To(BeZero())
		p := evacuationPlan(rep)
		Expect(p.Completed).To(Equal(p.Moves))
		Expect(p.MakespanMS).To(BeNumerically("<=", 1.10*p.LowerBoundMS))
		Expect(p.MakespanMS).To(BeNumerically("~", p.PredictedMakespanMS, 1))

		batch := evacuationPlan(runWith(load("maintenance.yaml"), "fixed-batch"))
		Expect(p.MakespanMS).To(BeNumerically("<=", 0.75*batch.MakespanMS))
	})

	It("rack-disaster: loses only the VMs it said in advance it could not save, and meets the deadline", func() {
		rep := runWith(load("rack-disaster.yaml"), "")
		Expect(rep.Disasters).To(HaveLen(1))
		d := rep.Disasters[0]
		Expect(d.DeadlineMet).To(BeTrue())
		Expect(d.Lost).To(Equal(d.Unsavable))
		Expect(d.Saved + d.Lost).To(Equal(d.VMs))
		Expect(rep.Summary.VMsLost).To(Equal(d.Lost))
		Expect(rep.Summary.MixedSecurity).To(BeZero())
		// Priorities: every database and cache was saved.
		for _, l := range rep.Lost {
			Expect(l.VM).NotTo(HavePrefix("db"))
			Expect(l.VM).NotTo(HavePrefix("cache"))
		}
		p := evacuationPlan(rep)
		Expect(p.MakespanMS).To(BeNumerically("<=", 1.10*p.LowerBoundMS))

		batch := runWith(load("rack-disaster.yaml"), "fixed-batch").Disasters[0]
		Expect(d.Saved).To(BeNumerically(">", batch.Saved))
	})

	It("tls-mixed: drains both pools and never mixes security states", func() {
		rep := runWith(load("tls-mixed.yaml"), "")
		Expect(rep.Summary.MixedSecurity).To(BeZero())
		vms := lastVMs(rep)
		Expect(vms["tls-h1"]).To(BeZero())
		Expect(vms["tcp-h2"]).To(BeZero())
		for _, m := range rep.Migrations {
			Expect(m.Mixed).To(BeFalse(), m.VM)
			if m.Outcome == "completed" {
				Expect(m.Source[:3]).To(Equal(m.Destination[:3]), "%s stays in its pool", m.VM)
				Expect(m.Transport).To(Equal(m.Source[:3]))
			}
		}
	})

	It("imbalanced: the balancer brings the imbalance under the threshold and keeps it there", func() {
		rep := runWith(load("imbalanced.yaml"), "")
		Expect(rep.Imbalance[0]).To(BeNumerically(">", rep.Summary.Threshold))
		Expect(rep.Imbalance[len(rep.Imbalance)-1]).To(BeNumerically("<=", rep.Summary.Threshold))
		Expect(rep.Summary.ImbalanceOver).To(BeNumerically("<", 0.1))
	})

	It("small: the demo scenario replays byte for byte", func() {
		var a, b bytes.Buffer
		Expect(runWith(load("small.yaml"), "").WriteJSON(&a)).To(Succeed())
		Expect(runWith(load("small.yaml"), "").WriteJSON(&b)).To(Succeed())
		Expect(a.Bytes()).To(Equal(b.Bytes()))
		Expect(a.Len()).To(BeNumerically(">", 1000))
	})
})
