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
	r.Kind = reports.KindSim
	r.Scenario = w.sc.Name
	pol := w.opts.PolicyOf(w.sc)
	r.Policy, r.Evacuation = pol.Name, pol.Evacuation
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
	s.VMsFinished = w.finished

	r.Migrations = make([]reports.Migration, 0, len(w.migs))
	for _, m := range w.migs {
		r.Migrations = append(r.Migrations, m.rec)
		for _, g := range m.ghosts {
			r.Migrations = append(r.Migrations, g.rec)
		}
	}
	// Moves the scheduler refused never reached the world; they are
	// reported as rejected all the same.
	for _, rec := range w.journal {
		if rec.Kind == scheduler.RecRefuse {
			r.Migrations = append(r.Migrations, reports.Refused(rec.At, rec.VM, rec.Destination, refusalCause(rec), rec.Reason))
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
		s.ImbalanceMean = reports.Round4(sum / float64(n))
		s.ImbalanceOver = reports.Round4(float64(over) / float64(n))
	}
	w.reportConsolidation(s)
	w.reportPlans(r)
	w.reportDisasters(r)
	return r
}

// reportPlans sets each plan's predictions beside what its moves did.
func (w *world) reportPlans(r *reports.Report) {
	plans := make([]reports.Plan, len(w.plans))
	for i, pr := range w.plans {
		plans[i] = reports.PlanOf(pr.plan, pr.at)
	}
	r.SetPlans(plans, scheduler.PlanMoves(w.journal))
}

// refusalCause is the cause a refused move is reported under: the plan's
// it belonged to, or an operator's request.
func refusalCause(rec scheduler.Record) string {
	if rec.Policy != "" {
		return rec.Policy
	}
	return scheduler.CauseRequest
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
