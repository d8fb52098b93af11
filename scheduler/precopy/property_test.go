package precopy_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

type randomCase struct {
	w  precopy.Workload
	c  precopy.Config
	bw float64
}

func (k randomCase) String() string { return fmt.Sprintf("%+v %+v bw=%v", k.w, k.c, k.bw) }

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func randomMigration(r *rand.Rand) randomCase {
	mem := int64(logUniform(r, 64*MiB, 64*GiB))
	bw := logUniform(r, 10e6, 10e9)
	w := precopy.Workload{
		Memory:    mem,
		Resident:  int64(r.Float64() * float64(mem)),
		WSS:       int64(r.Float64() * float64(mem) / 2),
		DirtyRate: pick(r, 0, r.Float64()*bw, r.Float64()*2*bw),
	}
	c := precopy.Config{
		DowntimeLimit:           pick(r, 0, 50*time.Millisecond, time.Second),
		SetupTime:               time.Duration(r.Int64N(int64(2 * time.Second))),
		Latency:                 time.Duration(r.Int64N(int64(20 * time.Millisecond))),
		PageSize:                pick[int64](r, 0, 4096, 2*MiB),
		MaxIterations:           pick(r, 0, 1+r.IntN(40)),
		CompletionTimeoutPerGiB: pick(r, 0, time.Duration(r.Int64N(int64(30*time.Second)))),
		ProgressTimeout:         pick(r, 0, time.Duration(r.Int64N(int64(5*time.Minute)))),
		OnLimit:                 pick(r, cluster.LimitAbort, cluster.LimitForce, cluster.LimitPostcopy),
		AutoConverge:            r.IntN(2) == 0,
		BandwidthCap:            pick(r, 0, 0, bw*r.Float64()),
	}
	return randomCase{w, c, pick(r, bw, bw, 0)}
}

var _ = Describe("Random migrations", func() {
	It("keep the model's invariants", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 3))
		outcomes := map[cluster.Outcome]int{}
		for range 600 {
			k := randomMigration(r)
			res := precopy.Predict(k.w, k.c, k.bw)
			outcomes[res.Outcome]++
			c := k.c.WithDefaults()
			bw := k.bw
			if c.BandwidthCap > 0 {
				bw = min(bw, c.BandwidthCap)
			}
			rtt := 2 * c.Latency

			Expect(res.Outcome).To(BeElementOf(cluster.OutcomeCompleted, cluster.OutcomeForced, cluster.OutcomePostCopy, cluster.OutcomeAborted), k.String())
			Expect(res.Converged).To(Equal(res.Outcome == cluster.OutcomeCompleted), k.String())
			// libvirt's count: the setup sync, one per round ended by a
			// sync, and the final one at switch-over or post-copy.
			whole := 0
			for _, rd := range res.Rounds {
				if !rd.Partial {
					whole++
				}
			}
			if len(res.Rounds) > 0 {
				Expect(res.Iterations).To(BeNumerically(">=", whole+1), k.String())
				Expect(res.Iterations).To(BeNumerically("<=", whole+2), k.String())
			}
			switch res.Outcome {
			case cluster.OutcomeCompleted:
				Expect(res.Reason).To(BeEmpty(), k.String())
				Expect(res.Downtime).To(BeNumerically("<=", c.DowntimeLimit+c.SwitchoverCost+rtt+1), k.String())
				Expect(res.Downtime).To(BeNumerically(">=", c.SwitchoverCost+rtt), k.String())
			case cluster.OutcomeAborted:
				Expect(res.Downtime).To(BeZero(), k.String())
				Expect(res.Reason).NotTo(BeEmpty(), k.String())
			default:
				Expect(res.Reason).To(BeElementOf(precopy.ReasonMaxIterations, precopy.ReasonCompletionTimeout, precopy.ReasonProgressTimeout), k.String())
			}
			if res.Outcome != cluster.OutcomeAborted {
				Expect(res.TransferredBytes).To(BeNumerically(">=", k.w.Resident), k.String())
			}
			if bw > 0 {
				// The final copy may run faster than the cap: QEMU lifts it.
				fastest := max(bw*c.Profile.Goodput, c.Profile.FinalRate)
				Expect(res.TotalTime.Seconds()).To(BeNumerically(">=", float64(res.TransferredBytes)/fastest*(1-1e-9)), k.String())
			}
			Expect(res.TotalTime).To(BeNumerically(">=", res.Downtime), k.String())

			var sum int64
			for i, rd := range res.Rounds {
				Expect(rd.Index).To(Equal(i+1), k.String())
				Expect(rd.Dirtied).To(BeNumerically("<=", k.w.WSS), k.String())
				Expect(rd.Throttle).To(BeNumerically(">=", 0), k.String())
				Expect(rd.Throttle).To(BeNumerically("<=", 0.99), k.String())
				Expect(rd.Partial).To(Equal(i == len(res.Rounds)-1 && rd.Partial), k.String())
				if i == 0 {
					Expect(rd.Start).To(Equal(c.SetupTime + rtt))
				} else {
					Expect(rd.Start).To(Equal(roundEnd(res.Rounds[i-1])), k.String())
				}
				sum += rd.Bytes
			}
			Expect(sum).To(BeNumerically("<=", res.TransferredBytes+int64(len(res.Rounds))), k.String())

			again := precopy.Predict(k.w, k.c, k.bw)
			Expect(again).To(Equal(res), k.String())
			a, _ := json.Marshal(res)
			b, _ := json.Marshal(again)
			Expect(a).To(Equal(b))
		}
		By(fmt.Sprint(outcomes))
		for _, o := range []cluster.Outcome{cluster.OutcomeCompleted, cluster.OutcomeForced, cluster.OutcomePostCopy, cluster.OutcomeAborted} {
			Expect(outcomes[o]).To(BeNumerically(">", 10), "too few %s cases to mean anything", o)
		}
	})

	It("give the same result however the simulator slices time", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 4))
		compared := 0
		for range 200 {
			k := randomMigration(r)
			k.c.BandwidthCap = 0
			want := precopy.Predict(k.w, k.c, k.bw)
			if slices.Contains([]string{precopy.ReasonNoConvergence, precopy.ReasonNoBandwidth}, want.Reason) {
				continue // Predict's own verdicts: a stepper just keeps going
			}
			s := precopy.NewStepper(k.w, k.c)
			step := int64(want.TotalTime)/20 + 1
			for !s.Done() {
				s.Advance(time.Duration(r.Int64N(2*step)), k.bw)
			}
			got := s.Result()
			Expect(got.Outcome).To(Equal(want.Outcome), k.String())
			Expect(got.Reason).To(Equal(want.Reason), k.String())
			Expect(got.Iterations).To(Equal(want.Iterations), k.String())
			Expect(relClose(got.TotalTime.Seconds(), want.TotalTime.Seconds())).To(BeTrue(), "%v vs %v: %s", got.TotalTime, want.TotalTime, k)
			Expect(relClose(got.Downtime.Seconds(), want.Downtime.Seconds())).To(BeTrue(), "%v vs %v: %s", got.Downtime, want.Downtime, k)
			Expect(relClose(float64(got.TransferredBytes), float64(want.TransferredBytes))).To(BeTrue(), k.String())
			compared++
		}
		Expect(compared).To(BeNumerically(">", 100))
	})
})
