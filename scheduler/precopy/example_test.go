package precopy_test

import (
	"fmt"
	"time"

	"github.com/droverlab/drover/scheduler/precopy"
)

// A 256 MiB guest dirtying 16 MiB/s over a 32 MiB/s link: each round sends
// half of the one before until the rest fits in QEMU's 300ms downtime limit.
func ExamplePredict() {
	const MiB = 1 << 20
	vm := precopy.Workload{Memory: 256 * MiB, Resident: 190 * MiB, WSS: 128 * MiB, DirtyRate: 16 * MiB}
	r := precopy.Predict(vm, precopy.Config{}, 32*MiB)
	fmt.Printf("%s after %d rounds in %v, paused %v\n",
		r.Outcome, r.Iterations, r.TotalTime.Round(time.Millisecond), r.Downtime.Round(time.Millisecond))
	for _, rd := range r.Rounds {
		fmt.Printf("round %d: %5.1f MiB in %v\n", rd.Index, float64(rd.Bytes)/MiB, rd.Duration.Round(time.Millisecond))
	}

	// The same guest with a 5 s completion timeout switches to post-copy.
	r = precopy.Predict(vm, precopy.Config{CompletionTimeoutPerGiB: 20 * time.Second, OnLimit: precopy.Postcopy}, 32*MiB)
	fmt.Printf("%s on %s after %v, paused %v\n", r.Outcome, r.Reason, r.TotalTime.Round(time.Millisecond), r.Downtime)
	// Output:
	// completed after 5 rounds in 11.762s, paused 208ms
	// round 1: 190.5 MiB in 5.954s
	// round 2:  95.4 MiB in 2.983s
	// round 3:  47.8 MiB in 1.494s
	// round 4:  24.0 MiB in 749ms
	// round 5:  12.0 MiB in 375ms
	// postcopy on completion-timeout after 8.479s, paused 20ms
}
