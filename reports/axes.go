package reports

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// timeScale is the unit a chart's time axis counts in: seconds for spans
// up to three minutes, minutes up to three hours, hours beyond, so tick
// labels stay short.
type timeScale struct {
	div  float64 // milliseconds per unit
	name string
	// clock labels the axis with the run's clock: for charts that show a
	// window of the run rather than all of it.
	clock bool
}

// windowScale is the scale of a chart of a window of the run span long.
func windowScale(spanMS float64) timeScale {
	ts := scaleFor(spanMS)
	ts.clock = true
	return ts
}

func scaleFor(durMS float64) timeScale {
	if durMS <= 3*6e4 {
		return timeScale{div: 1000, name: "s"}
	}
	if durMS <= 3*3.6e6 {
		return timeScale{div: 6e4, name: "min"}
	}
	return timeScale{div: 3.6e6, name: "h"}
}

func (s timeScale) of(ms float64) float64 { return ms / s.div }

// label formats a time on the run's clock for tooltips and tables.
func clock(ms float64) string {
	s := int64(math.Round(ms / 1000))
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// niceTicks labels between 6 and about 12 round values over [min, max]
// with unlabelled minor ticks between them: gonum's default gave a
// one-hour run three labels.
type niceTicks struct {
	format string
	// integer: the axis counts things, so no tick falls between two.
	integer bool
	// clockMS, when set, is how many milliseconds a unit of the axis is:
	// its labels are the run's clock (h:mm:ss), for charts that zoom in
	// where "1802 s" or "1084 min" would read badly.
	clockMS float64
}

func (t niceTicks) label(v float64) string {
	if t.clockMS > 0 {
		return clock(v * t.clockMS)
	}
	return fmt.Sprintf(t.fmt(), clean(v))
}

// clockSteps are the round intervals of clock labels, in milliseconds.
var clockSteps = []float64{1e3, 2e3, 5e3, 1e4, 15e3, 2e4, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 12e5, 18e5, 36e5, 72e5, 108e5, 216e5}

func (t niceTicks) Ticks(min, max float64) []plot.Tick {
	span := max - min
	if !(span > 0) || math.IsInf(span, 0) {
		return []plot.Tick{{Value: min, Label: t.label(min)}}
	}
	steps := []float64{1, 2, 2.5, 5}
	mag := math.Pow(10, math.Floor(math.Log10(span/10)))
	step := 10 * mag
	for _, s := range steps {
		if span/(s*mag) <= 12 {
			step = s * mag
			break
		}
	}
	if t.integer {
		step = math.Max(1, math.Round(step))
	}
	if t.clockMS > 0 {
		// Clock labels are wide: at most about eight, on round times.
		step = clockSteps[len(clockSteps)-1] / t.clockMS
		for _, c := range clockSteps {
			if span*t.clockMS/c <= 8 {
				step = c / t.clockMS
				break
			}
		}
	}
	var ticks []plot.Tick
	first := math.Ceil(min/step) * step
	for v := first; v <= max+step*1e-9; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: t.label(v)})
		if m := v + step/2; m < max && (!t.integer || step >= 2) {
			ticks = append(ticks, plot.Tick{Value: m})
		}
	}
	if first-step/2 > min {
		ticks = append(ticks, plot.Tick{Value: first - step/2})
	}
	return ticks
}

func (t niceTicks) fmt() string {
	if t.format == "" {
		return "%g"
	}
	return t.format
}

// clean drops the float noise of repeated additions (0.30000000000000004).
func clean(v float64) float64 { return math.Round(v*1e9) / 1e9 }

// newPlot is a plot with the report's conventions: a time axis in the
// run's unit with round ticks, a y axis from zero, a light grid.
func newPlot(title, ylabel string, ts timeScale) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	// Sans serif, as the page around the charts.
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Variant = "Sans"
	}
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.TextStyle.Font.Size, p.Y.Label.TextStyle.Font.Size = vg.Points(10.5), vg.Points(10.5)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = "time since the start of the run (" + ts.name + ")"
	p.X.Tick.Marker = niceTicks{}
	if ts.clock || ts.name == "s" {
		p.X.Label.Text = "time on the run's clock (h:mm:ss)"
		p.X.Tick.Marker = niceTicks{clockMS: ts.div}
	}
	p.Y.Label.Text = ylabel
	p.Y.Tick.Marker = niceTicks{}
	p.Y.Min = 0
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 0xe4}
	g.Horizontal.Color = color.Gray{Y: 0xe4}
	p.Add(g)
	return p
}

// fixYRange keeps the y axis from zero to at least floor: an all-zero
// series otherwise gave an axis from -1 to 1.
func fixYRange(p *plot.Plot, floor float64) {
	p.Y.Min = 0
	if !(p.Y.Max > floor) {
		p.Y.Max = floor
	}
	p.Y.Max *= 1.05
}

// marker is a moment marked across a chart: an event, a deadline.
type marker struct {
	atMS  float64
	kind  string // a report event kind, or "deadline"
	label string
}

// markerStyle is how each kind of moment is drawn and named in legends.
func markerStyle(kind string) (color.Color, []vg.Length, string) {
	dash := []vg.Length{vg.Points(4), vg.Points(3)}
	switch kind {
	case "maintenance":
		return colMaint, dash, "maintenance"
	case "disaster-warning":
		return colWarning, dash, "disaster warning"
	case "host-crash", "zone-failure":
		return colFailure, nil, "failure"
	case "deadline":
		return colDeadline, []vg.Length{vg.Points(8), vg.Points(3)}, "deadline"
	case "link-down", "link-up", "link-degraded":
		return colLink, []vg.Length{vg.Points(1), vg.Points(2)}, "link change"
	}
	return nil, nil, ""
}

// markersOf are the moments worth marking on a run's time axes: operator
// events, warnings, failures, link changes, and the deadlines of plans
// and disasters, in time order.
func markersOf(r *Report) []marker {
	var ms []marker
	for _, e := range r.Events {
		if c, _, _ := markerStyle(e.Kind); c != nil {
			label := e.Kind + " " + e.Target
			if e.Detail != "" {
				label += " (" + e.Detail + ")"
			}
			ms = append(ms, marker{atMS: e.AtMS, kind: e.Kind, label: label})
		}
	}
	seen := map[float64]bool{}
	for _, d := range r.Disasters {
		if !seen[d.FailsAtMS] {
			seen[d.FailsAtMS] = true
			ms = append(ms, marker{atMS: d.FailsAtMS, kind: "deadline", label: "zone " + d.Zone + " fails"})
		}
	}
	for _, p := range r.Plans {
		if p.DeadlineMS > 0 && !seen[p.DeadlineMS] {
			seen[p.DeadlineMS] = true
			ms = append(ms, marker{atMS: p.DeadlineMS, kind: "deadline", label: p.Policy + " plan's deadline"})
		}
	}
	return ms
}

// markers draws moments as vertical lines across a plot's data area.
type markers struct {
	ts timeScale
	ms []marker
}

func (m markers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, k := range m.ms {
		x := trX(m.ts.of(k.atMS))
		if x < c.Min.X || x > c.Max.X {
			continue
		}
		col, dash, _ := markerStyle(k.kind)
		c.StrokeLine2(draw.LineStyle{Color: col, Width: vg.Points(1.2), Dashes: dash}, x, c.Min.Y, x, c.Max.Y)
	}
}

// add puts the markers on f's plot, one legend entry per kind shown and a
// tooltip per moment.
func (m markers) add(f *figure) {
	if len(m.ms) == 0 {
		return
	}
	f.p.Add(m)
	shown := map[string]bool{}
	for _, k := range m.ms {
		col, dash, name := markerStyle(k.kind)
		if !shown[name] {
			shown[name] = true
			l, _ := plotter.NewLine(plotter.XYs{{}, {}})
			l.Color, l.Dashes, l.Width = col, dash, vg.Points(1.2)
			f.addLegend(name, l)
		}
		x := m.ts.of(k.atMS)
		f.tips = append(f.tips, tip{x0: x, x1: x, y0: math.NaN(), y1: math.NaN(), text: clock(k.atMS) + " " + k.label})
	}
}

// within keeps the markers between two times.
func (m markers) within(from, to float64) markers {
	out := markers{ts: m.ts}
	for _, k := range m.ms {
		if k.atMS >= from && k.atMS <= to {
			out.ms = append(out.ms, k)
		}
	}
	return out
}
