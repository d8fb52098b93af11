package scheduler

import (
	"fmt"
	"slices"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/place"
	"github.com/droverlab/drover/scheduler/plan"
)

// PlanSubmitted hands the Core a plan an operator reviewed (drover plan
// --out plan.json, then drover apply). It lives here, not in package
// cluster, because cluster cannot import plan.
//
// The Core treats it as an operator's request for each of its moves: it
// waits for a fresh snapshot, checks every move against it and against
// every constraint (as MigrationRequested is checked), journals a "refuse"
// record for each move that no longer holds, and queues the rest as one
// plan that keeps the submitted plan's Limits, the dependencies (After)
// between the moves it kept, and each move's Bandwidth and DowntimeLimit.
// A stale plan therefore never does harm: a move whose VM has left its
// source, or whose destination has no room any more, is refused.
//
// The Core copies the plan when it is stepped; the caller keeps ownership.
type PlanSubmitted struct {
	Plan *plan.Plan
}

// IsEvent marks PlanSubmitted as a cluster.Event.
func (PlanSubmitted) IsEvent() {}

// PeriodicNow runs the periodic policy at once and arms its next round an
// interval later (Start waits an interval for the first): a live run that
// should act as soon as it starts. The Core's timer keys stay its own.
type PeriodicNow struct{}

// IsEvent marks PeriodicNow as a cluster.Event.
func (PeriodicNow) IsEvent() {}

// CauseApply is the cause (StartMigration.Cause, the journal's Policy) of
// a submitted plan's moves when the plan names no policy.
const CauseApply = "apply"

// Reasons an operator's move (MigrationRequested or a move of a submitted
// plan) is refused before the constraint chain runs; the chain's own
// refusals carry the filter package's reasons.
const (
	ReasonUnknownVM          = "unknown vm"
	ReasonUnknownDestination = "unknown destination host"
	ReasonMigrating          = "vm is already migrating"
	ReasonOnDestination      = "vm is already on the destination"
	ReasonNotOnSource        = "vm is not on the plan's source"
	ReasonMovedTwice         = "vm is moved by another move of this plan"
	ReasonDuplicateID        = "duplicate move id"
	ReasonCycle              = "dependency cycle"
)

// submit checks a submitted plan's moves on the current snapshot and
// queues those that hold.
//
// Moves are checked in dependency order (plan order where the dependencies
// allow) on one what-if state: each accepted move is applied to it before
// the next is checked, so two moves cannot both count on the same room,
// and a move that counts on room its dependencies free is judged with them
// done. A move whose dependency was refused is judged without it; if it
// still fits it runs, free of that dependency.
func (c *Core) submit(pl *plan.Plan) {
	if c.snap == nil {
		return
	}
	if pl == nil {
		pl = &plan.Plan{}
	}
	cause := pl.Policy
	if cause == "" {
		cause = CauseApply
	}
	snap, st := c.state()
	placer := place.New(st, c.cfg.TLS, c.cfg.Overcommit)

	const (
		undecided = iota
		accepted
		refused
	)
	n := len(pl.Moves)
	verdict := make([]int, n)
	why := make([]string, n)
	index := make(map[int]int, n) // plan move ID -> index of its first move
	for i, m := range pl.Moves {
		if _, dup := index[m.ID]; dup {
			verdict[i], why[i] = refused, fmt.Sprintf("%s %d", ReasonDuplicateID, m.ID)
			continue
		}
		index[m.ID] = i
	}
	moved := map[string]int{} // VM -> plan ID of its accepted move
	ready := func(m *plan.Move) bool {
		for _, d := range m.After {
			if j, ok := index[d]; ok && verdict[j] == undecided {
				return false
			}
		}
		return true
	}
	check := func(m *plan.Move) string {
		vm, dst := st.VMIndex(m.VM), st.HostIndex(m.Destination)
		switch {
		case vm < 0:
			return ReasonUnknownVM
		case dst < 0:
			return ReasonUnknownDestination
		case snap.VMs[vm].Migrating:
			return ReasonMigrating
		}
		if id, ok := moved[m.VM]; ok {
			return fmt.Sprintf("%s (%d)", ReasonMovedTwice, id)
		}
		switch v := &snap.VMs[vm]; {
		case v.Host == m.Destination:
			return ReasonOnDestination
		case v.Host != m.Source:
			return fmt.Sprintf("%s: on %s, not %s", ReasonNotOnSource, v.Host, m.Source)
		}
		if s := placer.Feasible(vm, dst); !s.IsSuccess() {
			return s.String()
		}
		m.Transport = placer.Transport(vm, dst)
		st.Move(vm, dst)
		moved[m.VM] = m.ID
		return ""
	}
	moves := slices.Clone(pl.Moves)
	for progress := true; progress; {
		progress = false
		for i := range moves {
			if verdict[i] != undecided || !ready(&moves[i]) {
				continue
			}
			progress = true
			if why[i] = check(&moves[i]); why[i] != "" {
				verdict[i] = refused
			} else {
				verdict[i] = accepted
			}
		}
	}

	out := *pl
	out.Moves = nil
	for i := range moves {
		switch verdict[i] {
		case undecided:
			verdict[i], why[i] = refused, ReasonCycle
		case accepted:
			m := moves[i]
			m.After = slices.DeleteFunc(slices.Clone(m.After), func(d int) bool {
				j, ok := index[d]
				return ok && verdict[j] != accepted
			})
			out.Moves = append(out.Moves, m)
		}
	}
	c.journal(Record{Kind: RecPlan, Policy: cause, Reason: fmt.Sprintf("submitted plan: %d of %d moves accepted, %d refused",
		len(out.Moves), n, n-len(out.Moves))})
	for i, m := range moves {
		if verdict[i] == refused {
			c.journal(Record{Kind: RecRefuse, Policy: cause, VM: m.VM, Destination: m.Destination,
				Outcome: cluster.OutcomeRejected, Reason: why[i]})
		}
	}
	c.rd.Plans = append(c.rd.Plans, &out)
	if len(out.Moves) > 0 {
		c.enqueue(&out, cause)
	}
}

// clonePlan copies what the Core reads of a plan, so the caller may change
// or reuse its own.
func clonePlan(pl *plan.Plan) *plan.Plan {
	if pl == nil {
		return nil
	}
	out := *pl
	out.Moves = slices.Clone(pl.Moves)
	for i := range out.Moves {
		out.Moves[i].After = slices.Clone(out.Moves[i].After)
	}
	out.Unplaced = slices.Clone(pl.Unplaced)
	out.Rejections = slices.Clone(pl.Rejections)
	return &out
}
