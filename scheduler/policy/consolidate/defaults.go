package consolidate

// SetDefaults fills unset arguments.
func SetDefaults(a *Args) {
	if a.TargetCPU == 0 {
		a.TargetCPU = 0.8
	}
	if a.TargetMemory == 0 {
		a.TargetMemory = 0.9
	}
	if a.MaxHosts == 0 {
		a.MaxHosts = 2
	}
}
