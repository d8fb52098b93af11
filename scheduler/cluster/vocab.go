package cluster

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors both worlds return for the same faults; check them with
// errors.Is. The conformance specs (backend/backendtest) hold both to them.
var (
	// ErrHostUnreachable: a host cannot be asked (a snapshot fails whole).
	ErrHostUnreachable = errors.New("host unreachable")
	// ErrNotFound: a migration names a VM or a host the world does not
	// have; MigrationDone.Err wraps it.
	ErrNotFound = errors.New("not found")
	// ErrUnknownCommand: Apply got a command the backend cannot carry out.
	ErrUnknownCommand = errors.New("unknown command")
)

// The words both worlds, every file format and every report share. Each is
// defined here once, with the one function that reads it from text, so that
// a new value is added in one place and every switch over it is checked.

// OnLimit is what the executor does when a limit (iterations, completion
// or progress timeout) fires before pre-copy converged.
type OnLimit string

const (
	LimitAbort    OnLimit = "abort"    // the guest stays on the source
	LimitForce    OnLimit = "force"    // pause the guest and copy the rest: long downtime
	LimitPostcopy OnLimit = "postcopy" // switch to post-copy: the guest resumes on the destination, pages follow
)

// OnLimits are the valid OnLimit values, in the order messages list them.
var OnLimits = []OnLimit{LimitAbort, LimitForce, LimitPostcopy}

// ParseOnLimit reads an OnLimit; "" is not one (a caller with a default
// applies it first).
func ParseOnLimit(s string) (OnLimit, error) { return parseWord(s, "on_limit", OnLimits) }

// Outcome is how a migration ended, or how a plan predicts it ends.
type Outcome string

const (
	OutcomeCompleted Outcome = "completed" // converged; the guest runs on the destination
	OutcomeForced    Outcome = "forced"    // a limit forced the switch-over
	OutcomePostCopy  Outcome = "postcopy"  // a limit switched to post-copy
	OutcomeAborted   Outcome = "aborted"   // aborted (a limit or an operator); the guest stays on the source
	OutcomeFailed    Outcome = "failed"    // the hypervisor failed it; the guest stays on the source
	OutcomeRejected  Outcome = "rejected"  // refused before it started (TLS, pool, capacity)
	// Predictions only: no path with bandwidth (blocked), or a stream whose
	// share fell to nothing on the way (stalled).
	OutcomeBlocked Outcome = "blocked"
	OutcomeStalled Outcome = "stalled"
	// OutcomeUnfinished: still running when the run ended; OutcomeRunning:
	// a predicted move whose end a plan's timing has not reached yet.
	OutcomeUnfinished Outcome = "unfinished"
	OutcomeRunning    Outcome = "running"
	// A policy run's journal record (scheduler.RecPlan): no policy for the
	// request, or the policy failed.
	OutcomeIgnored Outcome = "ignored"
	OutcomeError   Outcome = "error"
)

// Succeeded reports whether the guest runs on the destination afterwards.
// An outcome this version does not know (a journal or report from another)
// did not succeed: a move is never taken as done on a word not understood.
func (o Outcome) Succeeded() bool {
	switch o {
	case OutcomeCompleted, OutcomeForced, OutcomePostCopy:
		return true
	}
	return false
}

// TLSMode is how strictly migrations must be secured.
type TLSMode string

const (
	// TLSMatching: secured to secured over qemu+tls with QEMU native TLS,
	// unsecured to unsecured over qemu+tcp, mixed pairs never (as Apache
	// CloudStack since 4.11.1).
	TLSMatching TLSMode = "matching"
	// TLSRequired: only secured hosts take part; unsecured hosts are
	// reported and left alone.
	TLSRequired TLSMode = "required"
	// TLSOff: no enforcement; mixed pairs travel over TCP and are counted.
	TLSOff TLSMode = "off"
)

// TLSModes are the valid TLSMode values.
var TLSModes = []TLSMode{TLSMatching, TLSRequired, TLSOff}

// ParseTLSMode reads a TLSMode.
func ParseTLSMode(s string) (TLSMode, error) { return parseWord(s, "tls", TLSModes) }

func parseWord[T ~string](s, what string, valid []T) (T, error) {
	for _, v := range valid {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return "", fmt.Errorf("%s %q: want %s", what, s, strings.Join(names, ", "))
}
