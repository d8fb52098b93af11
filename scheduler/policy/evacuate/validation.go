package evacuate

import (
	"errors"
	"fmt"
)

// Validate reports every problem with the arguments at once.
func Validate(a *Args) error {
	var errs []error
	switch a.Strategy {
	case StrategyPlanned, StrategyFixedBatch:
	default:
		errs = append(errs, fmt.Errorf("evacuate: strategy: want %q or %q, got %q", StrategyPlanned, StrategyFixedBatch, a.Strategy))
	}
	if a.SpreadWeight != nil && *a.SpreadWeight < 0 {
		errs = append(errs, fmt.Errorf("evacuate: spread weight must not be negative, got %g", *a.SpreadWeight))
	}
	return errors.Join(errs...)
}
