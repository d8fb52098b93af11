package scenarios_test

import (
	"bytes"
	"encoding/json"
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scenarios"
)

// schemaFile is the committed schema the examples point editors at.
// UPDATE_SCHEMA=1 go test ./scenarios/ rewrites it.
const schemaFile = "scenario.schema.json"

var _ = Describe("Schema", func() {
	var (
		data   []byte
		schema map[string]any
	)
	BeforeEach(func() {
		var err error
		data, err = scenarios.Schema()
		Expect(err).NotTo(HaveOccurred())
		Expect(json.Unmarshal(data, &schema)).To(Succeed())
	})

	It("is draft 2020-12 JSON, indented", func() {
		Expect(schema["$schema"]).To(Equal("https://json-schema.org/draft/2020-12/schema"))
		Expect(schema["$id"]).To(Equal(scenarios.SchemaID))
		Expect(string(data)).To(ContainSubstring("\n  \"$defs\""))
	})

	It("describes every top-level key and rejects others", func() {
		props, ok := schema["properties"].(map[string]any)
		Expect(ok).To(BeTrue())
		Expect(props).To(HaveLen(12))
		for _, key := range []string{"name", "sim", "zones", "host_classes", "hosts", "network", "vm_classes", "vms", "groups", "events", "policy", "migration"} {
			Expect(props).To(HaveKey(key))
			Expect(props[key].(map[string]any)["description"]).NotTo(BeEmpty(), key)
		}
		Expect(schema["required"]).To(ConsistOf("name", "zones", "hosts"))
		Expect(schema["additionalProperties"]).To(BeFalse())
	})

	It("requires exactly one kind per event", func() {
		defs := schema["$defs"].(map[string]any)
		event := defs["Event"].(map[string]any)
		Expect(event["oneOf"]).To(HaveLen(8))
		Expect(event["required"]).To(ConsistOf("at"))
	})

	It("lists enum values", func() {
		Expect(string(data)).To(ContainSubstring(`"greedy-cv"`))
		Expect(string(data)).To(ContainSubstring(`"anti-affinity"`))
		Expect(string(data)).To(ContainSubstring(`"postcopy"`))
	})

	It("matches the committed "+schemaFile, func() {
		if os.Getenv("UPDATE_SCHEMA") != "" {
			Expect(os.WriteFile(schemaFile, append(data, '\n'), 0o644)).To(Succeed())
		}
		committed, err := os.ReadFile(schemaFile)
		Expect(err).NotTo(HaveOccurred())
		Expect(bytes.TrimSpace(committed)).To(Equal(bytes.TrimSpace(data)), "run UPDATE_SCHEMA=1 go test ./scenarios/")
	})
})
