package balance

import "time"

// Defaults of the arguments where 0 is a value one may ask for.
const (
	DefaultCostPerGiB = 0.005
	DefaultMinGain    = 0.01
	DefaultCooldown   = 30 * time.Minute
	DefaultSources    = 8
	DefaultDests      = 32
)

// SetDefaults fills unset arguments: nil pointers, and the zero of those
// where 0 would mean nothing (threshold, hysteresis, weights, counts).
func SetDefaults(a *Args) {
	if a.Threshold == 0 {
		a.Threshold = 0.2
	}
	if a.Hysteresis == 0 {
		a.Hysteresis = 0.8
	}
	if a.MaxMoves == 0 {
		a.MaxMoves = 10
	}
	if a.Weights.CPU == 0 && a.Weights.Memory == 0 {
		a.Weights.CPU, a.Weights.Memory = 1, 1
	}
	if a.CostPerGiB == nil {
		a.CostPerGiB = new(DefaultCostPerGiB)
	}
	if a.MinGain == nil {
		a.MinGain = new(DefaultMinGain)
	}
	if a.Cooldown == nil {
		a.Cooldown = new(DefaultCooldown)
	}
	if a.Sources == 0 {
		a.Sources = DefaultSources
	}
	if a.Dests == 0 {
		a.Dests = DefaultDests
	}
}
