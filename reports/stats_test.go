package reports_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
)

// Welch's first example on Wikipedia ("Welch's t-test", Examples): t =
// -2.46, 24.9 degrees of freedom, p = 0.021.
var (
	welchA = []float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4}
	welchB = []float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4}
)

// seedRuns are runs of one scenario under a policy, one per value: the
// mean imbalance each seed gave.
func seedRuns(policy string, imbalance []float64) []reports.Run {
	var out []reports.Run
	for i, x := range imbalance {
		r := &reports.Report{Scenario: "sc", Policy: policy, Seed: uint64(i + 1), Imbalance: []float64{x}}
		r.Summary.ImbalanceMean = x
		r.Summary.Migrations = 10
		out = append(out, reports.Run{Name: fmt.Sprintf("%s-%d", policy, i+1), R: r})
	}
	return out
}

var _ = Describe("Comparing policies over seeds", func() {
	It("tests a difference with Welch's t-test", func() {
		Expect(reports.WelchP(welchA, welchB)).To(BeNumerically("~", 0.021, 0.001))
		Expect(reports.WelchP(welchA, welchA)).To(BeNumerically("~", 1, 1e-9))
		Expect(reports.WelchP([]float64{1, 1}, []float64{2, 2})).To(Equal(0.0))
		Expect(math.IsNaN(reports.WelchP([]float64{1}, welchB))).To(BeTrue())
	})

	It("gives each policy's mean with a 95 % Student t interval, the better one and how sure", func() {
		runs := append(seedRuns("greedy-cv", welchB), seedRuns("balance", welchA)...)
		c := reports.CompareRuns(runs)
		Expect(c.Scenarios).To(HaveLen(1))
		s := c.Scenarios[0]
		Expect(s.Groups).To(HaveLen(2))
		Expect(s.Groups[0].Policy).To(Equal("balance"))
		st := s.Groups[0].Stats[0]
		Expect(st.N).To(Equal(15))
		Expect(st.Mean).To(BeNumerically("~", 20.82, 0.01))
		// t(0.975, 14) = 2.1448 (tables), s by hand.
		var ss float64
		for _, x := range welchA {
			ss += (x - st.Mean) * (x - st.Mean)
		}
		Expect((st.High - st.Low) / 2).To(BeNumerically("~", 2.1448*math.Sqrt(ss/14)/math.Sqrt(15), 1e-3))
		v := s.Verdicts[0]
		Expect(v.Metric).To(Equal("imbalance, mean"))
		Expect(s.Groups[v.Best].Policy).To(Equal("balance"))
		Expect(v.P).To(BeNumerically("~", 0.021, 0.001))
		Expect(v.Significant).To(BeTrue())

		var md bytes.Buffer
		Expect(reports.WriteComparison(&md, "md", c)).To(Succeed())
		Expect(md.String()).To(ContainSubstring("| imbalance, mean | 20.82 ± 1.55 | 22.99 ± 1.08 | balance | p = 0.021 | yes |"))
		Expect(md.String()).To(ContainSubstring("| migrations | 10.00 ± 0.00 | 10.00 ± 0.00 | – | no difference | – |"))
		Expect(md.String()).To(ContainSubstring("- balance: 15 runs (seeds 1, 2, 3,"))
		Expect(md.String()).NotTo(ContainSubstring("evacuation makespan"))
		Expect(md.String()).To(ContainSubstring("balance is better on 1 (1 significantly); greedy-cv is better on 0 (0 significantly)"))

		var csv bytes.Buffer
		Expect(reports.WriteComparison(&csv, "csv", c)).To(Succeed())
		Expect(csv.String()).To(HavePrefix("scenario,metric,unit,policy,runs,mean,ci95_low,ci95_high,better,p_value,significant\n"))
		Expect(csv.String()).To(ContainSubstring("sc,\"imbalance, mean\",,balance,15,20.82"))
	})

	It("calls a difference of too few runs untested, and groups by scenario", func() {
		runs := append(seedRuns("balance", []float64{0.1}), seedRuns("greedy-cv", []float64{0.2, 0.3})...)
		other := seedRuns("balance", []float64{0.5})
		other[0].R.Scenario = "other"
		c := reports.CompareRuns(append(runs, other...))
		Expect(c.Scenarios).To(HaveLen(2))
		s := c.Scenarios[1]
		Expect(s.Scenario).To(Equal("sc"))
		var md bytes.Buffer
		Expect(reports.WriteComparison(&md, "md", c)).To(Succeed())
		Expect(md.String()).To(ContainSubstring("| imbalance, mean | 0.1000 (1 run) | 0.2500 ± 0.6353 | balance | untested (fewer than 2 runs) | – |"))
		Expect(strings.Count(md.String(), "## ")).To(Equal(2))
	})

	It("writes a comparison page with the runs overlaid", func() {
		runs := append(seedRuns("greedy-cv", welchB), seedRuns("balance", welchA)...)
		for _, r := range runs {
			r.R.SampleTimesMS = []float64{0}
			r.R.DurationMS = 3600000
		}
		var b bytes.Buffer
		Expect(reports.WriteComparisonHTML(&b, reports.CompareRuns(runs))).To(Succeed())
		Expect(b.String()).To(ContainSubstring("<h2>sc</h2>"))
		Expect(strings.Count(b.String(), `<svg class="chart"`)).To(Equal(3))
		Expect(b.String()).To(ContainSubstring("p = 0.021"))
	})
})
