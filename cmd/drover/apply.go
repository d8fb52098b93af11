package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/droverlab/drover/backend/driver"
	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
)

func applyCmd() *cobra.Command {
	var (
		inv, journal, outDir string
		dryRun               bool
		resume               bool
	)
	c := &cobra.Command{
		Use:   "apply PLAN.json --inventory FILE [--dry-run] [--journal FILE] [--resume] [--out DIR]",
		Short: "Carry out a plan on real libvirt hosts, with progress, limits, abort and resume",
		Long: "Runs the moves of PLAN (from `drover plan --out`) on the hosts of the inventory FILE through the same\n" +
			"scheduler Core as the simulator: each move is checked again against the live cluster (moves that no\n" +
			"longer fit are refused, not run), the plan's limits and dependencies hold, migrations that stall\n" +
			"or overrun their timeouts get the configured limit action, and failed moves are retried elsewhere.\n" +
			"Every step goes to the journal (default PLAN.journal.jsonl) before it happens. Ctrl-C aborts the\n" +
			"running migrations (guests stay on their sources); --resume continues from the journal, skipping\n" +
			"the moves that are done. --dry-run checks the plan against the live cluster and changes nothing.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pl, err := readPlan(args[0])
			if err != nil {
				return err
			}
			cfg, err := libvirt.LoadConfig(inv)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return exitError{2}
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			b, err := libvirt.New(cfg, log)
			if err != nil {
				return err
			}
			defer b.Close()
			ccfg := coreConfig(cfg)
			out := cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			if dryRun {
				return dryRunPlan(ctx, out, b, ccfg, pl)
			}
			if journal == "" {
				journal = args[0] + ".journal.jsonl"
			}
			var core *scheduler.Core
			var jf *os.File
			if _, err := os.Stat(journal); err == nil {
				if !resume {
					return fmt.Errorf("journal %s exists: --resume to continue that run, or remove it to start over", journal)
				}
				f, recs, err := driver.OpenJournal(journal)
				if err != nil {
					return err
				}
				jf = f
				at := time.Duration(0)
				if len(recs) > 0 {
					at = recs[len(recs)-1].At
				}
				if core, err = scheduler.Restore(ccfg, at, recs); err != nil {
					jf.Close()
					return fmt.Errorf("journal %s: %w", journal, err)
				}
				fmt.Fprintf(out, "resuming from %s (%d records)\n", journal, len(recs))
			} else {
				if resume {
					return fmt.Errorf("--resume: no journal %s", journal)
				}
				if jf, err = os.OpenFile(journal, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
					return err
				}
				core = scheduler.New(ccfg)
			}
			defer jf.Close()

			pr := newProgress(out, pl)
			err = driver.Run(ctx, core, b, []cluster.Event{scheduler.PlanSubmitted{Plan: pl}}, driver.Options{
				Journal: jf, OnReady: pr.ready, OnEvent: pr.event, Logger: log,
			})
			pr.finish()
			if outDir != "" {
				path, rerr := pr.report(args[0]).Save(outDir)
				if rerr != nil {
					return rerr
				}
				fmt.Fprintf(out, "report: %s\n", path)
			}
			if errors.Is(err, context.Canceled) {
				fmt.Fprintf(out, "interrupted: running migrations aborted; continue with --resume (journal %s)\n", journal)
				return exitError{130}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "journal: %s\n", journal)
			if pr.failed > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&inv, "inventory", "", "inventory file: the hosts and how to reach them")
	f.StringVar(&journal, "journal", "", "journal file (default PLAN.journal.jsonl)")
	f.BoolVar(&dryRun, "dry-run", false, "check the plan against the live cluster; move nothing")
	f.BoolVar(&resume, "resume", false, "continue the run the journal records")
	f.StringVar(&outDir, "out", "", "write DIR/report.json: every migration, predicted against actual, as drover sim's reports")
	c.MarkFlagRequired("inventory")
	return c
}

func readPlan(path string) (*plan.Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := plan.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// coreConfig is the executor's configuration from an inventory file.
func coreConfig(cfg *libvirt.Config) scheduler.Config {
	m := cfg.Migration
	return scheduler.Config{
		Settings: policy.Settings{
			TLS:        cfg.TLS,
			Overcommit: 4,
			Bandwidth:  float64(m.Bandwidth),
			Limits:     plan.Limits{MaxParallel: m.MaxParallel, MaxPerHostOut: m.MaxPerHost, MaxPerHostIn: m.MaxPerHost},
		},
		Options:                 cfg.MigrationOptions(),
		CompletionTimeoutPerGiB: time.Duration(m.CompletionTimeoutPerGiB),
		ProgressTimeout:         time.Duration(m.ProgressTimeout),
		MaxIterations:           m.MaxIterations,
		OnLimit:                 m.OnLimit,
		MaxParallel:             m.MaxParallel,
	}
}

// dryRunPlan steps a Core with the live snapshot and the plan, and prints
// what it would start and what it refuses, without applying anything.
func dryRunPlan(ctx context.Context, w io.Writer, b *libvirt.Backend, cfg scheduler.Config, pl *plan.Plan) error {
	snap, err := b.Snapshot(ctx)
	if err != nil {
		return err
	}
	core := scheduler.New(cfg)
	if err := core.Step(snap.At, scheduler.PlanSubmitted{Plan: pl}); err != nil {
		return err
	}
	if err := core.Step(snap.At, cluster.SnapshotTaken{Snap: snap}); err != nil {
		return err
	}
	var recs []scheduler.Record
	for core.HasReady() {
		rd := core.Ready()
		recs = append(recs, rd.Journal...)
		core.Advance(rd)
	}
	fmt.Fprintf(w, "dry run of %d moves against the live cluster (%d hosts, %d VMs); nothing is moved\n",
		len(pl.Moves), len(snap.Hosts), len(snap.VMs))
	accepted := 0
	for _, r := range recs {
		switch r.Kind {
		case scheduler.RecMove:
			accepted++
			m := r.Move
			p := predicted(pl, m.VM)
			fmt.Fprintf(w, "  run     %-14s %s -> %s over %s, predicted %s, downtime %s\n", m.VM, m.Source, m.Destination,
				m.Transport, (p.End - p.Start).Round(100*time.Millisecond), p.Downtime.Round(time.Millisecond))
		case scheduler.RecRefuse:
			fmt.Fprintf(w, "  refuse  %-14s -> %s: %s\n", r.VM, r.Destination, r.Reason)
		}
	}
	fmt.Fprintf(w, "%d of %d moves would run; predicted makespan %s\n", accepted, len(pl.Moves), pl.Makespan.Round(100*time.Millisecond))
	return nil
}

func predicted(pl *plan.Plan, vm string) plan.Prediction {
	for _, m := range pl.Moves {
		if m.VM == vm {
			return m.Predicted
		}
	}
	return plan.Prediction{}
}

// progress shows running migrations as bars on a terminal, as lines
// otherwise, and a table of predicted against actual at the end.
type progress struct {
	w       io.Writer
	pl      *plan.Plan
	p       *mpb.Progress
	bars    map[int]*mpb.Bar
	moves   map[int]cluster.StartMigration
	start   map[int]time.Time
	round   map[int]int
	done    []doneMove
	refused []scheduler.Record
	failed  int
	began   time.Time
	running int
	maxConc int
}

type doneMove struct {
	cluster.MigrationDone
	took time.Duration
	end  time.Time
}

func newProgress(w io.Writer, pl *plan.Plan) *progress {
	pr := &progress{w: w, pl: pl, bars: map[int]*mpb.Bar{}, moves: map[int]cluster.StartMigration{},
		start: map[int]time.Time{}, round: map[int]int{}, began: time.Now()}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		pr.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40))
	}
	return pr
}

func (pr *progress) ready(rd scheduler.Ready) {
	for _, r := range rd.Journal {
		if r.Kind == scheduler.RecRefuse {
			pr.refused = append(pr.refused, r)
			pr.printf("refused %s -> %s: %s\n", r.VM, r.Destination, r.Reason)
		}
	}
	for _, c := range rd.Commands {
		switch c := c.(type) {
		case cluster.StartMigration:
			pr.moves[c.ID], pr.start[c.ID] = c, time.Now()
			pr.running++
			pr.maxConc = max(pr.maxConc, pr.running)
			label := fmt.Sprintf("%s %s->%s", c.VM, c.Source, c.Destination)
			if pr.p != nil {
				pr.bars[c.ID] = pr.p.AddBar(100, mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR)),
					mpb.AppendDecorators(decor.Percentage(), decor.Elapsed(decor.ET_STYLE_GO)))
			} else {
				pr.printf("start   %s over %s\n", label, c.Transport)
			}
		case cluster.AbortMigration:
			pr.printf("abort   move %d: %s\n", c.ID, c.Reason)
		case cluster.ForceSwitchover:
			pr.printf("force   move %d: %s\n", c.ID, c.Reason)
		case cluster.StartPostCopy:
			pr.printf("postcopy move %d: %s\n", c.ID, c.Reason)
		}
	}
}

func (pr *progress) event(ev cluster.Event) {
	switch e := ev.(type) {
	case cluster.MigrationProgress:
		if bar := pr.bars[e.ID]; bar != nil && e.Sent+e.Remaining > 0 {
			bar.SetCurrent(min(99, 100*e.Sent/(e.Sent+e.Remaining)))
		}
		if e.Iteration != pr.round[e.ID] {
			pr.round[e.ID] = e.Iteration
			pr.printf("round   %s: %d, %.0f MiB sent, %.0f MiB left\n", pr.moves[e.ID].VM, e.Iteration,
				float64(e.Sent)/(1<<20), float64(e.Remaining)/(1<<20))
		}
	case cluster.MigrationDone:
		d := doneMove{MigrationDone: e, took: time.Since(pr.start[e.ID]), end: time.Now()}
		if _, started := pr.start[e.ID]; started {
			pr.running--
		}
		pr.done = append(pr.done, d)
		if bar := pr.bars[e.ID]; bar != nil {
			if e.Succeeded() {
				bar.SetCurrent(100)
			} else {
				bar.Abort(false)
			}
		}
		if !e.Succeeded() {
			pr.failed++
		}
		pr.printf("%-8s %s in %s, downtime %s, %.0f MiB, %d rounds %s\n", e.Outcome, e.VM, d.took.Round(100*time.Millisecond),
			e.Downtime, float64(e.Bytes)/(1<<20), e.Rounds, e.Reason)
	}
}

func (pr *progress) printf(format string, args ...any) {
	if pr.p != nil {
		return // the bars say it; the table at the end says the rest
	}
	fmt.Fprintf(pr.w, format, args...)
}

// finish prints predicted against actual for every move that ended. A
// move retried elsewhere appears once per attempt.
func (pr *progress) finish() {
	if pr.p != nil {
		pr.p.Wait()
	}
	sort.Slice(pr.done, func(i, j int) bool { return pr.done[i].ID < pr.done[j].ID })
	fmt.Fprintf(pr.w, "\n%-14s %-10s %-10s %10s %10s %10s %10s\n", "VM", "OUTCOME", "TO", "PREDICTED", "ACTUAL", "PRED DOWN", "DOWNTIME")
	for _, d := range pr.done {
		p := predicted(pr.pl, d.VM)
		fmt.Fprintf(pr.w, "%-14s %-10s %-10s %10s %10s %10s %10s\n", d.VM, d.Outcome, pr.moves[d.ID].Destination,
			(p.End - p.Start).Round(100*time.Millisecond), d.took.Round(100*time.Millisecond),
			p.Downtime.Round(time.Millisecond), d.Downtime)
	}
	fmt.Fprintf(pr.w, "%d moves ended (%d not on their destination) in %s\n", len(pr.done), pr.failed, time.Since(pr.began).Round(100*time.Millisecond))
}

// report is the run in the format of drover sim's reports, so `drover
// report` reads, compares and charts real runs too. Times are from the
// start of this apply; each migration's predicted_ms is the plan's.
func (pr *progress) report(planPath string) *reports.Report {
	ms := func(t time.Time) float64 { return reports.MS(t.Sub(pr.began)) }
	r := &reports.Report{Scenario: "apply " + planPath, DurationMS: reports.MS(time.Since(pr.began)),
		Lost: []reports.LostVM{}, Events: []reports.EventRecord{}}
	var first, last time.Time
	completed := 0
	for _, d := range pr.done {
		c := pr.moves[d.ID]
		p := predicted(pr.pl, d.VM)
		start := pr.start[d.ID]
		if start.IsZero() {
			start = d.end
		}
		r.Migrations = append(r.Migrations, reports.Migration{
			ID: d.ID, VM: d.VM, Source: c.Source, Destination: c.Destination, Cause: c.Cause,
			StartMS: ms(start), EndMS: ms(d.end), DurationMS: reports.MS(d.took), DowntimeMS: reports.MS(d.Downtime),
			Bytes: d.Bytes, Rounds: d.Rounds, Transport: string(c.Transport), Outcome: d.Outcome, Reason: d.Reason,
			PredictedMS: reports.MS(p.End - p.Start),
		})
		if first.IsZero() || start.Before(first) {
			first = start
		}
		if d.end.After(last) {
			last = d.end
		}
		if d.Succeeded() {
			completed++
		}
	}
	for _, rec := range pr.refused {
		r.Migrations = append(r.Migrations, reports.Migration{VM: rec.VM, Destination: rec.Destination, Cause: rec.Policy,
			Outcome: cluster.OutcomeRejected, Reason: rec.Reason})
	}
	sort.SliceStable(r.Migrations, func(i, j int) bool { return r.Migrations[i].StartMS < r.Migrations[j].StartMS })
	r.SummarizeMigrations()
	r.Summary.MaxConcurrent = pr.maxConc
	r.Summary.OverCapacityMS = []reports.HostTime{}
	pl := reports.Plan{Policy: pr.pl.Policy, Moves: len(pr.pl.Moves), Unplaced: len(pr.pl.Unplaced),
		PredictedMakespanMS: reports.MS(pr.pl.Makespan), LowerBoundMS: reports.MS(pr.pl.LowerBound), Completed: completed}
	if !first.IsZero() {
		pl.MakespanMS = reports.MS(last.Sub(first))
	}
	r.Plans = []reports.Plan{pl}
	r.Disasters = []reports.Disaster{}
	return r
}
