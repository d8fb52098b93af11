package consolidate

import (
	"errors"
	"fmt"
)

// Validate reports every problem with the arguments at once.
func Validate(a *Args) error {
	var errs []error
	if a.TargetCPU <= 0 || a.TargetCPU > 1 {
		errs = append(errs, fmt.Errorf("consolidate: target cpu must be in (0, 1], got %g", a.TargetCPU))
	}
	if a.TargetMemory <= 0 || a.TargetMemory > 1 {
		errs = append(errs, fmt.Errorf("consolidate: target memory must be in (0, 1], got %g", a.TargetMemory))
	}
	if a.MaxHosts < 0 {
		errs = append(errs, fmt.Errorf("consolidate: max hosts must not be negative, got %d", a.MaxHosts))
	}
	return errors.Join(errs...)
}
