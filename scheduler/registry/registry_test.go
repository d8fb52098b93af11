package registry_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/balance"
	"github.com/droverlab/drover/scheduler/policy/consolidate"
	"github.com/droverlab/drover/scheduler/policy/disaster"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/scheduler/registry"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

// joined is the list of errors inside a joined error (one if not joined).
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func params(kv ...string) registry.Settings {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return registry.Settings{Params: m}
}

var _ = Describe("registry", func() {
	It("knows the documented policies", func() {
		Expect(registry.Names).To(Equal([]string{"balance", "greedy-cv", "consolidate", "evacuate", "planned", "fixed-batch",
			"disaster", "disaster-fixed-batch"}))
	})

	DescribeTable("builds every name it lists, and its aliases",
		func(name, wantName string, wantType any) {
			pol, err := registry.New(name, registry.Settings{})
			Expect(err).NotTo(HaveOccurred())
			Expect(pol).NotTo(BeNil())
			Expect(pol.Name()).To(Equal(wantName))
			Expect(pol).To(BeAssignableToTypeOf(wantType))
		},
		Entry("balance", "balance", "balance", &balance.Balance{}),
		Entry("greedy-cv", "greedy-cv", "greedy-cv", &balance.Balance{}),
		Entry("consolidate", "consolidate", "consolidate", &consolidate.Consolidate{}),
		Entry("evacuate", "evacuate", "evacuate", &evacuate.Evacuate{}),
		Entry("fixed-batch (evacuation baseline)", "fixed-batch", "fixed-batch", &evacuate.Evacuate{}),
		Entry("disaster", "disaster", "disaster", &disaster.Disaster{}),
		Entry("planned is evacuate", "planned", "evacuate", &evacuate.Evacuate{}),
		Entry("disaster-fixed-batch", "disaster-fixed-batch", "fixed-batch", &disaster.Disaster{}),
	)

	It("builds every name in Names", func() {
		for _, n := range registry.Names {
			pol, err := registry.New(n, registry.Settings{})
			Expect(err).NotTo(HaveOccurred(), n)
			Expect(pol).NotTo(BeNil(), n)
		}
	})

	DescribeTable("refuses an unknown name, listing the known ones",
		func(name string) {
			pol, err := registry.New(name, registry.Settings{})
			Expect(pol).To(BeNil())
			Expect(err).To(MatchError(fmt.Sprintf(
				"unknown policy %q (want one of balance, greedy-cv, consolidate, evacuate, planned, fixed-batch, disaster, disaster-fixed-batch, or %s)", name, registry.PowerAwareNames)))
		},
		Entry("empty", ""),
		Entry("typo", "balanse"),
		Entry("case matters", "Balance"),
	)

	DescribeTable("builds the paper's policies, any detector × selector pair",
		func(name, want string) {
			spec, ok := registry.Lookup(name)
			Expect(ok).To(BeTrue(), name)
			Expect(spec.Params).To(BeEmpty())
			pol, err := registry.New(name, registry.Settings{})
			Expect(err).NotTo(HaveOccurred())
			Expect(pol).To(BeAssignableToTypeOf(&poweraware.Shared{}))
			Expect(pol.Name()).To(Equal(want))
		},
		Entry("thr", "thr-mmt-0.8", "thr-mmt-0.8"),
		Entry("iqr", "iqr-mmt-1.5", "iqr-mmt-1.5"),
		Entry("mad", "mad-mmt-2.5", "mad-mmt-2.5"),
		Entry("lr", "lr-mmt-1.2", "lr-mmt-1.2"),
		Entry("lrr", "lrr-mmt-1.2", "lrr-mmt-1.2"),
		Entry("another pair", "mad-mc-2.5", "mad-mc-2.5"),
		Entry("random selection", "iqr-rs-1.5", "iqr-rs-1.5"),
		Entry("minimum utilisation", "lr-mu-1.2", "lr-mu-1.2"),
		Entry("underscores, as CloudSim writes them", "lr_mmt_1.2", "lr-mmt-1.2"),
	)

	DescribeTable("says what is wrong with a name meant as one of the paper's",
		func(name, says string) {
			_, ok := registry.Lookup(name)
			Expect(ok).To(BeFalse())
			pol, err := registry.New(name, registry.Settings{})
			Expect(pol).To(BeNil())
			Expect(err).To(MatchError(ContainSubstring(says)))
		},
		Entry("a bad selector", "iqr-max-1.5", `unknown VM selector "max"`),
		Entry("a bad threshold", "thr-mmt-1.5", "threshold 1.5 must be in (0, 1]"),
		Entry("a bad detector", "thx-mmt-0.8", `policy "thx-mmt-0.8"`),
		Entry("not a number", "thr-mmt-high", `parameter "high" is not a number`),
	)

	It("refuses parameters for the paper's policies, which have none", func() {
		_, err := registry.New("thr-mmt-0.8", params("threshold", "0.9"))
		Expect(err).To(MatchError(ContainSubstring("not a parameter of thr-mmt-0.8 (it has none)")))
	})

	It("passes the common settings and the balancer's parameters through", func() {
		s := params("cpu_weight", "2", "memory_weight", "3", "cost_per_gib", "0.1", "min_gain", "0.02",
			"cooldown", "10m", "sources", "3", "dests", "5")
		s.Threshold, s.Hysteresis, s.MaxMoves = 0.3, 0.5, 4
		pol, err := registry.New("balance", s)
		Expect(err).NotTo(HaveOccurred())
		a := pol.(*balance.Balance).Args()
		Expect(a.Threshold).To(Equal(0.3))
		Expect(a.Hysteresis).To(Equal(0.5))
		Expect(a.MaxMoves).To(Equal(4))
		Expect(a.Weights.CPU).To(Equal(2.0))
		Expect(a.Weights.Memory).To(Equal(3.0))
		Expect(*a.CostPerGiB).To(Equal(0.1))
		Expect(*a.MinGain).To(Equal(0.02))
		Expect(*a.Cooldown).To(Equal(10 * time.Minute))
		Expect(a.Sources).To(Equal(3))
		Expect(a.Dests).To(Equal(5))
	})

	It("fills the balancer's defaults for what is not given", func() {
		pol, err := registry.New("balance", registry.Settings{})
		Expect(err).NotTo(HaveOccurred())
		want, _ := balance.New(balance.Args{})
		Expect(pol.(*balance.Balance).Args()).To(Equal(want.Args()))
	})

	DescribeTable("greedy-cv balances one metric, memory unless told",
		func(metric string, cpu, mem float64) {
			s := params()
			if metric != "" {
				s = params("metric", metric)
			}
			s.Threshold, s.Hysteresis = 0.3, 0.5
			pol, err := registry.New("greedy-cv", s)
			Expect(err).NotTo(HaveOccurred())
			a := pol.(*balance.Balance).Args()
			Expect(a.Weights.CPU).To(Equal(cpu))
			Expect(a.Weights.Memory).To(Equal(mem))
			Expect(a.Threshold).To(Equal(0.3))
			Expect(a.Hysteresis).To(Equal(1.0), "the baseline has no hysteresis")
		},
		Entry("default", "", 0.0, 1.0),
		Entry("memory", "memory", 0.0, 1.0),
		Entry("cpu+memory: balance's measure", "cpu+memory", 1.0, 1.0),
		Entry("cpu", "cpu", 1.0, 0.0),
	)

	It("keeps a zero that was asked for", func() {
		pol, err := registry.New("balance", params("cooldown", "0", "cost_per_gib", "0"))
		Expect(err).NotTo(HaveOccurred())
		a := pol.(*balance.Balance).Args()
		Expect(*a.Cooldown).To(BeZero())
		Expect(*a.CostPerGiB).To(BeZero())
		ev, err := registry.New("evacuate", params("spread_weight", "0"))
		Expect(err).NotTo(HaveOccurred())
		Expect(*ev.(*evacuate.Evacuate).Args().SpreadWeight).To(BeZero())
	})

	DescribeTable("reports every malformed parameter at once, naming the policy and the key",
		func(name string, s registry.Settings, want ...string) {
			_, err := registry.New(name, s)
			Expect(err).To(HaveOccurred())
			errs := joined(err)
			Expect(errs).To(HaveLen(len(want)), err.Error())
			for i, w := range want {
				Expect(errs[i].Error()).To(ContainSubstring(w))
			}
		},
		Entry("balance: three bad parameters", "balance", params("cpu_weight", "x", "cooldown", "soon", "sources", "two"),
			`policy balance: param cooldown: want a duration, got "soon"`, `policy balance: param cpu_weight: want a number, got "x"`,
			`policy balance: param sources: want an integer, got "two"`),
		Entry("balance: a bad threshold", "balance", registry.Settings{Threshold: -1},
			"balance: threshold must be positive, got -1"),
		Entry("balance: another policy's parameters", "balance", params("margin", "0.2", "spread_weight", "3"),
			`policy balance: param margin: not a parameter of balance (known: cooldown, cost_per_gib, cpu_weight, dests, memory_weight, min_gain, sources)`,
			`policy balance: param spread_weight: not a parameter of balance`),
		Entry("greedy-cv: balance's knobs it would ignore", "greedy-cv", params("cooldown", "5m"),
			`policy greedy-cv: param cooldown: not a parameter of greedy-cv (known: dests, metric, sources)`),
		Entry("fixed-batch has none", "fixed-batch", params("spread_weight", "3"),
			`policy fixed-batch: param spread_weight: not a parameter of fixed-batch (it has none)`),
		Entry("greedy-cv: an unknown metric", "greedy-cv", params("metric", "disk", "dests", "1.5"),
			`policy greedy-cv: param dests: want an integer, got "1.5"`, `policy greedy-cv: param metric: want memory or cpu or cpu+memory, got "disk"`),
		Entry("consolidate: parse errors", "consolidate",
			params("target_cpu", "high", "max_hosts", "1.5", "target_memory", "2"),
			`policy consolidate: param max_hosts: want an integer, got "1.5"`, `policy consolidate: param target_cpu: want a number, got "high"`),
		Entry("consolidate: a range error", "consolidate", params("target_memory", "2"),
			"target memory must be in (0, 1], got 2"),
		Entry("evacuate: a negative spread weight", "evacuate", params("spread_weight", "-1"),
			"spread weight must not be negative, got -1"),
		Entry("disaster: a margin that is not a number", "disaster", params("margin", "ten%"),
			`policy disaster: param margin: want a number, got "ten%"`),
		Entry("disaster: a margin out of range", "disaster", params("margin", "1"),
			"margin must be in [0, 1), got 1"),
	)

	It("passes a parameter that changes what a policy does", func() {
		// Zone a (a1) holds four VMs; a deadline of 6 s saves some of
		// them, and a 50% margin fewer.
		snap := Snapshot([]cluster.Host{
			MakeHost("a1").Zone("a").Obj(), MakeHost("b1").Zone("b").Obj(),
			MakeHost("b2").Zone("b").Obj(),
		}, []cluster.VM{
			MakeVM("v1", "a1").Obj(), MakeVM("v2", "a1").Obj(),
			MakeVM("v3", "a1").Obj(), MakeVM("v4", "a1").Obj(),
		})
		in := &policy.Input{Snap: snap, Zone: "a", Deadline: 6 * time.Second, Settings: policy.Settings{
			TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{}.WithDefaults()}}
		saved := func(margin string) int {
			pol, err := registry.New("disaster", params("margin", margin))
			Expect(err).NotTo(HaveOccurred())
			p, err := pol.Plan(in)
			Expect(err).NotTo(HaveOccurred())
			return len(p.Moves)
		}
		Expect(saved("0.5")).To(BeNumerically("<", saved("0.01")))
	})

	It("refuses a parameter the policy does not have, naming both", func() {
		_, err := registry.New("balance", params("coldown", "5m"))
		Expect(err).To(MatchError(`policy balance: param coldown: not a parameter of balance (known: cooldown, cost_per_gib, cpu_weight, dests, memory_weight, min_gain, sources)`))
	})

	// Was a bug (fixed): when the policy's own New refuses its arguments, registry.New
	// returns the typed nil pointer it got (*balance.Balance(nil), ...)
	// inside a non-nil policy.Policy, so `pol != nil` holds and pol.Name()
	// panics. Fix (scheduler/registry/registry.go, end of New): return nil,
	// errors.Join(...) when the joined error is not nil.
	It("returns no policy with an error", func() {
		for name, s := range map[string]registry.Settings{"balance": params("cpu_weight", "-1"),
			"consolidate": params("target_cpu", "7"), "disaster": params("margin", "2")} {
			pol, err := registry.New(name, s)
			Expect(err).To(HaveOccurred(), name)
			Expect(pol == nil).To(BeTrue(), "%s: got %#v", name, pol)
		}
	})
})
