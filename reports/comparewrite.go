package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteComparison writes a comparison as Markdown ("md": a table per
// scenario, a column per policy, and a verdict per metric) or CSV ("csv":
// one row per scenario, metric and policy).
func WriteComparison(w io.Writer, format string, c Comparison) error {
	switch format {
	case "md", "":
		for i, s := range c.Scenarios {
			if i > 0 {
				fmt.Fprintln(w)
			}
			writeScenarioMD(w, s)
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"scenario", "metric", "unit", "policy", "runs", "mean", "ci95_low", "ci95_high", "better", "p_value", "significant"})
		for _, s := range c.Scenarios {
			for mi, v := range s.Verdicts {
				for _, g := range s.Groups {
					st := g.Stats[mi]
					p := ""
					if !math.IsNaN(v.P) {
						p = strconv.FormatFloat(v.P, 'g', 4, 64)
					}
					cw.Write([]string{s.Scenario, v.Metric, v.Unit, g.Policy, strconv.Itoa(st.N), fcsv(st.Mean, st.N), fcsv(st.Low, st.N),
						fcsv(st.High, st.N), v.better(s.Groups), p, v.sure()})
				}
			}
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("compare: unknown format %q (want md or csv)", format)
}

func fcsv(x float64, n int) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}

func writeScenarioMD(w io.Writer, s ScenarioComparison) {
	fmt.Fprintf(w, "## %s\n\n", s.Scenario)
	for _, g := range s.Groups {
		fmt.Fprintf(w, "- %s: %d runs (seeds %s)\n", g.Policy, len(g.Runs), seeds(g))
	}
	fmt.Fprintln(w)
	head := []string{"metric"}
	for _, g := range s.Groups {
		head = append(head, groupHeader(g))
	}
	head = append(head, "better", "how sure (Welch t-test)", "significant at 5 %")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	for mi, v := range s.Verdicts {
		row := []string{v.Metric}
		for _, g := range s.Groups {
			row = append(row, formatStat(g.Stats[mi], v.Unit))
		}
		row = append(row, v.better(s.Groups), formatP(v), v.sure())
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintf(w, "\nMeans over the runs with their %.0f %% confidence intervals (Student t); on each metric the better\n"+
		"policy (lower is better) is tested against the runner-up with Welch's t-test.\n", 100*Confidence)
	if line := s.Conclusion(); line != "" {
		fmt.Fprintf(w, "\n%s\n", line)
	}
}

// Conclusion says in one sentence, for a scenario with two or more
// policies, how many metrics each policy wins and how many of those wins
// are significant.
func (s ScenarioComparison) Conclusion() string {
	if len(s.Groups) < 2 {
		return ""
	}
	wins := make([]int, len(s.Groups))
	sig := make([]int, len(s.Groups))
	var names []string
	differ := 0
	for _, v := range s.Verdicts {
		if v.Best < 0 {
			continue
		}
		differ++
		wins[v.Best]++
		if v.Significant {
			sig[v.Best]++
		}
	}
	if differ == 0 {
		return "The policies do not differ on any metric."
	}
	for i, g := range s.Groups {
		names = append(names, fmt.Sprintf("%s is better on %d (%d significantly)", g.Policy, wins[i], sig[i]))
	}
	return fmt.Sprintf("Of the %d metrics on which they differ, %s.", differ, strings.Join(names, "; "))
}
