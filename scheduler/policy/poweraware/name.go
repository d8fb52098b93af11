package poweraware

import (
	"fmt"
	"strconv"
	"strings"
)

// Name is a parsed policy name: detector-selector-parameter, as in
// thr-mmt-0.8, iqr-mmt-1.5, mad-mmt-2.5, lr-mmt-1.2, lrr-mmt-1.2 (the names
// of the CloudSim PlanetLab runs, with "-" for "_").
type Name struct {
	Detector, Selector string
	Param              float64
}

func (n Name) String() string {
	return n.Detector + "-" + n.Selector + "-" + strconv.FormatFloat(n.Param, 'g', -1, 64)
}

// ParseName reads detector-selector-parameter; "_" may stand for "-".
// Every problem with the name is reported together.
func ParseName(s string) (Name, error) {
	parts := strings.Split(strings.ReplaceAll(s, "_", "-"), "-")
	if len(parts) != 3 {
		return Name{}, fmt.Errorf("poweraware: policy %q: want DETECTOR-SELECTOR-PARAMETER, as thr-mmt-0.8 (detectors thr, iqr, mad, lr, lrr; selectors mmt, mc, rs, mu)", s)
	}
	var errs []string
	n := Name{Detector: parts[0], Selector: parts[1]}
	p, err := strconv.ParseFloat(parts[2], 64)
	if err != nil {
		errs = append(errs, fmt.Sprintf("parameter %q is not a number", parts[2]))
	}
	n.Param = p
	if err == nil {
		if _, err := NewDetector(n.Detector, p); err != nil {
			errs = append(errs, strings.TrimPrefix(err.Error(), "poweraware: "))
		}
	} else if _, err := NewDetector(n.Detector, 1); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "poweraware: "))
	}
	if _, err := NewSelector(n.Selector, 0); err != nil {
		errs = append(errs, strings.TrimPrefix(err.Error(), "poweraware: "))
	}
	if len(errs) > 0 {
		return Name{}, fmt.Errorf("poweraware: policy %q: %s", s, strings.Join(errs, "; "))
	}
	return n, nil
}

// NewPolicy builds the policy a name stands for; seed feeds RS.
func NewPolicy(n Name, seed uint64) (*Policy, error) {
	d, err := NewDetector(n.Detector, n.Param)
	if err != nil {
		return nil, err
	}
	s, err := NewSelector(n.Selector, seed)
	if err != nil {
		return nil, err
	}
	return &Policy{Detector: d, Selector: s}, nil
}

// LooksLikeName reports whether s has the shape of a policy name here
// (three parts, the first a detector or the second a selector), so that a
// caller that builds other policies by name can say what s is meant to be.
func LooksLikeName(s string) bool {
	parts := strings.Split(strings.ReplaceAll(s, "_", "-"), "-")
	if len(parts) != 3 {
		return false
	}
	_, errD := NewDetector(parts[0], 1)
	_, errS := NewSelector(parts[1], 0)
	return errD == nil || errS == nil
}
