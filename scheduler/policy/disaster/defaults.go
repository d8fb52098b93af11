package disaster

import "github.com/droverlab/drover/scheduler/plan"

// SetDefaults fills unset arguments.
func SetDefaults(a *Args) {
	if a.Margin == 0 {
		a.Margin = 0.1
	}
}

// Limits keep two migrations leaving each warned host so its NIC stays
// busy; the zone's uplinks are shared fairly by the network model.
var Limits = plan.Limits{MaxPerHostOut: 2, MaxPerHostIn: 2}
