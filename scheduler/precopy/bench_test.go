package precopy_test

import (
	"testing"
	"time"

	"github.com/droverlab/drover/scheduler/precopy"
)

// typical is a mid-sized busy guest on a 10 Gbit/s link.
var typical = precopy.Workload{Memory: 4 * GiB, Resident: 3 * GiB, WSS: GiB, DirtyRate: 100 * MiB}

const typicalBW = 1.25e9

// BenchmarkPredict is one planner prediction; the planner calls it for every
// candidate move.
func BenchmarkPredict(b *testing.B) {
	c := precopy.Config{Latency: 250 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		precopy.Predict(typical, c, typicalBW)
	}
}

// BenchmarkPredictManyRounds is the expensive end: auto-converge climbing
// through a dozen rounds.
func BenchmarkPredictManyRounds(b *testing.B) {
	c := precopy.Config{AutoConverge: true, MaxIterations: 30}
	b.ReportAllocs()
	for b.Loop() {
		precopy.Predict(hot, c, hotBW)
	}
}

// BenchmarkStepper is one migration in the simulator while its link's share
// changes every 50ms, as when other flows come and go.
func BenchmarkStepper(b *testing.B) {
	c := precopy.Config{Latency: 250 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		s := precopy.NewStepper(typical, c)
		for i := 0; !s.Done(); i++ {
			bw := typicalBW
			if i%2 == 1 {
				bw /= 2
			}
			s.Advance(50*time.Millisecond, bw)
		}
	}
}
