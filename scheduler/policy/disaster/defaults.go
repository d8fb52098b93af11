package disaster

// DefaultMargin is Margin's default.
const DefaultMargin = 0.1

// SetDefaults fills unset arguments.
func SetDefaults(a *Args) {
	if a.Margin == nil {
		a.Margin = new(DefaultMargin)
	}
}
