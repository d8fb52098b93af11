package engine_test

import (
	"math/rand/v2"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/engine"
)

func TestEngine(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "engine")
}

var _ = Describe("Engine", func() {
	It("hands out events in time order, ties in scheduling order", func() {
		e := engine.New(1)
		e.Schedule(30, 1, 0, 0)
		e.Schedule(10, 2, 0, 0)
		e.Schedule(10, 3, 0, 0)
		e.Schedule(20, 4, 0, 0)
		e.Schedule(10, 5, 0, 0)
		var kinds []uint16
		var times []time.Duration
		for {
			ev, ok := e.Next(time.Hour)
			if !ok {
				break
			}
			kinds = append(kinds, ev.Kind)
			times = append(times, e.Now())
		}
		Expect(kinds).To(Equal([]uint16{2, 3, 5, 4, 1}))
		Expect(times).To(Equal([]time.Duration{10, 10, 10, 20, 30}))
	})

	It("stops at the horizon and keeps later events", func() {
		e := engine.New(1)
		e.Schedule(5, 1, 0, 0)
		e.Schedule(50, 2, 0, 0)
		_, ok := e.Next(10)
		Expect(ok).To(BeTrue())
		_, ok = e.Next(10)
		Expect(ok).To(BeFalse())
		Expect(e.Len()).To(Equal(1))
		Expect(e.Now()).To(Equal(time.Duration(5)))
	})

	It("never moves time backwards", func() {
		e := engine.New(1)
		e.Schedule(100, 1, 0, 0)
		e.Next(time.Hour)
		e.Schedule(10, 2, 0, 0)
		ev, _ := e.Next(time.Hour)
		Expect(ev.At).To(Equal(time.Duration(100)))
	})

	It("orders many random events like a sort by (time, sequence)", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 7))
		e := engine.New(1)
		type key struct {
			at  time.Duration
			seq int64
		}
		var want []key
		for i := range 5000 {
			at := time.Duration(r.IntN(1000))
			e.Schedule(at, 0, 0, int64(i))
			want = append(want, key{at, int64(i)})
		}
		var prev key
		for i := range 5000 {
			ev, ok := e.Next(time.Hour)
			Expect(ok).To(BeTrue())
			k := key{ev.At, ev.B}
			if i > 0 {
				Expect(k.at > prev.at || (k.at == prev.at && k.seq > prev.seq)).To(BeTrue())
			}
			prev = k
		}
		Expect(e.Len()).To(BeZero())
	})

	It("derives independent, reproducible random streams", func() {
		a1 := engine.Stream(42, "workload").Uint64()
		a2 := engine.Stream(42, "workload").Uint64()
		b := engine.Stream(42, "faults").Uint64()
		c := engine.Stream(43, "workload").Uint64()
		Expect(a1).To(Equal(a2))
		Expect(a1).NotTo(Equal(b))
		Expect(a1).NotTo(Equal(c))
	})
})

// BenchmarkEngine measures the core loop: each op pops one event and
// schedules one, with a steady queue of 10,000 pending events.
func BenchmarkEngine(b *testing.B) {
	e := engine.New(1)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		e.Schedule(time.Duration(r.IntN(1_000_000)), 0, int32(i), 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, _ := e.Next(1 << 62)
		e.Schedule(ev.At+time.Duration(1+r.IntN(1_000_000)), ev.Kind, ev.A, ev.B)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

var _ = Describe("Slots", func() {
	It("keep one pending event each, moved in place, in (time, scheduling) order", func() {
		r := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 9))
		e := engine.New(1)
		const n = 50
		slots := make([]engine.Slot, n)
		for i := range n {
			slots[i] = e.NewSlot(7, int32(i), 0)
		}
		// The reference: each slot's pending time and sequence, or none.
		type pend struct {
			at  time.Duration
			seq int
			on  bool
		}
		ref := make([]pend, n)
		seq := 0
		for step := range 3000 {
			switch op := r.IntN(10); {
			case op < 6:
				i := r.IntN(n)
				at := e.Now() + time.Duration(r.IntN(1000))
				e.Set(slots[i], at)
				seq++
				ref[i] = pend{at, seq, true}
			case op < 8:
				i := r.IntN(n)
				e.Clear(slots[i])
				ref[i].on = false
			default:
				best := -1
				for i, p := range ref {
					if p.on && (best < 0 || p.at < ref[best].at || p.at == ref[best].at && p.seq < ref[best].seq) {
						best = i
					}
				}
				ev, ok := e.Next(1 << 62)
				if best < 0 {
					Expect(ok).To(BeFalse(), "step %d", step)
					continue
				}
				Expect(ok).To(BeTrue(), "step %d", step)
				Expect(ev.A).To(Equal(int32(best)), "step %d", step)
				Expect(ev.At).To(Equal(ref[best].at))
				ref[best].on = false
			}
		}
	})
})
