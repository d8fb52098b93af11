package reports

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"maps"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Figure sizes: as wide as a laptop's page column, printable on A4.
const figW = 10 * vg.Inch

// hostOrder is the report's hosts grouped by zone, then rack, then name,
// as indexes into r.Hosts.
func hostOrder(r *Report) []int {
	idx := make([]int, len(r.Hosts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ha, hb := &r.Hosts[a], &r.Hosts[b]
		return cmp.Or(cmp.Compare(ha.Zone, hb.Zone), cmp.Compare(ha.Rack, hb.Rack), cmp.Compare(ha.Name, hb.Name))
	})
	return idx
}

// heat is the colour of a utilisation: pale to deep red up to full, then
// purple for demand beyond the host's cores.
func heat(u float64) color.RGBA {
	stops := []struct {
		at      float64
		r, g, b float64
	}{{0, 0xf7, 0xfb, 0xff}, {0.25, 0xc6, 0xdb, 0xef}, {0.5, 0xfe, 0xe0, 0x8b}, {0.75, 0xfc, 0x8d, 0x59},
		{1, 0xd7, 0x30, 0x27}, {1.5, 0x5e, 0x1f, 0x7a}}
	if u <= 0 {
		s := stops[0]
		return color.RGBA{R: uint8(s.r), G: uint8(s.g), B: uint8(s.b), A: 0xff}
	}
	for i := 1; i < len(stops); i++ {
		a, b := stops[i-1], stops[i]
		if u <= b.at || i == len(stops)-1 {
			f := math.Min(1, (u-a.at)/(b.at-a.at))
			return color.RGBA{R: uint8(a.r + f*(b.r-a.r)), G: uint8(a.g + f*(b.g-a.g)), B: uint8(a.b + f*(b.b-a.b)), A: 0xff}
		}
	}
	return color.RGBA{A: 0xff}
}

var colDown = color.RGBA{R: 0x40, G: 0x40, B: 0x40, A: 0xff}

// swatch is a legend thumbnail filled with one colour.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.c, []vg.Point{c.Min, {X: c.Min.X, Y: c.Max.Y}, c.Max, {X: c.Max.X, Y: c.Min.Y}})
}

// heatMapFigure is the hosts' CPU use over time, one row per host grouped
// by zone and rack, events marked; nil when the run has no samples.
func heatMapFigure(r *Report) *figure {
	n, ns := len(r.Hosts), len(r.SampleTimesMS)
	if n == 0 || ns == 0 {
		return nil
	}
	ts := scaleFor(r.DurationMS)
	order := hostOrder(r)
	img := image.NewRGBA(image.Rect(0, 0, ns, n))
	for row, hi := range order {
		h := &r.Hosts[hi]
		for j := 0; j < ns; j++ {
			var cpu, mem float64
			if j < len(h.CPU) {
				cpu = h.CPU[j]
			}
			if j < len(h.Memory) {
				mem = h.Memory[j]
			}
			c := heat(cpu)
			if cpu == 0 && mem == 0 {
				c = colDown // down, or empty: nothing runs there
			}
			img.SetRGBA(j, row, c)
		}
	}
	end := r.SampleTimesMS[ns-1] + r.SampleIntervalMS
	if r.SampleIntervalMS == 0 {
		end = math.Max(r.DurationMS, r.SampleTimesMS[ns-1])
	}
	p := newPlot("Host CPU use over time (rows: hosts by zone and rack)", "", ts)
	p.Add(plotter.NewImage(img, ts.of(r.SampleTimesMS[0]), 0, ts.of(end), float64(n)))
	p.X.Min, p.X.Max = ts.of(r.SampleTimesMS[0]), ts.of(end)
	p.Y.Min, p.Y.Max = 0, float64(n)
	// Rows are labelled by rack where racks are few enough to read, else by
	// zone; a line separates each group.
	type group struct {
		name       string
		first, end int
	}
	var racks, zones []group
	for row, hi := range order {
		h := &r.Hosts[hi]
		rk, z := h.Zone+"/"+h.Rack, h.Zone
		if len(racks) == 0 || racks[len(racks)-1].name != rk {
			racks = append(racks, group{name: rk, first: row})
		}
		racks[len(racks)-1].end = row + 1
		if len(zones) == 0 || zones[len(zones)-1].name != z {
			zones = append(zones, group{name: z, first: row})
		}
		zones[len(zones)-1].end = row + 1
	}
	height := vg.Length(math.Min(520, math.Max(180, 6*float64(n)))) + 90
	groups := racks
	if float64(height-90)/float64(len(racks)) < 11 {
		groups = zones
		p.Y.Label.Text = "hosts by zone"
	} else {
		p.Y.Label.Text = "hosts by zone/rack"
	}
	var ticks []plot.Tick
	var seps plotter.XYs
	f := &figure{p: p, w: figW, h: height}
	// Each host's row says its name and load where rows are tall enough
	// to point at; the rack or zone strip on the left says the group.
	if n <= maxTips/10 && float64(height-90)/float64(n) >= 2 {
		for row, hi := range order {
			h := &r.Hosts[hi]
			var sum, peak float64
			for _, c := range h.CPU {
				sum += c
				peak = math.Max(peak, c)
			}
			mean := 0.0
			if len(h.CPU) > 0 {
				mean = sum / float64(len(h.CPU))
			}
			f.tips = append(f.tips, tip{x0: p.X.Min, x1: p.X.Max, y0: float64(n - row - 1), y1: float64(n - row),
				text: fmt.Sprintf("%s (%s/%s): CPU %.0f %% on average, %.0f %% at most", h.Name, h.Zone, h.Rack, 100*mean, 100*peak)})
		}
	}
	for _, g := range groups {
		// Row 0 is drawn at the top: data y runs from n down.
		ticks = append(ticks, plot.Tick{Value: float64(n) - float64(g.first+g.end)/2, Label: g.name})
		seps = append(seps, plotter.XY{X: float64(n - g.first)})
		names := r.Hosts[order[g.first]].Name
		if g.end-g.first > 1 {
			names += " … " + r.Hosts[order[g.end-1]].Name
		}
		f.tips = append(f.tips, tip{x0: p.X.Min, x1: p.X.Min + (p.X.Max-p.X.Min)*0.01, y0: float64(n - g.end), y1: float64(n - g.first),
			text: fmt.Sprintf("%s: %d hosts (%s)", g.name, g.end-g.first, names)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(hlines{ys: seps})
	markers{ts: ts, ms: markersOf(r)}.add(f)
	for _, s := range []struct {
		u    float64
		name string
	}{{0.1, "≤ 10 %"}, {0.5, "50 %"}, {0.75, "75 %"}, {1, "100 %"}, {1.5, "150 % (over capacity)"}} {
		f.addLegend(s.name, swatch{heat(s.u)})
	}
	f.addLegend("down or empty", swatch{colDown})
	return f
}

// hlines draws thin white lines across the data area at each Y.
type hlines struct{ ys plotter.XYs }

func (h hlines) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	for _, y := range h.ys {
		c.StrokeLine2(draw.LineStyle{Color: color.White, Width: vg.Points(0.8)}, c.Min.X, trY(y.X), c.Max.X, trY(y.X))
	}
}

// imbalanceFigure is the cluster's imbalance and the share of hosts over
// their CPU capacity over time, with the threshold and events marked.
func imbalanceFigure(r *Report) *figure {
	if len(r.SampleTimesMS) == 0 {
		return nil
	}
	ts := scaleFor(r.DurationMS)
	p := newPlot("Imbalance and hosts over CPU capacity", "imbalance (CV) / share of hosts", ts)
	f := &figure{p: p, w: figW, h: 3.4 * vg.Inch}
	imb, over := sampleSeries(r, ts)
	li, _ := plotter.NewLine(imb)
	li.Color, li.Width = palette[0], vg.Points(1.5)
	lo, _ := plotter.NewLine(over)
	lo.Color, lo.Width = palette[1], vg.Points(1.2)
	p.Add(li, lo)
	f.addLegend("imbalance", li)
	f.addLegend("share of hosts over CPU capacity", lo)
	if t := r.Summary.Threshold; t > 0 {
		th, _ := plotter.NewLine(plotter.XYs{{X: imb[0].X, Y: t}, {X: ts.of(r.DurationMS), Y: t}})
		th.Color, th.Dashes = color.Gray{Y: 0x60}, []vg.Length{vg.Points(4), vg.Points(4)}
		p.Add(th)
		f.addLegend(fmt.Sprintf("balancer's threshold %.2f", t), th)
	}
	p.X.Min, p.X.Max = 0, ts.of(r.DurationMS)
	markers{ts: ts, ms: markersOf(r)}.add(f)
	fixYRange(p, 0.1)
	return f
}

// sampleSeries is a run's imbalance and share of hosts over CPU capacity at
// each sample, on the time axis ts: what every imbalance chart draws.
func sampleSeries(r *Report, ts timeScale) (imb, over plotter.XYs) {
	imb = make(plotter.XYs, len(r.SampleTimesMS))
	over = make(plotter.XYs, len(r.SampleTimesMS))
	for j, t := range r.SampleTimesMS {
		imb[j].X, over[j].X = ts.of(t), ts.of(t)
		if j < len(r.Imbalance) {
			imb[j].Y = r.Imbalance[j]
		}
		over[j].Y = overShare(r, j)
	}
	return imb, over
}

// overShare is the share of up hosts whose CPU demand exceeds their cores
// at sample j.
func overShare(r *Report, j int) float64 {
	n := 0
	for _, h := range r.Hosts {
		if j < len(h.CPU) && h.CPU[j] > 1 {
			n++
		}
	}
	if len(r.Hosts) == 0 {
		return 0
	}
	return float64(n) / float64(len(r.Hosts))
}

// barColour is a migration's colour in the Gantt chart: its transport if
// it went as planned, else its outcome.
func barColour(m *Migration) (color.Color, string) {
	switch m.Outcome {
	case cluster.OutcomeCompleted:
		if m.Transport == string(cluster.TransportTLS) {
			return colTLS, "completed over TLS"
		}
		return colTCP, "completed over TCP"
	case cluster.OutcomeForced:
		return colForced, "forced switch-over"
	case cluster.OutcomePostCopy:
		return colPostCopy, "post-copy"
	case cluster.OutcomeAborted, cluster.OutcomeFailed:
		return colFailed, "aborted or failed"
	}
	return colUnfinished, "unfinished"
}

// maxLanes bounds the Gantt chart's height: beyond it the lanes of the
// hosts with the most migrations are kept.
const maxLanes = 60

// maxTips bounds the tooltips of one chart, which weigh on a big page.
const maxTips = 3000

type bar struct {
	lane               int
	x0, x1, downtimeMS float64
	c                  color.Color
}

// gantt draws migrations as bars, a lane each source host, the downtime
// as a black mark where the switch-over ended the bar.
type gantt struct {
	bars  []bar
	lanes int
	ts    timeScale
}

func (g gantt) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, b := range g.bars {
		x0, x1 := trX(b.x0), trX(b.x1)
		if x1-x0 < 1 {
			x1 = x0 + 1
		}
		y0, y1 := trY(float64(b.lane)+0.15), trY(float64(b.lane)+0.85)
		c.FillPolygon(b.c, []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}})
		// A bar narrower than 4 pt shows its colour only (its tooltip
		// says the downtime).
		if b.downtimeMS > 0 && x1-x0 >= 4 {
			// At least 1.5 pt so it shows, at most half the bar so the bar's
			// colour does too.
			w := x1 - trX(b.x1-g.ts.of(b.downtimeMS))
			w = min(max(w, 1.5), (x1-x0)/2)
			c.FillPolygon(colDowntime, []vg.Point{{X: x1 - w, Y: y0}, {X: x1 - w, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}})
		}
	}
}

func (g gantt) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, b := range g.bars {
		xmin, xmax = math.Min(xmin, b.x0), math.Max(xmax, b.x1)
	}
	return xmin, xmax, 0, float64(g.lanes)
}

// ganttMigrations are the migrations a Gantt chart draws: every one that
// reached a host (refusals never ran).
func ganttMigrations(r *Report) []*Migration {
	var ran []*Migration
	for i := range r.Migrations {
		if m := &r.Migrations[i]; m.Outcome != cluster.OutcomeRejected && m.Source != "" {
			ran = append(ran, m)
		}
	}
	return ran
}

// planWindow picks the evacuation or disaster plan worth a Gantt chart of
// its own: the one with the most migrations, if they ran in a window much
// shorter than the run's (a day's chart squeezes a 15-minute evacuation
// to a sliver). ok is false when there is none.
func planWindow(r *Report, all []*Migration) (p Plan, ms []*Migration, ok bool) {
	if len(all) == 0 {
		return p, nil, false
	}
	first, last := math.Inf(1), math.Inf(-1)
	for _, m := range all {
		first, last = math.Min(first, m.StartMS), math.Max(last, m.EndMS)
	}
	byID := map[int]*Migration{}
	for _, m := range all {
		byID[m.ID] = m
	}
	for _, pl := range r.Plans {
		if periodic(pl.Policy) || len(pl.MigrationIDs) < 2 || len(pl.MigrationIDs) <= len(ms) {
			continue
		}
		var these []*Migration
		from, to := math.Inf(1), math.Inf(-1)
		for _, id := range pl.MigrationIDs {
			if m := byID[id]; m != nil {
				these = append(these, m)
				from, to = math.Min(from, m.StartMS), math.Max(to, m.EndMS)
			}
		}
		if len(these) >= 2 && (to-from) < 0.25*(last-first) {
			p, ms, ok = pl, these, true
		}
	}
	return p, ms, ok
}

// ganttFigure draws migrations, a lane per source host; a host's
// migrations that overlap in time take a row each within its lane. nil
// when there are none.
//
// ms are the moments to mark; those far outside the migrations' window
// are named in the note, unless near is set: then only deadlines are (a
// plan's own chart need not say where the day's other events were).
func ganttFigure(r *Report, ran []*Migration, title string, ms []marker, near bool) (*figure, string) {
	count := map[string]int{}
	first, last := math.Inf(1), math.Inf(-1)
	for _, m := range ran {
		count[m.Source]++
		first, last = math.Min(first, m.StartMS), math.Max(last, m.EndMS)
	}
	if len(ran) == 0 {
		return nil, ""
	}
	// Lanes follow the heat map's order (zone, rack, name) where the report
	// knows it; the first lane is at the top.
	pos := map[string]int{}
	for i, hi := range hostOrder(r) {
		pos[r.Hosts[hi].Name] = i
	}
	lanes := slices.Collect(maps.Keys(count))
	byOrder := func(a, b string) int {
		pa, oka := pos[a]
		pb, okb := pos[b]
		if oka && okb {
			return cmp.Compare(pa, pb)
		}
		if oka != okb {
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	}
	slices.SortFunc(lanes, byOrder)
	// Each migration takes the first row of its lane free at its start.
	rowOf := make(map[*Migration]int, len(ran))
	rows := map[string][]float64{} // per lane: when each row is free again
	for _, m := range ran {
		free := rows[m.Source]
		k := slices.IndexFunc(free, func(end float64) bool { return end <= m.StartMS })
		if k < 0 {
			k = len(free)
			free = append(free, 0)
		}
		free[k] = m.EndMS
		rows[m.Source] = free
		rowOf[m] = k
	}
	// Beyond maxLanes rows, the hosts with the most migrations are kept.
	note := ""
	busiest := slices.Clone(lanes)
	slices.SortStableFunc(busiest, func(a, b string) int { return cmp.Compare(count[b], count[a]) })
	total, kept := 0, 0
	for i, h := range busiest {
		if total+len(rows[h]) > maxLanes && i > 0 {
			break
		}
		total += len(rows[h])
		kept = i + 1
	}
	if kept < len(lanes) {
		keep := map[string]bool{}
		n := 0
		for _, h := range busiest[:kept] {
			keep[h] = true
			n += count[h]
		}
		note = fmt.Sprintf("The %d source hosts with the most migrations are drawn (%d of %d migrations); %d more hosts' lanes are left out (report.json has every migration).",
			kept, n, len(ran), len(lanes)-kept)
		lanes = slices.DeleteFunc(lanes, func(h string) bool { return !keep[h] })
	}
	base := map[string]int{} // the lane's lowest row, counted from the bottom
	y := total
	for _, h := range lanes {
		y -= len(rows[h])
		base[h] = y
	}
	if near {
		span := math.Max(last-first, 1000)
		ms = slices.DeleteFunc(slices.Clone(ms), func(k marker) bool {
			return k.kind != "deadline" && (k.atMS < first-2*span || k.atMS > last+2*span)
		})
	}
	first, last, off := reach(first, last, ms)
	if off != "" {
		note = strings.TrimSpace(note + " " + off)
	}
	pad := math.Max((last-first)*0.03, 500)
	ts := windowScale(last - first)
	g := gantt{lanes: total, ts: ts}
	f := &figure{w: figW}
	shown := map[string]bool{}
	var legend []legendEntry
	for _, m := range ran {
		b, ok := base[m.Source]
		if !ok {
			continue
		}
		// Rows run downwards within a lane, the first on top.
		row := b + len(rows[m.Source]) - 1 - rowOf[m]
		c, name := barColour(m)
		if !shown[name] {
			shown[name] = true
			legend = append(legend, legendEntry{name, swatch{c}})
		}
		g.bars = append(g.bars, bar{lane: row, x0: ts.of(m.StartMS), x1: ts.of(m.EndMS), downtimeMS: m.DowntimeMS, c: c})
		if len(f.tips) < maxTips {
			f.tips = append(f.tips, tip{x0: ts.of(m.StartMS), x1: ts.of(m.EndMS), y0: float64(row) + 0.1, y1: float64(row) + 0.9,
				text: migrationTip(m)})
		}
	}
	slices.SortStableFunc(legend, func(a, b legendEntry) int { return cmp.Compare(a.name, b.name) })
	f.legend = legend
	f.addLegend("downtime", swatch{colDowntime})
	p := newPlot(title, "source host", ts)
	p.Add(g)
	var ticks []plot.Tick
	var seps plotter.XYs
	for _, h := range lanes {
		ticks = append(ticks, plot.Tick{Value: float64(base[h]) + float64(len(rows[h]))/2, Label: h})
		if base[h] > 0 {
			seps = append(seps, plotter.XY{X: float64(base[h])})
		}
	}
	slices.SortFunc(ticks, func(a, b plot.Tick) int { return cmp.Compare(a.Value, b.Value) })
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = 0, float64(total)
	p.Add(laneLines{ys: seps})
	p.X.Min, p.X.Max = ts.of(math.Max(0, first-pad)), ts.of(last+pad)
	f.p = p
	markers{ts: ts, ms: ms}.within(first-pad, last+pad).add(f)
	f.h = vg.Length(11*total) + 130
	return f, note
}

// laneLines separates the Gantt chart's lanes with thin grey lines.
type laneLines struct{ ys plotter.XYs }

func (l laneLines) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	for _, y := range l.ys {
		c.StrokeLine2(draw.LineStyle{Color: color.Gray{Y: 0xb0}, Width: vg.Points(0.6)}, c.Min.X, trY(y.X), c.Max.X, trY(y.X))
	}
}

func migrationTip(m *Migration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s → %s, %s, %s", m.VM, m.Source, m.Destination, m.Outcome, m.Transport)
	if m.Cause != "" {
		fmt.Fprintf(&b, " (%s)", m.Cause)
	}
	fmt.Fprintf(&b, "\n%s to %s, %.1f s, downtime %.0f ms, %s, %d rounds", clock(m.StartMS), clock(m.EndMS),
		m.DurationMS/1000, m.DowntimeMS, FormatBytes(m.Bytes), m.Rounds)
	if m.Reason != "" {
		b.WriteString("\n" + m.Reason)
	}
	return b.String()
}

// reach widens the time span [first, last] of a chart's data to take in
// the deadlines and operator events marked on it, unless one lies so far
// off that the data would shrink to a sliver (more than twice the span
// away): that one is named in the returned note instead.
func reach(first, last float64, ms []marker) (float64, float64, string) {
	span := math.Max(last-first, 1000)
	var off []string
	lo, hi := first, last
	for _, k := range ms {
		if k.kind != "deadline" && k.kind != "maintenance" && k.kind != "disaster-warning" {
			continue
		}
		if k.atMS < first-2*span || k.atMS > last+2*span {
			when := "after"
			if k.atMS < first {
				when = "before"
			}
			off = append(off, fmt.Sprintf("%s at %s is off the chart, %s %s of the data", k.label, clock(k.atMS), dur(math.Abs(k.atMS-clampTo(k.atMS, first, last))), when))
			continue
		}
		lo, hi = math.Min(lo, k.atMS), math.Max(hi, k.atMS)
	}
	if len(off) == 0 {
		return lo, hi, ""
	}
	return lo, hi, strings.Join(off, "; ") + "."
}

func clampTo(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }
