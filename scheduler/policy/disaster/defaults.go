package disaster

// SetDefaults fills unset arguments.
func SetDefaults(a *Args) {
	if a.Margin == 0 {
		a.Margin = 0.1
	}
}
