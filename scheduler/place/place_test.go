package place_test

import (
	"math/rand/v2"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/scheduler/framework"
	"github.com/droverlab/drover/scheduler/place"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

// scores is a Scorer that reads each host's score from a table.
func scores(by map[int]float64) place.Scorer {
	return func(_ *cluster.State, _, dst int) float64 { return by[dst] }
}

// parts splits a "no feasible host: ..." summary into its counts.
func parts(why string) []string {
	_, rest, ok := strings.Cut(why, ": ")
	if !ok {
		return nil
	}
	return strings.Split(rest, ", ")
}

var _ = Describe("Placer", func() {
	Describe("Best", func() {
		DescribeTable("picks the highest score among feasible hosts, ties to the lowest index",
			func(by map[int]float64, full []int, want int) {
				var more []cluster.VM
				for _, h := range full {
					more = append(more, fill("x"+string(rune('0'+h)), "h"+string(rune('0'+h))))
				}
				st := five(nil, more...)
				p := place.New(st, cluster.TLSMatching, 4)
				got, why := p.Best(st.VMIndex("v"), scores(by))
				Expect(got).To(Equal(want))
				Expect(why).To(BeEmpty())
			},
			Entry("a clear best", map[int]float64{1: 10, 2: 30, 3: 20, 4: 5}, nil, 2),
			Entry("a tie goes to the lower index", map[int]float64{1: 10, 2: 30, 3: 20, 4: 30}, nil, 2),
			Entry("all equal: the first feasible host", map[int]float64{}, nil, 1),
			Entry("negative scores count too", map[int]float64{1: -3, 2: -1, 3: -2, 4: -1}, nil, 2),
			Entry("the VM's own host is never chosen", map[int]float64{0: 100, 1: 1}, nil, 1),
			Entry("a full host is passed over, however it scores", map[int]float64{1: 1, 2: 99, 3: 2}, []int{2}, 3),
		)

		It("passes over excluded hosts", func() {
			st := five(nil)
			p := place.New(st, cluster.TLSMatching, 4)
			p.Exclude[2] = true
			got, _ := p.Best(st.VMIndex("v"), scores(map[int]float64{2: 9, 3: 5}))
			Expect(got).To(Equal(3))
		})

		It("sees the moves planned on its state", func() {
			st := five(nil, MakeVM("big", "h1").Memory(200*GiB).Obj(), MakeVM("w", "h0").Memory(60*GiB).Obj())
			p := place.New(st, cluster.TLSMatching, 4)
			w := st.VMIndex("w")
			prefer2 := scores(map[int]float64{2: 9, 4: 1})
			Expect(p.Best(w, prefer2)).To(Equal(2))
			st.Move(st.VMIndex("big"), 2)
			got, _ := p.Best(w, prefer2)
			Expect(got).To(Equal(4), "h2 holds big now: no room for w")
			st.Move(st.VMIndex("big"), 1)
			Expect(p.Best(w, prefer2)).To(Equal(2), "and room again once big is planned back")
		})

		It("never leaves the VM's pool, however a host outside it scores", func() {
			st := five(func(i int, w *HostWrapper) {
				if i == 1 {
					w.CPUModel("EPYC")
				}
			})
			for _, explain := range []bool{false, true} {
				p := place.New(st, cluster.TLSMatching, 4)
				p.Explain = explain
				got, _ := p.Best(st.VMIndex("v"), scores(map[int]float64{1: 100, 3: 1}))
				Expect(got).To(Equal(3), "explain %v", explain)
			}
		})

		Describe("when no host is feasible", func() {
			// h0 is v's own, h1 another pool, h2 and h3 full, h4 in
			// maintenance.
			hopeless := func() *cluster.State {
				return five(func(i int, w *HostWrapper) {
					switch i {
					case 1:
						w.CPUModel("EPYC")
					case 4:
						w.State(cluster.HostMaintenance)
					}
				}, fill("x2", "h2"), fill("x3", "h3"))
			}

			It("sums up the refusals by plugin, in the order met", func() {
				st := hopeless()
				p := place.New(st, cluster.TLSMatching, 4)
				p.Explain = true
				got, why := p.Best(st.VMIndex("v"), place.LeastLoaded)
				Expect(got).To(Equal(-1))
				Expect(why).To(Equal("no feasible host: 2 refused by host-state, 1 refused by pool, 2 refused by capacity"))
			})

			It("gives the same counts without --explain", func() {
				st := hopeless()
				p := place.New(st, cluster.TLSMatching, 4)
				got, why := p.Best(st.VMIndex("v"), place.LeastLoaded)
				Expect(got).To(Equal(-1))
				Expect(why).To(HavePrefix("no feasible host: "))
				Expect(parts(why)).To(ConsistOf("2 refused by host-state", "1 refused by pool", "2 refused by capacity"))
				Expect(p.Rejections).To(BeEmpty(), "only --explain keeps each refusal")
			})

			It("counts hosts the policy excluded", func() {
				st := five(nil)
				p := place.New(st, cluster.TLSMatching, 4)
				for h := 1; h < 5; h++ {
					p.Exclude[h] = true
				}
				_, why := p.Best(st.VMIndex("v"), place.LeastLoaded)
				Expect(why).To(Equal("no feasible host: 1 refused by host-state, 4 refused by policy"))
			})

			It("records every refusal with --explain", func() {
				st := hopeless()
				p := place.New(st, cluster.TLSMatching, 4)
				p.Explain = true
				p.Best(st.VMIndex("v"), place.LeastLoaded)
				Expect(p.Rejections).To(HaveLen(5))
				byHost := map[string]framework.Rejection{}
				for _, r := range p.Rejections {
					Expect(r.VM).To(Equal("v"))
					byHost[r.Host] = r
				}
				Expect(byHost["h0"].Plugin).To(Equal(filter.HostStateName))
				Expect(byHost["h0"].Reason).To(Equal([]string{filter.ReasonSameHost}))
				Expect(byHost["h1"].Plugin).To(Equal(filter.PoolName))
				Expect(byHost["h1"].Code).To(Equal("UnschedulableAndUnresolvable"))
				Expect(byHost["h1"].Reason).To(Equal([]string{cluster.ReasonCPUModel}))
				Expect(byHost["h2"].Plugin).To(Equal(filter.CapacityName))
				Expect(byHost["h2"].Code).To(Equal("Unschedulable"))
				Expect(byHost["h2"].Reason).To(ConsistOf(HavePrefix(filter.ReasonInsufficientMem + ": need 4294967296, used 272730423296")))
				Expect(byHost["h4"].Reason).To(ConsistOf(ContainSubstring(filter.ReasonHostNotUsable)))
			})

			It("records refusals only for the VMs it is asked about, and keeps them", func() {
				st := five(nil, MakeVM("w", "h1").Obj())
				p := place.New(st, cluster.TLSMatching, 4)
				p.Explain = true
				got, _ := p.Best(st.VMIndex("v"), place.LeastLoaded)
				Expect(got).To(BeNumerically(">", 0))
				Expect(p.Rejections).To(HaveLen(1), "v's own host only")
				p.Best(st.VMIndex("w"), place.LeastLoaded)
				Expect(p.Rejections).To(HaveLen(2))
				Expect(p.Rejections[1].VM).To(Equal("w"))
			})
		})

		// Was a bug (fixed): without --explain Best asks only the hosts of the VM's own
		// pool and books every other host as refused by "pool". But the
		// pool key includes the security state under TLS enforcement, so a
		// host refused by the tls filter (unsecured, or an invalid
		// certificate) is reported as a pool refusal, while --explain
		// reports it under tls: the summary depends on --explain, and the
		// plain one names the wrong cause. Fix (scheduler/place/place.go,
		// why): when nothing is feasible, run p.Feasible on the hosts
		// outside the pool and count them under the plugin that refuses
		// them (cheap: only on the failure path).
		It("names the filter that refused, with or without --explain", func() {
			st := five(func(i int, w *HostWrapper) {
				if i > 0 {
					w.Security(cluster.Unsecured)
				}
			})
			var whys []string
			for _, explain := range []bool{true, false} {
				p := place.New(st, cluster.TLSMatching, 4)
				p.Explain = explain
				_, why := p.Best(st.VMIndex("v"), place.LeastLoaded)
				whys = append(whys, why)
			}
			Expect(whys[0]).To(Equal("no feasible host: 1 refused by host-state, 4 refused by tls"))
			Expect(whys[1]).To(Equal(whys[0]))
		})
	})

	Describe("Feasible", func() {
		It("refuses an excluded host as the policy's choice", func() {
			st := five(nil)
			p := place.New(st, cluster.TLSMatching, 4)
			p.Exclude[3] = true
			s := p.Feasible(st.VMIndex("v"), 3)
			Expect(s.Code()).To(Equal(framework.UnschedulableAndUnresolvable))
			Expect(s.Plugin()).To(Equal("policy"))
			Expect(s.Message()).To(Equal("host excluded by policy"))
			Expect(p.Feasible(st.VMIndex("v"), 2).IsSuccess()).To(BeTrue())
		})

		It("runs the filters it holds, in order", func() {
			st := five(nil)
			p := place.New(st, cluster.TLSMatching, 4)
			p.Filters = append(p.Filters, refuseAll{})
			s := p.Feasible(st.VMIndex("v"), 2)
			Expect(s.Plugin()).To(Equal("refuse-all"))
			Expect(p.Feasible(st.VMIndex("v"), 0).Plugin()).To(Equal(filter.HostStateName), "the chain stops at the first refusal")
		})
	})

	DescribeTable("Transport follows the TLS mode and the pair's security",
		func(mode cluster.TLSMode, src, dst cluster.Security, want cluster.Transport) {
			hosts := []cluster.Host{MakeHost("a").Security(src).Obj(), MakeHost("b").Security(dst).Obj()}
			st := cluster.NewState(Snapshot(hosts, []cluster.VM{MakeVM("v", "a").Obj()}))
			Expect(place.New(st, mode, 1).Transport(0, 1)).To(Equal(want))
		},
		Entry("secured pair", cluster.TLSMatching, cluster.Secured, cluster.Secured, cluster.TransportTLS),
		Entry("unsecured pair", cluster.TLSMatching, cluster.Unsecured, cluster.Unsecured, cluster.TransportTCP),
		Entry("mixed under matching: none", cluster.TLSMatching, cluster.Secured, cluster.Unsecured, cluster.Transport("")),
		Entry("mixed with TLS off", cluster.TLSOff, cluster.Secured, cluster.Unsecured, cluster.TransportTCP),
	)

	It("has no transport for a VM whose host is unknown", func() {
		st := cluster.NewState(Snapshot([]cluster.Host{MakeHost("a").Obj()}, []cluster.VM{MakeVM("v", "gone").Obj()}))
		Expect(place.New(st, cluster.TLSMatching, 1).Transport(0, 0)).To(BeEmpty())
	})

	DescribeTable("LeastLoaded scores the room left after the move, memory and CPU alike",
		func(usedMem int64, usedCPU float64, want float64) {
			var more []cluster.VM
			if usedMem > 0 {
				more = append(more, MakeVM("w", "h1").Memory(usedMem*GiB).CPU(usedCPU).Obj())
			}
			st := five(nil, more...)
			// v: 4 GiB, 1 core; hosts: 256 GiB, 32 cores.
			Expect(place.LeastLoaded(st, st.VMIndex("v"), 1)).To(BeNumerically("~", want, 1e-9))
		},
		Entry("empty host", int64(0), 0.0, 50*(1-4.0/256)+50*(1-1.0/32)),
		Entry("half full", int64(124), 15.0, 50*0.5+50*0.5),
		Entry("full after the move", int64(252), 31.0, 0.0),
	)

	Describe("BestLeastLoaded", func() {
		It("agrees with Best(LeastLoaded) as placements change the state (property)", func() {
			r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 61))
			placed := 0
			for trial := range 40 {
				snap := RandomCluster(r, ClusterSpec{Hosts: 3 + r.IntN(8), Skew: 0.3})
				st := cluster.NewState(snap)
				fast := place.New(st, cluster.TLSMatching, 2)
				slow := place.New(st, cluster.TLSMatching, 2)
				excluded := false
				for h := range snap.Hosts {
					if r.IntN(4) == 0 {
						fast.Exclude[h], slow.Exclude[h] = true, true
						excluded = true
					}
				}
				order := r.Perm(len(snap.VMs))
				for _, vm := range order {
					want, whyWant := slow.Best(vm, place.LeastLoaded)
					got, whyGot := fast.BestLeastLoaded(vm)
					Expect(got).To(Equal(want), "trial %d, vm %s", trial, snap.VMs[vm].Name)
					if want < 0 {
						if !excluded { // see the pending spec below for excluded hosts
							Expect(parts(whyGot)).To(ConsistOf(parts(whyWant)))
						}
						continue
					}
					src := st.Place[vm]
					st.Move(vm, want)
					fast.Touched(src)
					fast.Touched(want)
					placed++
				}
			}
			Expect(placed).To(BeNumerically(">", 100))
		})

		It("falls back to Best with --explain, recording refusals", func() {
			st := five(nil, fill("x1", "h1"))
			p := place.New(st, cluster.TLSMatching, 4)
			p.Explain = true
			got, _ := p.BestLeastLoaded(st.VMIndex("v"))
			Expect(got).To(Equal(2))
			Expect(p.Rejections).To(HaveLen(2))
		})

		It("explains a failure like Best", func() {
			st := five(nil, fill("x1", "h1"), fill("x2", "h2"), fill("x3", "h3"), fill("x4", "h4"))
			p := place.New(st, cluster.TLSMatching, 4)
			got, why := p.BestLeastLoaded(st.VMIndex("v"))
			Expect(got).To(Equal(-1))
			Expect(why).To(Equal("no feasible host: 1 refused by host-state, 4 refused by capacity"))
		})

		// Was a bug (fixed): BestLeastLoaded leaves excluded hosts out of its order, and
		// so out of its summary: a VM with no home reads "no feasible
		// host: 1 refused by capacity" where Best (and --explain) say
		// "..., 5 refused by policy", hiding that the policy itself ruled
		// out most of the pool. Fix (scheduler/place/place.go,
		// BestLeastLoaded, before calling why): count the pool's excluded
		// hosts, len(p.pools[key]) - len(ord), under "policy".
		It("sums up the hosts the policy excluded, as Best does", func() {
			st := five(nil, fill("x1", "h1"))
			fast := place.New(st, cluster.TLSMatching, 4)
			slow := place.New(st, cluster.TLSMatching, 4)
			for _, p := range []*place.Placer{fast, slow} {
				p.Exclude[2], p.Exclude[3], p.Exclude[4] = true, true, true
			}
			_, want := slow.Best(st.VMIndex("v"), place.LeastLoaded)
			Expect(want).To(Equal("no feasible host: 1 refused by host-state, 1 refused by capacity, 3 refused by policy"))
			_, got := fast.BestLeastLoaded(st.VMIndex("v"))
			Expect(parts(got)).To(ConsistOf(parts(want)))
		})

		// Was a bug (fixed): BestLeastLoaded orders each pool's hosts by used fractions
		// alone, but LeastLoaded also counts the VM's own share of each
		// host, CPU/cores, which differs between hosts of one pool when
		// their core counts differ (the pool key does not include cores).
		// A 4-core VM then goes to a small host that is a hair emptier
		// instead of a big host where it leaves far more room. Fix
		// (scheduler/place/place.go): keep one order per (pool, cores,
		// memory) group and take the best LeastLoaded head among the
		// groups, or fall back to Best for pools of mixed sizes.
		It("agrees with Best(LeastLoaded) when a pool mixes core counts", func() {
			hosts := []cluster.Host{MakeHost("h0").Obj(), MakeHost("small").CPUs(8).Obj(), MakeHost("big").CPUs(64).Obj()}
			st := cluster.NewState(Snapshot(hosts, []cluster.VM{
				MakeVM("v", "h0").CPU(4).Obj(),
				MakeVM("a", "small").Memory(26 * GiB).CPU(0).Obj(),
				MakeVM("b", "big").Memory(26 * GiB).CPU(1).Obj(),
			}))
			v := st.VMIndex("v")
			want, _ := place.New(st, cluster.TLSMatching, 4).Best(v, place.LeastLoaded)
			Expect(st.Snap.Hosts[want].Name).To(Equal("big"))
			got, _ := place.New(st, cluster.TLSMatching, 4).BestLeastLoaded(v)
			Expect(got).To(Equal(want))
		})
	})
})

// refuseAll refuses every host.
type refuseAll struct{}

func (refuseAll) Name() string { return "refuse-all" }
func (refuseAll) Filter(*cluster.State, int, int) *framework.Status {
	return framework.NewStatus(framework.Unschedulable, "no")
}
