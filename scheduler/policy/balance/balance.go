package balance

import (
	"cmp"
	"math"
	"slices"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/precopy"
)

// Name is the policy's name in scenarios, plans and --policy.
const Name = "balance"

// Balance is the load balancer.
type Balance struct {
	args     Args
	name     string
	baseline bool
	// cands is scratch state of the Plan under way.
	cands hostSets
	// last is the previous run's builder, whose arrays and network the
	// next run takes over (policy.NewBuilderAfter).
	last *policy.Builder
}

var _ policy.Policy = (*Balance)(nil)

// New validates args and returns the policy.
func New(args Args) (*Balance, error) {
	SetDefaults(&args)
	if err := Validate(&args); err != nil {
		return nil, err
	}
	return &Balance{args: args, name: Name}, nil
}

func (b *Balance) Name() string { return b.name }

// Args returns the arguments in force, defaults filled in.
func (b *Balance) Args() Args { return b.args }

type candidate struct {
	vm, dst int
	net     float64
	after   float64
}

// Plan proposes up to MaxMoves moves, best net gain first.
func (b *Balance) Plan(in *policy.Input) (*plan.Plan, error) {
	bl := policy.NewBuilderAfter(b.last, in)
	b.last = bl
	st := bl.St
	w := policy.Weights{CPU: b.args.Weights.CPU, Memory: b.args.Weights.Memory}
	tr := policy.NewTracker(st, w, in.TLS)
	before := tr.Value()
	p := &plan.Plan{Policy: b.name, At: in.Now, ImbalanceBefore: before, ImbalanceAfter: before}
	if before <= b.args.Threshold {
		return p, nil
	}
	target := b.args.Threshold * b.args.Hysteresis
	costs := newCosts(in)
	moved := map[int]bool{}
	b.cands.onHost, b.cands.flat = onHost(st, b.cands.onHost, b.cands.flat)
	for n := 0; n < b.args.MaxMoves && tr.Value() > target; n++ {
		b.choose(st, tr)
		cands := b.top(in, bl, tr, costs, moved)
		if len(cands) == 0 {
			break
		}
		c := cands[0]
		if !b.baseline && len(cands) > 1 && n+1 < b.args.MaxMoves {
			c = b.lookahead(in, bl, tr, costs, moved, cands, target)
		}
		bl.Add(c.vm, c.dst, "balance")
		tr.Reset()
		moved[c.vm] = true
	}
	out, err := bl.Finish(b.name, in.Limits, nil)
	if err != nil {
		return nil, err
	}
	out.ImbalanceBefore, out.ImbalanceAfter = before, tr.Value()
	return out, nil
}

// lookahead picks, among the best first moves, the one that leaves the
// best second move: greedy choice by immediate drop is myopic (a big move
// can leave the rest of the excess in pieces no single VM fits), and one
// step of look-ahead reaches the target in fewer migrations.
func (b *Balance) lookahead(in *policy.Input, bl *policy.Builder, tr *policy.Tracker, costs *costs, moved map[int]bool, cands []candidate, target float64) candidate {
	st := bl.St
	best, bestVal := cands[0], math.Inf(1)
	for _, c := range cands {
		if c.after <= target {
			// Reaches the target in one move: nothing to look ahead for;
			// the cheapest such move (cands are by net gain) wins.
			return c
		}
		orig := st.Place[c.vm]
		st.Move(c.vm, c.dst)
		tr.Reset()
		moved[c.vm] = true
		val := c.after
		if next := b.top(in, bl, tr, costs, moved); len(next) > 0 {
			val = next[0].after
		}
		delete(moved, c.vm)
		st.Move(c.vm, orig)
		tr.Reset()
		if val < bestVal-1e-12 {
			best, bestVal = c, val
		}
	}
	return best
}

// hostSets are the hosts a step searches: the most loaded as sources, the
// least loaded of each pool as destinations. They are chosen once per
// step, not per search, so the look-ahead's searches cost only the
// candidate moves.
type hostSets struct {
	sources []int
	perPool map[int][]int
	// onHost lists each host's VMs as the snapshot has them: a VM moves
	// at most once per plan, and moved VMs are skipped anyway.
	onHost [][]int
	// flat backs onHost; both are kept for the next run, which has as
	// many VMs or about (400 MB over the 10,000-host day, allocated anew).
	flat []int
	// hosts and load are choose's scratch.
	hosts []int
	load  []float64
}

func (b *Balance) choose(st *cluster.State, tr *policy.Tracker) {
	// Scratch kept from step to step and run to run: every entry of load
	// that hosts names is written below before it is read.
	hosts := b.cands.hosts[:0]
	if cap(b.cands.load) < len(st.Snap.Hosts) {
		b.cands.load = make([]float64, len(st.Snap.Hosts))
	}
	load := b.cands.load[:len(st.Snap.Hosts)]
	for h := range st.Snap.Hosts {
		host := &st.Snap.Hosts[h]
		if host.Usable() {
			hosts = append(hosts, h)
			load[h] = b.args.Weights.CPU*st.CPU[h]/float64(host.CPUs) + b.args.Weights.Memory*float64(st.Memory[h])/float64(host.Memory)
		}
	}
	b.cands.hosts = hosts
	// Most loaded first, ties by index: a total order, so picking the
	// first few without sorting every host (10,000, at every step of 288
	// runs a day) gives the hosts a full sort would, in its order.
	hotter := func(x, y int) int { return cmp.Or(cmp.Compare(load[y], load[x]), cmp.Compare(x, y)) }
	cooler := func(x, y int) int { return hotter(y, x) }
	b.cands.sources = firstK(hosts, b.args.Sources, hotter)
	// Destinations: the least loaded hosts of each pool, least loaded
	// first. A move to a host hotter than most never pays, and the cut
	// keeps a step at O(sources × their VMs × Dests) whatever the
	// cluster's size.
	b.cands.perPool = map[int][]int{}
	if b.args.Dests <= 0 {
		return
	}
	for _, h := range hosts {
		p := tr.Pool(h)
		b.cands.perPool[p] = insertK(b.cands.perPool[p], h, b.args.Dests, cooler)
	}
}

// firstK returns the first k of xs in order c, which must be total.
func firstK(xs []int, k int, c func(a, b int) int) []int {
	var out []int
	for _, x := range xs {
		out = insertK(out, x, k, c)
	}
	return out
}

// insertK adds x to out, the first items so far in order c (at most k),
// keeping the first k.
func insertK(out []int, x, k int, c func(a, b int) int) []int {
	if k <= 0 || len(out) >= k && c(x, out[k-1]) >= 0 {
		return out
	}
	i, _ := slices.BinarySearchFunc(out, x, c)
	if len(out) >= k {
		out = out[:k-1]
	}
	return slices.Insert(out, i, x)
}

// onHost lists each host's VMs by index, carved from one array: growing
// 10,000 lists VM by VM cost more than the counting pass. It reuses out
// and flat, the last run's, when they are large enough.
func onHost(st *cluster.State, out [][]int, flat []int) ([][]int, []int) {
	n := make([]int, len(st.Snap.Hosts))
	all := 0
	for _, h := range st.Origin {
		if h >= 0 {
			n[h]++
			all++
		}
	}
	if cap(flat) < all {
		flat = make([]int, all)
	}
	flat = flat[:all]
	if cap(out) < len(n) {
		out = make([][]int, len(n))
	}
	out = out[:len(n)]
	at := 0
	for h, c := range n {
		out[h] = flat[at : at : at+c]
		at += c
	}
	for vm, h := range st.Origin {
		if h >= 0 {
			out[h] = append(out[h], vm)
		}
	}
	return out, flat
}

// lookaheadWidth is how many first moves lookahead weighs.
const lookaheadWidth = 6

// top searches moves from the most loaded hosts to the least loaded hosts
// of their pool and returns the best few by gain net of cost, best first.
func (b *Balance) top(in *policy.Input, bl *policy.Builder, tr *policy.Tracker, costs *costs, moved map[int]bool) []candidate {
	st := bl.St
	now := tr.Value()
	// A move shifts a CV by about 1/hosts of what it would in a
	// two-host pool; scaling by the host count makes MinGain and
	// CostPerGiB mean the same on 10 hosts and on 10,000.
	scale := float64(max(tr.Hosts(), 1))
	c := b.cands
	var out []candidate
	for _, src := range c.sources {
		for _, vm := range c.onHost[src] {
			v := &st.Snap.VMs[vm]
			if moved[vm] || v.Migrating || v.Host != st.Snap.Hosts[src].Name {
				continue
			}
			if t, ok := in.LastMoved[v.Name]; ok && !b.baseline && in.Now-t < *b.args.Cooldown {
				continue
			}
			cost, ok := costs.of(v, *b.args.CostPerGiB)
			if b.baseline {
				cost, ok = 0, true
			}
			if !ok {
				continue
			}
			for _, dst := range c.perPool[tr.Pool(src)] {
				if dst == src {
					continue
				}
				after := tr.After(vm, dst)
				net := (now-after)*scale - cost
				if net <= *b.args.MinGain || len(out) == lookaheadWidth && net <= out[len(out)-1].net {
					continue
				}
				if !bl.Placer.Feasible(vm, dst).IsSuccess() {
					continue
				}
				c := candidate{vm: vm, dst: dst, net: net, after: after}
				i, _ := slices.BinarySearchFunc(out, c, func(x, y candidate) int { return cmp.Compare(y.net, x.net) })
				// Equal gains keep the earlier candidate first, so the
				// search order breaks ties and plans replay.
				for i < len(out) && out[i].net == c.net {
					i++
				}
				out = slices.Insert(out, i, c)
				if len(out) > lookaheadWidth {
					out = out[:lookaheadWidth]
				}
			}
		}
	}
	return out
}

// costs caches each VM's predicted migration cost.
type costs struct {
	cfg   precopy.Config
	bw    float64
	cache map[string]float64
}

func newCosts(in *policy.Input) *costs {
	bw := 0.0
	for i := range in.Snap.Hosts {
		if s := in.Snap.Hosts[i].NICSpeed; s > 0 && (bw == 0 || s < bw) {
			bw = s
		}
	}
	if in.Bandwidth > 0 && (bw == 0 || in.Bandwidth < bw) {
		bw = in.Bandwidth
	}
	return &costs{cfg: in.Migration.WithDefaults(), bw: bw, cache: map[string]float64{}}
}

// of is the imbalance a VM's move must at least remove; false when the
// model predicts it would not converge, since such a move never pays.
func (c *costs) of(v *cluster.VM, perGiB float64) (float64, bool) {
	if x, ok := c.cache[v.Name]; ok {
		return x, x >= 0
	}
	r := precopy.Predict(plan.Workload(v), c.cfg, c.bw)
	x := perGiB * float64(r.TransferredBytes) / (1 << 30)
	if r.Outcome != cluster.OutcomeCompleted {
		x = -1
	}
	c.cache[v.Name] = x
	return x, x >= 0
}
