package sim

import (
	"cmp"
	"slices"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
)

func (w *world) report() *reports.Report {
	r := &w.rep
	r.Scenario = w.sc.Name
	r.Seed = w.seed
	r.DurationMS = reports.MS(w.sc.Sim.Duration)
	r.Lost = w.lost
	if r.Lost == nil {
		r.Lost = []reports.LostVM{}
	}
	if r.Events == nil {
		r.Events = []reports.EventRecord{}
	}
	s := &r.Summary
	s.Events = w.eng.Processed
	s.MaxConcurrent = w.maxConc
	s.HostsCrashed = w.crashed
	s.VMsLost = len(w.lost)

	r.Migrations = make([]reports.Migration, 0, len(w.migs))
	for _, m := range w.migs {
		r.Migrations = append(r.Migrations, m.rec)
	}
	// Moves the scheduler refused never reached the world; they are
	// reported as rejected all the same.
	for _, rec := range w.journal {
		if rec.Kind == scheduler.RecRefuse {
			r.Migrations = append(r.Migrations, reports.Migration{
				VM: rec.VM, Destination: rec.Destination, Cause: "request", StartMS: reports.MS(rec.At),
				EndMS: reports.MS(rec.At), Outcome: cluster.OutcomeRejected, Reason: rec.Reason,
			})
		}
	}
	slices.SortStableFunc(r.Migrations, func(a, b reports.Migration) int {
		return cmp.Or(cmp.Compare(a.StartMS, b.StartMS), cmp.Compare(a.ID, b.ID))
	})
	r.SummarizeMigrations()
	s.OverCapacityMS = []reports.HostTime{}
	for i := range w.hosts {
		if t := w.hosts[i].overTotal; t > 0 {
			s.OverCapacityMS = append(s.OverCapacityMS, reports.HostTime{Host: w.hosts[i].Name, MS: reports.MS(t)})
		}
	}
	s.Threshold = w.sc.Policy.Threshold
	if s.Threshold == 0 {
		s.Threshold = 0.2
	}
	if n := len(r.Imbalance); n > 0 {
		var sum float64
		over := 0
		for _, x := range r.Imbalance {
			sum += x
			s.ImbalanceMax = max(s.ImbalanceMax, x)
			if x > s.Threshold {
				over++
			}
		}
		s.ImbalanceMean = round4(sum / float64(n))
		s.ImbalanceOver = round4(float64(over) / float64(n))
	}
	w.reportPlans(r)
	w.reportDisasters(r)
	return r
}

// reportPlans sets each plan's predictions beside what its moves did.
func (w *world) reportPlans(r *reports.Report) {
	r.Plans = []reports.Plan{}
	// The journal names each plan's moves by global ID, in plan order.
	planOf := map[int]int{}
	nplan := 0
	seen := map[int]bool{}
	for _, rec := range w.journal {
		if rec.Kind == scheduler.RecMove && rec.Policy != "request" {
			if !seen[rec.Plan] {
				seen[rec.Plan] = true
				nplan++
			}
			planOf[rec.ID] = nplan - 1
		}
	}
	type span struct {
		start, end float64
		set        bool
		completed  int
	}
	spans := make([]span, nplan)
	for _, m := range w.migs {
		i, ok := planOf[m.id]
		if !ok || !m.done {
			continue
		}
		sp := &spans[i]
		if !sp.set || m.rec.StartMS < sp.start {
			sp.start = m.rec.StartMS
		}
		sp.end = max(sp.end, m.rec.EndMS)
		sp.set = true
		if m.rec.Outcome.Succeeded() {
			sp.completed++
		}
	}
	i := 0
	for _, pr := range w.plans {
		p := pr.plan
		rp := reports.Plan{
			Policy: p.Policy, AtMS: reports.MS(pr.at), Moves: len(p.Moves), Unplaced: len(p.Unplaced),
			PredictedMakespanMS: reports.MS(p.Makespan), LowerBoundMS: reports.MS(p.LowerBound),
			ImbalanceBefore: round4(p.ImbalanceBefore), ImbalanceAfter: round4(p.ImbalanceAfter),
		}
		if len(p.Moves) > 0 && i < len(spans) {
			rp.MakespanMS = spans[i].end - spans[i].start
			rp.Completed = spans[i].completed
			i++
		}
		r.Plans = append(r.Plans, rp)
	}
}

// reportDisasters follows each warned zone's VMs to their fate.
func (w *world) reportDisasters(r *reports.Report) {
	r.Disasters = []reports.Disaster{}
	for _, wn := range w.warnings {
		d := reports.Disaster{Zone: wn.zone, WarnedMS: reports.MS(wn.at), FailsAtMS: reports.MS(wn.failsAt), VMs: len(wn.vms), DeadlineMet: true}
		for _, vi := range wn.vms {
			v := &w.vms[vi]
			if v.alive && w.hosts[v.host].Zone != wn.zone {
				d.Saved++
			} else if !v.alive {
				d.Lost++
			}
		}
		for _, pr := range w.plans {
			if pr.at == wn.at && (pr.plan.Policy == "disaster" || pr.plan.Deadline == wn.failsAt) {
				d.Unsavable += len(pr.plan.Unplaced)
			}
		}
		for _, m := range w.migs {
			if m.rec.Cause != "disaster" && m.rec.Cause != "fixed-batch" {
				continue
			}
			if m.rec.StartMS < d.WarnedMS {
				continue
			}
			d.LastEndMS = max(d.LastEndMS, m.rec.EndMS)
			if m.rec.Outcome == cluster.OutcomeFailed || m.rec.Outcome == cluster.OutcomeUnfinished || m.rec.EndMS > d.FailsAtMS {
				d.DeadlineMet = false
			}
		}
		r.Disasters = append(r.Disasters, d)
	}
}
