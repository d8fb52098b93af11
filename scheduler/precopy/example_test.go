package precopy_test

import (
	"fmt"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
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
	r = precopy.Predict(vm, precopy.Config{CompletionTimeoutPerGiB: 20 * time.Second, OnLimit: cluster.LimitPostcopy}, 32*MiB)
	fmt.Printf("%s on %s after %v, paused %v\n", r.Outcome, r.Reason, r.TotalTime.Round(time.Millisecond), r.Downtime)
	// Output:
	// completed after 9 bitmap syncs in 12.39s, paused 27ms
	// round 1: 183.3 MiB in 5.9s
	// round 2:  93.2 MiB in 3s
	// round 3:  46.6 MiB in 1.5s
	// round 4:  24.9 MiB in 800ms
	// round 5:  12.4 MiB in 400ms
	// round 6:   6.2 MiB in 200ms
	// round 7:   3.1 MiB in 100ms
	// postcopy on completion-timeout after 5.324s, paused 11.11268ms
}
