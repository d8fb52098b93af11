package sweep

import (
	"fmt"
	"path/filepath"

	"github.com/droverlab/drover/reports"
)

// Collect loads the complete runs' reports for a comparison: one group per
// matrix cell (its runs are the cell's seeds), all under the sweep's name.
// It returns how many runs had no complete report.
func (d *Dir) Collect() ([]reports.Run, int, error) {
	var runs []reports.Run
	missing := 0
	for i := range d.Runs {
		r := &d.Runs[i]
		if !d.Complete(r) {
			missing++
			continue
		}
		rep, err := reports.Load(filepath.Join(d.RunDir(r), "report.json"))
		if err != nil {
			return nil, missing, err
		}
		runs = append(runs, reports.Run{Name: r.ID, R: rep, Scenario: d.Manifest.Name, Label: r.Cell})
	}
	if len(runs) == 0 {
		return nil, missing, fmt.Errorf("%s: no run has a complete report yet", d.Path)
	}
	return runs, missing, nil
}

// Best is a metric's best cells in a comparison: every group whose mean
// is the best (ties are common in sweeps: cells that differ only in a
// setting the scenario never uses), and how sure the verdict is.
type Best struct {
	Metric, Unit string
	Mean         float64
	Cells        []string
	// Verdict is the comparison's: Best -1 when the best ties the
	// runner-up.
	Verdict reports.Verdict
}

// BestCells lists the best cells of every metric of every scenario of c.
func BestCells(c reports.Comparison) []Best {
	var out []Best
	for _, s := range c.Scenarios {
		for mi, v := range s.Verdicts {
			b := Best{Metric: v.Metric, Unit: v.Unit, Verdict: v}
			first := true
			for _, g := range s.Groups {
				st := g.Stats[mi]
				if st.N == 0 {
					continue
				}
				better := st.Mean < b.Mean
				if !v.Lower {
					better = st.Mean > b.Mean
				}
				switch {
				case first || better:
					b.Mean, b.Cells, first = st.Mean, []string{g.Policy}, false
				case st.Mean == b.Mean:
					b.Cells = append(b.Cells, g.Policy)
				}
			}
			if !first {
				out = append(out, b)
			}
		}
	}
	return out
}
