package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sweep run on the pool gives drover sim's bytes, runs again as nothing
// to do, and compares by cell through sweep collect and report --compare.
func TestSweepRunCollect(t *testing.T) {
	dir := t.TempDir()
	base, err := filepath.Abs("../../scenarios/examples/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sw := filepath.Join(dir, "s.yaml")
	os.WriteFile(sw, []byte("name: s\nbase: "+base+"\nmatrix:\n  policy.name: [balance, greedy-cv]\n  seed: [3..4]\n"), 0o644)
	out := filepath.Join(dir, "out")
	if o, err := drover(t, "sweep", "run", sw, "--out", out, "--jobs", "2", "--no-progress"); err != nil || !strings.Contains(o, "4 runs: 0 done before, 4 run now") {
		t.Fatalf("sweep run: %v\n%s", err, o)
	}
	if o, err := drover(t, "sweep", "run", sw, "--out", out, "--no-progress"); err != nil || !strings.Contains(o, "4 runs: 4 done before, 0 run now") {
		t.Fatalf("sweep run again: %v\n%s", err, o)
	}
	one := filepath.Join(dir, "one")
	if o, err := drover(t, "sim", base, "--policy", "greedy-cv", "--seed", "4", "--out", one, "--no-progress"); err != nil {
		t.Fatalf("sim: %v\n%s", err, o)
	}
	want, _ := os.ReadFile(filepath.Join(one, "report.json"))
	found := false
	runs, _ := filepath.Glob(filepath.Join(out, "runs", "*", "report.json"))
	for _, r := range runs {
		if b, _ := os.ReadFile(r); bytes.Equal(b, want) {
			found = true
		}
	}
	if !found {
		t.Error("no run of the sweep has the bytes of drover sim --policy greedy-cv --seed 4")
	}
	col, err := drover(t, "sweep", "collect", out)
	if err != nil || !strings.Contains(col, "- policy.name=greedy-cv: 2 runs (seeds 3, 4)") || !strings.Contains(col, "### Best cell per metric") {
		t.Fatalf("collect: %v\n%s", err, col)
	}
	rep, err := drover(t, "report", out, "--compare")
	if err != nil || !strings.Contains(rep, "- policy.name=balance: 2 runs (seeds 3, 4)") {
		t.Fatalf("report --compare: %v\n%s", err, rep)
	}
	if o, err := drover(t, "sweep", "collect", out, "--format", "html"); err != nil || !strings.Contains(o, filepath.Join(out, "compare.html")) {
		t.Fatalf("collect html: %v\n%s", err, o)
	}
}
