package framework

import "github.com/droverlab/drover/scheduler/cluster"

// Plugin is anything a policy is assembled from.
type Plugin interface {
	// Name is constant and unique; statuses and --explain carry it.
	Name() string
}

// FilterPlugin is a constraint: may host dst take VM vm (indexes into
// st.Snap) given the moves already planned on st? Filters read st and never
// change it. An expected "no" is Unschedulable or UnschedulableAndUnresolvable
// with reasons; Error is for faults only.
type FilterPlugin interface {
	Plugin
	Filter(st *cluster.State, vm, dst int) *Status
}

// Rejection is one host refused for one VM, kept for --explain.
type Rejection struct {
	VM     string   `json:"vm"`
	Host   string   `json:"host"`
	Plugin string   `json:"plugin"`
	Code   string   `json:"code"`
	Reason []string `json:"reasons"`
}

// RunFilters runs filters in order and returns the first refusal, with the
// plugin named; nil when every filter passed.
func RunFilters(filters []FilterPlugin, st *cluster.State, vm, dst int) *Status {
	for _, f := range filters {
		if s := f.Filter(st, vm, dst); !s.IsSuccess() {
			return s.WithPlugin(f.Name())
		}
	}
	return nil
}
