package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"gonum.org/v1/gonum/stat"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// progress shows running migrations as bars on a terminal, as lines
// otherwise, and a table of predicted against actual at the end.
type progress struct {
	w       io.Writer
	plans   []*plan.Plan
	pred    map[string]plan.Prediction // by VM, from the latest plan that moves it
	p       *mpb.Progress
	bars    map[int]*mpb.Bar
	moves   map[int]cluster.StartMigration
	start   map[int]time.Time
	round   map[int]int
	done    []doneMove
	refused []scheduler.Record
	journal []scheduler.Record
	// followed are moves an earlier run started: their start is unknown,
	// so their actual duration is not compared with the prediction.
	followed map[int]bool
	failed   int
	began    time.Time
	running  int
	maxConc  int
	// snap is the latest snapshot the Core was given, and inputs each
	// started move's model inputs from it, for the report.
	snap    *cluster.Snapshot
	inputs  map[int]*reports.MigrationInputs
	profile string
	// submitted: the next plan the Core readies is its copy of the one
	// given to newProgress.
	submitted bool
}

type doneMove struct {
	cluster.MigrationDone
	took time.Duration
	end  time.Time
}

// newProgress starts a display; pl, if not nil, is the plan being applied.
// Plans the Core makes on its own (drover run) are added as they come.
func newProgress(w io.Writer, pl *plan.Plan) *progress {
	pr := &progress{w: w, pred: map[string]plan.Prediction{}, bars: map[int]*mpb.Bar{}, moves: map[int]cluster.StartMigration{},
		start: map[int]time.Time{}, round: map[int]int{}, inputs: map[int]*reports.MigrationInputs{}, began: time.Now(),
		followed: map[int]bool{}}
	if pl != nil {
		pr.addPlan(pl)
		// The Core hands back its own copy of the submitted plan (the
		// moves it accepted) in a Ready: the plan is listed once, as the
		// operator wrote it, refused moves included.
		pr.submitted = true
	}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		pr.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40))
	}
	return pr
}

func (pr *progress) addPlan(pl *plan.Plan) {
	pr.plans = append(pr.plans, pl)
	for _, m := range pl.Moves {
		pr.pred[m.VM] = m.Predicted
	}
}

func (pr *progress) ready(rd scheduler.Ready) {
	for _, pl := range rd.Plans {
		if pr.submitted && pl.Policy == pr.plans[0].Policy && pl.At == pr.plans[0].At {
			pr.submitted = false
			continue
		}
		pr.addPlan(pl)
		pr.printf("plan    %s: %d moves, %d unplaced, predicted makespan %s\n", pl.Policy, len(pl.Moves), len(pl.Unplaced),
			pl.Makespan.Round(100*time.Millisecond))
	}
	pr.journal = append(pr.journal, rd.Journal...)
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
			pr.inputs[c.ID] = pr.inputsOf(c)
			label := fmt.Sprintf("%s %s->%s", c.VM, c.Source, c.Destination)
			if pr.p != nil {
				pr.bars[c.ID] = pr.p.AddBar(100, mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR)),
					mpb.AppendDecorators(decor.Percentage(), decor.Elapsed(decor.ET_STYLE_GO)))
			} else {
				pr.printf("start   %s over %s\n", label, c.Transport)
			}
		case cluster.FollowMigration:
			pr.moves[c.ID], pr.start[c.ID], pr.followed[c.ID] = cluster.StartMigration{ID: c.ID, VM: c.VM, Source: c.Source,
				Destination: c.Destination, Transport: c.Transport}, time.Now(), true
			pr.running++
			pr.maxConc = max(pr.maxConc, pr.running)
			pr.printf("follow  %s %s->%s: started by an earlier run, still migrating\n", c.VM, c.Source, c.Destination)
		case cluster.AbortMigration:
			pr.printf("abort   move %d: %s\n", c.ID, c.Reason)
		case cluster.ForceSwitchover:
			pr.printf("force   move %d: %s\n", c.ID, c.Reason)
		case cluster.StartPostCopy:
			pr.printf("postcopy move %d: %s\n", c.ID, c.Reason)
		}
	}
}

// inputsOf is what the model knew of c's VM and path when c started.
func (pr *progress) inputsOf(c cluster.StartMigration) *reports.MigrationInputs {
	if pr.snap == nil {
		return nil
	}
	v, src, dst := pr.snap.VM(c.VM), pr.snap.Host(c.Source), pr.snap.Host(c.Destination)
	if v == nil || src == nil || dst == nil {
		return nil
	}
	in := &reports.MigrationInputs{MemoryBytes: v.Memory, ResidentBytes: v.Resident, WSSBytes: v.WSS, DirtyRate: v.DirtyRate,
		Cap: c.Options.Bandwidth, PathRate: cluster.StreamCap(src, dst, 0), TLS: c.Transport == cluster.TransportTLS,
		Concurrent: pr.running, Profile: pr.profile}
	if v.Measured != nil {
		in.Method = v.Measured.Method
	}
	if v.TCG {
		in.Accel = "tcg"
	}
	return in
}

func (pr *progress) event(ev cluster.Event) {
	switch e := ev.(type) {
	case cluster.SnapshotTaken:
		pr.snap = e.Snap
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
		d := doneMove{MigrationDone: e, end: time.Now()}
		if s, started := pr.start[e.ID]; started {
			d.took = d.end.Sub(s)
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
		pr.printf("%-8s %s in %s (libvirt's job %s), downtime %s, %.0f MiB, %d rounds %s\n", e.Outcome, e.VM, d.took.Round(100*time.Millisecond),
			e.Elapsed.Round(100*time.Millisecond), e.Downtime, float64(e.Bytes)/(1<<20), e.Rounds, e.Reason)
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
	fmt.Fprintf(pr.w, "\n%-14s %-10s %-10s %10s %15s %10s %7s %10s %10s\n", "VM", "OUTCOME", "TO", "PREDICTED", "80% RANGE", "ACTUAL", "ERROR", "PRED DOWN", "DOWNTIME")
	var errs []float64
	inside := 0
	for _, d := range pr.done {
		p := pr.pred[d.VM]
		want := p.End - p.Start
		span, e := "-", "-"
		if p.High > 0 {
			span = fmt.Sprintf("%s..%s", p.Low.Round(100*time.Millisecond), p.High.Round(100*time.Millisecond))
		}
		if want > 0 && d.Succeeded() && !pr.followed[d.ID] {
			rel := (float64(want) - float64(d.took)) / float64(d.took)
			e = fmt.Sprintf("%+.0f%%", 100*rel)
			errs = append(errs, math.Abs(rel))
			if p.High > 0 && d.took >= p.Low && d.took <= p.High {
				inside++
			}
		}
		fmt.Fprintf(pr.w, "%-14s %-10s %-10s %10s %15s %10s %7s %10s %10s\n", d.VM, d.Outcome, pr.moves[d.ID].Destination,
			want.Round(100*time.Millisecond), span, d.took.Round(100*time.Millisecond), e,
			p.Downtime.Round(time.Millisecond), d.Downtime)
	}
	fmt.Fprintf(pr.w, "%d moves ended (%d not on their destination) in %s\n", len(pr.done), pr.failed, time.Since(pr.began).Round(100*time.Millisecond))
	if len(errs) > 0 {
		slices.Sort(errs)
		fmt.Fprintf(pr.w, "prediction: median |error| %.1f%%, max %.1f%%; %d of %d inside their 80%% range\n",
			100*stat.Quantile(0.5, stat.Empirical, errs, nil), 100*errs[len(errs)-1], inside, len(errs))
	}
	// The makespan of the plan being applied, from its first start to its
	// last end, against the plan's own.
	if len(pr.plans) > 0 && len(pr.done) > 0 && pr.plans[0].Makespan > 0 {
		var first, last time.Time
		for _, d := range pr.done {
			if s, ok := pr.start[d.ID]; ok && (first.IsZero() || s.Before(first)) {
				first = s
			}
			if d.end.After(last) {
				last = d.end
			}
		}
		if !first.IsZero() {
			want, got := pr.plans[0].Makespan, last.Sub(first)
			fmt.Fprintf(pr.w, "makespan: predicted %s, actual %s (%+.1f%%)\n", want.Round(100*time.Millisecond),
				got.Round(100*time.Millisecond), 100*(float64(want)-float64(got))/float64(got))
		}
	}
}

// exit is the status the run's moves call for: moves that failed, were
// refused or found no host count against it.
func (pr *progress) exit() error {
	unplaced := 0
	for _, pl := range pr.plans {
		unplaced += len(pl.Unplaced)
	}
	return movesExit(len(pr.done)-pr.failed, pr.failed, len(pr.refused)+unplaced)
}

// report is the run in the format of drover sim's reports, so `drover
// report` reads, compares and charts real runs too. Times are from the
// start of this apply; each migration's predicted_ms is the plan's.
func (pr *progress) report(planPath string) *reports.Report {
	ms := func(t time.Time) float64 { return reports.MS(t.Sub(pr.began)) }
	r := &reports.Report{Kind: reports.KindApply, Scenario: "apply " + planPath, DurationMS: reports.MS(time.Since(pr.began)),
		Lost: []reports.LostVM{}, Events: []reports.EventRecord{}}
	for _, d := range pr.done {
		c := pr.moves[d.ID]
		p := pr.pred[d.VM]
		start := pr.start[d.ID]
		if start.IsZero() {
			start = d.end
		}
		r.Migrations = append(r.Migrations, reports.Migration{
			ID: d.ID, VM: d.VM, Source: c.Source, Destination: c.Destination, Cause: c.Cause,
			StartMS: ms(start), EndMS: ms(d.end), DurationMS: reports.MS(d.took), DowntimeMS: reports.MS(d.Downtime),
			Bytes: d.Bytes, Rounds: d.Rounds, Transport: string(c.Transport), Outcome: d.Outcome, Reason: d.Reason,
			PredictedMS: reports.MS(p.End - p.Start), PredictedLowMS: reports.MS(p.Low), PredictedHighMS: reports.MS(p.High),
			Inputs: pr.inputs[d.ID], JobMS: reports.MS(d.Elapsed),
		})
	}
	for _, rec := range pr.refused {
		r.Migrations = append(r.Migrations, reports.Refused(rec.At, rec.VM, rec.Destination, rec.Policy, rec.Reason))
	}
	sort.SliceStable(r.Migrations, func(i, j int) bool { return r.Migrations[i].StartMS < r.Migrations[j].StartMS })
	r.SummarizeMigrations()
	r.Summary.MaxConcurrent = pr.maxConc
	r.Summary.OverCapacityMS = []reports.HostTime{}
	plans := make([]reports.Plan, len(pr.plans))
	for i, pl := range pr.plans {
		plans[i] = reports.PlanOf(pl, pl.At)
	}
	r.SetPlans(plans, scheduler.PlanMoves(pr.journal))
	if len(plans) > 0 {
		r.Policy = plans[0].Policy
	}
	r.Disasters = []reports.Disaster{}
	return r
}
