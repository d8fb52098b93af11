package scenarios

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/droverlab/drover/scheduler/registry"
	"github.com/invopop/jsonschema"
)

// SchemaID is the $id of the scenario JSON Schema.
const SchemaID = "https://github.com/droverlab/drover/scenarios/scenario.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of the scenario file
// format, indented, for editors: point yaml-language-server at it with
// "# yaml-language-server: $schema=scenario.schema.json".
func Schema() ([]byte, error) {
	r := reflector()
	r.ExpandedStruct = true
	s := r.Reflect(&rawFile{})
	s.ID = SchemaID
	s.Title = "Drover scenario"
	s.Description = "A data center (zones, racks, hosts, network, VMs and workloads), timed events, and policy and migration settings for the drover simulator."
	return json.MarshalIndent(s, "", "  ")
}

func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		Anonymous:                  true,
		Namer:                      schemaName,
	}
}

// schemaName names definitions after the raw types: rawHostClass is
// HostClass, cpuSpec is CpuSpec.
func schemaName(t reflect.Type) string {
	n := strings.TrimPrefix(t.Name(), "raw")
	if n == "" {
		return n
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

// The leaf types describe their own syntax.

func (policyParams) JSONSchema() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	for _, spec := range registry.Specs {
		ps := jsonschema.NewProperties()
		for _, p := range spec.Params {
			d := p.Doc
			if p.Default != "" {
				d += " (default " + p.Default + ")"
			}
			s := &jsonschema.Schema{Description: d}
			switch p.Kind {
			case registry.Number:
				s.Type = "number"
			case registry.Integer:
				s.Type = "integer"
			case registry.Duration:
				s.Type = "string"
			case registry.Enum:
				s.Type = "string"
				for _, v := range p.Values {
					s.Enum = append(s.Enum, v)
				}
			}
			ps.Set(p.Key, s)
		}
		props.Set(spec.Name, &jsonschema.Schema{Type: "object", Description: spec.Doc, Properties: ps,
			AdditionalProperties: jsonschema.FalseSchema})
	}
	return &jsonschema.Schema{Type: "object", Properties: props, AdditionalProperties: jsonschema.FalseSchema,
		Description: "Each policy's own parameters, by policy name."}
}

func (size) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "A size: bytes, or a number with B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024).",
		OneOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "0"},
			{Type: "string", Pattern: `^\s*\+?[0-9][0-9_]*(\.[0-9]*)?\s*(B|KB|kB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$`},
		},
		Examples: []any{"8GiB", "256MiB", "1.5GB"},
	}
}

func (rate) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "A rate: bytes/s, or a number with bit/s, Kbit/s, Mbit/s, Gbit/s, Tbit/s, bps, Kbps, Mbps, Gbps, Tbps, B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s or pages/s (4096-byte pages).",
		OneOf: []*jsonschema.Schema{
			{Type: "number", Minimum: "0"},
			{Type: "string", Pattern: `^\s*\+?[0-9][0-9_]*(\.[0-9]*)?\s*([KkMGT]?(bit/s|bps)|([KkMGT]i?)?B/s|KiB/s|pages?/s)?\s*$`},
		},
		Examples: []any{"10Gbit/s", "50MiB/s", "1000pages/s"},
	}
}

func (duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: "A Go duration such as 300ms, 90s, 5m or 1h30m (units ns, us, ms, s, m, h).",
		OneOf: []*jsonschema.Schema{
			{Type: "integer", Const: 0},
			{Type: "string", Pattern: `^\s*-?(0|([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+)\s*$`},
		},
		Examples: []any{"5m", "300ms", "1h30m"},
	}
}

func (names) JSONSchema() *jsonschema.Schema {
	name := &jsonschema.Schema{
		Type:        "string",
		MinLength:   ptr(uint64(1)),
		Description: "A name or a range pattern: h[01-16] gives h01 … h16 (zero padding follows the width of the first number); several [a-b] groups multiply; [1,3,5-7] lists numbers. Quote it inside flow mappings ({names: \"h[01-04]\"}).",
	}
	return &jsonschema.Schema{
		OneOf: []*jsonschema.Schema{name, {Type: "array", Items: name}},
	}
}

func (cpuSpec) JSONSchema() *jsonschema.Schema {
	r := reflector()
	r.DoNotReference = true
	r.ExpandedStruct = true
	model := r.Reflect(&cpuModel{})
	model.Version, model.ID = "", ""
	model.Description = "A CPU trace ({trace, interval}) or a random walk ({random_walk: {start, step, min, max, interval}})."
	return &jsonschema.Schema{
		Description: "CPU demand in cores: a constant number, a trace or a random walk.",
		OneOf: []*jsonschema.Schema{
			{Type: "number", Minimum: "0"},
			model,
		},
	}
}

func ptr[T any](v T) *T { return &v }
