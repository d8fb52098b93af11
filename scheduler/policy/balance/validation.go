package balance

import (
	"errors"
	"fmt"
)

// Validate reports every problem with the arguments at once.
func Validate(a *Args) error {
	var errs []error
	if a.Threshold <= 0 {
		errs = append(errs, fmt.Errorf("balance: threshold must be positive, got %g", a.Threshold))
	}
	if a.Hysteresis <= 0 || a.Hysteresis > 1 {
		errs = append(errs, fmt.Errorf("balance: hysteresis must be in (0, 1], got %g", a.Hysteresis))
	}
	if a.MaxMoves < 0 {
		errs = append(errs, fmt.Errorf("balance: max moves must not be negative, got %d", a.MaxMoves))
	}
	if a.Weights.CPU < 0 || a.Weights.Memory < 0 {
		errs = append(errs, fmt.Errorf("balance: weights must not be negative"))
	}
	if a.CostPerGiB != nil && *a.CostPerGiB < 0 {
		errs = append(errs, fmt.Errorf("balance: cost per GiB must not be negative, got %g", *a.CostPerGiB))
	}
	if a.MinGain != nil && *a.MinGain < 0 {
		errs = append(errs, fmt.Errorf("balance: min gain must not be negative, got %g", *a.MinGain))
	}
	if a.Cooldown != nil && *a.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("balance: cooldown must not be negative, got %s", *a.Cooldown))
	}
	return errors.Join(errs...)
}
