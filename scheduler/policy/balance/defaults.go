package balance

import "time"

// SetDefaults fills unset arguments.
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
	if a.CostPerGiB == 0 {
		a.CostPerGiB = 0.005
	}
	if a.MinGain == 0 {
		a.MinGain = 0.01
	}
	if a.Cooldown == 0 {
		a.Cooldown = 30 * time.Minute
	}
	if a.Sources == 0 {
		a.Sources = 8
	}
	if a.Dests == 0 {
		a.Dests = 32
	}
}
