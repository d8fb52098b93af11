package precopy_test

import (
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

// state is what a caller of the stepper can observe changing.
type state struct {
	phase  precopy.Phase
	rounds int
	done   bool
}

func observe(s *precopy.Stepper) state {
	return state{s.Phase(), s.Result().Iterations, s.Done()}
}

var _ = Describe("Stepper", func() {
	It("is Predict when stepped from event to event at constant bandwidth", func() {
		for _, c := range []precopy.Config{
			{},
			{Latency: 3 * time.Millisecond, SetupTime: time.Second},
			{MaxIterations: 3, OnLimit: cluster.LimitPostcopy},
			{CompletionTimeoutPerGiB: 10 * time.Second, OnLimit: cluster.LimitForce},
		} {
			s := precopy.NewStepper(small, c)
			runAt(s, smallBW)
			Expect(s.Result()).To(Equal(precopy.Predict(small, c, smallBW)))
		}
	})

	It("matches Predict when a caller slices constant bandwidth into arbitrary steps", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 1))
		for _, c := range []precopy.Config{
			{Latency: 2 * time.Millisecond, MaxIterations: 10, OnLimit: cluster.LimitForce},
			{AutoConverge: true, MaxIterations: 40, Latency: time.Millisecond},
			{ProgressTimeout: 50 * time.Second, OnLimit: cluster.LimitPostcopy},
		} {
			for _, w := range []precopy.Workload{small, hot} {
				bw := float64(smallBW)
				if w == hot {
					bw = hotBW
				}
				want := precopy.Predict(w, c, bw)
				s := precopy.NewStepper(w, c)
				for !s.Done() {
					s.Advance(time.Duration(r.Int64N(int64(3*time.Second))), bw)
				}
				got := s.Result()
				Expect(got.Outcome).To(Equal(want.Outcome))
				Expect(got.Reason).To(Equal(want.Reason))
				Expect(got.Iterations).To(Equal(want.Iterations))
				Expect(relClose(got.TotalTime.Seconds(), want.TotalTime.Seconds())).To(BeTrue(), "%v vs %v", got.TotalTime, want.TotalTime)
				Expect(relClose(got.Downtime.Seconds(), want.Downtime.Seconds())).To(BeTrue(), "%v vs %v", got.Downtime, want.Downtime)
				Expect(relClose(float64(got.TransferredBytes), float64(want.TransferredBytes))).To(BeTrue())
			}
		}
	})

	DescribeTable("changes state exactly when Next says",
		func(w precopy.Workload, c precopy.Config, bw float64) {
			s := precopy.NewStepper(w, c)
			events := 0
			for !s.Done() {
				before := observe(s)
				d := s.Next(bw)
				Expect(d).To(BeNumerically(">", 0))
				if d > 1 {
					early := *s // a copy to try one nanosecond short
					early.Advance(d-1, bw)
					Expect(observe(&early)).To(Equal(before), "event %d came early", events)
				}
				s.Advance(d, bw)
				Expect(s.Elapsed()).To(BeNumerically(">", 0))
				events++
			}
			Expect(s.Next(bw)).To(Equal(time.Duration(-1)))
			// Windows that cannot sync are skipped: a caller pays for few events.
			Expect(events).To(BeNumerically("<", 400))
			Expect(s.Result()).To(Equal(precopy.Predict(w, c, bw)))
		},
		Entry("converging", small, precopy.Config{Latency: 700 * time.Microsecond, SetupTime: 3 * time.Second}, float64(smallBW)),
		Entry("odd bandwidth", small, precopy.Config{Latency: 333 * time.Microsecond}, 33_333_333.3),
		Entry("idle", precopy.Workload{Memory: GiB, Resident: GiB / 3}, precopy.Config{}, 1e9),
		Entry("max-iterations, force", hot, precopy.Config{MaxIterations: 4, OnLimit: cluster.LimitForce}, float64(hotBW)),
		Entry("completion timeout, postcopy", hot, precopy.Config{CompletionTimeoutPerGiB: 17 * time.Second, OnLimit: cluster.LimitPostcopy, Latency: time.Millisecond}, float64(hotBW)),
		Entry("progress timeout, abort", hot, precopy.Config{ProgressTimeout: 45 * time.Second}, float64(hotBW)),
		Entry("auto-converge", hot, precopy.Config{AutoConverge: true, Latency: 5 * time.Millisecond}, float64(hotBW)),
	)

	It("goes through the phases in order and pauses the guest only to switch over", func() {
		for _, c := range []precopy.Config{
			{SetupTime: time.Second, Profile: bare},
			{SetupTime: time.Second, MaxIterations: 2, OnLimit: cluster.LimitForce, Profile: bare},
			{SetupTime: time.Second, MaxIterations: 2, OnLimit: cluster.LimitPostcopy, Profile: bare},
		} {
			s := precopy.NewStepper(small, c)
			phases := []precopy.Phase{s.Phase()}
			for !s.Done() {
				s.Advance(7*time.Millisecond, smallBW)
				if p := s.Phase(); p != phases[len(phases)-1] {
					phases = append(phases, p)
				}
				Expect(s.Paused()).To(Equal(s.Phase() == precopy.PhaseStopAndCopy))
			}
			want := []precopy.Phase{precopy.PhaseSetup, precopy.PhasePreCopy, precopy.PhaseStopAndCopy}
			if c.OnLimit == cluster.LimitPostcopy {
				want = append(want, precopy.PhasePostCopy)
			}
			// bare has no confirm phase to see.
			Expect(phases).To(Equal(append(want, precopy.PhaseFinished)))
			Expect(s.Remaining()).To(BeZero())
		}
	})

	It("never goes past the end", func() {
		s := precopy.NewStepper(small, precopy.Config{})
		s.Advance(time.Hour, smallBW)
		Expect(s.Done()).To(BeTrue())
		r := s.Result()
		s.Advance(time.Hour, smallBW)
		Expect(s.Result()).To(Equal(r))
		Expect(s.Elapsed()).To(Equal(r.TotalTime))
		Expect(r).To(Equal(precopy.Predict(small, precopy.Config{}, smallBW)))
	})

	It("waits for ever at bandwidth 0 unless a time limit is set", func() {
		s := precopy.NewStepper(small, precopy.Config{MaxIterations: 2})
		Expect(s.Next(0)).To(Equal(precopy.Config{}.WithDefaults().SetupTime)) // setup needs no bandwidth
		s.Advance(time.Hour, 0)
		Expect(s.Done()).To(BeFalse())
		Expect(s.Next(0)).To(Equal(time.Duration(-1)))
		Expect(s.Sent()).To(BeZero())

		t := precopy.NewStepper(small, precopy.Config{ProgressTimeout: time.Minute})
		t.Advance(time.Second, 0)
		Expect(t.Next(0)).To(Equal(59 * time.Second))
		t.Advance(59*time.Second, 0)
		Expect(t.Done()).To(BeTrue())
		Expect(t.Result().Reason).To(Equal(precopy.ReasonProgressTimeout))
	})

	It("resumes when bandwidth returns", func() {
		s := precopy.NewStepper(small, precopy.Config{})
		s.Advance(time.Second, smallBW)
		sent := s.Sent()
		s.Advance(time.Minute, 0)
		Expect(s.Sent()).To(Equal(sent))
		runAt(s, smallBW)
		r := s.Result()
		Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
		// The stall stretched round 1, and with it what the guest dirtied.
		Expect(r.Rounds[0].Duration).To(BeNumerically(">", time.Minute))
		Expect(r.Rounds[0].Dirtied).To(Equal(small.WSS))
	})

	Describe("Abort", func() {
		It("ends a round in progress with the reason given and no downtime", func() {
			s := precopy.NewStepper(small, precopy.Config{})
			s.Advance(7*time.Second, smallBW) // inside round 2
			sent := s.Sent()
			s.Abort("host-down")
			Expect(s.Done()).To(BeTrue())
			Expect(s.Phase()).To(Equal(precopy.PhaseFinished))
			r := s.Result()
			Expect(r.Outcome).To(Equal(cluster.OutcomeAborted))
			Expect(r.Reason).To(Equal("host-down"))
			Expect(r.Converged).To(BeFalse())
			Expect(r.Downtime).To(BeZero())
			Expect(r.TotalTime).To(Equal(7 * time.Second))
			Expect(r.TransferredBytes).To(Equal(sent))
			Expect(r.Rounds).To(HaveLen(2))
			Expect(r.Rounds[1].Partial).To(BeTrue())
			Expect(r.Rounds[0].Bytes + r.Rounds[1].Bytes).To(BeNumerically("~", sent, 1))

			s.Abort("again")
			s.Advance(time.Hour, smallBW)
			Expect(s.Result()).To(Equal(r))
			Expect(s.Next(smallBW)).To(Equal(time.Duration(-1)))
		})

		It("reports no downtime even from stop-and-copy", func() {
			s := precopy.NewStepper(hot, precopy.Config{MaxIterations: 1, OnLimit: cluster.LimitForce})
			for s.Phase() != precopy.PhaseStopAndCopy {
				s.Advance(s.Next(hotBW), hotBW)
			}
			s.Advance(time.Second, hotBW)
			Expect(s.Paused()).To(BeTrue())
			s.Abort("")
			r := s.Result()
			Expect(r.Reason).To(Equal("aborted"))
			Expect(r.Downtime).To(BeZero())
		})
	})

	It("gives a partial result before the end", func() {
		s := precopy.NewStepper(small, precopy.Config{})
		s.Advance(9*time.Second, smallBW)
		r := s.Result()
		Expect(r.Outcome).To(BeEmpty())
		Expect(r.Converged).To(BeFalse())
		Expect(r.Iterations).To(Equal(len(r.Rounds) + 1)) // the setup sync, then one per round
		Expect(r.TotalTime).To(Equal(9 * time.Second))
		Expect(r.TransferredBytes).To(Equal(s.Sent()))
	})
})
