package sim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
)

// WriteFunc writes path whole or not at all. Who saves chooses whether
// the file must also survive a crash of the machine.
type WriteFunc func(path string, data []byte) error

// Save writes dir/journal.jsonl, then dir/report.json, with write. The
// journal goes first so that a complete report.json means a complete run:
// drover sim and a sweep's runs both save through here, so they give the
// same bytes. It returns the report's path.
func (r *Result) Save(dir string, write WriteFunc) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range r.Journal {
		if err := enc.Encode(&r.Journal[i]); err != nil {
			return "", err
		}
	}
	if err := write(filepath.Join(dir, "journal.jsonl"), buf.Bytes()); err != nil {
		return "", err
	}
	buf = bytes.Buffer{} // the journal's bytes need not outlive their file
	data, err := r.Report.JSON()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.json")
	return path, write(path, data)
}
