package calibrate_test

import (
	"os"
	"strings"
	"testing"

	"github.com/droverlab/drover/calibrate"
	"github.com/droverlab/drover/scheduler/precopy"
)

func lab(t *testing.T) []calibrate.Point {
	t.Helper()
	f, err := os.Open("../e2e/lab/calib/measurements.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pts, err := calibrate.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return pts
}

func TestReadRefusesMissingColumns(t *testing.T) {
	_, err := calibrate.Read(strings.NewReader("id,mem_mib\nx,1\n"))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("want a missing-column error, got %v", err)
	}
}

// The committed default profile is what a fit on the committed table gives,
// and held-out accuracy is measured on folds the fit never saw.
func TestFitOnLabTable(t *testing.T) {
	var single []calibrate.Point
	for _, p := range lab(t) {
		if p.Conc == 1 {
			single = append(single, p)
		}
	}
	if len(single) < 40 {
		t.Fatalf("only %d single migrations", len(single))
	}
	fit, err := calibrate.Fit(single, calibrate.Start)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := calibrate.CrossValidate(single, calibrate.Start, 5)
	if err != nil {
		t.Fatal(err)
	}
	e := calibrate.Summarize(rows)
	t.Logf("held out: time median %.3f max %.3f, bytes median %.3f, downtime median %.0f ms, iterations within 1: %.2f",
		e.TimeMedian, e.TimeMax, e.BytesMedian, e.DowntimeMedianMS, e.IterWithin1)
	// Regression bounds on what this table gives today (BENCHMARKS.md).
	if e.TimeMedian > 0.10 || e.BytesMedian > 0.12 || e.DowntimeMedianMS > 15 || e.IterWithin1 < 0.8 {
		t.Errorf("held-out accuracy regressed: %+v", e)
	}
	def := precopy.DefaultProfile()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"setup_ms", fit.SetupMS, def.SetupMS}, {"goodput", fit.Goodput, def.Goodput},
		{"finish_ms", fit.FinishMS, def.FinishMS}, {"dirty_factor", fit.DirtyFactor, def.DirtyFactor},
	} {
		if d := c.got - c.want; d > 0.01*c.want+1e-9 || d < -0.01*c.want-1e-9 {
			t.Errorf("%s: fit gives %v, the committed default has %v: refit with drover calibrate", c.name, c.got, c.want)
		}
	}
}
