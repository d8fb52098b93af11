package evacuate

import "github.com/droverlab/drover/scheduler/plan"

// SetDefaults fills unset arguments.
func SetDefaults(a *Args) {
	if a.Strategy == "" {
		a.Strategy = StrategyPlanned
	}
	if a.SpreadWeight == nil {
		a.SpreadWeight = new(DefaultSpreadWeight)
	}
}

// DefaultSpreadWeight is SpreadWeight's default.
const DefaultSpreadWeight = 10.0

const (
	StrategyPlanned    = "planned"
	StrategyFixedBatch = "fixed-batch"
)

// FixedBatchLimits are KubeVirt's and ProxLB's defaults: at most 5
// migrations in the cluster and 2 out of each host, started in batches.
var FixedBatchLimits = plan.Limits{MaxParallel: 5, MaxPerHostOut: 2, Batch: true}
