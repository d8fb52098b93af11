// Package framework holds the filter interface policies are built from, and
// Status, which keeps an expected "no" (this host cannot take this VM, and
// here is why) apart from a host that might take it later.
package framework

import (
	"strings"
)

// Code says what kind of answer a filter gave. Filters are pure functions
// of the planned state, so a "no" is a decision, never a fault: there is no
// error code, and nothing to skip.
type Code int

const (
	// Success: the host is feasible. A nil *Status means Success.
	Success Code = iota
	// Unschedulable: the host cannot take the VM now, but might after
	// other moves (capacity, affinity): a placer asks again on its next
	// try, and --explain says so.
	Unschedulable
	// UnschedulableAndUnresolvable: no move will change the answer (pool,
	// security state, host down, the VM pinned): --explain says so, so an
	// operator knows that freeing room would not help.
	UnschedulableAndUnresolvable
)

func (c Code) String() string {
	switch c {
	case Success:
		return "Success"
	case Unschedulable:
		return "Unschedulable"
	case UnschedulableAndUnresolvable:
		return "UnschedulableAndUnresolvable"
	}
	return "Unknown"
}

// Status is a plugin's answer. Reasons are constant strings with numbers
// filled in, so --explain and tests can match them.
type Status struct {
	code    Code
	reasons []string
	plugin  string
}

// NewStatus makes a status with reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
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
