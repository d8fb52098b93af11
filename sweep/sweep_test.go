package sweep

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/droverlab/drover/scenarios"
)

const base = "../../scenarios/examples/small.yaml"

// parse writes a sweep file into a temporary directory beside nothing and
// parses it; the base is the small example.
func parse(t *testing.T, body string) (*Spec, error) {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs("../scenarios/examples/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body = strings.ReplaceAll(body, "BASE", abs)
	f := filepath.Join(dir, "sweep.yaml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(f)
}

func expand(t *testing.T, body string) []Run {
	t.Helper()
	s, err := parse(t, body)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Expand()
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// cells lists the runs as "path=value ..." with every override, seed included.
func cells(runs []Run) []string {
	var out []string
	for _, r := range runs {
		var parts []string
		for _, o := range r.Overrides {
			parts = append(parts, o.Path+"="+o.Value)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func TestExpandProductAndRanges(t *testing.T) {
	runs := expand(t, `
base: BASE
matrix:
  policy.name: [balance, greedy-cv]
  seed: [1..3, 7]
`)
	want := []string{
		"policy.name=balance sim.seed=1", "policy.name=balance sim.seed=2", "policy.name=balance sim.seed=3", "policy.name=balance sim.seed=7",
		"policy.name=greedy-cv sim.seed=1", "policy.name=greedy-cv sim.seed=2", "policy.name=greedy-cv sim.seed=3", "policy.name=greedy-cv sim.seed=7",
	}
	if got := cells(runs); !slices.Equal(got, want) {
		t.Fatalf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, r := range runs {
		if r.Index != i || len(r.ID) != 12 || len(r.Hash) != 24 {
			t.Errorf("run %d: index %d id %q hash %q", i, r.Index, r.ID, r.Hash)
		}
	}
	if runs[0].Cell != "policy.name=balance" || runs[4].Cell != "policy.name=greedy-cv" {
		t.Errorf("cells %q %q", runs[0].Cell, runs[4].Cell)
	}
	// A bare range is an axis too.
	if n := len(expand(t, "base: BASE\nmatrix: {seed: 1..30}\n")); n != 30 {
		t.Errorf("seed: 1..30 gave %d runs", n)
	}
}

// The include and exclude rows follow GitHub Actions' matrix: exclude drops
// every combination it matches; include adds its extra keys to the
// combinations whose matrix values it matches, and is a combination of its
// own when it matches none.
func TestIncludeExclude(t *testing.T) {
	runs := expand(t, `
base: BASE
matrix:
  policy.name: [balance, greedy-cv]
  policy.evacuation: [planned, fixed-batch]
exclude:
  - {policy.name: greedy-cv, policy.evacuation: fixed-batch}
include:
  - {policy.name: balance, policy.threshold: 0.3}
  - {policy.name: balance, policy.threshold: 0.4, policy.evacuation: fixed-batch}
  - {policy.name: consolidate}
  - {policy.name: greedy-cv, policy.evacuation: fixed-batch, migration.max_per_host_out: 1}
`)
	want := []string{
		"policy.name=balance policy.evacuation=planned policy.threshold=0.3",
		"policy.name=balance policy.evacuation=fixed-batch policy.threshold=0.4",
		"policy.name=greedy-cv policy.evacuation=planned",
		"policy.name=consolidate",
		"policy.name=greedy-cv policy.evacuation=fixed-batch migration.max_per_host_out=1",
	}
	if got := cells(runs); !slices.Equal(got, want) {
		t.Fatalf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// An include of a new combination gets every seed of the matrix.
	runs = expand(t, `
base: BASE
matrix: {policy.name: [balance], seed: [1..2]}
include: [{policy.name: consolidate}]
`)
	want = []string{"policy.name=balance sim.seed=1", "policy.name=balance sim.seed=2", "policy.name=consolidate sim.seed=1", "policy.name=consolidate sim.seed=2"}
	if got := cells(runs); !slices.Equal(got, want) {
		t.Fatalf("runs: %q, want %q", got, want)
	}
}

func TestIDsStable(t *testing.T) {
	a := expand(t, "base: BASE\nmatrix:\n  policy.name: [balance, greedy-cv]\n  seed: [1..2]\n")
	// The same points in another key order: same ids, same cells' runs.
	b := expand(t, "base: BASE\nmatrix:\n  seed: [1..2]\n  policy.name: [\"balance\", greedy-cv]\n")
	ids := func(rs []Run) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID+" "+r.Hash)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(a), ids(b)) {
		t.Errorf("ids differ:\n%q\n%q", ids(a), ids(b))
	}
	c := expand(t, "base: BASE\nmatrix:\n  policy.name: [balance, greedy-cv]\n  seed: [1..2]\n")
	if !slices.EqualFunc(a, c, func(x, y Run) bool { return x.ID == y.ID && x.Index == y.Index && x.Hash == y.Hash }) {
		t.Error("the same sweep expanded twice differs")
	}
	seen := map[string]bool{}
	for _, r := range a {
		if seen[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
	}
}

func TestApplyPaths(t *testing.T) {
	s, err := parse(t, `
base: BASE
matrix:
  host_classes[0].cpus: [32]
  migration.max_per_host_out: [1]
  network.oversubscription: [4]
  sim.duration: [2h]
  policy.threshold: [0.5]
`)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Expand()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := s.Resolve(&runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if sc.Hosts[0].CPUs != 32 || sc.Sim.Duration.Minutes() != 120 {
		t.Errorf("cpus %d duration %s", sc.Hosts[0].CPUs, sc.Sim.Duration)
	}
}

// Errors name the sweep file's line and column: in the sweep's own
// syntax and in values the scenario loader refuses.
func TestErrorPositions(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"base: BASE\nmatrix:\n  policy.name: [balance\n", "sweep.yaml:3:"},
		{"base: BASE\nmatrx: {}\n", `sweep.yaml:2:1: unknown key "matrx"`},
		{"base: BASE\nmatrix:\n  seed: [1, x]\n", "sweep.yaml:3:13: matrix: sim.seed: expected a seed"},
		{"base: BASE\nmatrix:\n  seed: [5..1]\n", "sweep.yaml:3:10: matrix: sim.seed: range \"5..1\" is empty"},
		{"base: BASE\nmatrix:\n  policy..name: [a]\n", "sweep.yaml:3:3: matrix: \"policy..name\" is not a scenario path"},
		{"base: BASE\nmatrix:\n  policy.name: [balance]\nexclude:\n  - {policy.x: 1}\n", "sweep.yaml:5:5: exclude: policy.x is not a matrix key"},
		{"base: nowhere.yaml\nmatrix:\n  policy.name: [balance]\n", "sweep.yaml:1:7: base:"},
		{"matrix:\n  policy.name: [balance]\n", "sweep.yaml:1:1: missing base"},
	} {
		_, err := parse(t, tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.body, err, tc.want)
		}
		var se *scenarios.Errors
		if err != nil && !errors.As(err, &se) {
			t.Errorf("%q: %T is not a *scenarios.Errors", tc.body, err)
		}
	}
	// A value the scenario refuses is reported where the sweep wrote it.
	s, err := parse(t, "base: BASE\nmatrix:\n  policy.name: [balance, nonsense]\n  migration.max_per_host_out: [2, -3]\n")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Expand()
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check(runs)
	if err == nil || !strings.Contains(err.Error(), "sweep.yaml:4:35: migration.max_per_host_out: must not be negative") {
		t.Fatalf("check: %v", err)
	}
	s, err = parse(t, "base: BASE\nmatrix:\n  policy.name: [balance, nonsense]\n")
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = s.Expand()
	if err := s.Check(runs); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Fatalf("check of an unknown policy: %v", err)
	}
}

func TestArraySpec(t *testing.T) {
	for _, tc := range []struct {
		idx  []int
		k    int
		want string
	}{
		{[]int{0, 1, 2, 3}, 4, "0-3%4"},
		{[]int{7, 3, 8, 9, 12}, 0, "3,7-9,12"},
		{[]int{5}, 2, "5%2"},
	} {
		if got := ArraySpec(tc.idx, tc.k); got != tc.want {
			t.Errorf("ArraySpec(%v, %d) = %q, want %q", tc.idx, tc.k, got, tc.want)
		}
	}
}
