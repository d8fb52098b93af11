// Package registry builds policies by name from settings as a scenario or
// the command line gives them, so the simulator and the real driver
// configure them the same way. Each policy declares the parameters it
// reads (Spec), so a parameter is checked against the policy it is meant
// for, and a default is written once, where the policy defines it.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/balance"
	"github.com/droverlab/drover/scheduler/policy/consolidate"
	"github.com/droverlab/drover/scheduler/policy/disaster"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
)

// Settings are a policy's knobs as written: the common ones typed, the
// policy's own parameters as strings (only that policy's: Spec.Params).
type Settings struct {
	Threshold  float64
	Hysteresis float64
	MaxMoves   int
	Params     map[string]string
}

// Kind is how a parameter's value is read.
type Kind string

const (
	Number   Kind = "number"
	Integer  Kind = "integer"
	Duration Kind = "duration"
	Enum     Kind = "enum"
)

// Param is one parameter a policy reads.
type Param struct {
	Key     string
	Kind    Kind
	Values  []string // Enum's
	Default string   // as written in a file; "" when the policy derives it
	Doc     string
}

// Spec is a policy the registry builds: its name and its parameters.
type Spec struct {
	Name   string
	Doc    string
	Params []Param
	build  func(p *params, s Settings) (policy.Policy, error)
}

// Param returns the parameter called key.
func (s Spec) Param(key string) (Param, bool) {
	i := slices.IndexFunc(s.Params, func(p Param) bool { return p.Key == key })
	if i < 0 {
		return Param{}, false
	}
	return s.Params[i], true
}

// Keys lists the parameters' names, sorted.
func (s Spec) Keys() []string {
	out := make([]string, len(s.Params))
	for i, p := range s.Params {
		out[i] = p.Key
	}
	slices.Sort(out)
	return out
}

var balanceParams = []Param{
	{Key: "cpu_weight", Kind: Number, Default: "1", Doc: "weight of CPU in the imbalance (with memory_weight; both 0: 1 and 1)"},
	{Key: "memory_weight", Kind: Number, Default: "1", Doc: "weight of memory in the imbalance"},
	{Key: "cost_per_gib", Kind: Number, Default: fmt.Sprint(balance.DefaultCostPerGiB), Doc: "imbalance a move must remove per GiB it transfers (0: free moves)"},
	{Key: "min_gain", Kind: Number, Default: fmt.Sprint(balance.DefaultMinGain), Doc: "least imbalance any move must remove (0: any gain)"},
	{Key: "cooldown", Kind: Duration, Default: balance.DefaultCooldown.String(), Doc: "how long a VM rests after it moved (0: no rest)"},
	sourcesParam, destsParam,
}

// The search balance and greedy-cv share.
var (
	sourcesParam = Param{Key: "sources", Kind: Integer, Default: fmt.Sprint(balance.DefaultSources), Doc: "most loaded hosts that offer VMs each step"}
	destsParam   = Param{Key: "dests", Kind: Integer, Default: fmt.Sprint(balance.DefaultDests), Doc: "least loaded hosts of each pool that may receive them"}
)

func balanceArgs(p *params, s Settings) balance.Args {
	a := balance.Args{Threshold: s.Threshold, Hysteresis: s.Hysteresis, MaxMoves: s.MaxMoves}
	a.Weights.CPU = p.float("cpu_weight")
	a.Weights.Memory = p.float("memory_weight")
	a.CostPerGiB = p.optFloat("cost_per_gib")
	a.MinGain = p.optFloat("min_gain")
	a.Cooldown = p.optDuration("cooldown")
	a.Sources = p.int("sources")
	a.Dests = p.int("dests")
	return a
}

var evacuateParams = []Param{{Key: "spread_weight", Kind: Number, Default: fmt.Sprint(evacuate.DefaultSpreadWeight),
	Doc: "seconds of planned inbound transfer a destination's free room is worth (0: room alone)"}}

func buildEvacuate(p *params, _ Settings) (policy.Policy, error) {
	return evacuate.New(evacuate.Args{SpreadWeight: p.optFloat("spread_weight")})
}

// Specs are the policies New builds, in the order messages list them.
var Specs = []Spec{
	{Name: balance.Name, Doc: "periodic: CPU and memory balance with a cost per moved GiB", Params: balanceParams,
		build: func(p *params, s Settings) (policy.Policy, error) { return balance.New(balanceArgs(p, s)) }},
	{Name: balance.GreedyCVName, Doc: "periodic baseline: CloudStack DRS's greedy coefficient of variation (no cost, cooldown or hysteresis)",
		Params: []Param{
			{Key: "metric", Kind: Enum, Values: []string{"memory", "cpu", "cpu+memory"}, Default: "memory",
				Doc: "the metric balanced: memory, cpu, or cpu+memory (balance's measure, for a like-for-like comparison)"},
			sourcesParam, destsParam,
		},
		build: func(p *params, s Settings) (policy.Policy, error) {
			a := balance.Args{Threshold: s.Threshold, Hysteresis: s.Hysteresis, MaxMoves: s.MaxMoves,
				Sources: p.int("sources"), Dests: p.int("dests")}
			switch m := p.enum("metric", "memory"); m {
			case "memory":
				a.Weights.CPU, a.Weights.Memory = 0, 1
			case "cpu":
				a.Weights.CPU, a.Weights.Memory = 1, 0
			case "cpu+memory":
				a.Weights.CPU, a.Weights.Memory = 1, 1
			}
			return balance.NewGreedyCV(a)
		}},
	{Name: consolidate.Name, Doc: "periodic: empty lightly used hosts", Params: []Param{
		{Key: "target_cpu", Kind: Number, Default: fmt.Sprint(consolidate.DefaultTargetCPU), Doc: "CPU utilisation a receiving host may reach (0, 1]"},
		{Key: "target_memory", Kind: Number, Default: fmt.Sprint(consolidate.DefaultTargetMemory), Doc: "memory utilisation a receiving host may reach (0, 1]"},
		{Key: "max_hosts", Kind: Integer, Default: fmt.Sprint(consolidate.DefaultMaxHosts), Doc: "hosts emptied per run"},
	}, build: func(p *params, _ Settings) (policy.Policy, error) {
		return consolidate.New(consolidate.Args{TargetCPU: p.float("target_cpu"), TargetMemory: p.float("target_memory"), MaxHosts: p.int("max_hosts")})
	}},
	{Name: evacuate.Name, Doc: "maintenance: drain hosts, spreading the transfers", Params: evacuateParams, build: buildEvacuate},
	{Name: evacuate.StrategyPlanned, Doc: "the evacuation strategy planned: evacuate", Params: evacuateParams, build: buildEvacuate},
	{Name: evacuate.StrategyFixedBatch, Doc: "maintenance baseline: KubeVirt's fixed batches",
		build: func(*params, Settings) (policy.Policy, error) {
			return evacuate.New(evacuate.Args{Strategy: evacuate.StrategyFixedBatch})
		}},
	{Name: disaster.Name, Doc: "disaster avoidance: evacuate a warned zone before its deadline", Params: []Param{
		{Key: "margin", Kind: Number, Default: fmt.Sprint(disaster.DefaultMargin), Doc: "share of the time to the deadline kept in reserve [0, 1)"},
	}, build: func(p *params, _ Settings) (policy.Policy, error) {
		return disaster.New(disaster.Args{Margin: p.optFloat("margin")})
	}},
	{Name: "disaster-fixed-batch", Doc: "disaster baseline: the zone drained in fixed batches",
		build: func(*params, Settings) (policy.Policy, error) { return disaster.New(disaster.Args{FixedBatch: true}) }},
}

// Names lists every name New builds.
var Names = func() []string {
	out := make([]string, len(Specs))
	for i, s := range Specs {
		out[i] = s.Name
	}
	return out
}()

// PowerAwareNames is how messages list the paper's consolidation policies:
// every detector × selector pair with its parameter, too many to list.
const PowerAwareNames = "DETECTOR-SELECTOR-PARAMETER (thr-mmt-0.8, iqr-mmt-1.5, mad-mmt-2.5, lr-mmt-1.2, lrr-mmt-1.2; detectors thr, iqr, mad, lr, lrr; selectors mmt, mc, rs, mu)"

// Lookup returns the policy called name: one of Specs, or one of the
// paper's consolidation policies (poweraware.ParseName reads the name),
// which have no parameters besides the one in their name.
func Lookup(name string) (Spec, bool) {
	i := slices.IndexFunc(Specs, func(s Spec) bool { return s.Name == name })
	if i >= 0 {
		return Specs[i], true
	}
	if _, err := poweraware.ParseName(name); err == nil {
		return Spec{Name: name, Doc: "periodic: Beloglazov and Buyya's dynamic consolidation (overload detection, VM selection, PABFD, underload evacuation)",
			build: func(*params, Settings) (policy.Policy, error) {
				return poweraware.NewShared(name, poweraware.SeedOf(name))
			}}, true
	}
	return Spec{}, false
}

// ParamError is a parameter a policy refuses: unknown to it, or of the
// wrong kind. A caller that read the parameter from a file puts it at the
// key's place.
type ParamError struct {
	Policy, Key string
	Msg         string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("policy %s: param %s: %s", e.Policy, e.Key, e.Msg)
}

// CheckParam checks one parameter of the policy called name without
// building it (nil when fine).
func CheckParam(name, key, value string) *ParamError {
	spec, ok := Lookup(name)
	if !ok {
		return &ParamError{Policy: name, Key: key, Msg: fmt.Sprintf("unknown policy (want one of %s, or %s)", strings.Join(Names, ", "), PowerAwareNames)}
	}
	p, ok := spec.Param(key)
	if !ok {
		known := "it has none"
		if len(spec.Params) > 0 {
			known = "known: " + strings.Join(spec.Keys(), ", ")
		}
		return &ParamError{Policy: name, Key: key, Msg: fmt.Sprintf("not a parameter of %s (%s)", name, known)}
	}
	var err error
	switch p.Kind {
	case Number:
		_, err = strconv.ParseFloat(value, 64)
		if err != nil {
			err = fmt.Errorf("want a number, got %q", value)
		}
	case Integer:
		if _, e := strconv.Atoi(value); e != nil {
			err = fmt.Errorf("want an integer, got %q", value)
		}
	case Duration:
		if _, e := time.ParseDuration(value); e != nil && value != "0" {
			err = fmt.Errorf("want a duration, got %q", value)
		}
	case Enum:
		if !slices.Contains(p.Values, value) {
			err = fmt.Errorf("want %s, got %q", strings.Join(p.Values, " or "), value)
		}
	default:
		panic(fmt.Sprintf("registry: %s.%s has kind %q", name, key, p.Kind))
	}
	if err != nil {
		return &ParamError{Policy: name, Key: key, Msg: err.Error()}
	}
	return nil
}

// New builds the named policy. Unknown names, and parameters the policy
// does not have or cannot read, are errors, all reported at once, with
// the policy's own refusals of the values.
func New(name string, s Settings) (policy.Policy, error) {
	spec, ok := Lookup(name)
	if !ok {
		if poweraware.LooksLikeName(name) {
			// Meant as one of the paper's policies: say what is wrong
			// with the name.
			_, err := poweraware.ParseName(name)
			return nil, err
		}
		return nil, fmt.Errorf("unknown policy %q (want one of %s, or %s)", name, strings.Join(Names, ", "), PowerAwareNames)
	}
	var errs []error
	keys := make([]string, 0, len(s.Params))
	for k := range s.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if e := CheckParam(name, k, s.Params[k]); e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	pol, err := spec.build(&params{m: s.Params}, s)
	if err != nil {
		return nil, err
	}
	return pol, nil
}

// params reads values CheckParam has passed.
type params struct{ m map[string]string }

func (p *params) float(k string) float64 {
	f, _ := strconv.ParseFloat(p.m[k], 64)
	return f
}

func (p *params) optFloat(k string) *float64 {
	if _, ok := p.m[k]; !ok {
		return nil
	}
	return new(p.float(k))
}

func (p *params) int(k string) int {
	n, _ := strconv.Atoi(p.m[k])
	return n
}

func (p *params) optDuration(k string) *time.Duration {
	v, ok := p.m[k]
	if !ok {
		return nil
	}
	d, _ := time.ParseDuration(v)
	return &d
}

func (p *params) enum(k, def string) string {
	if v, ok := p.m[k]; ok {
		return v
	}
	return def
}
