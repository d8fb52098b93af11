package scheduler

import (
	"fmt"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/disaster"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/scheduler/registry"
)

// Policy is the policy settings a scenario file or an operator's flags give;
// NewConfig turns them into a Core's Config.
type Policy struct {
	// Name is the policy that runs periodically: "", "balance",
	// "consolidate", "greedy-cv".
	Name string
	// Interval between periodic policy runs.
	Interval time.Duration
	// TLS enforcement ("": matching).
	TLS cluster.TLSMode
	// Evacuation strategy for maintenance and disasters: "planned" (default)
	// or "fixed-batch".
	Evacuation string
	// CPUOvercommit is the ratio of vCPU demand to host cores allowed.
	CPUOvercommit float64
	// Threshold is the imbalance (coefficient of variation) above which the
	// balancer acts; Hysteresis the fraction of it the cluster must fall
	// below before the balancer rests.
	Threshold  float64
	Hysteresis float64
	// MaxMovesPerRound caps migrations the balancer proposes per run.
	MaxMovesPerRound int
	// Params are each policy's own parameters as written, by policy name
	// (registry.Specs: "balance", "evacuate", "disaster", ...).
	Params map[string]map[string]string
}

// Migration holds migration defaults and executor limits, as a scenario
// file or an inventory gives them: what the executor does and, through
// Prediction, what plans foresee.
type Migration struct {
	// Profile is the calibration profile the model runs with, and
	// ProfileRef how the file named it ("" for the default), kept so that
	// an exported scenario names the same profile.
	Profile        precopy.Profile
	ProfileRef     string
	DowntimeLimit  time.Duration // 300ms, as QEMU
	SwitchoverCost time.Duration
	SetupTime      time.Duration
	MaxIterations  int
	// CompletionTimeoutPerGiB scales with guest memory, as KubeVirt.
	CompletionTimeoutPerGiB time.Duration
	ProgressTimeout         time.Duration
	OnLimit                 cluster.OnLimit
	AutoConverge            bool
	// Throttle is auto-converge's steps (zero fields: QEMU's defaults).
	Throttle precopy.Throttle
	// Bandwidth caps each migration in bytes/s (0: no cap), as libvirt's.
	Bandwidth float64
	// MaxParallel caps concurrent migrations in the cluster; MaxPerHostOut
	// and MaxPerHostIn per host. 0 means no limit.
	MaxParallel   int
	MaxPerHostOut int
	MaxPerHostIn  int
}

// NewConfig turns policy and migration settings into a Core's
// configuration: the one way both worlds, plans and dry runs build it.
func NewConfig(p Policy, m Migration) (Config, error) {
	tls := cluster.TLSMode(p.TLS)
	if tls == "" {
		tls = cluster.TLSMatching
	}
	cfg := Config{
		Settings: policy.Settings{
			TLS:        tls,
			Overcommit: p.CPUOvercommit,
			Migration:  m.Prediction(),
			Bandwidth:  m.Bandwidth,
			Limits:     plan.Limits{MaxParallel: m.MaxParallel, MaxPerHostOut: m.MaxPerHostOut, MaxPerHostIn: m.MaxPerHostIn},
		},
		Interval: p.Interval,
		Options: cluster.MigrationOptions{
			Bandwidth: m.Bandwidth, DowntimeLimit: m.DowntimeLimit, AutoConverge: m.AutoConverge,
			ThrottleInitial: m.Throttle.Initial, ThrottleIncrement: m.Throttle.Increment,
		},
		CompletionTimeoutPerGiB: m.CompletionTimeoutPerGiB,
		ProgressTimeout:         m.ProgressTimeout,
		MaxIterations:           m.MaxIterations,
		OnLimit:                 m.OnLimit,
		MaxParallel:             m.MaxParallel,
	}
	if cfg.Overcommit <= 0 {
		cfg.Overcommit = 4
	}
	var err error
	if p.Name != "" {
		if cfg.Periodic, err = registry.New(p.Name, p.Settings(p.Name)); err != nil {
			return cfg, fmt.Errorf("policy: %w", err)
		}
		if cfg.Interval <= 0 {
			cfg.Interval = 5 * time.Minute
		}
	}
	var evac, dis string
	switch p.Evacuation {
	case "", evacuate.StrategyPlanned:
		evac, dis = evacuate.Name, disaster.Name
	case evacuate.StrategyFixedBatch:
		evac, dis = evacuate.StrategyFixedBatch, "disaster-fixed-batch"
	default:
		return cfg, fmt.Errorf("policy: evacuation %q: want %s or %s", p.Evacuation, evacuate.StrategyPlanned, evacuate.StrategyFixedBatch)
	}
	if cfg.Evacuate, err = registry.New(evac, p.Settings(evac)); err != nil {
		return cfg, fmt.Errorf("policy: %w", err)
	}
	if cfg.Disaster, err = registry.New(dis, p.Settings(dis)); err != nil {
		return cfg, fmt.Errorf("policy: %w", err)
	}
	return cfg, nil
}

// Settings are what registry.New needs to build the policy called name
// under p: the common settings and that policy's own parameters.
func (p Policy) Settings(name string) registry.Settings {
	return registry.Settings{Threshold: p.Threshold, Hysteresis: p.Hysteresis, MaxMoves: p.MaxMovesPerRound, Params: p.Params[name]}
}

// Prediction is the model configuration planners predict with: the
// hypervisor's parameters and the executor's limits, so a plan foresees
// what the executor will do.
func (m Migration) Prediction() precopy.Config {
	return precopy.Config{
		Profile:                 m.Profile,
		DowntimeLimit:           m.DowntimeLimit,
		SwitchoverCost:          m.SwitchoverCost,
		SetupTime:               m.SetupTime,
		MaxIterations:           m.MaxIterations,
		CompletionTimeoutPerGiB: m.CompletionTimeoutPerGiB,
		ProgressTimeout:         m.ProgressTimeout,
		OnLimit:                 cluster.OnLimit(m.OnLimit),
		AutoConverge:            m.AutoConverge,
		Throttle:                m.Throttle,
	}.WithDefaults()
}
