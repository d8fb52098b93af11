package reports

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the level of the intervals a comparison gives, and Alpha
// the significance level of its tests.
const (
	Confidence = 0.95
	Alpha      = 1 - Confidence
)

// Run is one report and the name it goes by (its directory's).
type Run struct {
	Name string
	R    *Report
	// Scenario and Label, when set, group the run instead of its report's
	// scenario name and PolicyLabel (a sweep groups by matrix cell).
	Scenario, Label string
}

// keyMetric is a figure a comparison summarises over seeds: how to read
// it off a report (ok false: the run has no such figure) and which way
// is better.
type keyMetric struct {
	name  string
	unit  string
	lower bool // lower is better
	get   func(*Report) (float64, bool)
}

var keyMetrics = []keyMetric{
	{"imbalance, mean", "", true, func(r *Report) (float64, bool) { return r.Summary.ImbalanceMean, len(r.Imbalance) > 0 }},
	{"imbalance, max", "", true, func(r *Report) (float64, bool) { return r.Summary.ImbalanceMax, len(r.Imbalance) > 0 }},
	{"samples above threshold", "%", true, func(r *Report) (float64, bool) { return 100 * r.Summary.ImbalanceOver, len(r.Imbalance) > 0 }},
	{"host time over CPU capacity", "min", true, func(r *Report) (float64, bool) {
		var t float64
		for _, h := range r.Summary.OverCapacityMS {
			t += h.MS
		}
		return t / 6e4, len(r.Imbalance) > 0
	}},
	{"migrations", "", true, func(r *Report) (float64, bool) { return float64(r.Summary.Migrations), true }},
	{"not completed (aborted, failed, rejected)", "", true, func(r *Report) (float64, bool) {
		s := r.Summary
		return float64(s.Aborted + s.Failed + s.Rejected), true
	}},
	{"bytes moved", "GiB", true, func(r *Report) (float64, bool) { return float64(r.Summary.BytesMoved) / (1 << 30), true }},
	{"total downtime", "ms", true, func(r *Report) (float64, bool) { return r.Summary.TotalDowntimeMS, true }},
	{"worst downtime", "ms", true, func(r *Report) (float64, bool) { return r.Summary.MaxDowntimeMS, true }},
	{"mean migration time", "s", true, func(r *Report) (float64, bool) { return r.Summary.MeanDurationMS / 1000, r.Summary.Completed > 0 }},
	{"evacuation makespan", "s", true, func(r *Report) (float64, bool) {
		var t float64
		ok := false
		for _, p := range r.Plans {
			if !periodic(p.Policy) && p.Moves > 0 {
				t, ok = t+p.MakespanMS/1000, true
			}
		}
		return t, ok
	}},
	{"VMs lost", "", true, func(r *Report) (float64, bool) { return float64(r.Summary.VMsLost), true }},
}

// Group is the runs of one scenario under one policy, over seeds.
type Group struct {
	Scenario, Policy string
	Runs             []Run
	Stats            []MetricStats // one per key metric, in keyMetrics order
}

// MetricStats is one metric over a group's runs: mean and its
// confidence interval (Student t), or N 0 when no run has the metric.
type MetricStats struct {
	N         int
	Mean, Std float64
	Low, High float64 // the Confidence interval of the mean; equal to Mean when N < 2
	Values    []float64
}

// Verdict says, for one metric of one scenario, which group is best and
// how sure that is: a Welch t-test of the best against the runner-up.
type Verdict struct {
	Metric string
	Unit   string
	// Best is the index of the best group, -1 when the groups do not
	// differ or none has the metric.
	Best int
	// P is the two-sided p-value of the difference between the best and
	// the runner-up (NaN: not testable, fewer than two runs in one).
	P           float64
	Significant bool
	// Lower is true when a lower value is better.
	Lower bool
}

// Comparison is every group of runs, by scenario, with verdicts.
type Comparison struct {
	Scenarios []ScenarioComparison
}

// ScenarioComparison is the groups of one scenario and, per key metric,
// which is better.
type ScenarioComparison struct {
	Scenario string
	Groups   []Group
	Verdicts []Verdict
}

// PolicyLabel names what a run was run with: its periodic policy, and
// its evacuation strategy where that is not the default.
func PolicyLabel(r *Report) string {
	p := r.Policy
	if p == "" {
		p = "none"
	}
	if r.Evacuation != "" && r.Evacuation != "planned" {
		p += " + " + r.Evacuation
	}
	return p
}

// CompareRuns groups runs by scenario and policy and compares the
// policies of each scenario metric by metric. Groups and scenarios are
// in name order, runs in the order given.
func CompareRuns(runs []Run) Comparison {
	by := map[string]map[string][]Run{}
	for _, run := range runs {
		sc, pol := run.R.Scenario, PolicyLabel(run.R)
		if run.Scenario != "" {
			sc = run.Scenario
		}
		if run.Label != "" {
			pol = run.Label
		}
		if by[sc] == nil {
			by[sc] = map[string][]Run{}
		}
		by[sc][pol] = append(by[sc][pol], run)
	}
	var c Comparison
	for _, sc := range slices.Sorted(maps.Keys(by)) {
		s := ScenarioComparison{Scenario: sc}
		for _, pol := range slices.Sorted(maps.Keys(by[sc])) {
			g := Group{Scenario: sc, Policy: pol, Runs: by[sc][pol]}
			slices.SortStableFunc(g.Runs, func(a, b Run) int { return cmp.Compare(a.R.Seed, b.R.Seed) })
			for _, m := range keyMetrics {
				g.Stats = append(g.Stats, summarise(g.Runs, m))
			}
			s.Groups = append(s.Groups, g)
		}
		for i, m := range keyMetrics {
			s.Verdicts = append(s.Verdicts, verdict(s.Groups, i, m))
		}
		// A metric no run of the scenario has (an evacuation's makespan in
		// runs that evacuate nothing) is left out of its table.
		for i := len(keyMetrics) - 1; i >= 0; i-- {
			has := false
			for _, g := range s.Groups {
				has = has || g.Stats[i].N > 0
			}
			if !has {
				s.Verdicts = slices.Delete(s.Verdicts, i, i+1)
				for gi := range s.Groups {
					s.Groups[gi].Stats = slices.Delete(s.Groups[gi].Stats, i, i+1)
				}
			}
		}
		c.Scenarios = append(c.Scenarios, s)
	}
	return c
}

func summarise(runs []Run, m keyMetric) MetricStats {
	var xs []float64
	for _, run := range runs {
		if x, ok := m.get(run.R); ok {
			xs = append(xs, x)
		}
	}
	s := MetricStats{N: len(xs), Values: xs}
	if s.N == 0 {
		return s
	}
	if s.N == 1 {
		s.Mean, s.Low, s.High = xs[0], xs[0], xs[0]
		return s
	}
	s.Mean, s.Std = stat.MeanStdDev(xs, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(s.N - 1)}.Quantile(1 - Alpha/2)
	half := t * s.Std / math.Sqrt(float64(s.N))
	s.Low, s.High = s.Mean-half, s.Mean+half
	return s
}

// verdict picks the best group on metric i and tests it against the
// runner-up.
func verdict(gs []Group, i int, m keyMetric) Verdict {
	v := Verdict{Metric: m.name, Unit: m.unit, Best: -1, P: math.NaN(), Lower: m.lower}
	var order []int
	for g := range gs {
		if gs[g].Stats[i].N > 0 {
			order = append(order, g)
		}
	}
	if len(order) < 2 {
		return v
	}
	slices.SortStableFunc(order, func(a, b int) int {
		c := cmp.Compare(gs[a].Stats[i].Mean, gs[b].Stats[i].Mean)
		if !m.lower {
			c = -c
		}
		return c
	})
	best, next := gs[order[0]].Stats[i], gs[order[1]].Stats[i]
	if best.Mean == next.Mean {
		return v
	}
	v.Best = order[0]
	v.P = WelchP(best.Values, next.Values)
	v.Significant = v.P < Alpha
	return v
}

// WelchP is the two-sided p-value of Welch's t-test that a and b have the
// same mean, not assuming equal variances. With no variance in either
// sample, different means are certain (0) and equal ones not (1); with
// fewer than two values in one sample it is NaN.
func WelchP(a, b []float64) float64 {
	if len(a) < 2 || len(b) < 2 {
		return math.NaN()
	}
	ma, va := stat.MeanVariance(a, nil)
	mb, vb := stat.MeanVariance(b, nil)
	sa, sb := va/float64(len(a)), vb/float64(len(b))
	if sa+sb == 0 {
		if ma == mb {
			return 1
		}
		return 0
	}
	t := (ma - mb) / math.Sqrt(sa+sb)
	df := (sa + sb) * (sa + sb) / (sa*sa/float64(len(a)-1) + sb*sb/float64(len(b)-1))
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}

// formatStat writes a mean and its interval for a table cell, both to
// the precision the mean's size calls for.
func formatStat(s MetricStats, unit string) string {
	if s.N == 0 {
		return "–"
	}
	u := ""
	if unit != "" {
		u = " " + unit
	}
	d := decimals(s.Mean)
	if s.N == 1 {
		return fmt.Sprintf("%.*f%s (1 run)", d, s.Mean, u)
	}
	return fmt.Sprintf("%.*f ± %.*f%s", d, s.Mean, d, (s.High-s.Low)/2, u)
}

// decimals is how many decimals show about four significant digits of x.
func decimals(x float64) int {
	switch ax := math.Abs(x); {
	case ax == 0, ax >= 1000:
		return 0
	case ax >= 100:
		return 1
	case ax >= 1:
		return 2
	}
	return 4
}

// formatP says how sure a verdict is, for people.
func formatP(v Verdict) string {
	switch {
	case v.Best < 0:
		return "no difference"
	case math.IsNaN(v.P):
		return "untested (fewer than 2 runs)"
	case v.P < 0.001:
		return "p < 0.001"
	}
	return fmt.Sprintf("p = %.3f", v.P)
}

func (v Verdict) better(gs []Group) string {
	if v.Best < 0 {
		return "–"
	}
	return gs[v.Best].Policy
}

func (v Verdict) sure() string {
	switch {
	case v.Best < 0 || math.IsNaN(v.P):
		return "–"
	case v.Significant:
		return "yes"
	}
	return "no"
}

// groupHeader names a group's column: its policy and how many runs.
func groupHeader(g Group) string {
	return fmt.Sprintf("%s (%d runs)", g.Policy, len(g.Runs))
}

// seeds lists a group's seeds, for the table's caption.
func seeds(g Group) string {
	var s []string
	for _, r := range g.Runs {
		s = append(s, fmt.Sprint(r.R.Seed))
	}
	return strings.Join(s, ", ")
}
