package sweep

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"go.yaml.in/yaml/v3"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/sim"
)

// Manifest is DIR/sweep.json: what a sweep directory holds.
type Manifest struct {
	Name string `json:"name"`
	// SweepFile and BaseFile are where the sweep and its base were read
	// from (absolute); the base's bytes are DIR/base.yaml, and BaseFile's
	// directory is where the scenario's trace files are looked up.
	SweepFile  string   `json:"sweep_file"`
	BaseFile   string   `json:"base_file"`
	BaseSHA256 string   `json:"base_sha256"`
	Axes       []string `json:"axes"`
	Runs       int      `json:"runs"`
	Cells      int      `json:"cells"`
}

// Dir is an expanded sweep on disk:
//
//	DIR/sweep.json      the Manifest
//	DIR/sweep.yaml      the sweep file, as given
//	DIR/base.yaml       the base scenario, once
//	DIR/runs.jsonl      one Run a line (id, cell, scenario hash, overrides), in index order
//	DIR/runs/ID/        a run's folder: scenario.yaml (resolved), report.json, journal.jsonl,
//	                    started (a task began it), error.txt (it failed)
//	DIR/slurm/          the sbatch script, the jobs submitted, the tasks' logs
type Dir struct {
	Path     string
	Manifest Manifest
	Runs     []Run
	base     *yaml.Node
}

// Write expands the sweep into dir: the base once and the overrides per
// run (never a scenario copy per run). Every file appears whole or not at
// all; writing the same sweep again gives the same bytes.
func Write(dir string, s *Spec, runs []Run) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o755); err != nil {
		return nil, err
	}
	sweepData, err := os.ReadFile(s.File)
	if err != nil {
		return nil, err
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	sum := sha256.Sum256(s.BaseData)
	m := Manifest{Name: s.Name, SweepFile: abs(s.File), BaseFile: abs(s.Base), BaseSHA256: hex.EncodeToString(sum[:]), Runs: len(runs)}
	for _, a := range s.Axes {
		m.Axes = append(m.Axes, a.Path)
	}
	cells := map[string]bool{}
	for i := range runs {
		cells[runs[i].Cell] = true
	}
	m.Cells = len(cells)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range runs {
		if err := enc.Encode(&runs[i]); err != nil {
			return nil, err
		}
	}
	if err := renameio.WriteFile(filepath.Join(dir, "runs.jsonl"), buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	for name, data := range map[string][]byte{"sweep.yaml": sweepData, "base.yaml": s.BaseData} {
		if err := renameio.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	mb, _ := json.MarshalIndent(&m, "", "  ")
	if err := renameio.WriteFile(filepath.Join(dir, "sweep.json"), append(mb, '\n'), 0o644); err != nil {
		return nil, err
	}
	return &Dir{Path: dir, Manifest: m, Runs: runs, base: s.BaseRoot}, nil
}

// Open reads an expanded sweep directory.
func Open(dir string) (*Dir, error) {
	return OpenRange(dir, 0, math.MaxInt)
}

// OpenRange is Open keeping only the runs of index lo to hi-1 in Runs (a
// task of a large sweep decodes its own runs, not all of them).
func OpenRange(dir string, lo, hi int) (*Dir, error) {
	mb, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a sweep directory (drover sweep expand makes one): %w", dir, err)
	}
	d := &Dir{Path: dir}
	if err := json.Unmarshal(mb, &d.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "sweep.json"), err)
	}
	f, err := os.Open(filepath.Join(dir, "runs.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	d.Runs = make([]Run, 0, max(0, min(hi, d.Manifest.Runs)-lo))
	line := 0
	for sc.Scan() {
		line++
		if i := line - 1; i < lo || i >= hi {
			continue
		}
		var r Run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", filepath.Join(dir, "runs.jsonl"), line, err)
		}
		if r.Index != line-1 {
			return nil, fmt.Errorf("%s: line %d holds run %d", filepath.Join(dir, "runs.jsonl"), line, r.Index)
		}
		d.Runs = append(d.Runs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if line != d.Manifest.Runs {
		return nil, fmt.Errorf("%s: %d runs, sweep.json says %d", dir, line, d.Manifest.Runs)
	}
	// Read now, not when first needed: the pool's goroutines share it.
	if _, err := d.baseRoot(); err != nil {
		return nil, err
	}
	return d, nil
}

// baseRoot is the base's tree, read by Open (or given to Write); it is
// never changed, so runs share it.
func (d *Dir) baseRoot() (*yaml.Node, error) {
	if d.base != nil {
		return d.base, nil
	}
	data, err := os.ReadFile(filepath.Join(d.Path, "base.yaml"))
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: not a scenario: %v", filepath.Join(d.Path, "base.yaml"), err)
	}
	d.base = doc.Content[0]
	return d.base, nil
}

// RunDir is the folder of run r.
func (d *Dir) RunDir(r *Run) string { return filepath.Join(d.Path, "runs", r.ID) }

// Resolved returns run r's scenario as YAML text (the base with the
// overrides set).
func (d *Dir) Resolved(r *Run) ([]byte, error) {
	base, err := d.baseRoot()
	if err != nil {
		return nil, err
	}
	root, err := Apply(base, &Run{Overrides: r.Overrides})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# drover sweep %s, run %s (cell %s), scenario hash %s\n", d.Manifest.Name, r.ID, r.Cell, r.Hash)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	enc.Close()
	return buf.Bytes(), nil
}

// Scenario loads run r's resolved scenario with the scenarios loader.
func (d *Dir) Scenario(r *Run) (*scenarios.Scenario, error) {
	base, err := d.baseRoot()
	if err != nil {
		return nil, err
	}
	return resolve(filepath.Join(d.Path, "sweep.yaml"), d.Manifest.BaseFile, base, &Run{ID: r.ID, Cell: r.Cell, Overrides: r.Overrides})
}

// Complete reports whether run r has a whole report: report.json exists
// and is JSON (a report of up to 1 MiB is parsed; of a larger one, whose
// every status check would otherwise read it whole, its first and last
// bytes are checked). Reports are written to a temporary file and
// renamed, so a killed run never leaves one that looks complete; the
// check catches a file truncated by a crash before the rename reached
// the disk.
func (d *Dir) Complete(r *Run) bool {
	f, err := os.Open(filepath.Join(d.RunDir(r), "report.json"))
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < 2 {
		return false
	}
	if st.Size() <= 1<<20 {
		data, err := io.ReadAll(f)
		return err == nil && json.Valid(data)
	}
	head, tail := make([]byte, 1), make([]byte, 64)
	if _, err := f.ReadAt(head, 0); err != nil || head[0] != '{' {
		return false
	}
	n, err := f.ReadAt(tail, st.Size()-int64(len(tail)))
	if err != nil && n != len(tail) {
		return false
	}
	t := bytes.TrimRight(tail[:n], " \t\r\n")
	return len(t) > 0 && t[len(t)-1] == '}'
}

// Runner runs one scenario and writes its report.json (atomically) and
// whatever else belongs to a run into dir, which exists.
type Runner func(sc *scenarios.Scenario, dir string) error

// RunOne runs run r into its folder: the resolved scenario, a started
// marker, then the runner's report; a failure leaves error.txt.
func (d *Dir) RunOne(r *Run, run Runner) error {
	rd := d.RunDir(r)
	if err := os.MkdirAll(rd, 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(rd, "error.txt"))
	fail := func(err error) error {
		_ = renameio.WriteFile(filepath.Join(rd, "error.txt"), []byte(err.Error()+"\n"), 0o644)
		return fmt.Errorf("run %s (%s): %w", r.ID, r.Cell, err)
	}
	text, err := d.Resolved(r)
	if err != nil {
		return fail(err)
	}
	// Neither needs to survive a crash of the machine (the run is made
	// again), so neither is synced to disk: a temporary file renamed.
	if err := writeRename(filepath.Join(rd, "scenario.yaml"), text); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(rd, "started"), nil, 0o644); err != nil {
		return fail(err)
	}
	sc, err := d.Scenario(r)
	if err != nil {
		return fail(err)
	}
	if err := run(sc, rd); err != nil {
		return fail(err)
	}
	if !d.Complete(r) {
		return fail(errors.New("the run wrote no report.json"))
	}
	return nil
}

// SimRunner is drover sim's run of a sweep's scenario: the same
// journal.jsonl and report.json bytes (sim.Result.Save), written without
// syncing them (writeRename).
func SimRunner(sc *scenarios.Scenario, dir string) error {
	res, err := sim.RunFull(sc, sim.Options{})
	if err != nil {
		return err
	}
	_, err = res.Save(dir, writeRename)
	return err
}

// writeRename writes path whole or not at all, without syncing it: a
// temporary file in the same directory, renamed over it. A sweep does not
// need its files to survive a crash of the machine: a run is complete
// only if its report.json parses (Complete), so a report lost or left
// empty by a crash makes that run run again. The two syncs of every run
// were most of a small run's wall time.
func writeRename(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
