package reports

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/invopop/jsonschema"
)

// SchemaID is the $id of the report.json JSON Schema.
const SchemaID = "https://github.com/droverlab/drover/reports/report.schema.json"

// Schema is the JSON Schema (draft 2020-12) of report.json, as committed
// beside this file: generated from Report and its comments by
// GenerateSchema, and checked against it by the package's tests.
//
//go:embed report.schema.json
var Schema []byte

// GenerateSchema reflects the JSON Schema of report.json from the Report
// type, with each field's comment, read from the package's source in
// srcDir, as its description: the Go types stay the one definition of the
// format.
func GenerateSchema(srcDir string) ([]byte, error) {
	// Additional properties are allowed: a newer minor version may add
	// fields, and an older reader must still accept its files.
	r := &jsonschema.Reflector{ExpandedStruct: true, AllowAdditionalProperties: true}
	if err := r.AddGoComments("github.com/droverlab/drover/reports", srcDir); err != nil {
		return nil, fmt.Errorf("report schema: %w", err)
	}
	s := r.Reflect(&Report{})
	s.ID = SchemaID
	s.Title = "Drover report, schema version " + SchemaVersion
	s.Description = "What one run of drover sim, plan, apply or run produced: its migrations, plans, events and " +
		"samples. Times are milliseconds since the start of the run, sizes bytes. A reader refuses a file whose " +
		"schema_version has a newer major version than its own."
	return json.MarshalIndent(s, "", "  ")
}
