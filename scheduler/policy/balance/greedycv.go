package balance

// GreedyCVName is the baseline's name in scenarios, plans and --policy.
const GreedyCVName = "greedy-cv"

// NewGreedyCV returns the baseline the balancer is measured against: one
// best move at a time by imbalance drop until the imbalance is under the
// threshold, as CloudStack's DRS "balanced" algorithm. It shares the
// balancer's search so the comparison isolates the differences: no cost
// model, no cooldown, no hysteresis.
func NewGreedyCV(args Args) (*Balance, error) {
	SetDefaults(&args)
	args.Hysteresis = 1
	args.CostPerGiB = 0
	args.Cooldown = 0
	args.MinGain = 1e-9
	if err := Validate(&args); err != nil {
		return nil, err
	}
	return &Balance{args: args, name: GreedyCVName, baseline: true}, nil
}
