// Package sweep runs many variants of one scenario: a sweep file names a base
// scenario and a matrix of overrides (any scenario field by path), with
// exclude and include rows as in CI matrices. Expand turns it into runs, each
// with a stable id, its overrides and its scenario's hash; a sweep directory
// holds the base once and the overrides per run, and is run by a local
// worker pool (RunLocal) or as a Slurm job array (Submit, Status, Resubmit),
// one task per run. Collect groups the runs' reports by matrix cell (seeds
// are replicates) for the reports package's comparison.
//
// The package sits above scenarios and reports; nothing under scheduler/ or
// sim/ imports it.
package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/droverlab/drover/scenarios"
)

// SeedPath is the scenario field the seed axis sets; a matrix key "seed" is
// short for it. Runs that differ only in it are replicates of one cell.
const SeedPath = "sim.seed"

// MaxRuns bounds a sweep's expansion.
const MaxRuns = 10_000_000

// Spec is a parsed sweep file.
type Spec struct {
	File string // the sweep file, as given
	Name string
	// Base is the base scenario's path (relative paths in the sweep file
	// are relative to it, resolved here), BaseData its bytes and BaseRoot
	// its YAML tree.
	Base     string
	BaseData []byte
	BaseRoot *yaml.Node
	Axes     []Axis
	Exclude  []Row
	Include  []Row
}

// Axis is one key of the matrix and its values, in file order.
type Axis struct {
	Path   string
	Pos    scenarios.Pos
	Values []Value
}

// Value is one override value: its YAML node (positions in the sweep file)
// and its canonical text, which ids and comparisons use.
type Value struct {
	Node  *yaml.Node
	Canon string
}

// Row is one exclude or include entry: paths and values, in file order.
type Row struct {
	Pos   scenarios.Pos
	Paths []string
	Vals  []Value
}

func (r Row) get(path string) (Value, bool) {
	for i, p := range r.Paths {
		if p == path {
			return r.Vals[i], true
		}
	}
	return Value{}, false
}

type errList struct {
	file string
	errs scenarios.Errors
}

func (e *errList) add(n *yaml.Node, format string, args ...any) {
	p := scenarios.Pos{File: e.file, Line: 1, Column: 1}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	e.errs = append(e.errs, scenarios.Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (e *errList) err() error {
	if len(e.errs) == 0 {
		return nil
	}
	out := e.errs
	return &out
}

// Load reads and checks a sweep file and its base scenario. Problems in the
// sweep file come back as a *scenarios.Errors naming the sweep file's
// line and column; problems of a resolved scenario name the base file, or
// the sweep file where an override put the offending value.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, scenarios.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	return Parse(path, data)
}

var rangeRE = regexp.MustCompile(`^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$`)

// Parse is Load from bytes; file names the sweep in messages and is the
// directory base of the base scenario's path.
func Parse(file string, data []byte) (*Spec, error) {
	el := &errList{file: file}
	if len(data) > scenarios.MaxFileBytes {
		el.add(nil, "the sweep file is larger than %d bytes", scenarios.MaxFileBytes)
		return nil, el.err()
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The scenarios loader knows where YAML syntax errors are.
		if _, serr := scenarios.Parse(file, data); serr != nil {
			var se *scenarios.Errors
			if errors.As(serr, &se) && len(*se) > 0 && strings.Contains((*se)[0].Msg, "YAML syntax error") {
				return nil, &scenarios.Errors{(*se)[0]}
			}
		}
		el.add(nil, "YAML syntax error: %v", err)
		return nil, el.err()
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		el.add(nil, "a sweep file is a mapping with base and matrix")
		return nil, el.err()
	}
	root := doc.Content[0]
	s := &Spec{File: file}
	var matrix, baseNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			s.Name = v.Value
			if v.Kind != yaml.ScalarNode {
				el.add(v, "name: expected a string")
			}
		case "base":
			baseNode = v
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				el.add(v, "base: expected the path of a scenario file")
			}
		case "matrix":
			matrix = v
		case "exclude":
			s.Exclude = parseRows(el, v, "exclude")
		case "include":
			s.Include = parseRows(el, v, "include")
		default:
			el.add(k, "unknown key %q (want name, base, matrix, exclude or include)", k.Value)
		}
	}
	if baseNode == nil {
		el.add(root, "missing base: the scenario file the matrix overrides")
	}
	if matrix == nil {
		el.add(root, "missing matrix: a mapping of scenario paths to lists of values")
	} else if matrix.Kind != yaml.MappingNode {
		el.add(matrix, "matrix: expected a mapping of scenario paths to lists of values")
	} else {
		seen := map[string]bool{}
		for i := 0; i+1 < len(matrix.Content); i += 2 {
			k, v := matrix.Content[i], matrix.Content[i+1]
			path := normPath(k.Value)
			if err := checkPath(path); err != nil {
				el.add(k, "matrix: %v", err)
				continue
			}
			if seen[path] {
				el.add(k, "matrix: %s is given twice", path)
				continue
			}
			seen[path] = true
			ax := Axis{Path: path, Pos: scenarios.Pos{File: file, Line: k.Line, Column: k.Column}}
			ax.Values = axisValues(el, path, v)
			if len(ax.Values) == 0 && v.Kind == yaml.SequenceNode {
				el.add(v, "matrix: %s has no values", path)
			}
			s.Axes = append(s.Axes, ax)
		}
		if len(s.Axes) == 0 && len(s.Include) == 0 {
			el.add(matrix, "matrix: no axes")
		}
	}
	axes := map[string]bool{}
	for _, a := range s.Axes {
		axes[a.Path] = true
	}
	for _, r := range s.Exclude {
		for _, p := range r.Paths {
			if !axes[p] {
				el.add(&yaml.Node{Line: r.Pos.Line, Column: r.Pos.Column}, "exclude: %s is not a matrix key", p)
			}
		}
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if err := el.err(); err != nil {
		return nil, err
	}
	s.Base = baseNode.Value
	if !filepath.IsAbs(s.Base) {
		s.Base = filepath.Join(filepath.Dir(file), s.Base)
	}
	bdata, err := os.ReadFile(s.Base)
	if err != nil {
		el.add(baseNode, "base: %v", err)
		return nil, el.err()
	}
	// The base must be a valid scenario by itself: its own errors name
	// its own file.
	if _, err := scenarios.Parse(s.Base, bdata); err != nil {
		return nil, err
	}
	var bdoc yaml.Node
	if err := yaml.Unmarshal(bdata, &bdoc); err != nil {
		return nil, err
	}
	s.BaseData, s.BaseRoot = bdata, bdoc.Content[0]
	return s, nil
}

func parseRows(el *errList, n *yaml.Node, what string) []Row {
	if n.Kind != yaml.SequenceNode {
		el.add(n, "%s: expected a list of mappings", what)
		return nil
	}
	var rows []Row
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode || len(e.Content) == 0 {
			el.add(e, "%s: expected a mapping of scenario paths to values", what)
			continue
		}
		r := Row{Pos: scenarios.Pos{File: el.file, Line: e.Line, Column: e.Column}}
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, v := e.Content[i], e.Content[i+1]
			path := normPath(k.Value)
			if err := checkPath(path); err != nil {
				el.add(k, "%s: %v", what, err)
				continue
			}
			if _, dup := r.get(path); dup {
				el.add(k, "%s: %s is given twice", what, path)
				continue
			}
			if v.Kind == yaml.AliasNode {
				el.add(v, "%s: %s: aliases are not supported", what, path)
				continue
			}
			if path == SeedPath {
				if _, ok := seedValue(v); !ok {
					el.add(v, "%s: %s: expected a seed (an integer, at least 0), got %q", what, path, v.Value)
					continue
				}
			}
			r.Paths = append(r.Paths, path)
			r.Vals = append(r.Vals, makeValue(v))
		}
		rows = append(rows, r)
	}
	return rows
}

// axisValues reads a matrix key's values: a list (items "A..B" are integer
// ranges, both ends included) or a single range.
func axisValues(el *errList, path string, v *yaml.Node) []Value {
	var items []*yaml.Node
	switch v.Kind {
	case yaml.SequenceNode:
		items = v.Content
	case yaml.ScalarNode:
		if !rangeRE.MatchString(v.Value) {
			el.add(v, "matrix: %s: expected a list of values or a range such as 1..30, got %q", path, v.Value)
			return nil
		}
		items = []*yaml.Node{v}
	default:
		el.add(v, "matrix: %s: expected a list of values", path)
		return nil
	}
	var out []Value
	for _, it := range items {
		if it.Kind == yaml.AliasNode {
			el.add(it, "matrix: %s: aliases are not supported", path)
			continue
		}
		if it.Kind == yaml.ScalarNode && it.Style == 0 {
			if m := rangeRE.FindStringSubmatch(it.Value); m != nil {
				a, err1 := strconv.ParseInt(m[1], 10, 64)
				b, err2 := strconv.ParseInt(m[2], 10, 64)
				switch {
				case err1 != nil || err2 != nil:
					el.add(it, "matrix: %s: range %q is out of range", path, it.Value)
				case b < a:
					el.add(it, "matrix: %s: range %q is empty (%d > %d)", path, it.Value, a, b)
				case b-a >= MaxRuns:
					el.add(it, "matrix: %s: range %q has more than %d values", path, it.Value, MaxRuns)
				case path == SeedPath && a < 0:
					el.add(it, "matrix: %s: seeds are at least 0, got %q", path, it.Value)
				default:
					for x := a; x <= b; x++ {
						s := strconv.FormatInt(x, 10)
						out = append(out, Value{Node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: s, Line: it.Line, Column: it.Column}, Canon: s})
					}
				}
				continue
			}
		}
		if path == SeedPath {
			if _, ok := seedValue(it); !ok {
				el.add(it, "matrix: %s: expected a seed (an integer, at least 0), got %q", path, it.Value)
				continue
			}
		}
		out = append(out, makeValue(it))
	}
	return out
}

func seedValue(n *yaml.Node) (uint64, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	x, err := strconv.ParseUint(n.Value, 0, 64)
	return x, err == nil
}

func makeValue(n *yaml.Node) Value {
	return Value{Node: n, Canon: canon(n)}
}

// canon is a value's canonical text: YAML in flow style, without comments
// or the source's quoting where none is needed. Parsing it gives the value
// back with its type.
func canon(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Style == 0 {
		return n.Value
	}
	c := cleanCopy(n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return n.Value
	}
	enc.Close()
	return strings.TrimSuffix(b.String(), "\n")
}

func cleanCopy(n *yaml.Node) *yaml.Node {
	c := &yaml.Node{Kind: n.Kind, Tag: n.ShortTag(), Value: n.Value}
	if n.Kind != yaml.ScalarNode {
		c.Style = yaml.FlowStyle
	}
	for _, x := range n.Content {
		c.Content = append(c.Content, cleanCopy(x))
	}
	return c
}

// normPath turns a matrix key into a scenario path: "seed" is sim.seed.
func normPath(k string) string {
	if k == "seed" {
		return SeedPath
	}
	return k
}

var segRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$`)

// checkPath accepts paths such as policy.balance.threshold or
// hosts[0].cpus.
func checkPath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	for _, seg := range strings.Split(p, ".") {
		if !segRE.MatchString(seg) {
			return fmt.Errorf("%q is not a scenario path (keys joined by dots, list items as [N], such as policy.balance.threshold or hosts[0].cpus)", p)
		}
	}
	return nil
}
