package scenarios

import "time"

// Bounds on what a scenario may ask for, so that no file, however small,
// can make validate or sim exhaust memory or run for ever. Each is far
// beyond what a real study needs (the generated 10,000-host, 200,000-VM
// day is 0.6 MB); a file over one gets an error that names it.
const (
	// MaxFileBytes bounds a scenario file (trace files are read apart).
	MaxFileBytes = 8 << 20
	// MaxNesting bounds how deep collections nest: flow collections
	// ([ ], { }) plus block levels. Scenario files need about 6.
	MaxNesting = 64
	// MinInterval bounds every interval that makes work in a run: the
	// periodic policy's, sampling's, a random walk's and a trace's step.
	MinInterval = time.Second
	// MaxDuration bounds sim.duration: a year of virtual time.
	MaxDuration = 366 * 24 * time.Hour
	// MaxSamples bounds sim.duration / sim.sample_interval: each sample
	// holds a value per host.
	MaxSamples = 1_000_000
	// MaxFactor bounds a load spike's factor.
	MaxFactor = 1000.0
	// MaxErrors is how many problems a file reports before "and N more".
	MaxErrors = 50
)

// prescan checks the size and the nesting of data before the YAML parser
// sees it: the parser recurses once per level and allocates per node, so a
// 200 KB file of nested brackets would take gigabytes. It lexes just enough
// YAML to count levels: quoted scalars and comments are skipped, flow
// brackets counted, and a block level is a line's indentation plus any
// "- " and "? " indicators that open nested block nodes on it. Block
// scalars (| and >) are skipped by their indentation.
func prescan(file string, data []byte, errs *Errors) bool {
	if len(data) > MaxFileBytes {
		errs.addf(Pos{File: file, Line: 1, Column: 1}, "the file has more than %d bytes (%d MiB), the most a scenario file may have",
			MaxFileBytes, MaxFileBytes>>20)
		return false
	}
	var (
		line, col = 1, 0
		flow      int
		quote     byte // 0, '\'' or '"'
		escape    bool
		comment   bool
		lineStart = true
		indent    int
		block     []int // indentation of the open block levels
		scalarAt  = -1  // indentation a block scalar's lines must exceed
	)
	bad := func(format string, args ...any) bool {
		errs.addf(Pos{File: file, Line: line, Column: max(col, 1)}, format, args...)
		return false
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		col++
		if c == '\n' {
			line, col, lineStart, indent, comment, escape = line+1, 0, true, 0, false, false
			continue // a quoted scalar may span lines: quote stays as it is
		}
		if comment {
			continue
		}
		if lineStart {
			if c == ' ' {
				indent++
				continue
			}
			lineStart = false
			if scalarAt >= 0 {
				if indent > scalarAt {
					comment = true // a block scalar's line: text, not structure
					continue
				}
				scalarAt = -1
			}
			if quote == 0 && flow == 0 {
				for len(block) > 0 && block[len(block)-1] >= indent {
					block = block[:len(block)-1]
				}
				block = append(block, indent)
				// "- - - x" opens a level per indicator on one line.
				for j := i; j+1 < len(data) && (data[j] == '-' || data[j] == '?') && (data[j+1] == ' ' || data[j+1] == '\n'); j += 2 {
					block = append(block, indent+j-i+2)
					for j+2 < len(data) && data[j+2] == ' ' {
						j++
					}
				}
				if len(block) > MaxNesting {
					return bad("collections nest more than %d levels deep here; a scenario needs far fewer", MaxNesting)
				}
			}
		}
		switch {
		case quote == '"':
			switch {
			case escape:
				escape = false
			case c == '\\':
				escape = true
			case c == '"':
				quote = 0
			}
		case quote == '\'':
			if c == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					i++
					col++
				} else {
					quote = 0
				}
			}
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\t'):
			comment = true
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			flow++
			if flow+len(block) > MaxNesting {
				return bad("collections nest more than %d levels deep here; a scenario needs far fewer", MaxNesting)
			}
		case c == ']' || c == '}':
			flow = max(flow-1, 0)
		case (c == '|' || c == '>') && flow == 0 && blockScalarStart(data, i):
			scalarAt = indent
		}
	}
	return true
}

// blockScalarStart reports whether the | or > at i starts a block scalar:
// it follows ": " or "- " (or starts the value) and only a chomping or
// indentation indicator and a comment follow it on its line.
func blockScalarStart(data []byte, i int) bool {
	if i == 0 || data[i-1] != ' ' {
		return false
	}
	for j := i + 1; j < len(data) && data[j] != '\n'; j++ {
		switch c := data[j]; {
		case c == '+' || c == '-' || c >= '1' && c <= '9':
		case c == ' ' || c == '\t':
		case c == '#':
			return true
		default:
			return false
		}
	}
	return true
}

// atLeast reports a duration under lo as an error at key.
func (r *resolver) atLeast(m *meta, key string, d, lo time.Duration) bool {
	if d < lo {
		r.errf(m, key, "must be at least %s, got %s: a shorter one makes a run's work unbounded", formatDuration(lo), formatDuration(d))
		return false
	}
	return true
}

// checkBudget refuses a run whose samples alone would not fit in memory.
func (r *resolver) checkBudget() {
	s := r.sc.Sim
	if s.SampleInterval <= 0 || r.raw.Sim == nil {
		return
	}
	if n := int64(s.Duration / s.SampleInterval); n > MaxSamples {
		key := "sample_interval"
		if !r.raw.Sim.has(key) {
			key = "duration"
		}
		r.errf(&r.raw.Sim.meta, key, "%s / %s is %d samples; at most %d are kept (raise sample_interval)",
			formatDuration(s.Duration), formatDuration(s.SampleInterval), n, MaxSamples)
	}
}
