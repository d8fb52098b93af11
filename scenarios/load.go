package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
	"go.yaml.in/yaml/v3"
)

// Load reads, parses, resolves and validates the scenario file at path.
// Problems in the file come back as a *Errors; a file that cannot be read
// gives the error of os.ReadFile (errors.Is(err, fs.ErrNotExist) works).
func Load(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	defer f.Close()
	// Read one byte past the bound, so a huge file is refused without
	// being read whole.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load from bytes. file names the scenario in messages and is the
// directory base of trace files; the returned error, if any, is a *Errors
// holding every problem found, sorted by position. Parse never panics.
func Parse(file string, data []byte) (*Scenario, error) {
	var errs Errors
	if !prescan(file, data, &errs) {
		return nil, errs.finish(file)
	}
	root, ok := parseYAML(file, data, &errs)
	if !ok {
		return nil, errs.finish(file)
	}
	return parseRoot(file, root, len(data), &errs)
}

// ParseNode is Parse of a YAML tree already parsed (a mapping node, or a
// document holding one), such as a base scenario with values replaced:
// problems are reported at the nodes' own lines and columns, under file.
// The caller bounds the tree's size and depth.
func ParseNode(file string, root *yaml.Node) (*Scenario, error) {
	var errs Errors
	if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root == nil || root.Kind != yaml.MappingNode {
		errs.addf(Pos{File: file, Line: 1, Column: 1}, "a scenario must be a mapping of keys (name, zones, hosts, ...)")
		return nil, errs.finish(file)
	}
	return parseRoot(file, root, MaxFileBytes, &errs)
}

func parseRoot(file string, root *yaml.Node, inputLen int, errs *Errors) (*Scenario, error) {
	var raw rawFile
	d := newDecoder(file, errs, inputLen)
	d.decode(root, reflect.ValueOf(&raw).Elem(), "")
	if d.stopped {
		return nil, errs.finish(file)
	}
	sc := resolve(file, &raw, errs)
	if err := errs.finish(file); err != nil {
		return nil, err
	}
	return sc, nil
}

// parseYAML parses one YAML document and returns its root node.
func parseYAML(file string, data []byte, errs *Errors) (root *yaml.Node, ok bool) {
	defer func() {
		// The YAML parser is fuzzed, but not by us: a bug of its own must
		// not take the caller down.
		if r := recover(); r != nil {
			errs.addf(Pos{File: file, Line: 1, Column: 1}, "YAML parser failed: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.addf(Pos{File: file, Line: 1, Column: 1}, "the file is empty; a scenario needs at least name, zones and hosts")
			return nil, false
		}
		syntaxError(file, data, err, errs)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		errs.addf(Pos{File: file, Line: next.Line, Column: next.Column}, "a second YAML document starts here; a scenario file holds one")
		return nil, false
	case !errors.Is(err, io.EOF):
		syntaxError(file, data, err, errs)
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		errs.addf(Pos{File: file, Line: 1, Column: 1}, "the file is empty; a scenario needs at least name, zones and hosts")
		return nil, false
	}
	root = doc.Content[0]
	if root.Kind != yaml.MappingNode {
		errs.addf(Pos{File: file, Line: root.Line, Column: root.Column}, "a scenario must be a mapping of keys (name, zones, hosts, ...), got %s", describe(root))
		return nil, false
	}
	return root, true
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError reports a YAML syntax error. go.yaml.in/yaml/v3 gives a line
// (often the line where the enclosing collection starts, not always) and
// never a column; goccy/go-yaml's parser stops at the offending token and
// knows its line and column, so its position and message win when it fails
// too.
func syntaxError(file string, data []byte, err error, errs *Errors) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	pos := Pos{File: file, Line: max(line, 1), Column: 0}
	if gl, gc, gmsg, ok := goccyPosition(data); ok {
		pos.Line, pos.Column, msg = gl, gc, gmsg
	}
	if pos.Column == 0 {
		pos.Column = firstColumn(data, pos.Line)
	}
	msg = strings.NewReplacer("\t", `\t`, "\r", `\r`, "\n", " ").Replace(msg)
	errs.addf(pos, "YAML syntax error: %s", msg)
}

// goccyPosition returns where goccy/go-yaml's parser fails on data, and why.
func goccyPosition(data []byte) (line, col int, msg string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_, err := goccyparser.ParseBytes(data, 0)
	var ge goccy.Error
	if err == nil || !errors.As(err, &ge) || ge.GetToken() == nil || ge.GetToken().Position == nil {
		return 0, 0, "", false
	}
	p := ge.GetToken().Position
	return p.Line, p.Column, ge.GetMessage(), p.Line > 0 && p.Column > 0
}

// firstColumn is the column of the first non-blank character of a line.
func firstColumn(data []byte, line int) int {
	lines := bytes.SplitN(data, []byte("\n"), line+1)
	if line > len(lines) {
		return 1
	}
	l := lines[line-1]
	return len(l) - len(bytes.TrimLeft(l, " \t")) + 1
}
