package consolidate

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/framework"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
)

// Name is the policy's name in scenarios, plans and --policy.
const Name = "consolidate"

// Consolidate is the packing policy.
type Consolidate struct{ args Args }

var _ policy.Policy = (*Consolidate)(nil)

// New validates args and returns the policy.
func New(args Args) (*Consolidate, error) {
	SetDefaults(&args)
	if err := Validate(&args); err != nil {
		return nil, err
	}
	return &Consolidate{args: args}, nil
}

func (c *Consolidate) Name() string { return Name }

// headroom refuses receivers that would pass the target utilisation.
type headroom struct{ cpu, mem float64 }

const headroomName = "headroom"

var _ framework.FilterPlugin = headroom{}

func (headroom) Name() string { return headroomName }

func (h headroom) Filter(st *cluster.State, vm, dst int) *framework.Status {
	host := &st.Snap.Hosts[dst]
	v := &st.Snap.VMs[vm]
	if (st.CPU[dst]+v.CPU)/float64(host.CPUs) > h.cpu || float64(st.Memory[dst]+v.Memory)/float64(host.Memory) > h.mem {
		return framework.NewStatus(framework.Unschedulable, fmt.Sprintf("above target utilisation (cpu %.2f, memory %.2f)", h.cpu, h.mem))
	}
	return nil
}

// Plan empties the least loaded hosts whose VMs all fit elsewhere, packing
// them onto the most loaded hosts that stay under the targets.
func (c *Consolidate) Plan(in *policy.Input) (*plan.Plan, error) {
	b := policy.NewBuilder(in)
	st := b.St
	b.Placer.Filters = append(b.Placer.Filters, headroom{cpu: c.args.TargetCPU, mem: c.args.TargetMemory})
	load := func(h int) float64 {
		host := &st.Snap.Hosts[h]
		return st.CPU[h]/float64(host.CPUs) + float64(st.Memory[h])/float64(host.Memory)
	}
	var donors []int
	for h := range st.Snap.Hosts {
		if st.Snap.Hosts[h].Usable() && st.Count[h] > 0 {
			donors = append(donors, h)
		}
	}
	slices.SortStableFunc(donors, func(x, y int) int { return cmp.Compare(load(x), load(y)) })
	// Best fit: the fullest host that can still take the VM.
	fullest := func(st *cluster.State, vm, dst int) float64 { return load(dst) }
	emptied := 0
	received := map[int]bool{}
	for _, h := range donors {
		if emptied >= c.args.MaxHosts {
			break
		}
		// A host that took VMs in this plan is a receiver: emptying it
		// would move them twice and free nothing.
		if st.Count[h] == 0 || received[h] {
			continue
		}
		b.Placer.Exclude[h] = true
		var placed []int
		ok := true
		for _, vm := range policy.VMsOn(st, map[string]bool{st.Snap.Hosts[h].Name: true}) {
			if st.Place[vm] != h {
				continue
			}
			dst, _ := b.Placer.Best(vm, fullest)
			if dst < 0 {
				ok = false
				break
			}
			b.Add(vm, dst, "consolidate "+st.Snap.Hosts[h].Name)
			placed = append(placed, vm)
			received[dst] = true
		}
		if !ok {
			for _, vm := range placed {
				b.Remove(vm)
			}
			delete(b.Placer.Exclude, h)
			continue
		}
		// The emptied host must stay empty: it receives nothing later.
		emptied++
	}
	return b.Finish(Name, in.Limits, nil)
}
