package reports

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// PlanOf is p, made at at, as a report lists it: what the plan predicted.
// SetPlans adds what its moves did.
func PlanOf(p *plan.Plan, at time.Duration) Plan {
	return Plan{
		Policy: p.Policy, AtMS: MS(at), Moves: len(p.Moves), Unplaced: len(p.Unplaced),
		PredictedMakespanMS: MS(p.Makespan), LowerBoundMS: MS(p.LowerBound), BoundBy: p.BoundBy,
		ImbalanceBefore: Round4(p.ImbalanceBefore), ImbalanceAfter: Round4(p.ImbalanceAfter),
		Why: why(p.Unplaced), Bytes: p.Bytes, DeadlineMS: MS(p.Deadline), UnplacedVMs: unplacedVMs(p.Unplaced),
	}
}

func unplacedVMs(us []plan.Unplaced) []UnplacedVM {
	if len(us) == 0 {
		return nil
	}
	out := make([]UnplacedVM, len(us))
	for i, u := range us {
		out[i] = UnplacedVM{VM: u.VM, Host: u.Host, Reason: u.Reason}
	}
	return out
}

// why counts the reasons of unplaced VMs, most frequent first (ties by
// reason), so a summary can say the top ones.
func why(us []plan.Unplaced) []ReasonCount {
	reasons := make([]vmReason, len(us))
	for i, u := range us {
		reasons[i] = vmReason{u.VM, u.Reason}
	}
	return groupReasons(reasons)
}

// vmReason is why one VM was not moved.
type vmReason struct{ vm, reason string }

// groupReasons groups reasons by their kind (what comes before the first
// ": "), most frequent first, each with one example.
func groupReasons(rs []vmReason) []ReasonCount {
	n := map[string]int{}
	example := map[string]string{}
	for _, r := range rs {
		vm, reason := r.vm, r.reason
		kind, detail, found := strings.Cut(reason, ": ")
		if !found {
			detail = reason
		}
		if n[kind]++; n[kind] == 1 {
			example[kind] = vm + ": " + detail
		}
	}
	out := make([]ReasonCount, 0, len(n))
	for r, c := range n {
		out = append(out, ReasonCount{Reason: r, VMs: c, Example: example[r]})
	}
	slices.SortFunc(out, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.VMs, a.VMs), strings.Compare(a.Reason, b.Reason))
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// SetPlans sets r.Plans to plans, in order, and gives each plan that moved
// anything its makespan (first start to last end) and completed count from
// the migrations in r.Migrations that ended. moves holds, for the plans with
// moves in the same order, their migrations' IDs (scheduler.PlanMoves). The
// simulator and real runs report plans this one way.
func (r *Report) SetPlans(plans []Plan, moves [][]int) {
	byID := map[int]*Migration{}
	for i := range r.Migrations {
		if m := &r.Migrations[i]; m.ID != 0 && m.Outcome != cluster.OutcomeUnfinished {
			byID[m.ID] = m
		}
	}
	r.Plans = make([]Plan, 0, len(plans))
	next := 0
	for _, p := range plans {
		if p.Moves > 0 && next < len(moves) {
			first, last, seen := 0.0, 0.0, false
			for _, id := range moves[next] {
				m, ok := byID[id]
				if !ok {
					continue
				}
				if !seen || m.StartMS < first {
					first = m.StartMS
				}
				last = max(last, m.EndMS)
				seen = true
				if m.Outcome.Succeeded() {
					p.Completed++
				}
			}
			p.MakespanMS = last - first
			p.MigrationIDs = slices.Clone(moves[next])
			next++
		}
		r.Plans = append(r.Plans, p)
	}
}

// Refused is a move the scheduler refused before it reached the world, as
// a rejected migration.
func Refused(at time.Duration, vm, destination, cause, reason string) Migration {
	return Migration{VM: vm, Destination: destination, Cause: cause, StartMS: MS(at), EndMS: MS(at),
		Outcome: cluster.OutcomeRejected, Reason: reason}
}

// Round4 rounds x to four decimals, as reports write ratios.
func Round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// PlanReport is a plan as a report of kind KindPlan: each move as the
// plan predicts it (start, end, downtime, bytes, outcome), on the plan's
// clock, so a plan can be looked at, charted and compared before it is
// applied. Nothing in it was measured.
func PlanReport(p *plan.Plan, scenario string) *Report {
	r := &Report{Kind: KindPlan, Scenario: scenario, Policy: p.Policy, Lost: []LostVM{}, Events: []EventRecord{},
		Disasters: []Disaster{}}
	var ids []int
	for _, m := range p.Moves {
		o := m.Predicted.Outcome
		if o == "" {
			o = cluster.OutcomeCompleted
		}
		start, end := MS(p.At+m.Predicted.Start), MS(p.At+m.Predicted.End)
		r.Migrations = append(r.Migrations, Migration{ID: m.ID, VM: m.VM, Source: m.Source, Destination: m.Destination,
			Cause: p.Policy, StartMS: start, EndMS: end, DurationMS: end - start, DowntimeMS: MS(m.Predicted.Downtime),
			Bytes: m.Predicted.Bytes, Transport: string(m.Transport), Outcome: o, Reason: m.Predicted.Reason,
			PredictedMS: end - start, PredictedLowMS: MS(m.Predicted.Low), PredictedHighMS: MS(m.Predicted.High)})
		ids = append(ids, m.ID)
		r.DurationMS = max(r.DurationMS, end)
	}
	r.DurationMS = max(r.DurationMS, MS(p.Deadline))
	r.SummarizeMigrations()
	r.Summary.MaxConcurrent = maxInFlight(r.Migrations)
	r.Summary.OverCapacityMS = []HostTime{}
	pl := PlanOf(p, p.At)
	pl.MakespanMS, pl.MigrationIDs = MS(p.Makespan), ids
	for i := range r.Migrations {
		if r.Migrations[i].Outcome.Succeeded() {
			pl.Completed++
		}
	}
	r.Plans = []Plan{pl}
	return r
}

// maxInFlight is the most migrations that overlap in time; one that ends
// as another starts does not overlap it.
func maxInFlight(ms []Migration) int {
	type edge struct {
		at float64
		d  int
	}
	es := make([]edge, 0, 2*len(ms))
	for _, m := range ms {
		if m.EndMS > m.StartMS {
			es = append(es, edge{m.StartMS, 1}, edge{m.EndMS, -1})
		}
	}
	slices.SortFunc(es, func(a, b edge) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.d, b.d)) })
	n, most := 0, 0
	for _, e := range es {
		n += e.d
		most = max(most, n)
	}
	return most
}
