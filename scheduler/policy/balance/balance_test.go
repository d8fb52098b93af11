package balance_test

import (
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy/balance"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

var _ = Describe("balance", func() {
	It("fills in its defaults", func() {
		a := must(balance.New(balance.Args{})).Args()
		Expect(a.Threshold).To(Equal(0.2))
		Expect(a.Hysteresis).To(Equal(0.8))
		Expect(a.MaxMoves).To(Equal(10))
		Expect(a.Weights.CPU).To(Equal(1.0))
		Expect(a.Weights.Memory).To(Equal(1.0))
		Expect(*a.CostPerGiB).To(Equal(0.005))
		Expect(*a.MinGain).To(Equal(0.01))
		Expect(*a.Cooldown).To(Equal(30 * time.Minute))
		Expect(a.Sources).To(Equal(8))
		Expect(a.Dests).To(Equal(32))
		Expect(must(balance.New(balance.Args{})).Name()).To(Equal("balance"))
	})

	It("keeps a zero that was asked for", func() {
		a := must(balance.New(balance.Args{CostPerGiB: new(0.0), MinGain: new(0.0), Cooldown: new(time.Duration(0))})).Args()
		Expect(*a.CostPerGiB).To(BeZero())
		Expect(*a.MinGain).To(BeZero())
		Expect(*a.Cooldown).To(BeZero())
	})

	DescribeTable("refuses bad arguments, all at once",
		func(a balance.Args, want []string) {
			_, err := balance.New(a)
			Expect(err).To(HaveOccurred())
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
			Expect(err.(interface{ Unwrap() []error }).Unwrap()).To(HaveLen(len(want)))
		},
		Entry("threshold", balance.Args{Threshold: -0.1}, []string{"threshold must be positive, got -0.1"}),
		Entry("hysteresis above 1", balance.Args{Hysteresis: 1.5}, []string{"hysteresis must be in (0, 1], got 1.5"}),
		Entry("negative max moves", balance.Args{MaxMoves: -1}, []string{"max moves must not be negative, got -1"}),
		Entry("negative cooldown", balance.Args{Cooldown: new(time.Duration(-time.Second))}, []string{"cooldown must not be negative, got -1s"}),
		Entry("everything", balance.Args{Threshold: -1, Hysteresis: -1, MaxMoves: -2, CostPerGiB: new(-1.0), Cooldown: new(time.Duration(-time.Minute)),
			Weights: struct{ CPU, Memory float64 }{-1, 1}},
			[]string{"threshold", "hysteresis", "max moves", "weights must not be negative", "cost per GiB", "cooldown"}),
	)

	Describe("when to act", func() {
		It("plans nothing at or under the threshold", func() {
			snap := spread(3, 2, 2, 2) // uneven, but mildly: 0.19
			x := imbalance(snap, cluster.TLSMatching)
			Expect(x).To(BeNumerically("~", 0.1925, 1e-4))
			for _, th := range []float64{x, x + 0.01, 0.9, 0} { // 0: the default, 0.2
				p := must(must(balance.New(balance.Args{Threshold: th})).Plan(input(snap)))
				Expect(p.Moves).To(BeEmpty(), "threshold %g", th)
				Expect(p.ImbalanceBefore).To(BeNumerically("~", x, 1e-12))
				Expect(p.ImbalanceAfter).To(Equal(p.ImbalanceBefore))
				Expect(p.Policy).To(Equal("balance"))
			}
		})

		It("acts just above it", func() {
			snap := hot(3)
			x := imbalance(snap, cluster.TLSMatching)
			p := must(must(balance.New(balance.Args{Threshold: x * 0.99})).Plan(input(snap)))
			Expect(p.Moves).NotTo(BeEmpty())
			Expect(p.ImbalanceBefore).To(BeNumerically("~", x, 1e-12))
			Expect(p.ImbalanceAfter).To(BeNumerically("<", x))
		})
	})

	It("plans each run as a new balancer would, though it takes over its last run's arrays", func() {
		reused := must(balance.New(balance.Args{}))
		for _, snap := range []*cluster.Snapshot{hot(8), spread(2, 9, 1), hot(8), spread(5, 5, 5, 0, 0, 12)} {
			fresh := must(balance.New(balance.Args{}))
			Expect(must(reused.Plan(input(snap)))).To(Equal(must(fresh.Plan(input(snap)))))
		}
	})

	It("makes every move pay: each lowers the imbalance by at least MinGain per host", func() {
		snap := hot(9)
		in := input(snap)
		p := must(must(balance.New(balance.Args{MaxMoves: 50})).Plan(in))
		Expect(len(p.Moves)).To(BeNumerically(">=", 4))
		prev := imbalance(snap, cluster.TLSMatching)
		Expect(p.ImbalanceBefore).To(BeNumerically("~", prev, 1e-12))
		for i := range p.Moves {
			x := imbalance(apply(snap, p.Moves[:i+1]), cluster.TLSMatching)
			Expect(prev-x).To(BeNumerically(">", 0.01/4), "move %d: %s -> %s", i+1, p.Moves[i].VM, p.Moves[i].Destination)
			prev = x
		}
		Expect(p.ImbalanceAfter).To(BeNumerically("~", prev, 1e-12))
		for _, m := range p.Moves {
			Expect(m.Source).To(Equal("h1"), "only h1 is hot")
			Expect(m.Reason).To(Equal("balance"))
			Expect(m.Predicted.Outcome).To(Equal(cluster.OutcomeCompleted))
		}
	})

	It("stops once under threshold × hysteresis, and not before", func() {
		// From 9,1,1,1 VMs per host, five moves give 4,3,3,2 (imbalance
		// 0.236) and six give 3,3,3,3 (0).
		snap := hot(9)
		p := must(must(balance.New(balance.Args{Threshold: 0.25, Hysteresis: 0.5, MaxMoves: 50})).Plan(input(snap)))
		Expect(p.Moves).To(HaveLen(6))
		Expect(p.ImbalanceAfter).To(BeNumerically("<=", 0.125))
		Expect(imbalance(apply(snap, p.Moves[:5]), cluster.TLSMatching)).To(BeNumerically(">", 0.125))
		// With hysteresis 1 it stops at the threshold itself, a move sooner.
		q := must(must(balance.New(balance.Args{Threshold: 0.25, Hysteresis: 1, MaxMoves: 50})).Plan(input(snap)))
		Expect(q.Moves).To(HaveLen(5))
		Expect(q.ImbalanceAfter).To(BeNumerically("~", 0.2357, 1e-4))
		Expect(imbalance(apply(snap, q.Moves[:4]), cluster.TLSMatching)).To(BeNumerically(">", 0.25))
	})

	DescribeTable("proposes at most MaxMoves",
		func(max int) {
			p := must(must(balance.New(balance.Args{MaxMoves: max})).Plan(input(hot(9))))
			Expect(p.Moves).To(HaveLen(max))
		},
		Entry("1", 1), Entry("2", 2), Entry("3", 3),
	)

	Describe("cooldown", func() {
		rest := func(snap *cluster.Snapshot, host string, at time.Duration) map[string]time.Duration {
			last := map[string]time.Duration{}
			for _, v := range snap.VMs {
				if v.Host == host {
					last[v.Name] = at
				}
			}
			return last
		}

		It("keeps VMs that moved within the cooldown still", func() {
			snap := hot(9)
			in := input(snap)
			in.Now = 2 * time.Hour
			in.LastMoved = rest(snap, "h1", in.Now-10*time.Minute)
			p := must(must(balance.New(balance.Args{})).Plan(in))
			Expect(p.ImbalanceBefore).To(BeNumerically(">", 0.2))
			Expect(p.Moves).To(BeEmpty(), "only h1's VMs would pay, and they all rest")
		})

		It("moves only the VMs that do not rest", func() {
			snap := hot(9)
			in := input(snap)
			in.Now = 2 * time.Hour
			in.LastMoved = map[string]time.Duration{"v1-0": in.Now - time.Minute, "v1-1": in.Now - 29*time.Minute,
				"v1-2": in.Now - 31*time.Minute}
			p := must(must(balance.New(balance.Args{MaxMoves: 50})).Plan(in))
			Expect(p.Moves).NotTo(BeEmpty())
			var names []string
			for _, m := range p.Moves {
				names = append(names, m.VM)
			}
			Expect(names).NotTo(ContainElements("v1-0"))
			Expect(names).NotTo(ContainElements("v1-1"))
		})

		It("lets them go once the cooldown is over", func() {
			snap := hot(9)
			in := input(snap)
			in.Now = 2 * time.Hour
			in.LastMoved = rest(snap, "h1", in.Now-30*time.Minute)
			p := must(must(balance.New(balance.Args{})).Plan(in))
			Expect(p.Moves).NotTo(BeEmpty())
			short := must(balance.New(balance.Args{Cooldown: new(time.Duration(5 * time.Minute))}))
			in.LastMoved = rest(snap, "h1", in.Now-10*time.Minute)
			Expect(must(short.Plan(in)).Moves).NotTo(BeEmpty(), "a 5 minute cooldown is over after 10")
		})
	})

	It("leaves a migrating VM alone and sends nothing to a host that is not up", func() {
		snap := hot(9)
		for i := range snap.VMs {
			if snap.VMs[i].Name == "v1-0" {
				snap.VMs[i].Migrating = true
			}
		}
		snap.Hosts[3].State = cluster.HostMaintenance // h4
		p := must(must(balance.New(balance.Args{MaxMoves: 50})).Plan(input(snap)))
		Expect(p.Moves).NotTo(BeEmpty())
		for _, m := range p.Moves {
			Expect(m.VM).NotTo(Equal("v1-0"))
			Expect(m.Destination).NotTo(Equal("h4"))
		}
	})

	It("refuses a move the model says will not converge, and one whose cost outweighs its gain", func() {
		snap := hot(9)
		for i := range snap.VMs {
			if snap.VMs[i].Host == "h1" {
				snap.VMs[i].WSS, snap.VMs[i].DirtyRate = 8*GiB, 4*float64(GiB)
			}
		}
		in := input(snap)
		in.Migration.MaxIterations = 30
		Expect(must(must(balance.New(balance.Args{})).Plan(in)).Moves).To(BeEmpty())
		costly := must(balance.New(balance.Args{CostPerGiB: new(100.0)}))
		Expect(must(costly.Plan(input(hot(9)))).Moves).To(BeEmpty())
	})

	It("never moves an anti-affinity member onto a host that holds another", func() {
		snap := hot(9)
		members := []string{"v1-0", "v2-0", "v3-0", "v4-0"} // one on every host
		for i := range snap.VMs {
			for _, m := range members {
				if snap.VMs[i].Name == m {
					snap.VMs[i].Group = "g"
				}
			}
		}
		snap.Groups = []cluster.Group{{Name: "g", Kind: cluster.AntiAffinity, Members: members}}
		p := must(must(balance.New(balance.Args{MaxMoves: 50})).Plan(input(snap)))
		Expect(p.Moves).NotTo(BeEmpty())
		for _, m := range p.Moves {
			Expect(m.VM).NotTo(BeElementOf(members))
		}
	})

	Describe("TLS", func() {
		// tls has h1 hot and secured, h2 secured, h3 and h4 unsecured and
		// idle.
		tls := func() *cluster.Snapshot {
			snap := hot(9)
			snap.Hosts[2].Security = cluster.Unsecured
			snap.Hosts[3].Security = cluster.Unsecured
			return snap
		}

		It("never moves between security states under matching", func() {
			p := must(must(balance.New(balance.Args{MaxMoves: 50})).Plan(input(tls())))
			Expect(p.Moves).NotTo(BeEmpty())
			for _, m := range p.Moves {
				Expect(m.Destination).To(Equal("h2"))
				Expect(m.Transport).To(Equal(cluster.TransportTLS))
			}
		})

		It("crosses them over TCP when enforcement is off", func() {
			in := input(tls())
			in.TLS = cluster.TLSOff
			p := must(must(balance.New(balance.Args{MaxMoves: 50})).Plan(in))
			var crossed int
			for _, m := range p.Moves {
				if m.Destination == "h3" || m.Destination == "h4" {
					crossed++
					Expect(m.Transport).To(Equal(cluster.TransportTCP))
				}
			}
			Expect(crossed).To(BeNumerically(">", 0))
		})
	})

	Describe("properties over random clusters", func() {
		It("never overcommits a host", func() {
			r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 31))
			acted := 0
			for trial := range 40 {
				snap := RandomCluster(r, ClusterSpec{Hosts: 3 + r.IntN(5), Skew: 0.4 + 0.5*r.Float64()})
				in := input(snap)
				in.Overcommit = []float64{1, 1.5, 4}[r.IntN(3)]
				Expect(Overloaded(snap, in.Overcommit)).To(BeEmpty())
				p := must(must(balance.New(balance.Args{Threshold: 0.05, MaxMoves: 30})).Plan(in))
				after := apply(snap, p.Moves)
				Expect(Overloaded(after, in.Overcommit)).To(BeEmpty(), "trial %d, overcommit %g", trial, in.Overcommit)
				Expect(p.ImbalanceAfter).To(BeNumerically("<=", p.ImbalanceBefore))
				if len(p.Moves) > 0 {
					acted++
					Expect(p.ImbalanceAfter).To(BeNumerically("~", imbalance(after, cluster.TLSMatching), 1e-9))
				}
			}
			Expect(acted).To(BeNumerically(">", 20))
		})

		It("never puts two members of an anti-affinity group on one host", func() {
			r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 32))
			acted := 0
			for trial := range 40 {
				snap := RandomCluster(r, ClusterSpec{Hosts: 4 + r.IntN(4), Skew: 0.6})
				// One VM of each of the first hosts joins the group.
				seen := map[string]bool{}
				var members []string
				for i := range snap.VMs {
					if v := &snap.VMs[i]; !seen[v.Host] && len(seen) < 3 {
						seen[v.Host] = true
						v.Group = "g"
						members = append(members, v.Name)
					}
				}
				snap.Groups = []cluster.Group{{Name: "g", Kind: cluster.AntiAffinity, Members: members}}
				p := must(must(balance.New(balance.Args{Threshold: 0.05, MaxMoves: 30})).Plan(input(snap)))
				if len(p.Moves) > 0 {
					acted++
				}
				hosts := map[string]string{}
				for _, v := range apply(snap, p.Moves).VMs {
					if v.Group != "g" {
						continue
					}
					Expect(hosts).NotTo(HaveKey(v.Host), "trial %d: %s and %s", trial, hosts[v.Host], v.Name)
					hosts[v.Host] = v.Name
				}
			}
			Expect(acted).To(BeNumerically(">", 20))
		})
	})
})

var _ = Describe("greedy-cv", func() {
	It("is the balancer without cost, cooldown or hysteresis", func() {
		g := must(balance.NewGreedyCV(balance.Args{Threshold: 0.3, Hysteresis: 0.5, CostPerGiB: new(1.0), Cooldown: new(time.Duration(time.Hour))}))
		Expect(g.Name()).To(Equal("greedy-cv"))
		a := g.Args()
		Expect(a.Threshold).To(Equal(0.3))
		Expect(a.Hysteresis).To(Equal(1.0))
		Expect(*a.CostPerGiB).To(BeZero())
		Expect(*a.Cooldown).To(BeZero())
		Expect(*a.MinGain).To(Equal(1e-9))
		Expect(a.Weights.CPU).To(BeZero(), "CloudStack's default metric: memory alone")
		Expect(a.Weights.Memory).To(Equal(1.0))
		both := must(balance.NewGreedyCV(balance.Args{Weights: struct{ CPU, Memory float64 }{1, 1}})).Args()
		Expect(both.Weights.CPU).To(Equal(1.0), "weights given are kept")
		Expect(both.Weights.Memory).To(Equal(1.0))
		_, err := balance.NewGreedyCV(balance.Args{Threshold: -1})
		Expect(err).To(MatchError(ContainSubstring("threshold")))
	})

	It("moves VMs the balancer rests", func() {
		snap := hot(9)
		in := input(snap)
		in.Now = time.Hour
		in.LastMoved = map[string]time.Duration{}
		for _, v := range snap.VMs {
			in.LastMoved[v.Name] = in.Now - time.Minute
		}
		Expect(must(must(balance.New(balance.Args{})).Plan(in)).Moves).To(BeEmpty())
		p := must(must(balance.NewGreedyCV(balance.Args{})).Plan(in))
		Expect(p.Moves).NotTo(BeEmpty())
		Expect(p.Policy).To(Equal("greedy-cv"))
	})

	It("moves VMs whatever they cost, even ones that will not converge", func() {
		snap := hot(9)
		for i := range snap.VMs {
			if snap.VMs[i].Host == "h1" {
				snap.VMs[i].WSS, snap.VMs[i].DirtyRate = 8*GiB, 4*float64(GiB)
			}
		}
		in := input(snap)
		in.Migration.MaxIterations = 30 // so the plan's timing ends
		Expect(must(must(balance.New(balance.Args{})).Plan(in)).Moves).To(BeEmpty())
		p := must(must(balance.NewGreedyCV(balance.Args{})).Plan(in))
		Expect(p.Moves).NotTo(BeEmpty())
		Expect(p.Moves[0].Predicted.Outcome).To(Equal(cluster.OutcomeAborted))
		costly := must(balance.NewGreedyCV(balance.Args{CostPerGiB: new(100.0)}))
		Expect(must(costly.Plan(input(hot(9)))).Moves).NotTo(BeEmpty())
	})

	It("stops as soon as its metric is under the threshold", func() {
		snap := hot(9)
		p := must(must(balance.NewGreedyCV(balance.Args{Threshold: 0.2, MaxMoves: 50})).Plan(input(snap)))
		n := len(p.Moves)
		Expect(n).To(BeNumerically(">", 1))
		Expect(p.ImbalanceAfter).To(BeNumerically("<=", 0.2))
		Expect(memImbalance(apply(snap, p.Moves))).To(BeNumerically("~", p.ImbalanceAfter, 1e-12))
		Expect(memImbalance(apply(snap, p.Moves[:n-1]))).To(BeNumerically(">", 0.2))
	})

	It("balances memory alone by default, blind to CPU", func() {
		// h1 is CPU-hot only: memory is even, so CloudStack's default
		// metric sees nothing to do, while the balancer does.
		var hosts []cluster.Host
		var vms []cluster.VM
		for _, h := range []string{"h1", "h2", "h3"} {
			hosts = append(hosts, MakeHost(h).Obj())
			cpu := 0.5
			if h == "h1" {
				cpu = 7
			}
			for i := range 4 {
				vms = append(vms, MakeVM(h+"-"+string(rune('a'+i)), h).Memory(16*GiB).CPU(cpu).VCPUs(8).Obj())
			}
		}
		snap := Snapshot(hosts, vms)
		Expect(memImbalance(snap)).To(BeZero())
		Expect(must(must(balance.NewGreedyCV(balance.Args{})).Plan(input(snap))).Moves).To(BeEmpty())
		Expect(must(must(balance.New(balance.Args{})).Plan(input(snap))).Moves).NotTo(BeEmpty())
		cpu := must(balance.NewGreedyCV(balance.Args{Weights: struct{ CPU, Memory float64 }{1, 0}}))
		Expect(must(cpu.Plan(input(snap))).Moves).NotTo(BeEmpty())
	})

	It("takes the move with the largest drop first", func() {
		snap := hot(9)
		g := must(balance.NewGreedyCV(balance.Args{MaxMoves: 1}))
		p := must(g.Plan(input(snap)))
		Expect(p.Moves).To(HaveLen(1))
		got := memImbalance(apply(snap, p.Moves))
		// No single move of any VM to any other host does better.
		for _, v := range snap.VMs {
			for _, h := range snap.Hosts {
				if h.Name == v.Host {
					continue
				}
				x := memImbalance(apply(snap, []plan.Move{{VM: v.Name, Destination: h.Name}}))
				Expect(x).To(BeNumerically(">=", got-1e-12), "%s -> %s", v.Name, h.Name)
			}
		}
	})
})
