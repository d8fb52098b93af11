package precopy_test

import (
	"fmt"
	"time"

	"github.com/droverlab/drover/scheduler/precopy"
)

// A 256 MiB guest dirtying 16 MiB/s over a 32 MiB/s link: each round sends
// what the guest dirtied meanwhile, bitmap syncs come faster near the end, until what is pending fits under the measured bandwidth times QEMU's 300ms downtime limit.
func ExamplePredict() {
	const MiB = 1 << 20
	vm := precopy.Workload{Memory: 256 * MiB, Resident: 190 * MiB, WSS: 128 * MiB, DirtyRate: 16 * MiB}
	r := precopy.Predict(vm, precopy.Config{}, 32*MiB)
	fmt.Printf("%s after %d bitmap syncs in %v, paused %v\n",
		r.Outcome, r.Iterations, r.TotalTime.Round(time.Millisecond), r.Downtime.Round(time.Millisecond))
	for _, rd := range r.Rounds {
		fmt.Printf("round %d: %5.1f MiB in %v\n", rd.Index, float64(rd.Bytes)/MiB, rd.Duration.Round(time.Millisecond))
	}

	// The same guest with a 5 s completion timeout switches to post-copy.
	r = precopy.Predict(vm, precopy.Config{CompletionTimeoutPerGiB: 20 * time.Second, OnLimit: precopy.Postcopy}, 32*MiB)
	fmt.Printf("%s on %s after %v, paused %v\n", r.Outcome, r.Reason, r.TotalTime.Round(time.Millisecond), r.Downtime)
	// Output:
	// completed after 7 bitmap syncs in 9.245s, paused 19ms
	// round 1: 182.6 MiB in 5.605s
	// round 2:  68.5 MiB in 2.105s
	// round 3:  26.1 MiB in 805ms
	// round 4:   9.8 MiB in 305ms
	// round 5:   3.3 MiB in 105ms
	// postcopy on completion-timeout after 5.36s, paused 106ns
}
