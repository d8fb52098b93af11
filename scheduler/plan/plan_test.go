package plan_test

import (
	"bytes"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/framework"
	"github.com/droverlab/drover/scheduler/plan"
)

// fullPlan sets every field of a plan, so a round trip that drops one fails.
func fullPlan() *plan.Plan {
	return &plan.Plan{
		Policy: "disaster", At: 90 * time.Second, Deadline: 10 * time.Minute,
		Limits: plan.Limits{MaxParallel: 5, MaxPerHostOut: 3, MaxPerHostIn: 2, Batch: true},
		Moves: []plan.Move{
			{ID: 1, VM: "web-1", Source: "h1", Destination: "h2", Transport: cluster.TransportTLS,
				Bandwidth: 1.25e9, DowntimeLimit: 300 * time.Millisecond, Priority: 7, Reason: "zone a fails",
				Predicted: plan.Prediction{Start: 0, End: 3 * time.Second, Downtime: 25 * time.Millisecond,
					Bytes: 3 << 30, Outcome: "completed", Low: 2700 * time.Millisecond, High: 3300 * time.Millisecond, Rate: 1.25e9}},
			{ID: 2, VM: "db-1", Source: "h2", Destination: "h1", Transport: cluster.TransportTCP, After: []int{1},
				Predicted: plan.Prediction{Start: 3 * time.Second, End: 11 * time.Minute, Downtime: time.Second,
					Bytes: 8 << 30, Outcome: "forced", Late: true}},
		},
		Unplaced:   []plan.Unplaced{{VM: "big", Host: "h1", Priority: 1, Reason: "no feasible host: 2 refused by capacity"}},
		Makespan:   11 * time.Minute,
		LowerBound: 5 * time.Minute,
		Bytes:      11 << 30, Downtime: 1025 * time.Millisecond,
		ImbalanceBefore: 0.31, ImbalanceAfter: 0.12,
		Rejections: []framework.Rejection{{VM: "big", Host: "h2", Plugin: "capacity", Code: "Unschedulable",
			Reason: []string{"insufficient memory: need 1, used 2, capacity 3"}}},
	}
}

var _ = Describe("Plan", func() {
	DescribeTable("Limits.Or: a limit that is set wins, the defaults fill the rest",
		func(l, d, want plan.Limits) {
			Expect(l.Or(d)).To(Equal(want))
		},
		Entry("all unset take the defaults", plan.Limits{},
			plan.Limits{MaxParallel: 4, MaxPerHostOut: 3, MaxPerHostIn: 2, Batch: true},
			plan.Limits{MaxParallel: 4, MaxPerHostOut: 3, MaxPerHostIn: 2, Batch: true}),
		Entry("all set keep theirs", plan.Limits{MaxParallel: 1, MaxPerHostOut: 1, MaxPerHostIn: 1},
			plan.Limits{MaxParallel: 4, MaxPerHostOut: 3, MaxPerHostIn: 2},
			plan.Limits{MaxParallel: 1, MaxPerHostOut: 1, MaxPerHostIn: 1}),
		Entry("field by field", plan.Limits{MaxPerHostOut: 6},
			plan.Limits{MaxParallel: 4, MaxPerHostOut: 3, MaxPerHostIn: 2},
			plan.Limits{MaxParallel: 4, MaxPerHostOut: 6, MaxPerHostIn: 2}),
		Entry("batch from either side", plan.Limits{Batch: true}, plan.Limits{},
			plan.Limits{Batch: true}),
		Entry("nothing from nothing", plan.Limits{}, plan.Limits{}, plan.Limits{}),
	)

	Describe("JSON", func() {
		It("round-trips every field", func() {
			var buf bytes.Buffer
			Expect(fullPlan().WriteJSON(&buf)).To(Succeed())
			got, err := plan.ReadJSON(&buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(fullPlan()))
		})

		It("writes the documented keys, indented", func() {
			var buf bytes.Buffer
			Expect(fullPlan().WriteJSON(&buf)).To(Succeed())
			for _, key := range []string{`"policy": "disaster"`, `"max_per_host_out": 3`, `"downtime_limit": 300000000`,
				`"after": [`, `"late": true`, `"lower_bound": 300000000000`, `"total_downtime": 1025000000`,
				`"imbalance_before": 0.31`, `"reasons": [`} {
				Expect(buf.String()).To(ContainSubstring(key))
			}
			Expect(buf.String()).To(HavePrefix("{\n  \"policy\""))
		})

		It("leaves optional fields out when empty", func() {
			var buf bytes.Buffer
			p := &plan.Plan{Policy: "balance", Moves: []plan.Move{{ID: 1, VM: "v", Source: "a", Destination: "b"}}}
			Expect(p.WriteJSON(&buf)).To(Succeed())
			for _, key := range []string{"deadline", "unplaced", "after", "bandwidth", "late", "rejections", "imbalance_before", "batch"} {
				Expect(buf.String()).NotTo(ContainSubstring(`"`+key+`"`), key)
			}
			got, err := plan.ReadJSON(&buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(p))
		})

		DescribeTable("refuses what WriteJSON never writes",
			func(doc, want string) {
				_, err := plan.ReadJSON(strings.NewReader(doc))
				Expect(err).To(MatchError(And(HavePrefix("plan: "), ContainSubstring(want))))
			},
			Entry("an unknown top-level field", `{"policy":"balance","moves":[],"bogus":1}`, `unknown field "bogus"`),
			Entry("an unknown field in a move", `{"moves":[{"id":1,"vm":"v","speed":3}]}`, `unknown field "speed"`),
			Entry("an unknown field in the limits", `{"limits":{"max_parallel":2,"parallel":4}}`, `unknown field "parallel"`),
			Entry("a wrong type", `{"moves":[{"id":"one"}]}`, `id`),
			Entry("a truncated document", `{"policy":"balance"`, `unexpected EOF`),
		)
	})

	Describe("WriteTable", func() {
		table := func(p *plan.Plan) string {
			var buf bytes.Buffer
			p.WriteTable(&buf)
			return buf.String()
		}

		It("prints one row per move and the totals", func() {
			out := table(fullPlan())
			lines := strings.Split(out, "\n")
			Expect(lines[0]).To(MatchRegexp(`^\s*id\s+vm\s+source\s+destination\s+transport\s+start\s+end\s+duration 80%\s+downtime\s+bytes\s+outcome\s+after\s*$`))
			Expect(lines[1]).To(MatchRegexp(`^\s*1\s+web-1\s+h1\s+h2\s+tls\s+0s\s+3s\s+2.7s\.\.3.3s\s+25ms\s+3072MiB\s+completed\s+$`))
			Expect(lines[2]).To(MatchRegexp(`^\s*2\s+db-1\s+h2\s+h1\s+tcp\s+3s\s+11m0s\s+-\s+1s\s+8192MiB\s+forced LATE\s+1\s*$`))
			Expect(out).To(ContainSubstring("\ndisaster: 2 moves, 11264MiB, makespan 11m0s (lower bound 5m0s, ratio 2.20), total downtime 1.025s\n"))
			Expect(out).To(ContainSubstring("\nimbalance 0.3100 -> 0.1200\n"))
			Expect(out).To(ContainSubstring("\n1 VMs not moved:\n  big on h1: no feasible host: 2 refused by capacity\n"))
		})

		DescribeTable("says whether the deadline is met, counting from the plan's start",
			func(at, deadline, makespan time.Duration, want string) {
				p := &plan.Plan{Policy: "disaster", At: at, Deadline: deadline, Makespan: makespan}
				Expect(table(p)).To(ContainSubstring("\n" + want + "\n"))
			},
			Entry("met", time.Minute, 3*time.Minute, 2*time.Minute, "deadline 2m0s: met"),
			Entry("missed", time.Minute, 3*time.Minute, 2*time.Minute+time.Millisecond, "deadline 2m0s: MISSED"),
			Entry("missed by a plan made late", 2*time.Minute, 3*time.Minute, 90*time.Second, "deadline 1m0s: MISSED"),
		)

		It("prints no deadline, imbalance or unplaced lines when there are none", func() {
			out := table(&plan.Plan{Policy: "evacuate"})
			Expect(out).To(ContainSubstring("evacuate: 0 moves, 0MiB, makespan 0s (lower bound 0s, ratio 0.00), total downtime 0s"))
			Expect(out).NotTo(ContainSubstring("deadline"))
			Expect(out).NotTo(ContainSubstring("imbalance"))
			Expect(out).NotTo(ContainSubstring("not moved"))
			Expect(out).NotTo(ContainSubstring("LATE"))
		})
	})

	It("finds moves by ID", func() {
		p := fullPlan()
		Expect(p.Move(2).VM).To(Equal("db-1"))
		Expect(p.Move(3)).To(BeNil())
		Expect(p.Move(0)).To(BeNil())
	})

	DescribeTable("Ratio is makespan over lower bound",
		func(makespan, lb time.Duration, want float64) {
			Expect((&plan.Plan{Makespan: makespan, LowerBound: lb}).Ratio()).To(BeNumerically("~", want, 1e-12))
		},
		Entry("1.5", 90*time.Second, time.Minute, 1.5),
		Entry("no bound", time.Minute, time.Duration(0), 0.0),
	)
})
