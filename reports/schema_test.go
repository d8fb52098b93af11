package reports_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
)

// UPDATE_SCHEMA=1 go test ./reports/ rewrites the committed schema.
const schemaFile = "report.schema.json"

var _ = Describe("The report.json schema", func() {
	It("is generated from the Go types and matches the committed "+schemaFile, func() {
		data, err := reports.GenerateSchema(".")
		Expect(err).NotTo(HaveOccurred())
		if os.Getenv("UPDATE_SCHEMA") != "" {
			Expect(os.WriteFile(schemaFile, append(data, '\n'), 0o644)).To(Succeed())
		}
		committed, err := os.ReadFile(schemaFile)
		Expect(err).NotTo(HaveOccurred())
		Expect(bytes.TrimSpace(committed)).To(Equal(bytes.TrimSpace(data)), "run UPDATE_SCHEMA=1 go test ./reports/")
		Expect(bytes.TrimSpace(reports.Schema)).To(Equal(bytes.TrimSpace(data)), "the embedded schema is stale: rebuild")
	})

	It("describes every field of a report", func() {
		var s map[string]any
		Expect(json.Unmarshal(reports.Schema, &s)).To(Succeed())
		Expect(s["$id"]).To(Equal(reports.SchemaID))
		props := s["properties"].(map[string]any)
		for _, key := range []string{"schema_version", "kind", "scenario", "policy", "seed", "summary", "migrations", "plans", "hosts"} {
			Expect(props).To(HaveKey(key))
		}
		Expect(props["schema_version"].(map[string]any)["description"]).To(ContainSubstring("SchemaVersion"))
		defs := s["$defs"].(map[string]any)
		mig := defs["Migration"].(map[string]any)["properties"].(map[string]any)
		Expect(mig["links"].(map[string]any)["description"]).To(ContainSubstring("network links"))
	})

	It("is the version every written report carries", func() {
		dir := GinkgoT().TempDir()
		path, err := (&reports.Report{Scenario: "s"}).Save(dir)
		Expect(err).NotTo(HaveOccurred())
		data, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(HavePrefix("{\n  \"schema_version\": \"" + reports.SchemaVersion + "\",\n"))
	})

	DescribeTable("Load reads older and same major versions and refuses newer ones",
		func(version, wantErr string) {
			p := filepath.Join(GinkgoT().TempDir(), "report.json")
			doc := `{"scenario": "s", "seed": 1}`
			if version != "" {
				doc = `{"schema_version": "` + version + `", "scenario": "s", "seed": 1, "future": {"x": 1}}`
			}
			Expect(os.WriteFile(p, []byte(doc), 0o644)).To(Succeed())
			r, err := reports.Load(p)
			if wantErr == "" {
				Expect(err).NotTo(HaveOccurred())
				Expect(r.Scenario).To(Equal("s"))
				return
			}
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
			Expect(err).To(MatchError(ContainSubstring(p)))
		},
		Entry("no version: written before the schema was versioned", "", ""),
		Entry("this version", reports.SchemaVersion, ""),
		Entry("a newer minor version adds fields this drover ignores", "1.7", ""),
		Entry("a newer major version", "2.0", "the file is version 2.0, this drover reads 1.x: use a newer drover"),
		Entry("not a version", "two", `schema_version "two": want major.minor`),
	)
})
