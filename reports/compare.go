package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// metric is one row of a comparison: a name and how to read it off a report.
type metric struct {
	name string
	get  func(*Report) string
}

var metrics = []metric{
	{"scenario", func(r *Report) string { return r.Scenario }},
	{"seed", func(r *Report) string { return fmt.Sprint(r.Seed) }},
	{"migrations", func(r *Report) string { return fmt.Sprint(r.Summary.Migrations) }},
	{"completed", func(r *Report) string { return fmt.Sprint(r.Summary.Completed) }},
	{"forced / postcopy", func(r *Report) string { return fmt.Sprintf("%d / %d", r.Summary.Forced, r.Summary.PostCopy) }},
	{"aborted / failed / rejected", func(r *Report) string {
		return fmt.Sprintf("%d / %d / %d", r.Summary.Aborted, r.Summary.Failed, r.Summary.Rejected)
	}},
	{"bytes moved", func(r *Report) string { return FormatBytes(r.Summary.BytesMoved) }},
	{"total downtime (ms)", func(r *Report) string { return fmt.Sprintf("%.1f", r.Summary.TotalDowntimeMS) }},
	{"max downtime (ms)", func(r *Report) string { return fmt.Sprintf("%.1f", r.Summary.MaxDowntimeMS) }},
	{"mean migration (s)", func(r *Report) string { return fmt.Sprintf("%.2f", r.Summary.MeanDurationMS/1000) }},
	{"VMs lost", func(r *Report) string { return fmt.Sprint(r.Summary.VMsLost) }},
	{"mixed-security migrations", func(r *Report) string { return fmt.Sprint(r.Summary.MixedSecurity) }},
	{"hosts over capacity", func(r *Report) string { return fmt.Sprint(len(r.Summary.OverCapacityMS)) }},
	{"imbalance mean / max", func(r *Report) string {
		return fmt.Sprintf("%.3f / %.3f", r.Summary.ImbalanceMean, r.Summary.ImbalanceMax)
	}},
	{"samples above threshold", func(r *Report) string { return fmt.Sprintf("%.0f%%", 100*r.Summary.ImbalanceOver) }},
	{"ping-pong moves (back within 1 h)", func(r *Report) string { return fmt.Sprint(r.Summary.PingPong) }},
	{"evacuation makespan / lower bound (s)", func(r *Report) string {
		var parts []string
		for _, p := range r.Plans {
			if p.Moves > 0 && p.LowerBoundMS > 0 && !periodic(p.Policy) {
				parts = append(parts, fmt.Sprintf("%.1f / %.1f", p.MakespanMS/1000, p.LowerBoundMS/1000))
			}
		}
		if len(parts) == 0 {
			return "-"
		}
		return strings.Join(parts, ", ")
	}},
	{"disaster: saved / lost / deadline", func(r *Report) string {
		var parts []string
		for _, d := range r.Disasters {
			met := "met"
			if !d.DeadlineMet {
				met = "missed"
			}
			parts = append(parts, fmt.Sprintf("%d / %d / %s", d.Saved, d.Lost, met))
		}
		if len(parts) == 0 {
			return "-"
		}
		return strings.Join(parts, ", ")
	}},
}

// consolidationMetrics are the rows of runs with power models
// (Summary.Consolidation); a comparison shows them when any report has
// them, "-" for the others.
var consolidationMetrics = []metric{
	{"energy (kWh)", consolidationOf(func(c *Consolidation) string { return fmt.Sprintf("%.2f", c.EnergyKWh) })},
	{"SLATAH / PDM (%)", consolidationOf(func(c *Consolidation) string { return fmt.Sprintf("%.3f / %.4f", 100*c.SLATAH, 100*c.PDM) })},
	{"SLAV (×1e-5) / ESV (×1e-3)", consolidationOf(func(c *Consolidation) string { return fmt.Sprintf("%.3f / %.3f", 1e5*c.SLAV, 1e3*c.ESV) })},
	{"host shutdowns", consolidationOf(func(c *Consolidation) string { return fmt.Sprint(c.Shutdowns) })},
}

func consolidationOf(f func(*Consolidation) string) func(*Report) string {
	return func(r *Report) string {
		if r.Summary.Consolidation == nil {
			return "-"
		}
		return f(r.Summary.Consolidation)
	}
}

// finishedMetric is shown when any report has VMs that ended by
// themselves (Summary.VMsFinished), which only the simulator's CloudSim
// model does.
var finishedMetric = metric{"VMs finished (trace at 0%)", func(r *Report) string { return fmt.Sprint(r.Summary.VMsFinished) }}

// rowsFor is the metrics a comparison of reps shows.
func rowsFor(reps []*Report) []metric {
	rows := metrics
	for _, r := range reps {
		if r.Summary.Consolidation != nil {
			rows = append(append([]metric(nil), metrics...), consolidationMetrics...)
			break
		}
	}
	for _, r := range reps {
		if r.Summary.VMsFinished > 0 {
			return append(append([]metric(nil), rows...), finishedMetric)
		}
	}
	return rows
}

// Compare writes the reports side by side, one column each, as a Markdown
// table ("md") or CSV ("csv"); names head the columns.
func Compare(w io.Writer, format string, names []string, reps []*Report) error {
	if len(names) != len(reps) {
		return fmt.Errorf("compare: %d names for %d reports", len(names), len(reps))
	}
	switch format {
	case "md", "":
		fmt.Fprintf(w, "| metric | %s |\n", strings.Join(names, " | "))
		fmt.Fprintf(w, "| --- |%s\n", strings.Repeat(" --- |", len(names)))
		for _, m := range rowsFor(reps) {
			cells := make([]string, len(reps))
			for i, r := range reps {
				cells[i] = m.get(r)
			}
			fmt.Fprintf(w, "| %s | %s |\n", m.name, strings.Join(cells, " | "))
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(append([]string{"metric"}, names...)); err != nil {
			return err
		}
		for _, m := range rowsFor(reps) {
			row := []string{m.name}
			for _, r := range reps {
				row = append(row, m.get(r))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("compare: unknown format %q (want md or csv)", format)
}

// WriteMigrationsCSV writes one line per migration, for spreadsheets and
// plotting tools.
func (r *Report) WriteMigrationsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "vm", "source", "destination", "cause", "start_ms", "end_ms", "duration_ms", "downtime_ms",
		"bytes", "rounds", "transport", "outcome", "reason", "predicted_ms"})
	for _, m := range r.Migrations {
		cw.Write([]string{fmt.Sprint(m.ID), m.VM, m.Source, m.Destination, m.Cause, ff(m.StartMS), ff(m.EndMS),
			ff(m.DurationMS), ff(m.DowntimeMS), fmt.Sprint(m.Bytes), fmt.Sprint(m.Rounds), m.Transport, string(m.Outcome),
			m.Reason, ff(m.PredictedMS)})
	}
	cw.Flush()
	return cw.Error()
}

func ff(x float64) string { return fmt.Sprintf("%.3f", x) }
