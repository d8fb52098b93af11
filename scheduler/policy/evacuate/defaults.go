package evacuate

import "github.com/droverlab/drover/scheduler/plan"

// SetDefaults fills unset arguments.
func SetDefaults(a *Args) {
	if a.Strategy == "" {
		a.Strategy = StrategyPlanned
	}
	if a.SpreadWeight == 0 {
		a.SpreadWeight = 10
	}
}

const (
	StrategyPlanned    = "planned"
	StrategyFixedBatch = "fixed-batch"
)

// FixedBatchLimits are KubeVirt's and ProxLB's defaults: at most 5
// migrations in the cluster and 2 out of each host, started in batches.
var FixedBatchLimits = plan.Limits{MaxParallel: 5, MaxPerHostOut: 2, Batch: true}

// PlannedLimits keep two migrations leaving each drained host, so one's
// setup and switch-over overlap the other's transfer and the NIC never
// idles; two into each destination so no receiver becomes the bottleneck.
var PlannedLimits = plan.Limits{MaxPerHostOut: 2, MaxPerHostIn: 2}
