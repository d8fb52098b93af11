package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

//go:embed compare.html.tmpl
var compareTmpl string

var comparePage = template.Must(template.New("compare").Funcs(template.FuncMap{
	"css":      func() template.CSS { return template.CSS(reportCSS) },
	"seedsOf":  seeds,
	"statCell": func(s MetricStats) string { return formatStat(s, "") },
	"better":   func(v Verdict, gs []Group) string { return v.better(gs) },
	"pval":     formatP,
}).Parse(compareTmpl))

// Sure is "yes" when the verdict is significant, "no" when it is not,
// "–" when there is nothing to test.
func (v Verdict) Sure() string { return v.sure() }

// WriteComparisonHTML writes a comparison as one self-contained page: per
// scenario the table of WriteComparison and the runs' charts overlaid, a
// colour per policy.
func WriteComparisonHTML(w io.Writer, c Comparison) error {
	charts := make([][]template.HTML, len(c.Scenarios))
	for i, s := range c.Scenarios {
		for _, f := range overlayFigures(s) {
			svg, err := f.render(f.p.Title.Text + ": " + s.Scenario)
			if err != nil {
				return err
			}
			charts[i] = append(charts[i], svg)
		}
	}
	return comparePage.Execute(w, struct {
		Scenarios []ScenarioComparison
		Charts    [][]template.HTML
		Level     float64
	}{c.Scenarios, charts, 100 * Confidence})
}

// overlayFigures draws every run of a scenario on shared axes, a colour
// per policy: imbalance and the share of hosts over capacity where the
// runs sampled their hosts, and migrations in flight.
func overlayFigures(s ScenarioComparison) []*figure {
	var dur float64
	sampled := false
	for _, g := range s.Groups {
		for _, r := range g.Runs {
			dur = math.Max(dur, r.R.DurationMS)
			sampled = sampled || len(r.R.SampleTimesMS) > 0
		}
	}
	ts := scaleFor(dur)
	var figs []*figure
	mk := func(title, y string) *figure {
		return &figure{p: newPlot(title, y, ts), w: figW, h: 3.2 * vg.Inch}
	}
	if sampled {
		imb, hot := mk("Imbalance, every run", "imbalance (CV)"), mk("Hosts over CPU capacity, every run", "share of hosts")
		for gi, g := range s.Groups {
			col := palette[gi%len(palette)]
			for ri, run := range g.Runs {
				r := run.R
				if len(r.SampleTimesMS) == 0 {
					continue
				}
				pts, over := sampleSeries(r, ts)
				for _, fp := range []struct {
					f   *figure
					pts plotter.XYs
				}{{imb, pts}, {hot, over}} {
					l, _ := plotter.NewLine(fp.pts)
					l.Color, l.Width = col, vg.Points(0.9)
					fp.f.p.Add(l)
					if ri == 0 {
						fp.f.addLegend(fmt.Sprintf("%s (%d runs)", g.Policy, len(g.Runs)), l)
					}
				}
			}
		}
		fixYRange(imb.p, 0.1)
		fixYRange(hot.p, 0.1)
		figs = append(figs, imb, hot)
	}
	fly := mk("Migrations in flight, every run", "migrations")
	fly.p.Y.Tick.Marker = niceTicks{integer: true}
	var peak float64
	for gi, g := range s.Groups {
		for ri, run := range g.Runs {
			pts := inFlight(run.R, ts)
			for _, p := range pts {
				peak = math.Max(peak, p.Y)
			}
			l, _ := plotter.NewLine(pts)
			l.Color, l.Width = palette[gi%len(palette)], vg.Points(0.9)
			fly.p.Add(l)
			if ri == 0 {
				fly.addLegend(fmt.Sprintf("%s (%d runs)", g.Policy, len(g.Runs)), l)
			}
		}
	}
	fixYRange(fly.p, math.Max(1, peak))
	figs = append(figs, fly)
	for _, f := range figs {
		f.p.X.Min, f.p.X.Max = 0, ts.of(dur)
	}
	return figs
}
