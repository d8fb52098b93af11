package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/sweep"
)

// Every YAML example in the READMEs reads: a scenario loads, an inventory
// parses. A change to either format that breaks the docs fails here.
func TestDocsExamples(t *testing.T) {
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	n := 0
	for _, doc := range []string{"../../README.md", "../../scenarios/README.md", "../../e2e/lab/README.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllSubmatch(data, -1) {
			text := m[1]
			// Named as if it lived beside the README, so trace paths resolve.
			name := filepath.Join(filepath.Dir(doc), "example.yaml")
			// Inventories name hosts by address; scenarios never do.
			if strings.Contains(string(text), "matrix:") {
				// A sweep, read as if beside the example sweeps it shows.
				if _, err := sweep.Parse("../../scenarios/sweeps/example.yaml", text); err != nil {
					t.Errorf("%s, YAML block %d (a sweep): %v", doc, i+1, err)
				}
			} else if strings.Contains(string(text), "address:") {
				if _, err := libvirt.ParseConfig(name, text); err != nil {
					t.Errorf("%s, YAML block %d (an inventory): %v", doc, i+1, err)
				}
			} else if _, err := scenarios.Parse(name, text); err != nil {
				t.Errorf("%s, YAML block %d (a scenario): %v", doc, i+1, err)
			}
			n++
		}
	}
	if n < 2 {
		t.Fatalf("found %d YAML examples; the READMEs have at least 2", n)
	}
}
