package precopy_test

import (
	"encoding/json"
	"errors"
	"math"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

var _ = Describe("Predict", func() {

	DescribeTable("zero pages cost almost nothing",
		func(resident int64, atMost float64) {
			w := precopy.Workload{Memory: 4 * GiB, Resident: resident}
			r := precopy.Predict(w, precopy.Config{}, 1.25e9)
			Expect(r.TransferredBytes).To(BeNumerically(">=", resident))
			Expect(float64(r.TransferredBytes)).To(BeNumerically("<=", atMost*4*GiB))
		},
		Entry("all zero: 9-byte markers only", int64(0), 0.003),
		Entry("10% resident sends about 10%", int64(4*GiB/10), 0.103),
		Entry("half resident", int64(2*GiB), 0.503),
		Entry("all resident: headers only on top", int64(4*GiB), 1.002),
	)

	It("takes longer the faster the guest dirties", func() {
		w := precopy.Workload{Memory: 8 * GiB, Resident: 6 * GiB, WSS: 2 * GiB}
		c := precopy.Config{Latency: 500 * time.Microsecond}
		bw := 1.25e9
		var prev precopy.Result
		for i := 0; i <= 90; i++ {
			w.DirtyRate = float64(i) / 100 * bw
			r := precopy.Predict(w, c, bw)
			Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted), "rate %v", w.DirtyRate)
			if i > 0 {
				Expect(r.TotalTime).To(BeNumerically(">=", prev.TotalTime), "rate %v", w.DirtyRate)
			}
			prev = r
		}
		Expect(prev.Iterations).To(BeNumerically(">", 5))
	})

	It("never lets the dirty set outgrow the working set", func() {
		r := precopy.Predict(hot, precopy.Config{MaxIterations: 4}, hotBW)
		for _, rd := range r.Rounds {
			Expect(rd.Dirtied).To(BeNumerically("<=", hot.WSS))
		}
		Expect(r.Rounds[3].Dirtied).To(Equal(hot.WSS))
	})

	It("applies the bandwidth cap", func() {
		capped := precopy.Predict(small, precopy.Config{BandwidthCap: smallBW}, 10*smallBW)
		Expect(capped).To(Equal(precopy.Predict(small, precopy.Config{}, smallBW)))
	})

	Describe("at bandwidth 0", func() {
		It("gives up with no-bandwidth when no limit could ever fire", func() {
			r := precopy.Predict(small, precopy.Config{MaxIterations: 3, SetupTime: time.Second}, 0)
			Expect(r.Outcome).To(Equal(cluster.OutcomeAborted))
			Expect(r.Reason).To(Equal(precopy.ReasonNoBandwidth))
			Expect(r.Converged).To(BeFalse())
			Expect(r.Downtime).To(BeZero())
			Expect(r.TotalTime).To(Equal(time.Second))
			Expect(r.TransferredBytes).To(BeZero())
		})

		DescribeTable("lets a time limit decide",
			func(on cluster.OnLimit, reason string) {
				c := precopy.Config{CompletionTimeoutPerGiB: 8 * time.Second, OnLimit: on}
				r := precopy.Predict(small, c, 0)
				Expect(r.Outcome).To(Equal(cluster.OutcomeAborted))
				Expect(r.Reason).To(Equal(reason))
				Expect(r.TotalTime).To(Equal(2 * time.Second)) // 8s/GiB * 0.25GiB
				Expect(r.Downtime).To(BeZero())
			},
			Entry("abort", cluster.LimitAbort, "completion-timeout"),
			Entry("force cannot copy: stalled", cluster.LimitForce, "completion-timeout,stalled"),
			Entry("postcopy cannot pull: stalled", cluster.LimitPostcopy, "completion-timeout,stalled"),
		)
	})

	It("is deterministic", func() {
		c := precopy.Config{AutoConverge: true, MaxIterations: 40, Latency: 3 * time.Millisecond}
		a, _ := json.Marshal(precopy.Predict(hot, c, hotBW))
		for range 5 {
			b, _ := json.Marshal(precopy.Predict(hot, c, hotBW))
			Expect(b).To(Equal(a))
		}
	})
})

var _ = Describe("Result JSON", func() {
	It("writes the agreed keys in milliseconds and reads them back", func() {
		r := precopy.Predict(hot, precopy.Config{MaxIterations: 3, OnLimit: cluster.LimitForce}, hotBW)
		b, err := json.Marshal(r)
		Expect(err).NotTo(HaveOccurred())
		var m map[string]any
		Expect(json.Unmarshal(b, &m)).To(Succeed())
		Expect(m).To(HaveKey("total_time_ms"))
		Expect(m).To(HaveKeyWithValue("downtime_ms", float64(r.Downtime)/1e6))
		Expect(m).To(HaveKeyWithValue("iterations", float64(r.Iterations)))
		Expect(m).To(HaveKey("transferred_bytes"))
		Expect(m).To(HaveKeyWithValue("converged", false))
		Expect(m).To(HaveKeyWithValue("outcome", "forced"))
		Expect(m).To(HaveKeyWithValue("reason", "max-iterations"))
		Expect(m).To(HaveKeyWithValue("throttle", 0.0))
		rounds := m["rounds"].([]any)
		Expect(rounds).To(HaveLen(3)) // the limit fires at round 3's sync
		Expect(rounds[1]).To(HaveKeyWithValue("index", 2.0))
		for _, k := range []string{"start_ms", "duration_ms", "bytes", "dirtied", "throttle"} {
			Expect(rounds[1]).To(HaveKey(k))
		}

		var back precopy.Result
		Expect(json.Unmarshal(b, &back)).To(Succeed())
		Expect(back).To(Equal(r))
	})

	It("omits an empty reason and never writes rounds as null", func() {
		b, _ := json.Marshal(precopy.Result{Outcome: cluster.OutcomeCompleted})
		Expect(string(b)).NotTo(ContainSubstring("reason"))
		Expect(string(b)).To(ContainSubstring(`"rounds":[]`))
	})
})

var _ = Describe("Validate", func() {
	It("reports every problem of a workload at once", func() {
		err := precopy.Workload{Memory: -1, Resident: -2, WSS: -3, DirtyRate: -4}.Validate()
		Expect(errors.Is(err, precopy.ErrInvalid)).To(BeTrue())
		Expect(err.(interface{ Unwrap() []error }).Unwrap()).To(HaveLen(4))
		for _, s := range []string{"memory -1 is negative", "resident -2 is negative", "wss -3 is negative",
			"dirty rate -4 is negative"} {
			Expect(err.Error()).To(ContainSubstring(s))
		}

		err = precopy.Workload{Memory: -1, Resident: 5, WSS: 7, DirtyRate: math.NaN()}.Validate()
		Expect(err.(interface{ Unwrap() []error }).Unwrap()).To(HaveLen(4))
		for _, s := range []string{"memory -1 is negative", "resident 5 exceeds memory -1", "wss 7 exceeds memory -1",
			"dirty rate NaN is not finite"} {
			Expect(err.Error()).To(ContainSubstring(s))
		}
	})

	It("reports sizes above memory together", func() {
		err := precopy.Workload{Memory: GiB, Resident: 2 * GiB, WSS: 3 * GiB, DirtyRate: 1}.Validate()
		Expect(err.(interface{ Unwrap() []error }).Unwrap()).To(HaveLen(2))
		Expect(err.Error()).To(ContainSubstring("resident 2147483648 exceeds memory 1073741824"))
		Expect(err.Error()).To(ContainSubstring("wss 3221225472 exceeds memory 1073741824"))
	})

	It("accepts a sane workload and a zero config", func() {
		Expect(small.Validate()).To(Succeed())
		Expect(precopy.Config{}.Validate()).To(Succeed())
	})

	It("reports every problem of a config at once", func() {
		err := precopy.Config{Latency: -1, ProgressTimeout: -1, MaxIterations: -1, OnLimit: "retry"}.Validate()
		Expect(errors.Is(err, precopy.ErrInvalid)).To(BeTrue())
		Expect(err.(interface{ Unwrap() []error }).Unwrap()).To(HaveLen(4))
	})

	It("fills QEMU's defaults", func() {
		c := precopy.Config{}.WithDefaults()
		Expect(c.DowntimeLimit).To(Equal(300 * time.Millisecond))
		p := precopy.DefaultProfile()
		Expect(c.Profile).To(Equal(p))
		Expect(c.SwitchoverCost).To(Equal(time.Duration(math.Round(p.SwitchoverMS * float64(time.Millisecond)))))
		Expect(c.PageSize).To(Equal(int64(4096)))
		Expect(c.OnLimit).To(Equal(cluster.LimitAbort))
		Expect(c.SetupTime).To(Equal(time.Duration(math.Round(p.SetupMS * float64(time.Millisecond)))))
		kept := precopy.Config{DowntimeLimit: time.Second, PageSize: 2 * MiB, OnLimit: cluster.LimitForce}.WithDefaults()
		Expect(kept.DowntimeLimit).To(Equal(time.Second))
		Expect(kept.PageSize).To(Equal(int64(2 * MiB)))
		Expect(kept.OnLimit).To(Equal(cluster.LimitForce))
	})

	It("clamps an invalid workload rather than failing", func() {
		r := precopy.Predict(precopy.Workload{Memory: GiB, Resident: 2 * GiB, WSS: -5, DirtyRate: -1}, precopy.Config{}, 1e9)
		Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(r.TransferredBytes).To(BeNumerically("~", GiB*(1+8.0/4096), 1))
	})
})
