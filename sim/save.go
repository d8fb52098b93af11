package sim

import (
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
	var buf chunks
	enc := json.NewEncoder(&buf)
	for i := range r.Journal {
		if err := enc.Encode(&r.Journal[i]); err != nil {
			return "", err
		}
	}
	journal := buf.join()
	buf = chunks{} // the pieces need not outlive the join
	if err := write(filepath.Join(dir, "journal.jsonl"), journal); err != nil {
		return "", err
	}
	data, err := r.Report.JSON()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.json")
	return path, write(path, data)
}

// chunks keeps what is written to it in pieces of 1 MiB, joined once at the
// end: a bytes.Buffer grew a 10,000-host day's 50 MB journal by doubling,
// clearing and copying 128 MB of fresh memory on the way (about 1 s).
type chunks struct {
	full [][]byte
	cur  []byte
}

const chunkSize = 1 << 20

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.cur) == cap(c.cur) {
			if len(c.cur) > 0 {
				c.full = append(c.full, c.cur)
			}
			c.cur = make([]byte, 0, chunkSize)
		}
		k := copy(c.cur[len(c.cur):cap(c.cur)], p)
		c.cur, p = c.cur[:len(c.cur)+k], p[k:]
	}
	return n, nil
}

// join is everything written, in one slice of its size.
func (c *chunks) join() []byte {
	n := len(c.cur)
	for _, b := range c.full {
		n += len(b)
	}
	out := make([]byte, 0, n)
	for _, b := range c.full {
		out = append(out, b...)
	}
	return append(out, c.cur...)
}
