package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/droverlab/drover/scheduler/cluster"
)

//go:embed report.html.tmpl
var reportTmpl string

//go:embed report.css
var reportCSS string

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes":  FormatBytes,
	"clock":  clock,
	"secs":   func(ms float64) string { return fmt.Sprintf("%.1f s", ms/1000) },
	"ms":     fmtMS,
	"pct":    func(x float64) string { return fmt.Sprintf("%.1f %%", x) },
	"css":    func() template.CSS { return template.CSS(reportCSS) },
	"mulPct": func(x float64) float64 { return 100 * x },
	"dur": func(ms float64) string {
		return time.Duration(ms * float64(time.Millisecond)).Round(time.Second).String()
	},
}).Parse(reportTmpl))

// chart is one figure of the page as the template shows it.
type chart struct {
	ID, Title, Help, Note string
	SVG                   template.HTML
	// Missing says why the chart is not drawn for this run.
	Missing string
}

// deadline is one deadline or window of the run and whether it held.
type deadline struct {
	What, Detail string
	Met          bool
}

// refusal is one move that did not happen, with its reason.
type refusal struct {
	AtMS                         float64
	VM, From, To, Cause, Outcome string
	Reason                       string
}

type page struct {
	R         *Report
	Title     string
	Outcomes  []outcomeCount
	Deadlines []deadline
	Charts    []chart
	Errors    PredictionError
	Refusals  []refusal
	Unplaced  []unplacedRow
}

type outcomeCount struct {
	Name  string
	N     int
	Class string
}

type unplacedRow struct {
	Plan string
	UnplacedVM
}

// WriteHTML writes the run as one self-contained HTML page: a summary
// card, SVG charts (gonum/plot) with tooltips, and tables of what did not
// happen and why. It needs nothing but the file to open, prints on paper,
// and the same report gives the same bytes.
func (r *Report) WriteHTML(w io.Writer) error {
	pg, err := r.page()
	if err != nil {
		return err
	}
	return pageTmpl.Execute(w, pg)
}

// SaveHTML writes dir/report.html, whole or not at all.
func (r *Report) SaveHTML(dir string) (string, error) {
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.html")
	return path, renameio.WriteFile(path, buf.Bytes(), 0o644)
}

func (r *Report) page() (*page, error) {
	rc := *r
	if rc.Version == "" {
		rc.Version = SchemaVersion
	}
	pg := &page{R: &rc, Title: r.Scenario}
	s := r.Summary
	unfinished := 0
	for i := range r.Migrations {
		if r.Migrations[i].Outcome == cluster.OutcomeUnfinished {
			unfinished++
		}
	}
	for _, o := range []outcomeCount{{"completed", s.Completed, "ok"}, {"forced", s.Forced, "warn"},
		{"post-copy", s.PostCopy, "warn"}, {"aborted", s.Aborted, "bad"}, {"failed", s.Failed, "bad"},
		{"rejected", s.Rejected, "bad"}, {"unfinished", unfinished, "warn"}} {
		if o.N > 0 || o.Name == "completed" {
			if r.Kind == KindPlan {
				o.Name += " (predicted)"
			}
			pg.Outcomes = append(pg.Outcomes, o)
		}
	}
	for _, p := range r.Plans {
		if p.DeadlineMS > 0 {
			pg.Deadlines = append(pg.Deadlines, deadline{
				What:   fmt.Sprintf("%s plan at %s", p.Policy, clock(p.AtMS)),
				Detail: fmt.Sprintf("done %s after it began, %s allowed", dur(p.MakespanMS), dur(p.DeadlineMS-p.AtMS)),
				Met:    p.DeadlineMet(),
			})
		}
	}
	for _, d := range r.Disasters {
		pg.Deadlines = append(pg.Deadlines, deadline{
			What:   "zone " + d.Zone + " fails at " + clock(d.FailsAtMS),
			Detail: fmt.Sprintf("%d of %d VMs saved, %d lost (%d unsavable in advance)", d.Saved, d.VMs, d.Lost, d.Unsavable),
			Met:    d.DeadlineMet,
		})
	}
	for i := range r.Migrations {
		m := &r.Migrations[i]
		switch m.Outcome {
		case cluster.OutcomeRejected, cluster.OutcomeFailed, cluster.OutcomeAborted:
			pg.Refusals = append(pg.Refusals, refusal{AtMS: m.StartMS, VM: m.VM, From: m.Source, To: m.Destination,
				Cause: m.Cause, Outcome: string(m.Outcome), Reason: m.Reason})
		}
	}
	for _, p := range r.Plans {
		for _, u := range p.UnplacedVMs {
			pg.Unplaced = append(pg.Unplaced, unplacedRow{Plan: fmt.Sprintf("%s at %s", p.Policy, clock(p.AtMS)), UnplacedVM: u})
		}
	}
	pg.Errors = r.Errors()

	add := func(id, title, help, missing string, f *figure, note string) error {
		c := chart{ID: id, Title: title, Help: help, Note: note, Missing: missing}
		if f != nil {
			svg, err := f.render(title)
			if err != nil {
				return fmt.Errorf("report %s: %w", id, err)
			}
			c.SVG, c.Missing = svg, ""
		}
		pg.Charts = append(pg.Charts, c)
		return nil
	}
	noSamples := "This run sampled no host utilisation (real runs and plans do not)."
	ran := ganttMigrations(r)
	g, gnote := ganttFigure(r, ran, "Migrations (a lane per source host)", markersOf(r), false)
	var pg2 *figure
	var pnote, ptitle string
	if pl, ms, ok := planWindow(r, ran); ok {
		ptitle = fmt.Sprintf("Migrations of the %s plan at %s", pl.Policy, clock(pl.AtMS))
		pg2, pnote = ganttFigure(r, ms, ptitle, markersOf(r), true)
	}
	l, lnote := linkFigure(r)
	e, enote := evacuationFigure(r)
	steps := []struct {
		id, title, help, missing string
		f                        *figure
		note                     string
	}{
		{"heatmap", "Host utilisation", "Each row is a host, grouped by zone and rack; each column a sample. " +
			"Colour is CPU demand over cores; purple is demand beyond the host's cores, dark grey a host that is down or empty. " +
			"Vertical lines mark maintenance, disaster warnings, failures and deadlines (hover for what and when).",
			noSamples, heatMapFigure(r), ""},
		{"imbalance", "Imbalance over time", "The balancer's measure (coefficient of variation of CPU and memory use per pool) " +
			"and the share of hosts whose demand exceeds their cores, with the balancer's threshold.", noSamples, imbalanceFigure(r), ""},
		{"gantt", "Migrations", "One bar per migration from start to end, a lane per source host; colour is the transport " +
			"when it completed, else its outcome; the black mark at the end is the guest's downtime (at least 1.5 pt wide, left out on bars too short to hold it). " +
			"Hover over a bar for the VM, its route and figures.", "No migration ran.", g, gnote},
		{"gantt-plan", ptitle, "The same, for the migrations of this plan alone, in its own window of time.", "", pg2, pnote},
		{"evacuation", "Evacuation progress", "The share of its VMs (solid) and of its bytes (dashed) each " +
			"evacuation or disaster plan still had to move, from the moment it began, against its deadline.", "The run made no evacuation or disaster plan that moved anything.",
			e, enote},
		{"links", "Bandwidth on shared links", "Bandwidth that migrations used on each network link two or more of them crossed at once " +
			"(each migration at its mean rate while it ran).", "No two migrations shared a network link at the same time (or the run does not know its links).",
			l, lnote},
		{"predicted", "Predicted against measured", predictedHelp(r), predictedMissing(r),
			predictedFigure(r), ""},
	}
	for _, st := range steps {
		if st.missing == "" && st.f == nil {
			continue // a chart only some runs have, and this one has not
		}
		if r.Kind == KindCalibration && st.id != "predicted" {
			continue // a grid's migrations share no clock, hosts or links
		}
		if err := add(st.id, st.title, st.help, st.missing, st.f, st.note); err != nil {
			return nil, err
		}
	}
	return pg, nil
}

// fmtMS writes a downtime: milliseconds while they are few, seconds
// beyond ten of them.
func fmtMS(ms float64) string {
	if ms >= 10000 {
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func dur(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(100 * time.Millisecond).String()
}

func predictedMissing(r *Report) string {
	if r.Kind == KindPlan {
		return "A plan's times are its predictions: nothing was measured yet. drover apply --out DIR --format html shows them against what happened."
	}
	return "No finished migration has a prediction to compare with."
}

func predictedHelp(r *Report) string {
	if r.Kind == KindCalibration {
		return "Each point is a measured migration of the calibration grid: the time a profile fitted without it predicted, against the time libvirt's job took. The table's range is the fold's own 80 % interval."
	}
	if r.Kind == KindApply {
		return "Each point is a migration on real hosts: the plan's predicted time against the time it took. Points above the line took longer than predicted."
	}
	return "Each point is a simulated migration: the model's closed-form prediction at the bandwidth it got when it started, " +
		"against the time it took as links were shared and rates changed. Points above the line were slowed by sharing."
}

// Names used in the summary's one-line description of the run.
func (pg *page) Kind() string {
	switch pg.R.Kind {
	case KindApply:
		return "run on real hosts"
	case KindCalibration:
		return "calibration (measured migrations, each predicted by a profile fitted without it)"
	case KindPlan:
		return "plan (predicted, nothing measured)"
	case KindSim:
		return "simulated run"
	}
	return "run"
}

// Policy is the run's policy as a person reads it.
func (pg *page) Policy() string {
	var parts []string
	if pg.R.Policy != "" {
		parts = append(parts, pg.R.Policy)
	} else {
		parts = append(parts, "no periodic policy")
	}
	if pg.R.Evacuation != "" {
		parts = append(parts, "evacuation "+pg.R.Evacuation)
	}
	return strings.Join(parts, ", ")
}
