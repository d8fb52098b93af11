// Package evacuate drains hosts for maintenance: every VM on them moves to a
// host that can take it, destinations chosen for room, constraints and
// transfer time, and the moves ordered so the NICs of the drained hosts stay
// busy until the end. The fixed-batch baseline shares placement and differs
// only in dispatch.
package evacuate

// Args tune the evacuation.
type Args struct {
	// Strategy is "planned" (default) or "fixed-batch".
	Strategy string
	// SpreadWeight is how much planned inbound transfer time (seconds) on
	// a destination weighs against its free room (0..100; nil: the
	// default; 0: room alone).
	SpreadWeight *float64
}
