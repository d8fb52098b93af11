package precopy_test

import (
	"math"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/precopy"
)

func TestPrecopy(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "precopy")
}

const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

// hot dirties twice as fast as its link carries, over a working set far above
// what 300ms of that link can send: it never converges on its own.
var hot = precopy.Workload{Memory: 4 * GiB, Resident: 4 * GiB, WSS: 2 * GiB, DirtyRate: 200 * MiB}

const hotBW = 100 * MiB

// small is the sanity case of the brief: a few rounds at 32 MiB/s.
var small = precopy.Workload{Memory: 256 * MiB, Resident: 190 * MiB, WSS: 128 * MiB, DirtyRate: 16 * MiB}

const smallBW = 32 * MiB

// firstRound is S_1 of the package doc, computed independently.
func firstRound(w precopy.Workload, page int64) float64 {
	nonZero := (w.Resident + page - 1) / page
	return float64(w.Resident) + 8*float64(nonZero) + 9*float64((w.Memory-w.Resident)/page)
}

// xfer is ⌈n/bw⌉ in nanoseconds, as the model rounds.
func xfer(n, bw float64) time.Duration {
	return time.Duration(math.Ceil(n / bw * 1e9))
}

func roundEnd(r precopy.Round) time.Duration { return r.Start + r.Duration }

// runAt drives a stepper from event to event at constant bandwidth, as the
// simulator does when nothing else changes.
func runAt(s *precopy.Stepper, bw float64) {
	for !s.Done() {
		d := s.Next(bw)
		Expect(d).To(BeNumerically(">", 0), "stuck in %s", s.Phase())
		s.Advance(d, bw)
	}
}

func relClose(got, want float64) bool {
	if want == 0 {
		return math.Abs(got) < 1e-9
	}
	return math.Abs(got-want) <= 1e-6*math.Abs(want)
}
