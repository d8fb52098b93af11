package disaster

import "fmt"

// Validate reports problems with the arguments.
func Validate(a *Args) error {
	if a.Margin != nil && (*a.Margin < 0 || *a.Margin >= 1) {
		return fmt.Errorf("disaster: margin must be in [0, 1), got %g", *a.Margin)
	}
	return nil
}
