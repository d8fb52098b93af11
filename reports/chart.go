package reports

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Chart draws, for each run, the cluster's imbalance over time and the
// share of hosts over their CPU capacity, into one image (PNG, SVG or PDF
// by the file's extension).
func Chart(path string, names []string, reps []*Report) error {
	if len(names) != len(reps) {
		return fmt.Errorf("chart: %d names for %d reports", len(names), len(reps))
	}
	imb := plot.New()
	imb.Title.Text = "Imbalance (CV of CPU and memory per pool)"
	imb.X.Label.Text = "time (h)"
	imb.Y.Label.Text = "imbalance"
	hot := plot.New()
	hot.Title.Text = "Hosts over CPU capacity"
	hot.X.Label.Text = "time (h)"
	hot.Y.Label.Text = "share of hosts"
	var lines, hots []any
	for i, r := range reps {
		if len(r.SampleTimesMS) == 0 {
			return fmt.Errorf("chart: run %s has no samples", names[i])
		}
		pts := make(plotter.XYs, len(r.SampleTimesMS))
		over := make(plotter.XYs, len(r.SampleTimesMS))
		for j, t := range r.SampleTimesMS {
			pts[j].X = t / 3.6e6
			over[j].X = t / 3.6e6
			if j < len(r.Imbalance) {
				pts[j].Y = r.Imbalance[j]
			}
			n := 0
			for _, h := range r.Hosts {
				if j < len(h.CPU) && h.CPU[j] > 1 {
					n++
				}
			}
			if len(r.Hosts) > 0 {
				over[j].Y = float64(n) / float64(len(r.Hosts))
			}
		}
		lines = append(lines, names[i], pts)
		hots = append(hots, names[i], over)
	}
	if err := plotutil.AddLines(imb, lines...); err != nil {
		return err
	}
	if err := plotutil.AddLines(hot, hots...); err != nil {
		return err
	}
	if t := reps[0].Summary.Threshold; t > 0 {
		th, err := plotter.NewLine(plotter.XYs{{X: 0, Y: t}, {X: reps[0].DurationMS / 3.6e6, Y: t}})
		if err != nil {
			return err
		}
		th.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		imb.Add(th)
		imb.Legend.Add("threshold", th)
	}
	imb.Y.Min, hot.Y.Min = 0, 0
	imb.Legend.Top, hot.Legend.Top = true, true
	const w, h = 8 * vg.Inch, 3.5 * vg.Inch
	img := vgimgFor(path, w, 2*h)
	if img == nil {
		return fmt.Errorf("chart: %s: want .png, .svg or .pdf", path)
	}
	top, bottom := img.split(h)
	imb.Draw(top)
	hot.Draw(bottom)
	return img.save(path)
}
