package evacuate

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/place"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
)

// Name is the policy's name in scenarios, plans and --policy.
const Name = "evacuate"

// Evacuate is the maintenance-evacuation policy.
type Evacuate struct{ args Args }

var _ policy.Policy = (*Evacuate)(nil)

// New validates args and returns the policy.
func New(args Args) (*Evacuate, error) {
	SetDefaults(&args)
	if err := Validate(&args); err != nil {
		return nil, err
	}
	return &Evacuate{args: args}, nil
}

// Args returns the arguments in force, defaults filled in.
func (e *Evacuate) Args() Args { return e.args }

func (e *Evacuate) Name() string {
	if e.args.Strategy == StrategyFixedBatch {
		return "fixed-batch"
	}
	return Name
}

// Plan drains in.Drain.
func (e *Evacuate) Plan(in *policy.Input) (*plan.Plan, error) {
	if len(in.Drain) == 0 {
		return nil, fmt.Errorf("evacuate: no hosts to drain")
	}
	b := policy.NewBuilder(in)
	st := b.St
	drain := map[string]bool{}
	for _, h := range in.Drain {
		i := st.HostIndex(h)
		if i < 0 {
			return nil, fmt.Errorf("evacuate: unknown host %q", h)
		}
		drain[h] = true
		b.Placer.Exclude[i] = true
	}
	vms := policy.VMsOn(st, drain)
	// Largest first: big VMs have the fewest homes, and starting them early
	// keeps them off the end of the schedule.
	slices.SortStableFunc(vms, func(a, c int) int {
		return cmp.Compare(st.Snap.VMs[c].Memory, st.Snap.VMs[a].Memory)
	})
	inbound := make([]float64, len(st.Snap.Hosts)) // planned seconds of transfer into each host
	score := func(st *cluster.State, vm, dst int) float64 {
		return place.LeastLoaded(st, vm, dst) - *e.args.SpreadWeight*inbound[dst]
	}
	if e.args.Strategy == StrategyFixedBatch {
		score = place.LeastLoaded
	}
	var unplaced []plan.Unplaced
	for _, vm := range vms {
		v := &st.Snap.VMs[vm]
		dst, why := b.Placer.Best(vm, score)
		if dst < 0 {
			unplaced = append(unplaced, plan.Unplaced{VM: v.Name, Host: v.Host, Priority: v.Priority, Reason: why})
			continue
		}
		b.Add(vm, dst, "maintenance of "+v.Host)
		inbound[dst] += float64(v.Resident) / st.Snap.Hosts[dst].NICBandwidth()
	}
	limits := in.Limits.Or(policy.SourceLimits(st, drain, in.Migration.SetupTime > 0))
	var order func([]plan.Move)
	if e.args.Strategy == StrategyFixedBatch {
		// The baseline's limits are its definition: settings do not bend them.
		limits = FixedBatchLimits
		// The baselines start VMs in name order, as their host lists them.
		order = func(m []plan.Move) {
			slices.SortStableFunc(m, func(a, c plan.Move) int { return cmp.Compare(a.VM, c.VM) })
		}
	}
	p, err := b.Finish(e.Name(), limits, order)
	if err != nil {
		return nil, err
	}
	p.Unplaced = unplaced
	return p, nil
}
