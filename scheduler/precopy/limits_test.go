package precopy_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/precopy"
)

var _ = Describe("A guest that dirties faster than its link", func() {
	rtt := 2 * time.Millisecond
	cost := precopy.DefaultSwitchoverCost
	// pending after any round: the whole working set with page headers.
	pending := float64(hot.WSS) * (1 + 8.0/4096)

	It("never converges and, with no limit configured, Predict says so", func() {
		r := precopy.Predict(hot, precopy.Config{}, hotBW)
		Expect(r.Converged).To(BeFalse())
		Expect(r.Outcome).To(Equal(precopy.Aborted))
		Expect(r.Reason).To(Equal(precopy.ReasonNoConvergence))
		Expect(r.Downtime).To(BeZero())
	})

	DescribeTable("hits max-iterations and then does what OnLimit says",
		func(on precopy.OnLimit, check func(r precopy.Result, end time.Duration)) {
			c := precopy.Config{MaxIterations: 5, Latency: time.Millisecond, OnLimit: on}
			r := precopy.Predict(hot, c, hotBW)
			Expect(r.Converged).To(BeFalse())
			Expect(r.Reason).To(Equal(precopy.ReasonMaxIterations))
			Expect(r.Iterations).To(Equal(5))
			Expect(r.Rounds[4].Dirtied).To(Equal(hot.WSS))
			check(r, roundEnd(r.Rounds[4]))
		},
		Entry("abort: no downtime, guest stays", precopy.Abort, func(r precopy.Result, end time.Duration) {
			Expect(r.Outcome).To(Equal(precopy.Aborted))
			Expect(r.Downtime).To(BeZero())
			Expect(r.TotalTime).To(Equal(end))
		}),
		Entry("force: the whole working set while paused", precopy.Force, func(r precopy.Result, end time.Duration) {
			Expect(r.Outcome).To(Equal(precopy.Forced))
			Expect(r.Downtime).To(Equal(xfer(pending, hotBW) + cost + rtt))
			Expect(r.Downtime).To(BeNumerically(">", 20*time.Second))
			Expect(r.Downtime).To(BeNumerically(">", precopy.DefaultDowntimeLimit))
			Expect(r.TotalTime).To(Equal(end + r.Downtime))
		}),
		Entry("postcopy: short pause, then the pages follow", precopy.Postcopy, func(r precopy.Result, end time.Duration) {
			Expect(r.Outcome).To(Equal(precopy.PostCopy))
			Expect(r.Downtime).To(Equal(cost + rtt))
			Expect(r.TotalTime).To(Equal(end + cost + rtt + xfer(pending, hotBW)))
			Expect(r.TotalTime - end).To(BeNumerically(">", 20*time.Second))
		}),
	)

	It("sends the pending bytes once more when forced or switched to post-copy", func() {
		for _, on := range []precopy.OnLimit{precopy.Force, precopy.Postcopy} {
			r := precopy.Predict(hot, precopy.Config{MaxIterations: 3, OnLimit: on}, hotBW)
			var sum int64
			for _, rd := range r.Rounds {
				sum += rd.Bytes
			}
			Expect(r.TransferredBytes).To(BeNumerically("~", sum+int64(pending), 2), string(on))
		}
	})
})

var _ = Describe("Max iterations", func() {
	DescribeTable("counts pre-copy rounds and only fires without convergence",
		func(limit int, want precopy.Outcome, rounds int) {
			r := precopy.Predict(small, precopy.Config{MaxIterations: limit}, smallBW)
			Expect(r.Outcome).To(Equal(want))
			Expect(r.Iterations).To(Equal(rounds))
			if want == precopy.Aborted {
				Expect(r.Reason).To(Equal(precopy.ReasonMaxIterations))
				Expect(r.TotalTime).To(Equal(roundEnd(r.Rounds[rounds-1])))
			}
		},
		Entry("1", 1, precopy.Aborted, 1),
		Entry("4", 4, precopy.Aborted, 4),
		Entry("5: converges in the last allowed round", 5, precopy.Completed, 5),
		Entry("6", 6, precopy.Completed, 5),
		Entry("0: none", 0, precopy.Completed, 5),
	)
})

var _ = Describe("Completion timeout", func() {
	DescribeTable("fires at exactly per-GiB times memory in GiB",
		func(memory int64, perGiB time.Duration, want time.Duration) {
			w := precopy.Workload{Memory: memory, Resident: memory, WSS: memory / 2, DirtyRate: 200 * MiB}
			c := precopy.Config{CompletionTimeoutPerGiB: perGiB, Latency: time.Millisecond}
			r := precopy.Predict(w, c, hotBW)
			Expect(r.Outcome).To(Equal(precopy.Aborted))
			Expect(r.Reason).To(Equal(precopy.ReasonCompletionTimeout))
			Expect(r.TotalTime).To(Equal(want))

			c.OnLimit = precopy.Force
			f := precopy.Predict(w, c, hotBW)
			Expect(f.Outcome).To(Equal(precopy.Forced))
			Expect(f.TotalTime - f.Downtime).To(Equal(want))
		},
		Entry("4 GiB at 10s/GiB", int64(4*GiB), 10*time.Second, 40*time.Second),
		Entry("1.5 GiB at 3s/GiB", int64(3*GiB/2), 3*time.Second, 4500*time.Millisecond),
		Entry("256 MiB at 7s/GiB", int64(256*MiB), 7*time.Second, 1750*time.Millisecond),
		Entry("3 GiB at 1ms/GiB: inside setup", int64(3*GiB), time.Millisecond, 3*time.Millisecond),
		Entry("1 GiB at 123.456789ms/GiB", int64(GiB), 123456789*time.Nanosecond, 123456789*time.Nanosecond),
	)

	It("cuts a round short and forces out what it had left plus what was dirtied", func() {
		c := precopy.Config{CompletionTimeoutPerGiB: 5 * time.Second, OnLimit: precopy.Force}
		r := precopy.Predict(hot, c, hotBW) // 20s, inside round 1 (about 41s)
		Expect(r.Rounds).To(HaveLen(1))
		rd := r.Rounds[0]
		Expect(rd.Partial).To(BeTrue())
		Expect(rd.Duration).To(Equal(20 * time.Second))
		Expect(rd.Bytes).To(BeNumerically("~", 20*hotBW, 1))
		Expect(rd.Dirtied).To(Equal(hot.WSS)) // 200MiB/s * 20s > 2GiB
		left := firstRound(hot, 4096) - 20*hotBW
		q := left + float64(hot.WSS)*(1+8.0/4096)
		Expect(r.Downtime).To(Equal(xfer(q, hotBW) + precopy.DefaultSwitchoverCost))
	})

	It("fires inside setup and forces everything", func() {
		c := precopy.Config{SetupTime: 10 * time.Second, CompletionTimeoutPerGiB: time.Second, OnLimit: precopy.Force}
		r := precopy.Predict(hot, c, hotBW)
		Expect(r.Rounds).To(BeEmpty())
		Expect(r.Outcome).To(Equal(precopy.Forced))
		Expect(r.TotalTime - r.Downtime).To(Equal(4 * time.Second))
		Expect(r.Downtime).To(Equal(xfer(firstRound(hot, 4096), hotBW) + precopy.DefaultSwitchoverCost))
	})

	It("does not touch a migration that finishes in time", func() {
		plain := precopy.Predict(small, precopy.Config{}, smallBW)
		timed := precopy.Predict(small, precopy.Config{CompletionTimeoutPerGiB: 60 * time.Second}, smallBW)
		Expect(timed).To(Equal(plain))
	})
})

var _ = Describe("Progress timeout", func() {
	It("fires when the pending bytes stop reaching a new minimum", func() {
		c := precopy.Config{ProgressTimeout: 50 * time.Second}
		r := precopy.Predict(hot, c, hotBW)
		Expect(r.Outcome).To(Equal(precopy.Aborted))
		Expect(r.Reason).To(Equal(precopy.ReasonProgressTimeout))
		// Round 1 (41s) is progress; rounds 2 and 3 (20.5s each) leave the
		// same working set, so the timeout fires inside round 4.
		Expect(r.TotalTime).To(Equal(roundEnd(r.Rounds[0]) + 50*time.Second))
		Expect(r.Rounds).To(HaveLen(4))
		Expect(r.Rounds[3].Partial).To(BeTrue())
	})

	It("counts from the start until round 1 ends", func() {
		r := precopy.Predict(small, precopy.Config{ProgressTimeout: time.Second}, smallBW)
		Expect(r.Reason).To(Equal(precopy.ReasonProgressTimeout))
		Expect(r.TotalTime).To(Equal(time.Second))
	})

	It("leaves a migration that keeps shrinking alone", func() {
		r := precopy.Predict(small, precopy.Config{ProgressTimeout: 10 * time.Second}, smallBW)
		Expect(r.Outcome).To(Equal(precopy.Completed))
	})

	It("ends a migration that creeps towards a fixed point above the threshold", func() {
		// Each sync takes 2s of RTT, so the dirty set tends to
		// 50MiB/s*2s/(1-0.5) = 200MiB, well above 30MiB of threshold.
		w := precopy.Workload{Memory: 4 * GiB, Resident: 4 * GiB, WSS: GiB, DirtyRate: 50 * MiB}
		c := precopy.Config{Latency: time.Second}
		r := precopy.Predict(w, c, hotBW)
		Expect(r.Reason).To(Equal(precopy.ReasonNoConvergence))
		Expect(r.Iterations).To(BeNumerically("<", 10))

		c.ProgressTimeout = time.Minute
		r = precopy.Predict(w, c, hotBW)
		Expect(r.Reason).To(Equal(precopy.ReasonProgressTimeout))
		Expect(r.Iterations).To(BeNumerically("<", 100))
	})
})

var _ = Describe("Auto-converge", func() {
	c := precopy.Config{MaxIterations: 30}

	It("brings a guest to switch-over that would not converge without it", func() {
		without := precopy.Predict(hot, c, hotBW)
		Expect(without.Outcome).To(Equal(precopy.Aborted))
		Expect(without.Reason).To(Equal(precopy.ReasonMaxIterations))
		Expect(without.Throttle).To(BeZero())

		ac := c
		ac.AutoConverge = true
		with := precopy.Predict(hot, ac, hotBW)
		Expect(with.Outcome).To(Equal(precopy.Completed))
		Expect(with.Converged).To(BeTrue())
		Expect(with.Downtime).To(BeNumerically("<=", precopy.DefaultDowntimeLimit+precopy.DefaultSwitchoverCost))
	})

	It("throttles 20%, then 10 points more each time dirtying outpaces half the sent bytes", func() {
		ac := c
		ac.AutoConverge = true
		r := precopy.Predict(hot, ac, hotBW)
		var got []float64
		for i, rd := range r.Rounds {
			got = append(got, rd.Throttle)
			if i > 0 {
				prev := r.Rounds[i-1]
				Expect(rd.Throttle > prev.Throttle).To(Equal(2*prev.Dirtied > prev.Bytes), "round %d", rd.Index)
			}
		}
		// Round 1 dirties exactly the working set, a hair under half of it.
		Expect(got[:9]).To(Equal([]float64{0, 0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}))
		Expect(r.Throttle).To(Equal(0.8))
	})

	It("caps the throttle at 99%", func() {
		w := hot
		w.DirtyRate = 2000 * MiB
		r := precopy.Predict(w, precopy.Config{AutoConverge: true}, hotBW)
		Expect(r.Outcome).To(Equal(precopy.Completed))
		var got []float64
		for _, rd := range r.Rounds {
			got = append(got, rd.Throttle)
		}
		Expect(got).To(ContainElements(0.8, 0.9, 0.99))
		Expect(r.Throttle).To(Equal(0.99))
	})
})

var _ = Describe("Intervene", func() {
	w := precopy.Workload{Memory: 1 << 30, Resident: 1 << 30, WSS: 1 << 30, DirtyRate: 1 << 30}
	const bw = 100 << 20
	It("forces switch-over now with everything pending as downtime", func() {
		s := precopy.NewStepper(w, precopy.Config{}.WithDefaults())
		s.Advance(5*time.Second, bw)
		s.Intervene(precopy.Force, "completion-timeout", bw)
		for !s.Done() {
			s.Advance(s.Next(bw), bw)
		}
		r := s.Result()
		Expect(r.Outcome).To(Equal(precopy.Forced))
		Expect(r.Reason).To(Equal("completion-timeout"))
		Expect(r.Downtime).To(BeNumerically(">", 5*time.Second))
	})
	It("switches to post-copy with a short pause", func() {
		s := precopy.NewStepper(w, precopy.Config{}.WithDefaults())
		s.Advance(5*time.Second, bw)
		s.Intervene(precopy.Postcopy, "progress-timeout", bw)
		for !s.Done() {
			s.Advance(s.Next(bw), bw)
		}
		r := s.Result()
		Expect(r.Outcome).To(Equal(precopy.PostCopy))
		Expect(r.Downtime).To(BeNumerically("<", 100*time.Millisecond))
	})
	It("aborts, leaving no downtime", func() {
		s := precopy.NewStepper(w, precopy.Config{}.WithDefaults())
		s.Advance(time.Second, bw)
		s.Intervene(precopy.Abort, "operator", bw)
		Expect(s.Done()).To(BeTrue())
		Expect(s.Result().Downtime).To(BeZero())
	})
})
