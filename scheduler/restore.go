package scheduler

import (
	"fmt"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// Restore rebuilds a Core from its journal so an interrupted run goes on
// without repeating finished migrations. Moves journalled as started but
// not ended are settled by the first snapshot (Step(SnapshotTaken)): found
// on the destination they count as done, still migrating they are awaited,
// otherwise they run again. Restore asks for that snapshot itself.
func Restore(cfg Config, now time.Duration, records []Record) (*Core, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	c.now = now
	type group struct {
		policy string
		moves  []plan.Move
		limits plan.Limits
	}
	var order []int
	groups := map[int]*group{}
	started := map[int]bool{}
	limited := map[int]bool{}
	ended := map[int]cluster.Outcome{}
	dropped := map[int]bool{}
	for i, r := range records {
		switch r.Kind {
		case RecDrain:
			for _, h := range r.Hosts {
				c.drained[h] = true
			}
		case RecWarn:
			c.warned[r.Zone] = r.FailsAt
		case RecHostFailed:
			for _, h := range r.Hosts {
				c.failed[h] = true
			}
		case RecMove:
			if r.Move == nil {
				return nil, fmt.Errorf("journal record %d: move without move", i+1)
			}
			g := groups[r.Plan]
			if g == nil {
				g = &group{policy: r.Policy}
				if r.Limits != nil {
					g.limits = *r.Limits
				}
				groups[r.Plan] = g
				order = append(order, r.Plan)
			}
			g.moves = append(g.moves, *r.Move)
		case RecStart:
			started[r.ID] = true
		case RecLimit:
			limited[r.ID] = true
		case RecDone:
			ended[r.ID] = r.Outcome
		case RecCancel:
			dropped[r.ID] = true
		}
	}
	for _, pid := range order {
		g := groups[pid]
		c.planSeq = max(c.planSeq, pid)
		a := &active{id: pid, policy: g.policy, limits: g.limits}
		a.disp = plan.NewDispatcher(g.moves, g.limits)
		a.open = len(g.moves)
		for i, m := range g.moves {
			j := c.track(a, m, i)
			c.nextID = max(c.nextID, m.ID)
			switch out, ok := ended[m.ID]; {
			case dropped[m.ID]:
				c.retire(j, cancelled)
				a.disp.Cancel(i)
			case ok:
				c.retire(j, finished)
				a.disp.Skip(i, out.Succeeded())
			case started[m.ID]:
				j.state = unknown
				j.limitHit = limited[m.ID]
				a.disp.MarkRunning(i)
			}
		}
		c.plans = append(c.plans, a)
	}
	c.rd.NeedSnapshot = true
	return c, nil
}

// PlanMoves lists, for each plan that queued moves, in the order its first
// move was journalled, the IDs of its moves: what a report needs to set a
// plan's figures beside what its moves did. Moves of migration requests
// ("request") belong to no plan.
func PlanMoves(journal []Record) [][]int {
	var out [][]int
	index := map[int]int{}
	for _, r := range journal {
		if r.Kind != RecMove || r.Policy == CauseRequest {
			continue
		}
		i, ok := index[r.Plan]
		if !ok {
			i = len(out)
			index[r.Plan] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r.ID)
	}
	return out
}

// Remaining is what a resumed run must submit again of pl, an operator's
// plan the journal's run was applying: the moves the journal leaves
// unsettled. A move whose VM's last journalled move succeeded is done; one
// still queued or under way belongs to the Core Restore rebuilds (it runs
// or follows it); the others (cancelled or aborted by an interrupt,
// failed, or never journalled) go in again. Dependencies on moves left out
// are dropped: those are done or under way. Nil when nothing remains.
func Remaining(pl *plan.Plan, journal []Record) *plan.Plan {
	const (
		live = iota + 1
		done
		ended
	)
	vmOf := map[int]string{}
	state := map[string]int{}
	for _, r := range journal {
		switch r.Kind {
		case RecMove:
			if r.Move != nil {
				vmOf[r.ID] = r.Move.VM
				state[r.Move.VM] = live
			}
		case RecDone:
			if vm, ok := vmOf[r.ID]; ok {
				state[vm] = ended
				if r.Outcome.Succeeded() {
					state[vm] = done
				}
			}
		case RecCancel:
			if vm, ok := vmOf[r.ID]; ok {
				state[vm] = ended
			}
		}
	}
	out := clonePlan(pl)
	out.Moves = out.Moves[:0]
	kept := map[int]bool{}
	for _, m := range pl.Moves {
		if s := state[m.VM]; s == 0 || s == ended {
			out.Moves = append(out.Moves, m)
			kept[m.ID] = true
		}
	}
	if len(out.Moves) == 0 {
		return nil
	}
	for i := range out.Moves {
		out.Moves[i].After = slices.DeleteFunc(slices.Clone(out.Moves[i].After), func(id int) bool { return !kept[id] })
	}
	return out
}
