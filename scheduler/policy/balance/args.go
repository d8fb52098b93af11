// Package balance is the DRS-like load balancer. It acts when the cluster's
// imbalance (coefficient of variation of CPU and memory use) exceeds a
// threshold, and proposes moves that each pay for themselves: the imbalance
// they remove must outweigh the predicted cost of the migration. Recently
// moved VMs rest, and once it acts it balances down to threshold×hysteresis,
// so the cluster does not hover at the threshold and VMs do not ping-pong.
package balance

import "time"

// Args tune the balancer.
type Args struct {
	Threshold  float64
	Hysteresis float64
	// MaxMoves caps migrations proposed per run.
	MaxMoves int
	Weights  struct{ CPU, Memory float64 }
	// CostPerGiB is the imbalance a move must remove per GiB it is
	// predicted to transfer; MinGain is the least any move must remove.
	// Both are in imbalance × usable hosts, so they mean the same at any
	// cluster size. Nil: the default; 0 is a value like any other.
	CostPerGiB *float64
	MinGain    *float64
	// Cooldown is how long a VM rests after it moved (nil: the default;
	// 0: no rest).
	Cooldown *time.Duration
	// Sources is how many of the most loaded hosts offer VMs each step;
	// Dests how many of each pool's least loaded hosts may receive them.
	Sources int
	Dests   int
}
