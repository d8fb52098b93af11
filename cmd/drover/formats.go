package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/droverlab/drover/reports"
)

// reportFormats are the files a run can write beside report.json, which
// it always writes.
var reportFormats = []string{"json", "html", "md", "csv"}

// parseFormats checks a --format list such as "json,html".
func parseFormats(list string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(reportFormats, f) {
			return nil, badInput("--format %q: want a comma-separated list of %s", f, strings.Join(reportFormats, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// writeFormats writes, beside dir/report.json, each other format asked
// for: report.html (the page to look at), report.md (the summary table)
// and migrations.csv; it names each file it wrote on out.
func writeFormats(out io.Writer, dir string, rep *reports.Report, formats []string) error {
	for _, f := range formats {
		var path string
		var err error
		switch f {
		case "html":
			path, err = rep.SaveHTML(dir)
		case "md":
			path = filepath.Join(dir, "report.md")
			err = writeWith(path, func(w io.Writer) error {
				return reports.Compare(w, "md", []string{filepath.Base(filepath.Clean(dir))}, []*reports.Report{rep})
			})
		case "csv":
			path = filepath.Join(dir, "migrations.csv")
			err = writeWith(path, rep.WriteMigrationsCSV)
		default:
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %s\n", f, path)
	}
	return nil
}

// writeWith writes what fill produces to path, whole or not at all.
func writeWith(path string, fill func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := fill(&buf); err != nil {
		return err
	}
	return renameio.WriteFile(path, buf.Bytes(), 0o644)
}
