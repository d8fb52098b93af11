package scenarios

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExpansion caps the names one pattern may expand to, so a typo such as
// h[1-99999999] fails fast instead of exhausting memory.
const maxExpansion = 1_000_000

// rangeGroup is one [..] group of a pattern: its numbers, in order, each
// written with width digits.
type rangeGroup struct {
	nums  []int64
	width []int
}

// ExpandNames expands a name pattern. Each [a-b] group stands for the numbers
// a to b, zero-padded to the width of a as written ("h[01-10]" gives h01 …
// h10); a group may also list numbers and ranges separated by commas
// ("[1,3,5-7]"). Several groups multiply, the leftmost varying slowest. A
// name without brackets is itself.
func ExpandNames(pattern string) ([]string, error) {
	return expandPattern(pattern, maxExpansion)
}

func expandPattern(p string, limit int) ([]string, error) {
	if strings.TrimSpace(p) == "" {
		return nil, fmt.Errorf("empty name")
	}
	if !strings.ContainsAny(p, "[]") {
		return []string{p}, nil
	}
	bad := func(format string, args ...any) ([]string, error) {
		return nil, fmt.Errorf("bad range %q: %s", p, fmt.Sprintf(format, args...))
	}
	var (
		lits   []string
		groups []rangeGroup
		lit    strings.Builder
	)
	total := 1
	for i := 0; i < len(p); {
		switch p[i] {
		case ']':
			return bad("unexpected \"]\" at offset %d", i)
		case '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				return bad("missing \"]\" after \"[\" at offset %d", i)
			}
			body := p[i+1 : i+1+end]
			if strings.ContainsRune(body, '[') {
				return bad("missing \"]\" after \"[\" at offset %d", i)
			}
			g, err := parseGroup(body)
			if err != nil {
				return bad("%v", err)
			}
			if len(g.nums) > limit/total {
				return bad("expands to more than %d names", limit)
			}
			total *= len(g.nums)
			lits = append(lits, lit.String())
			lit.Reset()
			groups = append(groups, g)
			i += end + 2
		default:
			lit.WriteByte(p[i])
			i++
		}
	}
	lits = append(lits, lit.String())

	out := make([]string, 0, total)
	idx := make([]int, len(groups))
	var b strings.Builder
	for {
		b.Reset()
		for k, g := range groups {
			b.WriteString(lits[k])
			s := strconv.FormatInt(g.nums[idx[k]], 10)
			for n := len(s); n < g.width[idx[k]]; n++ {
				b.WriteByte('0')
			}
			b.WriteString(s)
		}
		b.WriteString(lits[len(groups)])
		out = append(out, b.String())
		// Advance the rightmost group first.
		k := len(groups) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < len(groups[k].nums) {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return out, nil
		}
	}
}

// parseGroup parses the inside of [..]: "01-10" or "1,3,5-7".
func parseGroup(body string) (rangeGroup, error) {
	var g rangeGroup
	if strings.TrimSpace(body) == "" {
		return g, fmt.Errorf("empty []")
	}
	for part := range strings.SplitSeq(body, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseBound(lo)
		if err != nil {
			return g, err
		}
		b := a
		if isRange {
			if b, err = parseBound(hi); err != nil {
				return g, err
			}
		}
		if a > b {
			return g, fmt.Errorf("start %s is greater than end %s", lo, hi)
		}
		if b-a >= maxExpansion || len(g.nums)+int(b-a) >= maxExpansion {
			return g, fmt.Errorf("expands to more than %d names", maxExpansion)
		}
		for n := a; n <= b; n++ {
			g.nums = append(g.nums, n)
			g.width = append(g.width, len(lo))
		}
	}
	return g, nil
}

func parseBound(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("missing number in range")
	}
	if len(s) > 15 {
		return 0, fmt.Errorf("number %s is too long", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
