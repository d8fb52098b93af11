// Package disaster evacuates a zone that is predicted to fail at a known
// time. It saves as many VMs as it can, weighted by priority, before the
// deadline, and says in advance which it cannot save.
package disaster

// Args tune disaster avoidance.
type Args struct {
	// Margin is the fraction of the time to the deadline kept in reserve
	// against prediction error (0.1 = plan to finish at 90%; nil: the
	// default; 0: trust the prediction fully).
	Margin *float64
	// FixedBatch makes the policy the baseline it is measured against:
	// the zone's hosts drained in name order in fixed batches, with no
	// priorities and no look at the deadline.
	FixedBatch bool
}
