package policy_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/scheduler/policy"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

// loaded is a host of 32 cores and 256 GiB holding one VM that uses cpu
// cores and mem GiB (no VM when both are zero).
type loaded struct {
	cpu float64
	mem int64
}

// utilCluster builds hosts h0, h1, ... with the loads given; extra changes
// each host before it is built.
func utilCluster(loads []loaded, extra func(i int, w *HostWrapper)) *cluster.State {
	var hosts []cluster.Host
	var vms []cluster.VM
	for i, l := range loads {
		name := fmt.Sprintf("h%d", i)
		w := MakeHost(name)
		if extra != nil {
			extra(i, w)
		}
		hosts = append(hosts, w.Obj())
		if l.cpu > 0 || l.mem > 0 {
			vms = append(vms, MakeVM("v"+name, name).CPU(l.cpu).Memory(l.mem*GiB).Obj())
		}
	}
	return cluster.NewState(Snapshot(hosts, vms))
}

var _ = Describe("Imbalance", func() {
	both := policy.DefaultWeights

	DescribeTable("is the capacity-free CV of CPU and memory use, weighted",
		func(loads []loaded, w policy.Weights, want float64) {
			st := utilCluster(loads, nil)
			Expect(policy.Imbalance(st, w, cluster.TLSMatching)).To(BeNumerically("~", want, 1e-12))
			Expect(policy.NewTracker(st, w, cluster.TLSMatching).Value()).To(BeNumerically("~", want, 1e-12))
		},
		Entry("perfectly even", []loaded{{8, 64}, {8, 64}, {8, 64}}, both, 0.0),
		Entry("empty cluster", []loaded{{}, {}}, both, 0.0),
		Entry("one host", []loaded{{16, 128}}, both, 0.0),
		Entry("half and nothing: CV 1 for both", []loaded{{16, 128}, {}}, both, 1.0),
		Entry("only memory uneven (0.5, 0.25, 0): CV sqrt(2/3), half-weighted",
			[]loaded{{8, 128}, {8, 64}, {8, 0}}, both, math.Sqrt(2.0/3)/2),
		Entry("only memory uneven, memory weighs 3 of 4",
			[]loaded{{8, 128}, {8, 64}, {8, 0}}, policy.Weights{CPU: 1, Memory: 3}, 3*math.Sqrt(2.0/3)/4),
		Entry("only memory uneven, CPU alone counts", []loaded{{8, 128}, {8, 64}, {8, 0}},
			policy.Weights{CPU: 1}, 0.0),
		Entry("no weight at all", []loaded{{16, 128}, {}}, policy.Weights{}, 0.0),
		Entry("scale-free: the same spread at a tenth of the load", []loaded{{1.6, 16}, {}}, both, 1.0),
	)

	It("ignores hosts that are not usable", func() {
		st := utilCluster([]loaded{{8, 64}, {8, 64}, {}}, func(i int, w *HostWrapper) {
			if i == 2 {
				w.State(cluster.HostMaintenance)
			}
		})
		Expect(policy.Imbalance(st, both, cluster.TLSMatching)).To(BeZero())
		tr := policy.NewTracker(st, both, cluster.TLSMatching)
		Expect(tr.Hosts()).To(Equal(2))
	})

	It("averages pools by size and leaves out pools of one host", func() {
		// Pool A (h0, h1) is even; pool B (h2, h3, EPYC) has CV 1; h4 is
		// alone in its pool (other memory size) and does not count.
		st := utilCluster([]loaded{{8, 64}, {8, 64}, {16, 128}, {}, {30, 250}}, func(i int, w *HostWrapper) {
			switch i {
			case 2, 3:
				w.CPUModel("EPYC")
			case 4:
				w.Memory(512 * GiB)
			}
		})
		Expect(policy.Imbalance(st, both, cluster.TLSMatching)).To(BeNumerically("~", 0.5, 1e-12))
		tr := policy.NewTracker(st, both, cluster.TLSMatching)
		Expect(tr.Pool(0)).To(Equal(tr.Pool(1)))
		Expect(tr.Pool(2)).To(Equal(tr.Pool(3)))
		Expect(tr.Pool(0)).NotTo(Equal(tr.Pool(2)))
		Expect(tr.Pool(4)).NotTo(BeElementOf(tr.Pool(0), tr.Pool(2)))
	})

	DescribeTable("splits pools by security state unless TLS is off",
		func(mode cluster.TLSMode, want float64) {
			// h0 and h1 secured, even; h2 and h3 unsecured, even; the two
			// halves differ.
			st := utilCluster([]loaded{{16, 128}, {16, 128}, {}, {}}, func(i int, w *HostWrapper) {
				if i >= 2 {
					w.Security(cluster.Unsecured)
				}
			})
			Expect(policy.Imbalance(st, both, mode)).To(BeNumerically("~", want, 1e-12))
		},
		Entry("matching: two even pools", cluster.TLSMatching, 0.0),
		Entry("required: two even pools", cluster.TLSRequired, 0.0),
		Entry("off: one pool, half full and empty", cluster.TLSOff, 1.0),
	)

	It("PoolKey follows cluster.Compatible and security", func() {
		a := MakeHost("a").Obj()
		Expect(policy.PoolKey(&a, cluster.TLSMatching)).To(Equal(filter.PoolKey(&a, cluster.TLSMatching)))
		for _, other := range []cluster.Host{
			MakeHost("b").CPUModel("EPYC").Obj(), MakeHost("b").Memory(128 * GiB).Obj(),
			MakeHost("b").NICs(4, 1e9).Obj(), MakeHost("b").Security(cluster.Unsecured).Obj(),
		} {
			Expect(policy.PoolKey(&other, cluster.TLSMatching)).NotTo(Equal(policy.PoolKey(&a, cluster.TLSMatching)), "%+v", other)
		}
		same := MakeHost("b").CPUs(64).Zone("z").Obj()
		Expect(policy.PoolKey(&same, cluster.TLSMatching)).To(Equal(policy.PoolKey(&a, cluster.TLSMatching)))
		tcp := MakeHost("c").Security(cluster.Unsecured).Obj()
		Expect(policy.PoolKey(&tcp, cluster.TLSOff)).To(Equal(policy.PoolKey(&a, cluster.TLSOff)))
	})

	Describe("Tracker", func() {
		// mixed is a random cluster with three pools (by CPU model and
		// security) and a host in maintenance.
		mixed := func(r *rand.Rand) *cluster.State {
			snap := RandomCluster(r, ClusterSpec{Hosts: 3 + r.IntN(6), Skew: 0.5})
			for i := range snap.Hosts {
				switch r.IntN(5) {
				case 0:
					snap.Hosts[i].CPUModel = "EPYC"
				case 1:
					snap.Hosts[i].Security = cluster.Unsecured
				case 2:
					if i == 0 {
						snap.Hosts[i].State = cluster.HostMaintenance
					}
				}
			}
			return cluster.NewState(snap)
		}

		It("predicts with After exactly what moving the VM gives (property)", func() {
			r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 21))
			checked := 0
			for trial := range 200 {
				st := mixed(r)
				if len(st.Snap.VMs) == 0 {
					continue
				}
				w := policy.Weights{CPU: r.Float64(), Memory: r.Float64()}
				mode := []cluster.TLSMode{cluster.TLSMatching, cluster.TLSOff}[r.IntN(2)]
				tr := policy.NewTracker(st, w, mode)
				for range 5 {
					vm, dst := r.IntN(len(st.Snap.VMs)), r.IntN(len(st.Snap.Hosts))
					if st.Place[vm] == dst {
						continue
					}
					before := tr.Value()
					got := tr.After(vm, dst)
					Expect(tr.Value()).To(Equal(before), "After must not change the tracker")
					src := st.Place[vm]
					st.Move(vm, dst)
					want := policy.Imbalance(st, w, mode)
					Expect(got).To(BeNumerically("~", want, 1e-9), "trial %d: vm %d %d -> %d", trial, vm, src, dst)
					tr.Reset()
					Expect(tr.Value()).To(BeNumerically("~", want, 1e-9), "Reset after st.Move")
					checked++
				}
			}
			Expect(checked).To(BeNumerically(">", 300))
		})

		It("never reports a negative or NaN value", func() {
			r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 22))
			for range 100 {
				st := mixed(r)
				tr := policy.NewTracker(st, both, cluster.TLSMatching)
				v := tr.Value()
				Expect(math.IsNaN(v)).To(BeFalse())
				Expect(v).To(BeNumerically(">=", 0))
			}
		})

		// Was a bug (fixed): After(vm, dst) with dst the VM's planned host takes the VM
		// off its host and then adds it to the host's original figures, so
		// the pool's sum of squares grows by 2·d² and "not moving" reads as
		// a change. Balance skips dst == src today, so no plan is wrong yet.
		// Fix (scheduler/policy/imbalance.go, After): return t.Value() when
		// dst == t.st.Place[vm].
		It("reads a move to where the VM already is as no change", func() {
			st := utilCluster([]loaded{{16, 128}, {4, 32}}, nil)
			tr := policy.NewTracker(st, both, cluster.TLSMatching)
			Expect(tr.After(0, st.Place[0])).To(BeNumerically("~", tr.Value(), 1e-12))
		})
	})

	It("Combine averages pools of two or more hosts by size", func() {
		var a, b, lone policy.Sums
		a.Add(0.5, 0.5, 1)
		a.Add(0, 0, 1) // CV 1
		b.Add(0.2, 0.2, 1)
		b.Add(0.2, 0.2, 1)
		b.Add(0.2, 0.2, 1) // CV 0
		lone.Add(0.9, 0.1, 1)
		Expect(a.Value(policy.DefaultWeights)).To(BeNumerically("~", 1, 1e-12))
		Expect(policy.Combine([]policy.Sums{a, b, lone}, policy.DefaultWeights)).To(BeNumerically("~", 2.0/5, 1e-12))
		a.Add(0, 0, -1) // removing a host leaves one: no spread
		Expect(a.N).To(BeEquivalentTo(1))
		Expect(policy.Combine([]policy.Sums{a, lone}, policy.DefaultWeights)).To(BeZero())
	})
})
