package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// String formats the position as "file:line:col", dropping the parts that
// are unknown (line 0, column 0, empty file).
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Column))
		}
	}
	return b.String()
}

// Error is one problem in a scenario file, at the place it was found. Msg
// starts with the path of the offending value (hosts[1].names) when there is
// one, and is lower-case.
type Error struct {
	Pos Pos
	Msg string
}

// Error returns "file:line:col: message".
func (e Error) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// Errors is every problem found in a scenario, sorted by file (the scenario
// first, then trace files by name), line and column. Parse and Load return
// it as a *Errors; it is never empty when returned.
type Errors []Error

// Error prints one "file:line:col: message" per line.
func (e *Errors) Error() string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	for i, x := range *e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(x.Error())
	}
	return b.String()
}

// Unwrap returns the individual errors, so errors.As finds an Error.
func (e *Errors) Unwrap() []error {
	if e == nil {
		return nil
	}
	out := make([]error, len(*e))
	for i, x := range *e {
		out[i] = x
	}
	return out
}

// addf records a problem.
func (e *Errors) addf(pos Pos, format string, args ...any) {
	*e = append(*e, Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// finish sorts and de-duplicates the errors of the scenario file main and
// returns them as an error, or nil when there are none.
func (e *Errors) finish(main string) error {
	if len(*e) == 0 {
		return nil
	}
	rank := func(f string) int {
		if f == main {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(*e, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(rank(a.Pos.File), rank(b.Pos.File)),
			strings.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
		)
	})
	seen := make(map[Error]bool, len(*e))
	out := (*e)[:0]
	for _, x := range *e {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	if n := len(out) - MaxErrors; n > 0 {
		// Said where the first of the rest is, so the line still has a place.
		out = append(out[:MaxErrors], Error{Pos: out[MaxErrors].Pos, Msg: fmt.Sprintf("and %d more problems", n)})
	}
	*e = out
	return e
}
