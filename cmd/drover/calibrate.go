package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/calibrate"
	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler/precopy"
)

// minFullFit is the fewest migrations a fit of every parameter is run on.
const minFullFit = 12

func calibrateCmd() *cobra.Command {
	var (
		out, base, name, fittedOn string
		tables, runs, hold        []string
		folds                     int
		bySource                  bool
		evaluate, wall            bool
		maxMedian                 float64
		g                         gridFlags
		format                    string
	)
	c := &cobra.Command{
		Use:   "calibrate (--inventory FILE --guest-dir DIR | --table measurements.csv,... | --from-runs DIR,...) (--out DIR | --evaluate)",
		Short: "Measure a grid of real migrations, fit a calibration profile to them and report its accuracy on migrations left out of the fit",
		Long: `calibrate fits the migration model's profile to measured migrations and
reports its accuracy on migrations the fit never saw.

With --inventory it first measures them: on two hosts of the inventory it
boots the project's workload guest (e2e/lab/build-guest.sh) at every
point of a grid of memory, working set and write rate, migrates it once
per bandwidth cap, and migrates groups of identical guests at once over a
link --shaper limits. Each migration is a row of DIR/measurements.csv
(libvirt's completed job, the rate the guest says it wrote, whether it
kept running with the same boot); a row already there is not measured
again, so an interrupted grid resumes. Then it fits (or, with --evaluate,
predicts the rows with --base).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := parseFormats(format)
			if err != nil {
				return err
			}
			// A table does not say how its guests ran: every one measured
			// so far ran under TCG, and a grid run now says for itself.
			tcg := g.accel != "kvm"
			switch g.accel {
			case "auto", "kvm", "tcg":
			default:
				return fmt.Errorf("--accel %q: want kvm, tcg or auto", g.accel)
			}
			if !cmd.Flags().Changed("format") {
				formats = nil // report.json only when asked: the grid's own files say the rest
			}
			if g.inventory != "" {
				if out == "" {
					return fmt.Errorf("--inventory needs --out, the directory of the measurements")
				}
				table, ranTCG, err := runGrid(cmd.Context(), cmd.ErrOrStderr(), g, out)
				tcg = ranTCG
				if err != nil {
					return err
				}
				tables = append(tables, table)
			}
			if len(tables) == 0 && len(runs) == 0 {
				return fmt.Errorf("--inventory, --table or --from-runs is required")
			}
			var pts []calibrate.Point
			var sources []string
			for _, table := range tables {
				f, err := os.Open(table)
				if err != nil {
					return err
				}
				got, err := calibrate.Read(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", table, err)
				}
				src := filepath.Join(filepath.Base(filepath.Dir(table)), filepath.Base(table))
				for i := range got {
					got[i].TCG, got[i].Group = tcg, src
				}
				pts = append(pts, got...)
				sources = append(sources, src)
			}
			for _, dir := range runs {
				path := dir
				if st, err := os.Stat(dir); err == nil && st.IsDir() {
					path = filepath.Join(dir, "report.json")
				}
				r, err := reports.Load(path)
				if err != nil {
					return fmt.Errorf("--from-runs %s: %w", dir, err)
				}
				got := calibrate.FromReport(r, filepath.Base(dir))
				if len(got) == 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "calibrate: %s has no completed real migrations with recorded inputs (drover apply --out writes them)\n", dir)
				}
				pts = append(pts, got...)
				sources = append(sources, filepath.Base(dir))
			}
			// Runs say how their guests ran; with --accel auto they decide.
			// One profile half answers for one accelerator: a mix is two
			// calibrations.
			if n := len(pts); n > 0 && g.accel == "auto" && g.inventory == "" {
				emulated := 0
				for _, p := range pts {
					if p.TCG {
						emulated++
					}
				}
				if emulated > 0 && emulated < n {
					return fmt.Errorf("%d of %d migrations are of TCG guests, the rest of KVM ones: calibrate each apart (--accel tcg or kvm picks which; the others are left out)", emulated, n)
				}
				tcg = emulated == n
			}
			if g.accel != "auto" {
				pts = slices.DeleteFunc(pts, func(p calibrate.Point) bool { return p.TCG != tcg })
			}
			// A fit of every parameter needs a grid; a cluster's own few
			// runs pin down its fixed cost and goodput, starting from the
			// profile it was predicted with.
			start, names, weight := calibrate.Start, calibrate.AllParams, 0.0
			if len(tables) == 0 {
				start = precopy.DefaultProfile()
			}
			if len(pts) < minFullFit {
				// The profile it was predicted with counts as half a
				// grid's worth of evidence (24 migrations): a few runs
				// move it as far as they show and no further. On the
				// lab, six migrations fitted unheld traded setup for
				// goodput and predicted the rest of their day up to 330 %
				// off (BENCHMARKS.md).
				names, weight = calibrate.FewParams, 2*minFullFit
			}
			if base != "" {
				if start, err = loadProfile(base); err != nil {
					return err
				}
			}
			// The measured guests ran under one accelerator: a profile that
			// knows the accelerator is predicted and refitted by that half,
			// and the fit is of these hosts alone.
			start = start.For(tcg)
			start.TCG = nil
			if evaluate {
				// Fresh migrations against a profile that never saw them.
				prof := precopy.DefaultProfile().For(tcg)
				if base != "" {
					prof = start
				}
				rows := calibrate.Evaluate(pts, prof)
				var md strings.Builder
				writeAccuracy(&md, fmt.Sprintf("Profile %s on %s (no fit)", prof.Name, strings.Join(sources, ", ")), rows)
				fmt.Fprint(cmd.OutOrStdout(), md.String())
				if out != "" {
					if err := os.MkdirAll(out, 0o755); err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(out, "evaluation.md"), []byte(md.String()), 0o644); err != nil {
						return err
					}
				}
				if e := calibrate.Summarize(rows); maxMedian > 0 && e.TimeMedian > maxMedian {
					return fmt.Errorf("median total-time error %.1f%% is above --max-median-error %.1f%%", 100*e.TimeMedian, 100*maxMedian)
				}
				return nil
			}
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			var single []calibrate.Point
			for _, p := range pts {
				if p.Conc <= 1 {
					single = append(single, p)
				}
			}
			if len(single) < 3 {
				return fmt.Errorf("%d migrations to fit: need at least 3 (each is held out in turn)", len(single))
			}
			fittable := slices.Concat(calibrate.AllParams, calibrate.LinkParams)
			for _, h := range hold {
				if !slices.Contains(fittable, h) {
					return fmt.Errorf("--hold %s: not a fitted parameter (%s)", h, strings.Join(fittable, ", "))
				}
			}
			names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(hold, n) })
			names = calibrate.Learnable(single, names)
			k := min(folds, len(single))
			heldOut := fmt.Sprintf("Held out (%d-fold): each row predicted by a profile fitted without its fold", k)
			var rows []calibrate.Row
			switch {
			case len(names) == 0:
				// Nothing to fit (all held, or nothing these migrations
				// teach): the base predicts them as it stands. (An empty
				// list would mean "every parameter" to a fit.)
				rows = calibrate.Evaluate(single, start)
				heldOut = "Nothing fitted on these: each row predicted by the base profile as it stands"
			case bySource:
				rows, err = calibrate.CrossValidateGroups(single, start, names)
				heldOut = "Held out by source: each table's (or run's) rows predicted by a profile fitted on the others alone"
			default:
				rows, err = calibrate.CrossValidateNear(single, start, k, names, weight)
			}
			if err != nil {
				return err
			}
			prof, err := calibrate.FitNear(single, start, names, weight)
			if err != nil {
				return err
			}
			prof.Name = name
			prof.RelErr = calibrate.RelErr(rows)
			refit := len(names) > 0
			if !refit {
				// Everything held: the base stands as it was fitted, and
				// only what the concurrent groups teach is added below.
				prof.RelErr = start.RelErr
			}
			if wall {
				// A transport the data does not have keeps the base's figure.
				tcp, tls := calibrate.Overheads(single)
				if tcp > 0 {
					prof.OverheadMS = tcp
				}
				if tls > 0 {
					prof.OverheadTLSMS = tls
				}
			} else if refit {
				prof.OverheadMS, prof.OverheadTLSMS = 0, 0
			}
			if refit {
				prof.FittedOn = fmt.Sprintf("%s: %d single migrations from %s (fitted: %s)", fittedOn, len(single), strings.Join(sources, ", "), strings.Join(names, ", "))
			}
			var concPts []calibrate.Point
			for _, p := range pts {
				if p.Conc > 1 {
					concPts = append(concPts, p)
				}
			}
			// The link's goodput and the path's queue show only where a
			// link binds the streams: fitted on the concurrent groups
			// alone, after the rest, and their accuracy held out the same
			// way.
			conc := calibrate.Evaluate(concPts, prof)
			concTitle := "Concurrent migrations on a shaped link (not in any fit), with the final profile"
			linkNames := slices.DeleteFunc(slices.Clone(calibrate.LinkParams), func(n string) bool { return slices.Contains(hold, n) })
			if len(concPts) >= 2 && len(linkNames) > 0 {
				kq := min(folds, len(concPts))
				conc = calibrate.CrossValidateLink(concPts, prof, kq, linkNames)
				prof = calibrate.FitLink(concPts, prof, linkNames)
				// A base refitted with everything else held already says
				// where its old link figures came from: these replace them.
				for _, from := range []string{"; queue_bytes from ", "; link_goodput, queue_bytes from ", "; link_goodput from "} {
					if i := strings.Index(prof.FittedOn, from); i >= 0 {
						prof.FittedOn = prof.FittedOn[:i]
					}
				}
				prof.FittedOn += fmt.Sprintf("; %s from %d concurrent migrations over a shaped link, stepped batch by batch (%s)", strings.Join(linkNames, ", "), len(concPts), strings.Join(sources, ", "))
				concTitle = fmt.Sprintf("Concurrent migrations on a shaped link, held out (%d-fold): %s fitted without each row's fold, the rest on the single migrations", kq, strings.Join(linkNames, " and "))
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			b, err := prof.Encode()
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "profile.json"), b, 0o644); err != nil {
				return err
			}
			var md strings.Builder
			writeAccuracy(&md, heldOut, rows)
			if we := calibrate.WallErrors(rows, prof); wall && len(we) > 0 {
				slices.Sort(we)
				fmt.Fprintf(&md, "Wall time (the held-out job time plus overhead_ms %.0f, overhead_tls_ms %.0f, the medians of wall − job): median |error| %.1f%%, max %.1f%% over %d migrations\n\n",
					prof.OverheadMS, prof.OverheadTLSMS, 100*we[len(we)/2], 100*we[len(we)-1], len(we))
			}
			if len(conc) > 0 {
				writeAccuracy(&md, concTitle, conc)
			}
			if err := os.WriteFile(filepath.Join(out, "accuracy.md"), []byte(md.String()), 0o644); err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), md.String())
			fmt.Fprintf(cmd.OutOrStdout(), "\nprofile: %s\n%s", filepath.Join(out, "profile.json"), b)
			if len(formats) > 0 {
				// The held-out rows as a report: predicted against measured
				// on a page, and readable by drover report.
				rep := calibrate.Report(append(slices.Clone(rows), conc...), "calibration "+name)
				path, err := rep.Save(out)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", path)
				return writeFormats(cmd.OutOrStdout(), out, rep, formats)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&tables, "table", nil, "measurements (e2e/lab/calibrate.sh's measurements.csv); several, comma-separated, are fitted together")
	fl.StringSliceVar(&runs, "from-runs", nil, "directories of real runs' report.json (drover apply --out): refit on what the cluster really did; with fewer than 12 migrations only setup_ms and goodput are fitted")
	fl.StringVar(&out, "out", "", "directory for profile.json and accuracy.md")
	fl.StringVar(&base, "base", "", "profile to start from (default: the built-in default)")
	fl.StringSliceVar(&hold, "hold", nil, "parameters not fitted: they keep the base profile's values (e.g. zero_page_us, for a profile meant for other machines)")
	fl.StringVar(&name, "name", precopy.DefaultProfileName, "name of the fitted profile")
	fl.StringVar(&fittedOn, "fitted-on", "QEMU 10.0 TCG, libvirt 11.3, TCP", "where the measurements come from")
	fl.IntVar(&folds, "folds", 5, "folds for the held-out accuracy")
	fl.BoolVar(&bySource, "hold-out-sources", false, "hold each --table and --from-runs source out whole instead of k-fold: each day's grid predicted by a fit on the other days, as on a machine the profile never saw (slower: a fit per source and per inner source)")
	fl.BoolVar(&wall, "wall", false, "predict what an operator waits for: fit overhead_ms, libvirt's phases outside its job, from the tables' wall_ms (or the runs' own durations)")
	fl.StringVar(&format, "format", "", "also write DIR/report.json of the held-out predictions against the measurements, and these formats beside it: html, md, csv")
	fl.BoolVar(&evaluate, "evaluate", false, "fit nothing: predict the table with the default profile (or --base) and report the errors")
	fl.Float64Var(&maxMedian, "max-median-error", 0, "with --evaluate, fail when the median total-time error is above this share (e.g. 0.2)")
	g.register(c)
	return c
}

func writeAccuracy(w *strings.Builder, title string, rows []calibrate.Row) {
	e := calibrate.Summarize(rows)
	fmt.Fprintf(w, "## %s\n\n", title)
	fmt.Fprintf(w, "| id | time ms (pred / real / err) | downtime ms (pred / real) | bytes MB (pred / real / err) | iterations (pred / real) |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		pt := float64(r.Predicted.TotalTime) / float64(time.Millisecond)
		pb := float64(r.Predicted.TransferredBytes)
		fmt.Fprintf(w, "| %s | %.0f / %.0f / %+.1f%% | %.0f / %.0f | %.1f / %.1f / %+.1f%% | %d / %d |\n", r.ID,
			pt, r.TimeMS, 100*(pt-r.TimeMS)/r.TimeMS,
			float64(r.Predicted.Downtime)/float64(time.Millisecond), r.DowntimeMS,
			pb/1e6, r.Bytes/1e6, 100*(pb-r.Bytes)/r.Bytes, r.Predicted.Iterations, r.Iterations)
	}
	fmt.Fprintf(w, "\n%d migrations: total time |err| median %.1f%%, max %.1f%% (%.0f%% within 3%%, %.0f%% within 8%%); bytes median %.1f%%, max %.1f%%; downtime |err| median %.0f ms, max %.0f ms; iterations |err| median %.0f, max %.0f (%.0f%% within 1); %.0f%% of actual times inside their 80%% interval\n\n",
		e.N, 100*e.TimeMedian, 100*e.TimeMax, 100*e.TimeWithin3, 100*e.TimeWithin8, 100*e.BytesMedian, 100*e.BytesMax,
		e.DowntimeMedianMS, e.DownMax, e.IterMedianAbs, e.IterMaxAbs, 100*e.IterWithin1, 100*e.InInterval)
	if slices.ContainsFunc(rows, func(r calibrate.Row) bool { return len(r.Batch) > 1 }) {
		med, worst := calibrate.RankedDowntime(rows)
		fmt.Fprintf(w, "Batches predicted together: which of alike batch-mates switches over last is a race; matched in rank order within each batch, downtime |err| median %.0f ms, max %.0f ms\n\n", med, worst)
	}
	if down, iter, ok := calibrate.BatchScatter(rows); ok {
		fmt.Fprintf(w, "Batch-mates are alike and still differ: each batch's own median as every member's prediction, the floor of any model, is off by a median %.0f ms in downtime member by member and within ±1 iteration for %.0f%%\n\n", down, 100*iter)
	}
}
