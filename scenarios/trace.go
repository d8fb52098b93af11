package scenarios

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// maxTraceBytes caps a trace file; maxTraceErrors the problems reported in
// one.
const (
	maxTraceBytes  = 64 << 20
	maxTraceErrors = 10
)

// traceData is a loaded trace file; values is nil when it had errors.
type traceData struct {
	values []float64
	peak   float64
	// failed is the reason the file could not be opened, reported at every
	// reference; problems inside the file are reported once, at their line.
	failed string
}

// tracePath is where a trace named in the scenario lives: relative paths
// start at the scenario's directory.
func (r *resolver) tracePath(name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(r.dir, name)
}

// loadTrace reads the trace of a cpu mapping m, once per file.
func (r *resolver) loadTrace(m *meta, name string) *traceData {
	if strings.TrimSpace(name) == "" {
		r.errf(m, "trace", "must name a file")
		return nil
	}
	path := r.tracePath(name)
	t, ok := r.traces[path]
	if !ok {
		t = r.readTrace(path)
		r.traces[path] = t
	}
	if t.failed != "" {
		r.errf(m, "trace", "%s", t.failed)
		return nil
	}
	if t.values == nil {
		return nil
	}
	return t
}

func (r *resolver) readTrace(path string) *traceData {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &traceData{failed: "trace file " + strconv.Quote(path) + " does not exist"}
	case err != nil:
		return &traceData{failed: "cannot read trace file: " + err.Error()}
	case !st.Mode().IsRegular():
		return &traceData{failed: "trace file " + strconv.Quote(path) + " is not a regular file"}
	case st.Size() > maxTraceBytes:
		return &traceData{failed: "trace file " + strconv.Quote(path) + " is larger than 64MiB"}
	}
	f, err := os.Open(path)
	if err != nil {
		return &traceData{failed: "cannot read trace file: " + err.Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTraceBytes))
	if err != nil {
		return &traceData{failed: "cannot read trace file: " + err.Error()}
	}
	t, errs := parseTrace(path, data)
	*r.errs = append(*r.errs, errs...)
	if len(errs) > 0 {
		return &traceData{}
	}
	if len(t) == 0 {
		return &traceData{failed: "trace file " + strconv.Quote(path) + " holds no values"}
	}
	td := &traceData{values: t}
	for _, v := range t {
		td.peak = max(td.peak, v)
	}
	return td
}

// parseTrace reads demand values: a CSV file with one column (an optional
// header line first) or numbers separated by white space, several to a
// line if wanted. Blank lines and # comments are skipped.
func parseTrace(file string, data []byte) ([]float64, Errors) {
	var (
		vals   []float64
		errs   Errors
		header = true // a header is allowed before the first value
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxTraceBytes)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		type tok struct {
			s   string
			col int
		}
		var toks []tok
		if strings.Contains(text, ",") {
			cells := strings.Split(text, ",")
			if len(cells) > 1 && strings.TrimSpace(cells[len(cells)-1]) == "" {
				cells = cells[:len(cells)-1] // a trailing comma
			}
			if len(cells) != 1 {
				errs.addf(Pos{File: file, Line: line, Column: len(cells[0]) + 2}, "expected one column, got %d", len(cells))
				header = false
				continue
			}
			c := cells[0]
			toks = append(toks, tok{strings.TrimSpace(c), len(c) - len(strings.TrimLeft(c, " \t")) + 1})
		} else {
			start := -1
			for i := 0; i <= len(text); i++ {
				if i == len(text) || text[i] == ' ' || text[i] == '\t' || text[i] == '\r' {
					if start >= 0 {
						toks = append(toks, tok{text[start:i], start + 1})
						start = -1
					}
				} else if start < 0 {
					start = i
				}
			}
		}
		for _, t := range toks {
			v, err := strconv.ParseFloat(t.s, 64)
			switch {
			case err != nil && header && strings.IndexFunc(t.s, unicode.IsLetter) >= 0:
				// A header line such as "cpu".
			case err != nil:
				errs.addf(Pos{File: file, Line: line, Column: t.col}, "bad value %q: expected a number of cores", t.s)
			case math.IsNaN(v) || math.IsInf(v, 0):
				errs.addf(Pos{File: file, Line: line, Column: t.col}, "bad value %q: expected a finite number", t.s)
			case v < 0:
				errs.addf(Pos{File: file, Line: line, Column: t.col}, "negative demand %s", t.s)
			default:
				vals = append(vals, v)
			}
		}
		header = false
	}
	if len(errs) > maxTraceErrors {
		more, last := len(errs)-maxTraceErrors, errs[len(errs)-1].Pos
		errs = errs[:maxTraceErrors]
		errs.addf(last, "and %d more problems up to here; is this a trace file?", more)
	}
	if err := sc.Err(); err != nil {
		errs.addf(Pos{File: file}, "cannot read trace: %v", err)
	}
	return vals, errs
}
