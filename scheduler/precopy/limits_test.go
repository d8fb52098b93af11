package precopy_test

import (
	"math"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

var _ = Describe("A guest that dirties faster than its link", func() {
	rtt := 2 * time.Millisecond
	cost := time.Duration(math.Round(precopy.DefaultProfile().SwitchoverMS * float64(time.Millisecond)))
	// pending after any round: the whole working set with page headers.
	pending := float64(hot.WSS) * (1 + 8.0/4096)

	It("never converges and, with no limit configured, Predict says so", func() {
		r := precopy.Predict(hot, precopy.Config{}, hotBW)
		Expect(r.Converged).To(BeFalse())
		Expect(r.Outcome).To(Equal(cluster.OutcomeAborted))
		Expect(r.Reason).To(Equal(precopy.ReasonNoConvergence))
		Expect(r.Downtime).To(BeZero())
	})

	DescribeTable("hits max-iterations and then does what OnLimit says",
		func(on cluster.OnLimit, check func(r precopy.Result, end time.Duration, q float64)) {
			c := precopy.Config{MaxIterations: 5, Latency: time.Millisecond, OnLimit: on}
			r := precopy.Predict(hot, c, hotBW)
			Expect(r.Converged).To(BeFalse())
			Expect(r.Reason).To(Equal(precopy.ReasonMaxIterations))
			Expect(r.Rounds).To(HaveLen(5))
			// The setup sync and one per round; force and post-copy sync once more.
			want := 6
			if on != cluster.LimitAbort {
				want = 7
			}
			Expect(r.Iterations).To(Equal(want))
			var sent int64
			for _, rd := range r.Rounds {
				sent += rd.Bytes
			}
			q := float64(r.TransferredBytes - sent) // what the limit left to copy
			check(r, roundEnd(r.Rounds[4]), q)
		},
		Entry("abort: no downtime, guest stays", cluster.LimitAbort, func(r precopy.Result, end time.Duration, q float64) {
			Expect(r.Outcome).To(Equal(cluster.OutcomeAborted))
			Expect(r.Downtime).To(BeZero())
			Expect(r.TotalTime).To(Equal(end))
		}),
		Entry("force: what is pending, paused, at the unthrottled rate", cluster.LimitForce, func(r precopy.Result, end time.Duration, q float64) {
			Expect(r.Outcome).To(Equal(cluster.OutcomeForced))
			Expect(q).To(BeNumerically(">", hotBW*precopy.DefaultDowntimeLimit.Seconds()))
			// At most the unsent set plus what was dirtied since the last
			// sync (the default profile's overlap is under 1).
			Expect(q).To(BeNumerically("<=", 2*pending+1))
			Expect(r.Downtime).To(BeNumerically("~", xfer(q, precopy.DefaultProfile().FinalRate)+cost+rtt, 10))
			Expect(r.Downtime).To(BeNumerically(">", precopy.DefaultDowntimeLimit))
			Expect(r.TotalTime).To(BeNumerically("~", end+r.Downtime+finish, 2))
		}),
		Entry("postcopy: short pause, then the pages follow", cluster.LimitPostcopy, func(r precopy.Result, end time.Duration, q float64) {
			Expect(r.Outcome).To(Equal(cluster.OutcomePostCopy))
			Expect(r.Downtime).To(BeNumerically("~", cost+rtt, 2))
			Expect(r.TotalTime).To(BeNumerically("~", end+cost+rtt+xfer(q, precopy.DefaultProfile().FinalRate)+finish, 10))
		}),
	)
})

var _ = Describe("Max iterations", func() {
	It("counts pre-copy rounds and only fires without convergence", func() {
		free := precopy.Predict(small, precopy.Config{}, smallBW)
		Expect(free.Outcome).To(Equal(cluster.OutcomeCompleted))
		n := len(free.Rounds)
		Expect(n).To(BeNumerically(">=", 3))
		for _, limit := range []int{1, n - 1, n, n + 1} {
			r := precopy.Predict(small, precopy.Config{MaxIterations: limit}, smallBW)
			if limit < n {
				Expect(r.Outcome).To(Equal(cluster.OutcomeAborted), "limit %d", limit)
				Expect(r.Reason).To(Equal(precopy.ReasonMaxIterations))
				Expect(r.Rounds).To(HaveLen(limit))
				Expect(r.TotalTime).To(Equal(roundEnd(r.Rounds[limit-1])))
				continue
			}
			Expect(r).To(Equal(free), "limit %d", limit)
		}
	})
})

// finish is libvirt's confirm after the guest resumed, in the total time.
var finish = time.Duration(math.Round(precopy.DefaultProfile().FinishMS * float64(time.Millisecond)))

var _ = Describe("Completion timeout", func() {
	DescribeTable("fires at exactly per-GiB times memory in GiB",
		func(memory int64, perGiB time.Duration, want time.Duration) {
			w := precopy.Workload{Memory: memory, Resident: memory, WSS: memory / 2, DirtyRate: 200 * MiB}
			c := precopy.Config{CompletionTimeoutPerGiB: perGiB, Latency: time.Millisecond}
			r := precopy.Predict(w, c, hotBW)
			Expect(r.Outcome).To(Equal(cluster.OutcomeAborted))
			Expect(r.Reason).To(Equal(precopy.ReasonCompletionTimeout))
			Expect(r.TotalTime).To(Equal(want))

			c.OnLimit = cluster.LimitForce
			f := precopy.Predict(w, c, hotBW)
			Expect(f.Outcome).To(Equal(cluster.OutcomeForced))
			Expect(f.TotalTime - f.Downtime - finish).To(BeNumerically("~", want, 2))
		},
		Entry("4 GiB at 10s/GiB", int64(4*GiB), 10*time.Second, 40*time.Second),
		Entry("1.5 GiB at 3s/GiB", int64(3*GiB/2), 3*time.Second, 4500*time.Millisecond),
		Entry("256 MiB at 7s/GiB", int64(256*MiB), 7*time.Second, 1750*time.Millisecond),
		Entry("3 GiB at 1ms/GiB: inside setup", int64(3*GiB), time.Millisecond, 3*time.Millisecond),
		Entry("1 GiB at 123.456789ms/GiB", int64(GiB), 123456789*time.Nanosecond, 123456789*time.Nanosecond),
	)

	It("fires inside setup and forces everything", func() {
		c := precopy.Config{SetupTime: 10 * time.Second, CompletionTimeoutPerGiB: time.Second, OnLimit: cluster.LimitForce}
		r := precopy.Predict(hot, c, hotBW)
		Expect(r.Rounds).To(BeEmpty())
		Expect(r.Outcome).To(Equal(cluster.OutcomeForced))
		Expect(r.TotalTime - r.Downtime - finish).To(Equal(4 * time.Second))
		// The stop-and-copy runs at the profile's unthrottled rate.
		Expect(r.Downtime).To(BeNumerically("~", xfer(firstRound(hot, 4096), precopy.DefaultProfile().FinalRate)+time.Duration(math.Round(precopy.DefaultProfile().SwitchoverMS*1e6)), 2))
	})

	It("does not touch a migration that finishes in time", func() {
		plain := precopy.Predict(small, precopy.Config{}, smallBW)
		timed := precopy.Predict(small, precopy.Config{CompletionTimeoutPerGiB: 60 * time.Second}, smallBW)
		Expect(timed).To(Equal(plain))
	})
})

var _ = Describe("Progress timeout", func() {

	It("counts from the start until round 1 ends", func() {
		r := precopy.Predict(small, precopy.Config{ProgressTimeout: time.Second}, smallBW)
		Expect(r.Reason).To(Equal(precopy.ReasonProgressTimeout))
		Expect(r.TotalTime).To(Equal(time.Second))
	})

	It("leaves a migration that keeps shrinking alone", func() {
		r := precopy.Predict(small, precopy.Config{ProgressTimeout: 10 * time.Second}, smallBW)
		Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
	})

})

var _ = Describe("Auto-converge", func() {
	c := precopy.Config{MaxIterations: 30}

	It("brings a guest to switch-over that would not converge without it", func() {
		without := precopy.Predict(hot, c, hotBW)
		Expect(without.Outcome).To(Equal(cluster.OutcomeAborted))
		Expect(without.Reason).To(Equal(precopy.ReasonMaxIterations))
		Expect(without.Throttle).To(BeZero())

		ac := c
		ac.AutoConverge = true
		with := precopy.Predict(hot, ac, hotBW)
		Expect(with.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(with.Converged).To(BeTrue())
		Expect(with.Downtime).To(BeNumerically("<=", precopy.DefaultDowntimeLimit+(20*time.Millisecond)))
	})

	It("caps the throttle at 99%", func() {
		w := hot
		w.DirtyRate = 2000 * MiB
		r := precopy.Predict(w, precopy.Config{AutoConverge: true}, hotBW)
		Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
		var got []float64
		for _, rd := range r.Rounds {
			got = append(got, rd.Throttle)
		}
		Expect(got).To(ContainElements(0.8, 0.9, 0.99))
		Expect(r.Throttle).To(Equal(0.99))
	})
})

var _ = Describe("QEMU's throttle parameters", func() {
	throttles := func(t precopy.Throttle) []int {
		w := hot
		w.DirtyRate = 2000 * MiB
		r := precopy.Predict(w, precopy.Config{AutoConverge: true, Throttle: t}, hotBW)
		var got []int
		for _, rd := range r.Rounds {
			if p := int(math.Round(rd.Throttle * 100)); len(got) == 0 || got[len(got)-1] != p {
				got = append(got, p)
			}
		}
		return got
	}

	It("steps from cpu-throttle-initial by cpu-throttle-increment up to max-cpu-throttle", func() {
		Expect(throttles(precopy.Throttle{})).To(HaveExactElements(0, 20, 30, 40, 50, 60, 70, 80, 90, 99))
		Expect(throttles(precopy.Throttle{Initial: 35, Increment: 25, Max: 90})).To(HaveExactElements(0, 35, 60, 85, 90))
	})

	It("with tailslow, steps only by what brings the dirtying down to the trigger share", func() {
		// A guest dirtying a little more than half of what is sent: each
		// step need only take a few percent off, where the plain rule
		// takes 10.
		w := precopy.Workload{Memory: GiB, Resident: GiB, WSS: GiB, DirtyRate: 75 * MiB}
		c := precopy.Config{AutoConverge: true, MaxIterations: 16}
		plain := precopy.Predict(w, c, hotBW)
		c.Throttle.Tailslow = true
		slow := precopy.Predict(w, c, hotBW)
		Expect(plain.Throttle).To(BeNumerically(">", 0.3))
		Expect(slow.Throttle).To(BeNumerically(">=", 0.2))
		Expect(slow.Throttle).To(BeNumerically("<", plain.Throttle))
	})

	It("refuses values QEMU refuses", func() {
		err := precopy.Config{Throttle: precopy.Throttle{Initial: 100, Trigger: 101}}.Validate()
		Expect(err).To(MatchError(ContainSubstring("cpu-throttle-initial 100")))
		Expect(err).To(MatchError(ContainSubstring("throttle-trigger-threshold 101")))
	})
})

var _ = Describe("Intervene", func() {
	w := precopy.Workload{Memory: 1 << 30, Resident: 1 << 30, WSS: 1 << 30, DirtyRate: 1 << 30}
	const bw = 100 << 20
	It("forces switch-over now with everything pending as downtime", func() {
		s := precopy.NewStepper(w, precopy.Config{}.WithDefaults())
		s.Advance(5*time.Second, bw)
		s.Intervene(cluster.LimitForce, "completion-timeout", bw)
		for !s.Done() {
			s.Advance(s.Next(bw), bw)
		}
		r := s.Result()
		Expect(r.Outcome).To(Equal(cluster.OutcomeForced))
		Expect(r.Reason).To(Equal("completion-timeout"))
		// About 1 GiB pending, copied at the profile's unthrottled rate.
		Expect(r.Downtime).To(BeNumerically(">", time.Duration(float64(GiB)/precopy.DefaultProfile().FinalRate*float64(time.Second))))
	})
	It("switches to post-copy with a short pause", func() {
		s := precopy.NewStepper(w, precopy.Config{}.WithDefaults())
		s.Advance(5*time.Second, bw)
		s.Intervene(cluster.LimitPostcopy, "progress-timeout", bw)
		for !s.Done() {
			s.Advance(s.Next(bw), bw)
		}
		r := s.Result()
		Expect(r.Outcome).To(Equal(cluster.OutcomePostCopy))
		Expect(r.Downtime).To(BeNumerically("<", 100*time.Millisecond))
	})
	It("aborts, leaving no downtime", func() {
		s := precopy.NewStepper(w, precopy.Config{}.WithDefaults())
		s.Advance(time.Second, bw)
		s.Intervene(cluster.LimitAbort, "operator", bw)
		Expect(s.Done()).To(BeTrue())
		Expect(s.Result().Downtime).To(BeZero())
	})
})
