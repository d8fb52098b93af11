package disaster

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
)

// Name is the policy's name in scenarios, plans and --policy.
const Name = "disaster"

// Disaster is the disaster-avoidance policy.
type Disaster struct{ args Args }

var _ policy.Policy = (*Disaster)(nil)

// New validates args and returns the policy.
func New(args Args) (*Disaster, error) {
	SetDefaults(&args)
	if err := Validate(&args); err != nil {
		return nil, err
	}
	return &Disaster{args: args}, nil
}

func (d *Disaster) Name() string {
	if d.args.FixedBatch {
		return "fixed-batch"
	}
	return Name
}

// Plan moves VMs out of in.Zone, highest priority first and, within a
// priority, smallest first (more VMs saved per byte), then drops the moves
// the schedule cannot finish before in.Deadline and reports those VMs.
func (d *Disaster) Plan(in *policy.Input) (*plan.Plan, error) {
	if in.Zone == "" {
		return nil, fmt.Errorf("disaster: no zone")
	}
	if in.Deadline <= in.Now {
		return nil, fmt.Errorf("disaster: deadline %s is not after now %s", in.Deadline, in.Now)
	}
	b := policy.NewBuilder(in)
	st := b.St
	warned := map[string]bool{}
	for i := range st.Snap.Hosts {
		if st.Snap.Hosts[i].Zone == in.Zone {
			warned[st.Snap.Hosts[i].Name] = true
			b.Placer.Exclude[i] = true
		}
	}
	if len(warned) == 0 {
		return nil, fmt.Errorf("disaster: zone %q has no hosts", in.Zone)
	}
	vms := policy.VMsOn(st, warned)
	if !d.args.FixedBatch {
		slices.SortStableFunc(vms, func(a, c int) int {
			va, vc := &st.Snap.VMs[a], &st.Snap.VMs[c]
			return cmp.Or(cmp.Compare(vc.Priority, va.Priority), cmp.Compare(va.Resident, vc.Resident))
		})
	}
	var unplaced []plan.Unplaced
	for _, vm := range vms {
		v := &st.Snap.VMs[vm]
		dst, why := b.Placer.BestLeastLoaded(vm)
		if dst < 0 {
			unplaced = append(unplaced, plan.Unplaced{VM: v.Name, Host: v.Host, Priority: v.Priority, Reason: why})
			continue
		}
		b.Add(vm, dst, "zone "+in.Zone+" fails at "+in.Deadline.String())
	}
	limits := in.Limits.Or(policy.SourceLimits(st, warned, false))
	if d.args.FixedBatch {
		p, err := b.Finish(d.Name(), evacuate.FixedBatchLimits, nil)
		if err != nil {
			return nil, err
		}
		p.Deadline, p.Unplaced = in.Deadline, unplaced
		for i := range p.Moves {
			p.Moves[i].Predicted.Late = in.Now+p.Moves[i].Predicted.End > in.Deadline
		}
		return p, nil
	}
	budget := time.Duration(float64(in.Deadline-in.Now) * (1 - *d.args.Margin))
	// With time to spare, largest first within each priority: the big
	// transfers overlap the small ones and the drain ends soonest. Only
	// when the deadline bites does the order turn to smallest first, which
	// saves the most VMs per byte.
	lpt := func(m []plan.Move) {
		slices.SortStableFunc(m, func(a, c plan.Move) int {
			return cmp.Or(cmp.Compare(c.Priority, a.Priority),
				cmp.Compare(st.Snap.VM(c.VM).Resident, st.Snap.VM(a.VM).Resident))
		})
	}
	t, err := b.Timer()
	if err != nil {
		return nil, err
	}
	// Cut first on the fast estimate: what the links out of the zone
	// cannot carry by the deadline no schedule saves, and timing a plan in
	// full costs a simulation of every move in it.
	moves := b.Moves()
	keep, err := t.Cut(moves, budget)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(keep, false) {
		// Timed only until a move ends past the budget: the plan is then
		// dropped whatever the rest does.
		if p, done, err := b.FinishBy(Name, limits, lpt, budget); err != nil {
			return nil, err
		} else if done && len(lateMoves(p, budget)) == 0 {
			p.Deadline, p.Unplaced = in.Deadline, unplaced
			return p, nil
		}
	}
	for i, k := range keep {
		if !k {
			m := &moves[i]
			b.Remove(st.VMIndex(m.VM))
			unplaced = append(unplaced, plan.Unplaced{VM: m.VM, Host: m.Source, Priority: m.Priority,
				Reason: fmt.Sprintf("cannot be saved before the deadline: its route out of the zone is full past it (zone fails at %s, margin %.0f%%)",
					in.Deadline, 100**d.args.Margin)})
		}
	}
	for {
		p, err := b.Finish(Name, limits, nil)
		if err != nil {
			return nil, err
		}
		late := lateMoves(p, budget)
		if len(late) == 0 {
			p.Deadline = in.Deadline
			for i := range p.Moves {
				p.Moves[i].Predicted.Late = in.Now+p.Moves[i].Predicted.End > in.Deadline
			}
			p.Unplaced = unplaced
			return p, nil
		}
		// Drop the least valuable quarter of the late moves (at least one),
		// then time the plan again: each drop frees bandwidth for the rest.
		// When many are late the cut was far off: drop them all at once,
		// since timing a large plan again costs a simulation of it.
		slices.SortStableFunc(late, func(a, c *plan.Move) int {
			return cmp.Or(cmp.Compare(a.Priority, c.Priority), cmp.Compare(c.Predicted.Bytes, a.Predicted.Bytes))
		})
		n := max(1, len(late)/4)
		if len(late) > 64 {
			n = len(late)
		}
		for _, m := range late[:n] {
			b.Remove(st.VMIndex(m.VM))
			why := fmt.Sprintf("cannot be saved before the deadline: predicted end %s, zone fails at %s, margin %.0f%%",
				(in.Now + m.Predicted.End).Round(time.Second), in.Deadline, 100**d.args.Margin)
			if o := m.Predicted.Outcome; o == cluster.OutcomeAborted || o == cluster.OutcomeStalled || o == cluster.OutcomeBlocked {
				// It would not end before the deadline because it would
				// not end at all: say that, not a time.
				why = fmt.Sprintf("cannot be saved: its migration is predicted to end %s (%s), zone fails at %s", o, orNone(m.Predicted.Reason), in.Deadline)
			}
			unplaced = append(unplaced, plan.Unplaced{VM: m.VM, Host: m.Source, Priority: m.Priority, Reason: why})
		}
	}
}

func lateMoves(p *plan.Plan, budget time.Duration) []*plan.Move {
	var late []*plan.Move
	for i := range p.Moves {
		m := &p.Moves[i]
		if m.Predicted.End > budget || m.Predicted.Outcome == cluster.OutcomeAborted || m.Predicted.Outcome == cluster.OutcomeStalled || m.Predicted.Outcome == cluster.OutcomeBlocked {
			late = append(late, m)
		}
	}
	return late
}

func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}
