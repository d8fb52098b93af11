package balance_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/balance"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

// run is what a policy needed to bring a cluster under the threshold.
type run struct {
	moves, rounds int
	// under is how many moves it took until the measure was first at most
	// the threshold (a run may go on below it, down to its hysteresis).
	under int
	gib   int64   // memory moved
	final float64 // the policy's own measure at the end
	both  float64 // CPU and memory alike, at the end
}

func (r run) String() string {
	return fmt.Sprintf("%2d moves to the threshold, %2d in all in %2d runs (%3d GiB), end %.4f (cpu+mem %.4f)",
		r.under, r.moves, r.rounds, r.gib, r.final, r.both)
}

// rebalance runs pol every 5 minutes on the state its last plan left,
// recording when each VM moved (for the cooldown), until the imbalance
// measured with w is at most threshold, a plan is empty, or 100 runs passed.
func rebalance(snap *cluster.Snapshot, pol policy.Policy, threshold float64, w policy.Weights) run {
	GinkgoHelper()
	measure := func(s *cluster.Snapshot) float64 {
		return policy.Imbalance(cluster.NewState(s), w, cluster.TLSMatching)
	}
	var r run
	last := map[string]time.Duration{}
	now := time.Hour
	for r.rounds < 100 && measure(snap) > threshold {
		in := input(snap)
		in.Now, in.LastMoved = now, last
		p := must(pol.Plan(in))
		r.rounds++
		if len(p.Moves) == 0 {
			break
		}
		for i, m := range p.Moves {
			r.gib += snap.VM(m.VM).Memory / GiB
			last[m.VM] = now
			if r.under == 0 && measure(apply(snap, p.Moves[:i+1])) <= threshold {
				r.under = r.moves + i + 1
			}
		}
		r.moves += len(p.Moves)
		snap = apply(snap, p.Moves)
		Expect(Overloaded(snap, 4)).To(BeEmpty())
		now += 5 * time.Minute
	}
	r.final, r.both = measure(snap), imbalance(snap, cluster.TLSMatching)
	return r
}

var _ = Describe("balance against greedy-cv", func() {
	// Seven seeded clusters of 8 hosts and 48 VMs, or 16 and 120, piled
	// onto the first hosts. balance runs with its defaults; greedy-cv moves one best VM
	// per run, once on balance's measure (CPU and memory alike) and once as
	// CloudStack's DRS with its default metric (memory), where it stops on
	// its own measure.
	It("counts the moves each needs to get under the threshold", func() {
		const threshold = 0.2
		both, memory := policy.DefaultWeights, policy.Weights{Memory: 1}
		bal := must(balance.New(balance.Args{Threshold: threshold}))
		greedy := must(balance.NewGreedyCV(balance.Args{Threshold: threshold, MaxMoves: 1,
			Weights: struct{ CPU, Memory float64 }{1, 1}}))
		drs := must(balance.NewGreedyCV(balance.Args{Threshold: threshold, MaxMoves: 1}))
		var totB, totG, totD, totAll int
		for _, k := range []struct {
			seed uint64
			spec ClusterSpec
		}{
			{1, ClusterSpec{Hosts: 8, VMs: 48, Skew: 0.5}},
			{2, ClusterSpec{Hosts: 8, VMs: 48, Skew: 0.5}},
			{3, ClusterSpec{Hosts: 8, VMs: 48, Skew: 0.5}},
			{4, ClusterSpec{Hosts: 8, VMs: 48, Skew: 0.5}},
			{5, ClusterSpec{Hosts: 8, VMs: 48, Skew: 0.5}},
			{6, ClusterSpec{Hosts: 16, VMs: 120, Skew: 0.3}},
			{7, ClusterSpec{Hosts: 16, VMs: 120, Skew: 0.3}},
		} {
			seed := k.seed
			r := rand.New(rand.NewPCG(seed, 41))
			snap := RandomCluster(r, k.spec)
			before := imbalance(snap, cluster.TLSMatching)
			Expect(before).To(BeNumerically(">", threshold), "seed %d must start imbalanced", seed)
			b := rebalance(snap, bal, threshold, both)
			g := rebalance(snap, greedy, threshold, both)
			d := rebalance(snap, drs, threshold, memory)
			msg := fmt.Sprintf("seed %d: %d VMs, cpu+mem %.4f, memory %.4f\n  balance:            %s\n  greedy-cv cpu+mem:  %s\n  greedy-cv memory:   %s",
				seed, len(snap.VMs), before, policy.Imbalance(cluster.NewState(snap), memory, cluster.TLSMatching), b, g, d)
			GinkgoWriter.Println(msg)
			AddReportEntry(fmt.Sprintf("seed %d", seed), msg)
			Expect(b.final).To(BeNumerically("<=", threshold*0.8), msg)
			Expect(g.final).To(BeNumerically("<=", threshold), msg)
			Expect(d.final).To(BeNumerically("<=", threshold), msg)
			for _, x := range []run{b, g, d} {
				Expect(x.under).To(BeNumerically(">", 0), msg)
				Expect(x.under).To(BeNumerically("<=", x.moves), msg)
			}
			Expect(g.rounds).To(Equal(g.moves), "greedy-cv moves one VM per run")
			Expect(g.under).To(Equal(g.moves), "greedy-cv stops at the threshold")
			totB += b.under
			totG += g.under
			totD += d.under
			totAll += b.moves
		}
		msg := fmt.Sprintf("moves to the threshold: balance %d (%d in all, down to threshold × hysteresis), greedy-cv cpu+mem %d, greedy-cv memory %d",
			totB, totAll, totG, totD)
		GinkgoWriter.Println(msg)
		AddReportEntry("total", msg)
	})
})
