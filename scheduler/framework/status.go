// Package framework holds the small interfaces policies are built from, and
// Status, which keeps an expected "no" (this host cannot take this VM, and
// here is why) apart from a fault.
package framework

import (
	"errors"
	"strings"
)

// Code says what kind of answer a plugin gave.
type Code int

const (
	// Success: the host is feasible, or the step did its work. A nil
	// *Status means Success.
	Success Code = iota
	// Unschedulable: the host cannot take the VM now, but might after other
	// moves (capacity, anti-affinity). Planners may retry after reordering.
	Unschedulable
	// UnschedulableAndUnresolvable: no move will change the answer (pool
	// mismatch, security state, host down). Planners skip the host for good.
	UnschedulableAndUnresolvable
	// Error: a fault, not a decision; the caller stops and reports it.
	Error
	// Skip: the plugin does not apply to this VM or host.
	Skip
)

func (c Code) String() string {
	switch c {
	case Success:
		return "Success"
	case Unschedulable:
		return "Unschedulable"
	case UnschedulableAndUnresolvable:
		return "UnschedulableAndUnresolvable"
	case Error:
		return "Error"
	case Skip:
		return "Skip"
	}
	return "Unknown"
}

// Status is a plugin's answer. Reasons are constant strings with numbers
// filled in, so --explain and tests can match them.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus makes a status with reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps a fault as an Error status; nil stays nil (Success).
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code is the status code; a nil Status is Success.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsRejected reports an expected "no" of either kind.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons returns the reasons; nil for Success.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Plugin names the plugin that gave the status.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records which plugin answered; it returns s for chaining.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// AsError turns a non-success status into an error.
func (s *Status) AsError() error {
	if s.IsSuccess() || s.code == Skip {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return errors.New(s.Message())
}

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

func (s *Status) String() string {
	if s == nil {
		return "Success"
	}
	m := s.code.String()
	if s.plugin != "" {
		m = s.plugin + ": " + m
	}
	if len(s.reasons) > 0 {
		m += ": " + s.Message()
	}
	return m
}
