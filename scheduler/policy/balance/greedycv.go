package balance

import "time"

// GreedyCVName is the baseline's name in scenarios, plans and --policy.
const GreedyCVName = "greedy-cv"

// NewGreedyCV returns the baseline the balancer is measured against:
// CloudStack's DRS "balanced" algorithm. One best move at a time by the
// drop of one metric's coefficient of variation (drs.metric: allocated
// memory by default, or CPU) until it is under the threshold. It shares
// the balancer's search, so the comparison isolates the differences: one
// metric instead of CPU and memory together, no cost model, no cooldown,
// no hysteresis, no look-ahead.
func NewGreedyCV(args Args) (*Balance, error) {
	if args.Weights.CPU == 0 && args.Weights.Memory == 0 {
		args.Weights.Memory = 1 // drs.metric=memory, CloudStack's default
	}
	SetDefaults(&args)
	args.Hysteresis = 1
	args.CostPerGiB = new(0.0)
	args.Cooldown = new(time.Duration(0))
	args.MinGain = new(1e-9)
	if err := Validate(&args); err != nil {
		return nil, err
	}
	return &Balance{args: args, name: GreedyCVName, baseline: true}, nil
}
