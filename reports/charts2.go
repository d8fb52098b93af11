package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/droverlab/drover/scheduler/policy/balance"
	"github.com/droverlab/drover/scheduler/policy/consolidate"
)

// periodic reports whether policy runs every interval to balance or pack
// the cluster, rather than to empty hosts or a zone by a time.
func periodic(policy string) bool {
	switch policy {
	case balance.Name, balance.GreedyCVName, consolidate.Name:
		return true
	}
	return false
}

// evacuationFigure follows each evacuation or disaster plan of the run:
// VMs and bytes still to move against its deadline. nil when the run has
// none.
func evacuationFigure(r *Report) (*figure, string) {
	byID := map[int]*Migration{}
	for i := range r.Migrations {
		byID[r.Migrations[i].ID] = &r.Migrations[i]
	}
	type evac struct {
		p     Plan
		done  []*Migration
		total int64
		end   float64
	}
	var evs []evac
	var deadlines []marker
	for _, p := range r.Plans {
		if periodic(p.Policy) || len(p.MigrationIDs) == 0 {
			continue
		}
		e := evac{p: p, end: p.AtMS + p.MakespanMS}
		for _, id := range p.MigrationIDs {
			if m := byID[id]; m != nil && m.Outcome.Succeeded() {
				e.done = append(e.done, m)
				e.total += m.Bytes
			}
		}
		slices.SortStableFunc(e.done, func(a, b *Migration) int { return cmp.Compare(a.EndMS, b.EndMS) })
		if len(e.done) > 0 {
			e.end = e.done[len(e.done)-1].EndMS
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		return nil, ""
	}
	// Plans are drawn from their own start, as shares of what each had to
	// move, so an evacuation of 12 VMs and a disaster of 9,000 read on one
	// chart; each deadline is drawn where it falls after its plan began.
	var span float64
	for i := range evs {
		e := &evs[i]
		span = math.Max(span, e.end-e.p.AtMS)
		dl := e.p.DeadlineMS
		for _, d := range r.Disasters {
			if e.p.Policy == "disaster" && d.WarnedMS <= e.p.AtMS+1 && d.FailsAtMS > e.p.AtMS && (dl == 0 || d.FailsAtMS < dl) {
				dl = d.FailsAtMS
			}
		}
		if dl > 0 {
			deadlines = append(deadlines, marker{atMS: dl - e.p.AtMS, kind: "deadline",
				label: fmt.Sprintf("after it began: the deadline of %s at %s (%s)", e.p.Policy, clock(e.p.AtMS), clock(dl))})
		}
	}
	deadlines = slices.DeleteFunc(deadlines, func(m marker) bool { return m.atMS < 0 })
	from, to, note := reach(0, span, deadlines)
	pad := math.Max((to-from)*0.05, 500)
	ts := scaleFor(to - from)
	vmsPlot := newPlot("Evacuation progress: share left to move", "left to move (%)", ts)
	vmsPlot.X.Label.Text = "time since the plan began (" + ts.name + ")"
	f := &figure{p: vmsPlot, w: figW, h: 3.4 * vg.Inch}
	for n, e := range evs {
		p := e.p
		rel := func(ms float64) float64 { return ts.of(ms - p.AtMS) }
		moves := float64(max(p.Moves, 1))
		left := p.Moves
		vms := plotter.XYs{{X: 0, Y: 100 * float64(left) / moves}}
		bytesLeft := float64(e.total)
		share := func(b float64) float64 { return 100 * math.Max(0, b) / math.Max(float64(e.total), 1) }
		gib := plotter.XYs{{X: 0, Y: share(bytesLeft)}}
		for _, m := range e.done {
			x := rel(m.EndMS)
			vms = append(vms, plotter.XY{X: x, Y: 100 * float64(left) / moves})
			gib = append(gib, plotter.XY{X: x, Y: share(bytesLeft)})
			left--
			bytesLeft -= float64(m.Bytes)
			vms = append(vms, plotter.XY{X: x, Y: 100 * float64(left) / moves})
			gib = append(gib, plotter.XY{X: x, Y: share(bytesLeft)})
		}
		col := palette[n%len(palette)]
		lv, _ := plotter.NewLine(vms)
		lv.Color, lv.Width = col, vg.Points(1.6)
		lb, _ := plotter.NewLine(gib)
		lb.Color, lb.Width, lb.Dashes = col, vg.Points(1.2), []vg.Length{vg.Points(5), vg.Points(3)}
		vmsPlot.Add(lv, lb)
		name := fmt.Sprintf("%s at %s", p.Policy, clock(p.AtMS))
		f.addLegend(fmt.Sprintf("%s: VMs (of %d)", name, p.Moves), lv)
		f.addLegend(fmt.Sprintf("%s: bytes (of %s)", name, FormatBytes(e.total)), lb)
		f.tips = append(f.tips, tip{x0: 0, x1: rel(e.end), y0: 0, y1: 100,
			text: fmt.Sprintf("%s: %d moves, %d completed, makespan %.1f s (predicted %.1f s, lower bound %.1f s)",
				name, p.Moves, p.Completed, p.MakespanMS/1000, p.PredictedMakespanMS/1000, p.LowerBoundMS/1000)})
	}
	vmsPlot.X.Min, vmsPlot.X.Max = ts.of(math.Max(0, from-pad)), ts.of(to+pad)
	vmsPlot.Y.Max = 100
	markers{ts: ts, ms: deadlines}.within(from-pad, to+pad).add(f)
	fixYRange(vmsPlot, 100)
	return f, note
}

// linkUse is one directed link's rate over time, from the migrations that
// crossed it.
type linkUse struct {
	name   string
	steps  plotter.XYs // a step function: rate (bytes/s) from each X on
	peak   float64
	shared bool // two or more migrations crossed it at once
}

// linkUses is the bandwidth migrations used on each link, each migration
// counted at its mean rate (bytes over duration) while it ran: the report
// keeps no finer record of a transfer's rate. Only links that two
// migrations used at once are kept, busiest first.
func linkUses(r *Report) []linkUse {
	type change struct {
		at, rate float64
	}
	by := map[string][]change{}
	for i := range r.Migrations {
		m := &r.Migrations[i]
		if m.DurationMS <= 0 || m.Bytes <= 0 {
			continue
		}
		rate := float64(m.Bytes) / (m.DurationMS / 1000)
		for _, l := range m.Links {
			by[l] = append(by[l], change{m.StartMS, rate}, change{m.EndMS, -rate})
		}
	}
	var out []linkUse
	for name, cs := range by {
		slices.SortStableFunc(cs, func(a, b change) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.rate, b.rate)) })
		u := linkUse{name: name}
		var cur float64
		active := 0
		for _, c := range cs {
			cur += c.rate
			if c.rate > 0 {
				active++
			} else {
				active--
			}
			if active >= 2 {
				u.shared = true
			}
			if math.Abs(cur) < 1e-6 {
				cur = 0
			}
			u.peak = math.Max(u.peak, cur)
			u.steps = append(u.steps, plotter.XY{X: c.at, Y: cur})
		}
		if u.shared {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b linkUse) int { return cmp.Or(cmp.Compare(b.peak, a.peak), cmp.Compare(a.name, b.name)) })
	return out
}

// maxLinks is how many shared links the bandwidth chart draws.
const maxLinks = 8

// linkFigure draws the bandwidth of the busiest shared links over the
// time migrations ran; nil when no link was shared.
func linkFigure(r *Report) (*figure, string) {
	uses := linkUses(r)
	if len(uses) == 0 {
		return nil, ""
	}
	note := ""
	if len(uses) > maxLinks {
		note = fmt.Sprintf("The %d links with the highest peaks are drawn; %d more links were shared.", maxLinks, len(uses)-maxLinks)
		uses = uses[:maxLinks]
	}
	from, to := math.Inf(1), math.Inf(-1)
	for _, u := range uses {
		from, to = math.Min(from, u.steps[0].X), math.Max(to, u.steps[len(u.steps)-1].X)
	}
	ts := windowScale(to - from)
	p := newPlot("Bandwidth of links that migrations shared", "Gbit/s", ts)
	f := &figure{p: p, w: figW, h: 3.4 * vg.Inch}
	var peak float64
	for i, u := range uses {
		pts := make(plotter.XYs, 0, 2*len(u.steps))
		prev := 0.0
		for _, s := range u.steps {
			pts = append(pts, plotter.XY{X: ts.of(s.X), Y: prev}, plotter.XY{X: ts.of(s.X), Y: s.Y * 8 / 1e9})
			prev = s.Y * 8 / 1e9
		}
		l, _ := plotter.NewLine(pts)
		l.Color, l.Width = palette[i%len(palette)], vg.Points(1.4)
		p.Add(l)
		f.addLegend(fmt.Sprintf("%s (peak %s)", u.name, FormatRate(u.peak)), l)
		peak = math.Max(peak, u.peak*8/1e9)
	}
	pad := math.Max((to-from)*0.03, 1000)
	p.X.Min, p.X.Max = ts.of(math.Max(0, from-pad)), ts.of(to+pad)
	markers{ts: ts, ms: markersOf(r)}.within(from-pad, to+pad).add(f)
	fixYRange(p, peak)
	return f, note
}

// PredictionError sums up how far predictions were from what happened,
// over the migrations that have both.
type PredictionError struct {
	N int
	// MedianAbsPct and P90AbsPct are the median and 90th percentile of
	// |actual − predicted| / actual, in percent; BiasPct the mean signed
	// error (positive: slower than predicted).
	MedianAbsPct, P90AbsPct, BiasPct float64
	// InRange counts the migrations whose actual time fell within their
	// 80 % prediction range, of Ranged that had one.
	InRange, Ranged int
	// Worst are the migrations furthest from their prediction, worst
	// first.
	Worst []PredictedPair
}

// PredictedPair is one migration's prediction beside its measurement.
type PredictedPair struct {
	VM                      string
	PredictedMS, ActualMS   float64
	LowMS, HighMS, ErrorPct float64
}

// predictionPairs are the finished migrations that have a prediction.
func predictionPairs(r *Report) []PredictedPair {
	if r.Kind == KindPlan {
		return nil // a plan's times are its predictions: nothing to compare
	}
	var out []PredictedPair
	for i := range r.Migrations {
		m := &r.Migrations[i]
		if !m.Outcome.Succeeded() || m.PredictedMS <= 0 || m.DurationMS <= 0 {
			continue
		}
		out = append(out, PredictedPair{VM: m.VM, PredictedMS: m.PredictedMS, ActualMS: m.DurationMS,
			LowMS: m.PredictedLowMS, HighMS: m.PredictedHighMS, ErrorPct: 100 * (m.DurationMS - m.PredictedMS) / m.DurationMS})
	}
	return out
}

// Errors sums up the run's prediction errors; N is 0 when no migration
// has both a prediction and a measurement.
func (r *Report) Errors() PredictionError {
	pairs := predictionPairs(r)
	e := PredictionError{N: len(pairs)}
	if e.N == 0 {
		return e
	}
	abs := make([]float64, len(pairs))
	var sum float64
	for i, p := range pairs {
		abs[i] = math.Abs(p.ErrorPct)
		sum += p.ErrorPct
		if p.HighMS > 0 {
			e.Ranged++
			if p.ActualMS >= p.LowMS && p.ActualMS <= p.HighMS {
				e.InRange++
			}
		}
	}
	slices.Sort(abs)
	e.MedianAbsPct = quantileSorted(abs, 0.5)
	e.P90AbsPct = quantileSorted(abs, 0.9)
	e.BiasPct = sum / float64(len(pairs))
	worst := slices.Clone(pairs)
	slices.SortStableFunc(worst, func(a, b PredictedPair) int {
		return cmp.Or(cmp.Compare(math.Abs(b.ErrorPct), math.Abs(a.ErrorPct)), cmp.Compare(a.VM, b.VM))
	})
	e.Worst = worst[:min(10, len(worst))]
	return e
}

// quantileSorted is the q-quantile of sorted xs, interpolated.
func quantileSorted(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(xs)-1)
	return xs[lo] + (pos-float64(lo))*(xs[hi]-xs[lo])
}

// predictedFigure is each migration's measured time against its
// predicted one, the identity line for reference; nil without pairs.
func predictedFigure(r *Report) *figure {
	pairs := predictionPairs(r)
	if len(pairs) == 0 {
		return nil
	}
	pts := make(plotter.XYs, len(pairs))
	var hi float64
	f := &figure{w: 6 * vg.Inch, h: 5 * vg.Inch}
	for i, p := range pairs {
		pts[i] = plotter.XY{X: p.PredictedMS / 1000, Y: p.ActualMS / 1000}
		hi = math.Max(hi, math.Max(p.PredictedMS, p.ActualMS)/1000)
		if len(f.tips) < maxTips {
			x, y := pts[i].X, pts[i].Y
			f.tips = append(f.tips, tip{x0: x, x1: x, y0: y - hi*0.01, y1: y + hi*0.01,
				text: fmt.Sprintf("%s: predicted %.1f s, measured %.1f s (%+.0f %%)", p.VM, p.PredictedMS/1000, p.ActualMS/1000, p.ErrorPct)})
		}
	}
	hi *= 1.05
	p := newPlot("Measured against predicted migration time", "measured (s)", timeScale{})
	p.X.Label.Text = "predicted (s)"
	id, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: hi, Y: hi}})
	id.Color, id.Dashes = colUnfinished, []vg.Length{vg.Points(4), vg.Points(3)}
	sc, _ := plotter.NewScatter(pts)
	sc.GlyphStyle = draw.GlyphStyle{Color: colTLS, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
	p.Add(id, sc)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, hi, 0, hi
	f.p = p
	f.addLegend("migration", sc)
	f.addLegend("measured = predicted", id)
	return f
}
