package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/sim"
)

// Override sets one scenario field: Path as in the sweep file, Value its
// canonical YAML text.
type Override struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Run is one run of a sweep.
type Run struct {
	// Index is the run's place in the expansion (its Slurm array index).
	Index int `json:"index"`
	// ID is stable: a hash of the canonical override set, so the same
	// sweep gives the same ids, whatever the order of its keys.
	ID string `json:"id"`
	// Cell names the matrix point without the seed: runs of one cell
	// differ only in their seed and are its replicates.
	Cell string `json:"cell"`
	// Hash identifies the fully resolved scenario: SHA-256 of the base
	// file's bytes and the canonical overrides.
	Hash      string     `json:"scenario_hash"`
	Overrides []Override `json:"overrides"`
	nodes     []*yaml.Node
}

type combo struct {
	paths []string
	vals  []Value
	naxes int // the first naxes entries are matrix values; the rest include's extras
}

func (c *combo) get(p string) (int, bool) {
	for i, q := range c.paths {
		if q == p {
			return i, true
		}
	}
	return -1, false
}

// Expand lists the sweep's runs in a stable order: the matrix's product
// (the last key varies fastest), less the combinations an exclude row
// matches, with include rows applied as GitHub Actions does: a row's
// values are added to every combination whose matrix values it matches
// (it never changes a matrix value, it may change an earlier include's),
// and a row that matches none is a combination of its own. A new
// combination that does not set the seed gets every seed of the matrix.
// Duplicate runs are dropped.
func (s *Spec) Expand() ([]Run, error) {
	total := 1
	for _, a := range s.Axes {
		total *= max(len(a.Values), 1)
		if total > MaxRuns {
			return nil, fmt.Errorf("%s: the matrix has more than %d runs", s.File, MaxRuns)
		}
	}
	var combos []combo
	if len(s.Axes) > 0 {
		idx := make([]int, len(s.Axes))
		paths := make([]string, len(s.Axes))
		for i, a := range s.Axes {
			paths[i] = a.Path
		}
		for {
			c := combo{paths: paths, vals: make([]Value, len(s.Axes)), naxes: len(s.Axes)}
			for i, a := range s.Axes {
				c.vals[i] = a.Values[idx[i]]
			}
			if !excluded(s.Exclude, &c) {
				combos = append(combos, c)
			}
			i := len(idx) - 1
			for ; i >= 0; i-- {
				idx[i]++
				if idx[i] < len(s.Axes[i].Values) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}
	orig := len(combos)
	var seeds []Value
	for _, a := range s.Axes {
		if a.Path == SeedPath {
			seeds = a.Values
		}
	}
	for _, r := range s.Include {
		matched := false
		for ci := 0; ci < orig; ci++ {
			c := &combos[ci]
			ok := true
			for i, p := range r.Paths {
				if j, has := c.get(p); has && j < c.naxes && c.vals[j].Canon != r.Vals[i].Canon {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			matched = true
			for i, p := range r.Paths {
				j, has := c.get(p)
				switch {
				case !has:
					c.paths = append(slices.Clip(c.paths), p)
					c.vals = append(slices.Clip(c.vals), r.Vals[i])
				case j >= c.naxes:
					c.vals = slices.Clone(c.vals)
					c.vals[j] = r.Vals[i]
				}
			}
		}
		if matched {
			continue
		}
		if _, has := r.get(SeedPath); has || len(seeds) == 0 {
			combos = append(combos, combo{paths: r.Paths, vals: r.Vals})
			continue
		}
		for _, sd := range seeds {
			combos = append(combos, combo{paths: append(slices.Clip(r.Paths), SeedPath), vals: append(slices.Clip(r.Vals), sd)})
		}
	}
	baseSum := sha256.Sum256(s.BaseData)
	runs := make([]Run, 0, len(combos))
	seen := make(map[string]bool, len(combos))
	var b strings.Builder
	for _, c := range combos {
		r := Run{Overrides: make([]Override, len(c.paths)), nodes: make([]*yaml.Node, len(c.paths))}
		for i, p := range c.paths {
			r.Overrides[i] = Override{Path: p, Value: c.vals[i].Canon}
			r.nodes[i] = c.vals[i].Node
		}
		r.ID, r.Cell = ids(&b, r.Overrides)
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		b.Reset()
		b.Write(baseSum[:])
		b.WriteString(r.ID)
		h := sha256.Sum256([]byte(b.String()))
		r.Hash = hex.EncodeToString(h[:12])
		r.Index = len(runs)
		runs = append(runs, r)
	}
	return runs, nil
}

// ids returns a run's id (a hash of its overrides sorted by path) and its
// cell's name (its overrides but the seed, in sweep order).
func ids(b *strings.Builder, ov []Override) (id, cell string) {
	sorted := slices.Clone(ov)
	slices.SortFunc(sorted, func(a, b Override) int { return strings.Compare(a.Path, b.Path) })
	b.Reset()
	for _, o := range sorted {
		b.WriteString(o.Path)
		b.WriteByte('=')
		b.WriteString(o.Value)
		b.WriteByte('\n')
	}
	h := sha256.Sum256([]byte(b.String()))
	b.Reset()
	for _, o := range ov {
		if o.Path == SeedPath {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(o.Path)
		b.WriteByte('=')
		b.WriteString(o.Value)
	}
	cell = b.String()
	if cell == "" {
		cell = "base"
	}
	return hex.EncodeToString(h[:6]), cell
}

func excluded(rows []Row, c *combo) bool {
	for _, r := range rows {
		all := true
		for i, p := range r.Paths {
			j, ok := c.get(p)
			if !ok || c.vals[j].Canon != r.Vals[i].Canon {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// Seed is the run's seed override, if it has one.
func (r *Run) Seed() (uint64, bool) {
	for _, o := range r.Overrides {
		if o.Path == SeedPath {
			x, err := strconv.ParseUint(o.Value, 0, 64)
			return x, err == nil
		}
	}
	return 0, false
}

// lineOffset marks nodes that come from the sweep file when the resolved
// tree is checked, so their errors can name the sweep file.
const lineOffset = 1 << 24

// Apply returns a copy of base with the overrides set. Override nodes come
// from the run's own values where it has them (their positions in the sweep
// file, marked), else from their canonical text.
func Apply(base *yaml.Node, r *Run) (*yaml.Node, error) {
	root := copyTree(base, 0)
	for i, o := range r.Overrides {
		var v *yaml.Node
		if i < len(r.nodes) && r.nodes[i] != nil {
			v = copyTree(r.nodes[i], lineOffset)
		} else {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(o.Value), &doc); err != nil {
				return nil, fmt.Errorf("override %s: %w", o.Path, err)
			}
			if len(doc.Content) == 0 {
				v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			} else {
				v = doc.Content[0]
			}
		}
		if err := set(root, o.Path, v); err != nil {
			return nil, err
		}
	}
	return root, nil
}

func copyTree(n *yaml.Node, off int) *yaml.Node {
	c := *n
	if off != 0 && c.Line > 0 {
		c.Line += off
	}
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	if n.Alias != nil {
		c.Alias = copyTree(n.Alias, off)
	}
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			c.Content[i] = copyTree(x, off)
		}
	}
	return &c
}

// set puts v at path in the tree under root, creating mappings on the way.
func set(root *yaml.Node, path string, v *yaml.Node) error {
	cur := root
	segs := strings.Split(path, ".")
	for si, seg := range segs {
		m := segRE.FindStringSubmatch(seg)
		if m == nil {
			return fmt.Errorf("%s: not a scenario path", path)
		}
		key := m[1]
		var idx []int
		for _, x := range strings.Split(m[2], "[")[1:] {
			n, _ := strconv.Atoi(strings.TrimSuffix(x, "]"))
			idx = append(idx, n)
		}
		for cur.Kind == yaml.AliasNode {
			cur = cur.Alias
		}
		if cur.Kind != yaml.MappingNode {
			if cur.Kind == yaml.ScalarNode && cur.ShortTag() == "!!null" {
				*cur = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: cur.Line, Column: cur.Column}
			} else {
				return fmt.Errorf("%s: %s is not a mapping in the base scenario", path, strings.Join(segs[:si], "."))
			}
		}
		last := si == len(segs)-1 && len(idx) == 0
		var child *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == key {
				if last {
					cur.Content[i+1] = v
					return nil
				}
				child = cur.Content[i+1]
				break
			}
		}
		if child == nil {
			if len(idx) > 0 {
				return fmt.Errorf("%s: the base scenario has no %s", path, strings.Join(append(segs[:si:si], key), "."))
			}
			if last {
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
				return nil
			}
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, child)
		}
		for k, n := range idx {
			for child.Kind == yaml.AliasNode {
				child = child.Alias
			}
			if child.Kind != yaml.SequenceNode || n >= len(child.Content) {
				return fmt.Errorf("%s: the base scenario has no item [%d] there", path, n)
			}
			if si == len(segs)-1 && k == len(idx)-1 {
				child.Content[n] = v
				return nil
			}
			child = child.Content[n]
		}
		cur = child
	}
	return nil
}

// Resolve applies a run's overrides to the base and loads the result with
// the scenarios loader, so validation is the scenario's own. Errors at
// values the sweep file set name the sweep file's line and column; the
// others name the base file. file is the name the scenario is parsed under
// (its directory is the base of trace files).
func (s *Spec) Resolve(r *Run) (*scenarios.Scenario, error) {
	return resolve(s.File, s.Base, s.BaseRoot, r)
}

func resolve(sweepFile, baseFile string, base *yaml.Node, r *Run) (*scenarios.Scenario, error) {
	root, err := Apply(base, r)
	if err != nil {
		return nil, fmt.Errorf("%s: run %s: %w", sweepFile, r.ID, err)
	}
	sc, err := scenarios.ParseNode(baseFile, root)
	if err != nil {
		var se *scenarios.Errors
		if errors.As(err, &se) {
			out := make(scenarios.Errors, len(*se))
			for i, e := range *se {
				if e.Pos.Line > lineOffset {
					e.Pos = scenarios.Pos{File: sweepFile, Line: e.Pos.Line - lineOffset, Column: e.Pos.Column}
				}
				e.Msg = fmt.Sprintf("%s (run %s, cell %s)", e.Msg, r.ID, r.Cell)
				out[i] = e
			}
			return nil, &out
		}
		return nil, err
	}
	return sc, nil
}

// Check resolves one run of every cell (and every seed value once), so a
// bad override is found before anything runs, without resolving every run.
func (s *Spec) Check(runs []Run) error {
	seen := map[string]bool{}
	for i := range runs {
		r := &runs[i]
		key := r.Cell
		if seen[key] {
			continue
		}
		seen[key] = true
		sc, err := s.Resolve(r)
		if err != nil {
			return err
		}
		// What drover sim checks before it runs: the policies' names and
		// settings.
		if _, err := scheduler.NewConfig(sim.Options{}.PolicyOf(sc), sc.Migration); err != nil {
			return fmt.Errorf("%s: run %s (cell %s): %w", s.File, r.ID, r.Cell, err)
		}
	}
	return nil
}
