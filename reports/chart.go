package reports

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Chart draws runs over time into one image (PNG, SVG or PDF by the
// file's extension), one line per run in each panel: the cluster's
// imbalance and the share of hosts over their CPU capacity (runs that
// sampled their hosts: simulated ones), and the migrations in flight
// (every run, real ones too). Events of the runs' common scenario are
// marked on the time axis. Runs that repeat a scenario and policy (its
// seeds) share a colour and a legend entry.
func Chart(path string, names []string, reps []*Report) error {
	if len(names) != len(reps) {
		return fmt.Errorf("chart: %d names for %d reports", len(names), len(reps))
	}
	if len(reps) == 0 {
		return fmt.Errorf("chart: no runs")
	}
	var dur float64
	sampled := false
	for _, r := range reps {
		dur = math.Max(dur, r.DurationMS)
		sampled = sampled || len(r.SampleTimesMS) > 0
	}
	ts := scaleFor(dur)
	// Events are marked only where every run saw the same ones.
	var ms markers
	if sameScenario(reps) {
		ms = markers{ts: ts, ms: markersOf(reps[0])}
	}
	// Seeds of one policy are one series: a colour and a legend entry per
	// policy, not per run, once runs repeat a scenario and policy.
	colour, label := make([]int, len(reps)), slices.Clone(names)
	first := make([]bool, len(reps))
	keys := map[string]int{}
	count := map[string]int{}
	for _, r := range reps {
		count[r.Scenario+"\x00"+PolicyLabel(r)]++
	}
	grouped := len(count) < len(reps)
	for i, r := range reps {
		k := names[i]
		if grouped {
			k = r.Scenario + "\x00" + PolicyLabel(r)
			label[i] = fmt.Sprintf("%s (%d runs)", PolicyLabel(r), count[k])
			if len(count) > 1 && !sameScenario(reps) {
				label[i] = r.Scenario + ", " + label[i]
			}
		}
		if _, ok := keys[k]; !ok {
			keys[k] = len(keys)
			first[i] = true
		}
		colour[i] = keys[k]
	}
	addLine := func(f *figure, pts plotter.XYs, i int) {
		l, _ := plotter.NewLine(pts)
		l.Color, l.Width = palette[colour[i]%len(palette)], vg.Points(1.4)
		if grouped {
			l.Width = vg.Points(0.9)
		}
		f.p.Add(l)
		if first[i] {
			f.addLegend(label[i], l)
		}
	}
	var figs []*figure
	if sampled {
		imb := &figure{p: newPlot("Imbalance (CV of CPU and memory per pool)", "imbalance", ts)}
		hot := &figure{p: newPlot("Hosts over CPU capacity", "share of hosts", ts)}
		for i, r := range reps {
			if len(r.SampleTimesMS) == 0 {
				continue
			}
			pts, over := sampleSeries(r, ts)
			addLine(imb, pts, i)
			addLine(hot, over, i)
		}
		if t := reps[0].Summary.Threshold; t > 0 {
			th, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: t}, {X: ts.of(dur), Y: t}})
			th.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
			imb.p.Add(th)
			imb.addLegend(fmt.Sprintf("threshold %.2f", t), th)
		}
		fixYRange(imb.p, 0.1)
		fixYRange(hot.p, 0.1)
		figs = append(figs, imb, hot)
	}
	fly := &figure{p: newPlot("Migrations in flight", "migrations", ts)}
	fly.p.Y.Tick.Marker = niceTicks{integer: true}
	var peak float64
	for i, r := range reps {
		pts := inFlight(r, ts)
		for _, p := range pts {
			peak = math.Max(peak, p.Y)
		}
		addLine(fly, pts, i)
	}
	fixYRange(fly.p, math.Max(peak, 1))
	figs = append(figs, fly)
	const w, h = 8 * vg.Inch, 3.5 * vg.Inch
	img := vgimgFor(path, w, h*vg.Length(len(figs)))
	if img == nil {
		return fmt.Errorf("chart: %s: want .png, .svg or .pdf", path)
	}
	for i, f := range figs {
		f.p.X.Min, f.p.X.Max = 0, ts.of(dur)
		ms.add(f)
		f.draw(img.row(i, len(figs)))
	}
	return img.save(path)
}

func sameScenario(reps []*Report) bool {
	for _, r := range reps[1:] {
		if r.Scenario != reps[0].Scenario || !slices.Equal(r.Events, reps[0].Events) {
			return false
		}
	}
	return true
}

// inFlight is how many of a run's migrations were running over time, a
// step at each start and end, from the run's start to its end.
func inFlight(r *Report, ts timeScale) plotter.XYs {
	type change struct {
		at float64
		d  int
	}
	var cs []change
	for i := range r.Migrations {
		m := &r.Migrations[i]
		if m.EndMS > m.StartMS {
			cs = append(cs, change{m.StartMS, 1}, change{m.EndMS, -1})
		}
	}
	slices.SortStableFunc(cs, func(a, b change) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return a.d - b.d
	})
	pts := plotter.XYs{{X: 0, Y: 0}}
	n := 0
	for _, c := range cs {
		pts = append(pts, plotter.XY{X: ts.of(c.at), Y: float64(n)})
		n += c.d
		pts = append(pts, plotter.XY{X: ts.of(c.at), Y: float64(n)})
	}
	return append(pts, plotter.XY{X: ts.of(r.DurationMS), Y: float64(n)})
}
