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
