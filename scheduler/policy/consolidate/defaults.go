package consolidate

// Defaults of Args.
const (
	DefaultTargetCPU    = 0.8
	DefaultTargetMemory = 0.9
	DefaultMaxHosts     = 2
)

// SetDefaults fills unset arguments (0 would mean nothing for any of them).
func SetDefaults(a *Args) {
	if a.TargetCPU == 0 {
		a.TargetCPU = DefaultTargetCPU
	}
	if a.TargetMemory == 0 {
		a.TargetMemory = DefaultTargetMemory
	}
	if a.MaxHosts == 0 {
		a.MaxHosts = DefaultMaxHosts
	}
}
