package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/droverlab/drover/units"
	"go.yaml.in/yaml/v3"
)

// The decoder walks yaml.Nodes into the raw types by reflection. Unlike
// yaml.Unmarshal it never stops at the first problem: every unknown key,
// wrong type and bad unit becomes an Error at its node, and decoding goes on
// with the next value. Values that fail stay unset, but their key is still
// recorded in meta.Fields, so the resolver does not also call them missing.

// Leaf types with their own syntax.
type (
	// size is a number of bytes, written with units (4GiB).
	size int64
	// rate is bytes per second, written with units (10Gbit/s, 50MiB/s).
	rate float64
	// duration is a Go duration (5m, 300ms).
	duration time.Duration
	// names is a name, a range pattern or a list of them.
	names []nameItem
)

// nameItem is one name or pattern as written.
type nameItem struct {
	Text string
	Pos  Pos
}

// cpuSpec is a VM's CPU demand: a number of cores or a cpuModel mapping.
type cpuSpec struct {
	Constant *float64
	Model    *cpuModel
	Pos      Pos
}

// nodeDecoder is implemented by leaf types that read their own syntax.
type nodeDecoder interface {
	decodeYAML(d *decoder, n *yaml.Node, path string)
}

type hasMeta interface{ getMeta() *meta }

type decoder struct {
	file string
	errs *Errors
	// visits counts decoded nodes; aliases may multiply them, and past
	// maxVisits decoding stops (a "billion laughs" file).
	visits, maxVisits int
	stopped           bool
	// active holds anchored nodes being decoded through an alias, to catch
	// an alias inside its own anchor.
	active map[*yaml.Node]bool
}

func newDecoder(file string, errs *Errors, inputLen int) *decoder {
	return &decoder{file: file, errs: errs, maxVisits: 4*inputLen + 10_000, active: map[*yaml.Node]bool{}}
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Column: n.Column} }

// errf records a problem at n; path, when set, prefixes the message.
func (d *decoder) errf(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	*d.errs = append(*d.errs, Error{Pos: d.pos(n), Msg: msg})
}

// describe names what a node holds, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing (null)"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return strconv.Quote(v)
	}
	return "nothing"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// deref follows aliases. It returns nil (after an error) for an alias to
// one of its own ancestors; release must be called with the result.
func (d *decoder) deref(n *yaml.Node, path string) (target *yaml.Node, release func()) {
	if n.Kind != yaml.AliasNode {
		return n, func() {}
	}
	t := n.Alias
	for t != nil && t.Kind == yaml.AliasNode {
		t = t.Alias
	}
	if t == nil || d.active[t] {
		d.errf(n, path, "alias *%s refers to a value that contains it", n.Value)
		return nil, nil
	}
	d.active[t] = true
	return t, func() { delete(d.active, t) }
}

// decode fills v from n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.stopped {
		return
	}
	if d.visits++; d.visits > d.maxVisits {
		d.errf(n, path, "aliases expand to too many values; stopped reading")
		d.stopped = true
		return
	}
	n, release := d.deref(n, path)
	if n == nil {
		return
	}
	defer release()

	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			return
		}
		elem := reflect.New(v.Type().Elem())
		before := len(*d.errs)
		d.decode(n, elem.Elem(), path)
		// A bad leaf value stays unset (its key is still recorded), so it
		// is neither used nor checked again; a mapping keeps its good keys.
		keep := len(*d.errs) == before
		if hm, ok := elem.Interface().(hasMeta); ok && hm.getMeta().decoded() {
			keep = true
		}
		if keep {
			v.Set(elem)
		}
		return
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeYAML(d, n, path)
		return
	}
	if isNull(n) && v.Kind() != reflect.Struct {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int:
		if i, ok := d.integer(n, path); ok {
			v.SetInt(i)
		}
	case reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.errf(n, path, "expected an integer, got %s", describe(n))
			return
		}
		var u uint64
		if err := n.Decode(&u); err != nil {
			d.errf(n, path, "expected an integer from 0 to %d, got %s", uint64(math.MaxUint64), n.Value)
			return
		}
		v.SetUint(u)
	case reflect.Float64:
		if f, ok := d.number(n, path); ok {
			v.SetFloat(f)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.errf(n, path, "expected true or false, got %s", describe(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errf(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		panic(fmt.Sprintf("scenarios: cannot decode into %s", v.Type()))
	}
}

// scalar returns the text of a scalar node.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errf(n, path, "expected %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errf(n, path, "expected an integer, got %s", describe(n))
		return 0, false
	}
	var i int64
	if err := n.Decode(&i); err != nil {
		d.errf(n, path, "integer %s is out of range", n.Value)
		return 0, false
	}
	if i > math.MaxInt32 || i < math.MinInt32 {
		d.errf(n, path, "integer %s is out of range", n.Value)
		return 0, false
	}
	return i, true
}

func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.errf(n, path, "expected a number, got %s", describe(n))
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		d.errf(n, path, "expected a number, got %s", describe(n))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.errf(n, path, "expected a finite number, got %s", describe(n))
		return 0, false
	}
	return f, true
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errf(n, path, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.decode(c, s.Index(i), path+"["+strconv.Itoa(i)+"]")
	}
	v.Set(s)
}

// pair is a key and its value in a mapping.
type pair struct{ k, v *yaml.Node }

// pairs lists a mapping's pairs, expanding merge keys (<<: *base): merged
// pairs come after the written ones and never replace them. Duplicate
// written keys are reported.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var (
		out    []pair
		merges []*yaml.Node
		seen   = map[string]*yaml.Node{}
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errf(k, path, "keys must be plain names, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errf(k, path, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k, v})
	}
	for _, m := range merges {
		m, release := d.deref(m, path)
		if m == nil {
			continue
		}
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			sources = m.Content
		default:
			d.errf(m, path, "merge key << needs a mapping or a list of mappings, got %s", describe(m))
		}
		for _, src := range sources {
			src, rel := d.deref(src, path)
			if src == nil {
				continue
			}
			if src.Kind != yaml.MappingNode {
				d.errf(src, path, "merge key << needs a mapping, got %s", describe(src))
				rel()
				continue
			}
			for _, p := range d.pairs(src, path) {
				if _, dup := seen[p.k.Value]; !dup {
					seen[p.k.Value] = p.k
					out = append(out, p)
				}
			}
			rel()
		}
		release()
	}
	return out
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(n, path) {
		val, release := d.deref(p.v, path)
		if val == nil {
			continue
		}
		sub := path + "." + p.k.Value
		if val.Kind != yaml.ScalarNode {
			d.errf(val, sub, "expected a plain value, got %s", describe(val))
		} else {
			m.SetMapIndex(reflect.ValueOf(p.k.Value), reflect.ValueOf(val.Value))
		}
		release()
	}
	v.Set(m)
}

// field is a key of a raw struct.
type field struct {
	name     string
	index    []int
	required bool
	enum     []string
}

type structInfo struct {
	kind   string // for messages: "host class"
	fields []field
	byName map[string]*field
	meta   bool
}

var structInfos sync.Map // reflect.Type → *structInfo

func infoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]*field{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			index := append(slices.Clone(prefix), i)
			tag := f.Tag.Get("yaml")
			if f.Type == reflect.TypeFor[meta]() {
				si.meta = true
				si.kind = f.Tag.Get("kind")
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if opts == "inline" {
				walk(f.Type, index)
				continue
			}
			if name == "-" || name == "" {
				continue
			}
			fi := field{name: name, index: index}
			for o := range strings.SplitSeq(f.Tag.Get("jsonschema"), ",") {
				switch {
				case o == "required":
					fi.required = true
				case strings.HasPrefix(o, "enum="):
					fi.enum = append(fi.enum, strings.TrimPrefix(o, "enum="))
				}
			}
			si.fields = append(si.fields, fi)
		}
	}
	walk(t, nil)
	for i := range si.fields {
		si.byName[si.fields[i].name] = &si.fields[i]
	}
	if si.kind == "" {
		si.kind = "mapping"
	}
	actual, _ := structInfos.LoadOrStore(t, si)
	return actual.(*structInfo)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	si := infoOf(v.Type())
	if n.Kind != yaml.MappingNode {
		d.errf(n, path, "expected a mapping (%s), got %s", si.kind, describe(n))
		return
	}
	var m *meta
	if si.meta {
		m = v.Addr().Interface().(hasMeta).getMeta()
		m.Pos, m.Path, m.Fields = d.pos(n), path, map[string]Pos{}
	}
	seen := map[string]bool{}
	for _, p := range d.pairs(n, path) {
		key := p.k.Value
		f := si.byName[key]
		if f == nil {
			d.errf(p.k, path, "unknown field %q in %s%s", key, si.kind, suggest(key, si))
			continue
		}
		sub := key
		if path != "" {
			sub = path + "." + key
		}
		if val := p.v; isNull(val) || (val.Kind == yaml.AliasNode && val.Alias != nil && isNull(val.Alias)) {
			// A key without value is as good as absent, unless required.
			if !f.required {
				continue
			}
			d.errf(val, sub, "needs a value")
			seen[key] = true
			if m != nil {
				m.Fields[key] = d.pos(p.v)
				m.markBad(key)
			}
			continue
		}
		seen[key] = true
		if m != nil {
			m.Fields[key] = d.pos(p.v)
		}
		fv := v.FieldByIndex(f.index)
		before := len(*d.errs)
		d.decode(p.v, fv, sub)
		if m != nil && len(*d.errs) > before {
			m.markBad(key)
		}
		if f.enum != nil {
			s := fv
			if s.Kind() == reflect.Pointer {
				if s.IsNil() {
					continue
				}
				s = s.Elem()
			}
			if !slices.Contains(f.enum, s.String()) {
				d.errf(p.v, sub, "unknown value %q (want %s)", s.String(), oneOf(f.enum))
				if m != nil {
					m.markBad(key)
				}
				if fv.Kind() == reflect.Pointer {
					fv.SetZero()
				}
			}
		}
	}
	for _, f := range si.fields {
		if f.required && !seen[f.name] {
			d.errf(n, path, "missing required field %q in %s", f.name, si.kind)
			if m != nil {
				// Keep the resolver from reporting it again.
				m.Fields[f.name] = m.Pos
				m.markBad(f.name)
			}
		}
	}
}

// oneOf writes "a, b or c", quoting the empty string.
func oneOf(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = v
		if v == "" {
			q[i] = `""`
		}
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// suggest proposes the known field closest to a misspelt key.
func suggest(key string, si *structInfo) string {
	best, bestD := "", 3
	for _, f := range si.fields {
		if dd := editDistance(strings.ToLower(key), f.name); dd < bestD {
			best, bestD = f.name, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (s *size) decodeYAML(d *decoder, n *yaml.Node, path string) {
	text, ok := d.scalar(n, path, "a size such as 4GiB")
	if !ok {
		return
	}
	v, err := units.ParseSize(text)
	if err != nil {
		d.errf(n, path, "%v", err)
		return
	}
	*s = size(v)
}

func (r *rate) decodeYAML(d *decoder, n *yaml.Node, path string) {
	text, ok := d.scalar(n, path, "a rate such as 10Gbit/s or 50MiB/s")
	if !ok {
		return
	}
	v, err := units.ParseRate(text, units.PageSize)
	if err != nil {
		d.errf(n, path, "%v", err)
		return
	}
	*r = rate(v)
}

func (t *duration) decodeYAML(d *decoder, n *yaml.Node, path string) {
	text, ok := d.scalar(n, path, "a duration such as 5m")
	if !ok {
		return
	}
	v, err := units.ParseDuration(text)
	if err != nil {
		d.errf(n, path, "%v", err)
		return
	}
	*t = duration(v)
}

// policyParams is policy.params: by policy name, that policy's parameters
// as written and where.
type policyParams map[string]map[string]paramAt

type paramAt struct {
	Value string
	Pos   Pos // of the value
	Name  Pos // of the policy's name
}

func (pp *policyParams) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.errf(n, path, "expected a mapping of policy names to their parameters, got %s", describe(n))
		return
	}
	out := policyParams{}
	for _, p := range d.pairs(n, path) {
		sub := path + "." + p.k.Value
		v, release := d.deref(p.v, sub)
		if v == nil {
			continue
		}
		if v.Kind != yaml.MappingNode {
			d.errf(v, sub, "expected the parameters of policy %s as a mapping (params: {balance: {cooldown: 10m}}), got %s", p.k.Value, describe(v))
			release()
			continue
		}
		m := map[string]paramAt{}
		for _, q := range d.pairs(v, sub) {
			val, rel := d.deref(q.v, sub+"."+q.k.Value)
			if val == nil {
				continue
			}
			if val.Kind != yaml.ScalarNode || isNull(val) {
				d.errf(val, sub+"."+q.k.Value, "expected a plain value, got %s", describe(val))
			} else {
				m[q.k.Value] = paramAt{Value: val.Value, Pos: d.pos(val), Name: d.pos(p.k)}
			}
			rel()
		}
		out[p.k.Value] = m
		release()
	}
	*pp = out
}

func (ns *names) decodeYAML(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			d.errf(n, path, "expected a name, a range or a list of them, got %s", describe(n))
			return
		}
		*ns = names{{Text: n.Value, Pos: d.pos(n)}}
	case yaml.SequenceNode:
		out := make(names, 0, len(n.Content))
		for i, c := range n.Content {
			c, release := d.deref(c, path)
			if c == nil {
				continue
			}
			if c.Kind != yaml.ScalarNode || isNull(c) {
				d.errf(c, fmt.Sprintf("%s[%d]", path, i), "expected a name or a range, got %s", describe(c))
			} else {
				out = append(out, nameItem{Text: c.Value, Pos: d.pos(c)})
			}
			release()
		}
		*ns = out
	default:
		d.errf(n, path, "expected a name, a range or a list of them, got %s", describe(n))
	}
}

func (c *cpuSpec) decodeYAML(d *decoder, n *yaml.Node, path string) {
	c.Pos = d.pos(n)
	switch {
	case n.Kind == yaml.MappingNode:
		c.Model = &cpuModel{}
		d.decodeStruct(n, reflect.ValueOf(c.Model).Elem(), path)
	case n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float"):
		if f, ok := d.number(n, path); ok {
			c.Constant = &f
		}
	default:
		d.errf(n, path, "expected a number of cores or a mapping with trace or random_walk, got %s", describe(n))
	}
}
