// Package registry builds policies by name from settings as a scenario or
// the command line gives them, so the simulator and the real driver
// configure them the same way.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/balance"
	"github.com/droverlab/drover/scheduler/policy/consolidate"
	"github.com/droverlab/drover/scheduler/policy/disaster"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
)

// Settings are a policy's knobs as written: the common ones typed, the rest
// as strings.
type Settings struct {
	Threshold  float64
	Hysteresis float64
	MaxMoves   int
	Params     map[string]string
}

// Names lists the policies New knows.
var Names = []string{balance.Name, balance.GreedyCVName, consolidate.Name, evacuate.Name, "fixed-batch", disaster.Name}

// New builds the named policy. Unknown names and unknown or malformed
// parameters are errors, all reported at once.
func New(name string, s Settings) (policy.Policy, error) {
	p := params{m: s.Params, used: map[string]bool{}}
	var pol policy.Policy
	var err error
	switch name {
	case balance.Name, balance.GreedyCVName:
		a := balance.Args{Threshold: s.Threshold, Hysteresis: s.Hysteresis, MaxMoves: s.MaxMoves}
		a.Weights.CPU = p.float("cpu_weight")
		a.Weights.Memory = p.float("memory_weight")
		a.CostPerGiB = p.float("cost_per_gib")
		a.MinGain = p.float("min_gain")
		a.Cooldown = p.duration("cooldown")
		a.Sources = p.int("sources")
		a.Dests = p.int("dests")
		if name == balance.Name {
			pol, err = balance.New(a)
		} else {
			switch m, _ := p.get("metric"); m {
			case "", "memory":
				a.Weights.CPU, a.Weights.Memory = 0, 1
			case "cpu":
				a.Weights.CPU, a.Weights.Memory = 1, 0
			default:
				p.errs = append(p.errs, fmt.Errorf("policy param metric: want memory or cpu, got %q", m))
			}
			pol, err = balance.NewGreedyCV(a)
		}
	case consolidate.Name:
		pol, err = consolidate.New(consolidate.Args{
			TargetCPU: p.float("target_cpu"), TargetMemory: p.float("target_memory"), MaxHosts: p.int("max_hosts"),
		})
	case evacuate.Name, "planned":
		pol, err = evacuate.New(evacuate.Args{SpreadWeight: p.float("spread_weight")})
	case "fixed-batch":
		pol, err = evacuate.New(evacuate.Args{Strategy: evacuate.StrategyFixedBatch})
	case disaster.Name:
		pol, err = disaster.New(disaster.Args{Margin: p.float("margin")})
	case "disaster-fixed-batch":
		pol, err = disaster.New(disaster.Args{FixedBatch: true})
	default:
		return nil, fmt.Errorf("unknown policy %q (want one of %v)", name, Names)
	}
	for _, k := range Unused(s.Params) {
		p.errs = append(p.errs, fmt.Errorf("unknown policy param %q", k))
	}
	if err := errors.Join(append(p.errs, err)...); err != nil {
		return nil, err
	}
	return pol, nil
}

// Unused lists parameters no policy read, sorted, so callers can warn.
func Unused(params map[string]string) []string {
	used := map[string]bool{}
	for _, k := range []string{"cpu_weight", "memory_weight", "cost_per_gib", "min_gain", "cooldown", "sources", "dests", "metric",
		"target_cpu", "target_memory", "max_hosts", "spread_weight", "margin"} {
		used[k] = true
	}
	var out []string
	for k := range params {
		if !used[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

type params struct {
	m    map[string]string
	used map[string]bool
	errs []error
}

func (p *params) get(k string) (string, bool) {
	v, ok := p.m[k]
	p.used[k] = true
	return v, ok
}

func (p *params) float(k string) float64 {
	v, ok := p.get(k)
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("policy param %s: want a number, got %q", k, v))
	}
	return f
}

func (p *params) int(k string) int {
	v, ok := p.get(k)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("policy param %s: want an integer, got %q", k, v))
	}
	return n
}

func (p *params) duration(k string) time.Duration {
	v, ok := p.get(k)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("policy param %s: want a duration, got %q", k, v))
	}
	return d
}
