package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/droverlab/drover/reports"
)

// drover runs the command line in-process and returns what it printed.
func drover(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(&buf)
	root.SetArgs(args)
	err := root.Execute()
	return buf.String(), err
}

// sim writes report.html beside report.json when asked; drover report
// compares policies over seeds and says which is better and how sure.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join("..", "..", "scenarios", "examples", "small.yaml")
	var runs []string
	for _, pol := range []string{"balance", "greedy-cv"} {
		for seed := 1; seed <= 3; seed++ {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d", pol, seed))
			args := []string{"sim", small, "--policy", pol, "--seed", fmt.Sprint(seed), "--no-progress", "--out", out}
			if seed == 1 {
				args = append(args, "--format", "html,csv")
			}
			text, err := drover(t, args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, text)
			}
			runs = append(runs, out)
		}
	}
	first := runs[0]
	for _, f := range []string{"report.json", "report.html", "migrations.csv", "journal.jsonl"} {
		if _, err := os.Stat(filepath.Join(first, f)); err != nil {
			t.Errorf("sim --format html,csv: %v", err)
		}
	}
	text, _ := drover(t, "sim", small, "--no-progress", "--out", filepath.Join(dir, "x"))
	if !strings.Contains(text, "\nmigrations by cause: request 4\n") {
		t.Errorf("the by-cause line has no label:\n%s", text)
	}

	text, err := drover(t, append([]string{"report", "--compare"}, runs...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## small", "- balance: 3 runs (seeds 1, 2, 3)", "| metric | balance (3 runs) | greedy-cv (3 runs) |",
		"| imbalance, mean |", "Welch", "Of the "} {
		if !strings.Contains(text, want) {
			t.Errorf("report --compare lacks %q:\n%s", want, text)
		}
	}

	page := filepath.Join(dir, "cmp", "page.html")
	text, err = drover(t, append([]string{"report", "--compare", "--format", "csv,html", "--out", page}, runs...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "scenario,metric,unit,policy,runs,") || !strings.Contains(text, "html: "+page) {
		t.Errorf("report --compare --format csv,html:\n%s", text)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<h2>small</h2>") {
		t.Errorf("comparison page: %v", err)
	}

	// One run's page is rendered again from its report.json, byte for byte
	// what sim wrote.
	simPage, _ := os.ReadFile(filepath.Join(first, "report.html"))
	again := filepath.Join(dir, "again")
	if _, err := drover(t, "report", first, "--format", "html", "--out", again); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(again, "report.html")); !bytes.Equal(b, simPage) || len(b) == 0 {
		t.Errorf("report --format html differs from the page sim wrote")
	}

	// A report from a newer major version is refused, saying so.
	newer := filepath.Join(dir, "newer")
	os.MkdirAll(newer, 0o755)
	os.WriteFile(filepath.Join(newer, "report.json"), []byte(`{"schema_version": "2.1", "scenario": "s"}`), 0o644)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"report", newer}, "the file is version 2.1, this drover reads 1.x: use a newer drover"},
		{[]string{"report", first, runs[1], "--format", "html"}, "give --compare"},
		{[]string{"report", first, "--format", "json"}, "report.json is the input"},
	} {
		text, err := drover(t, c.args...)
		if exitCode(err) != exitBadInput || !strings.Contains(text+fmt.Sprint(err), c.says) {
			t.Errorf("drover %v: exit %d, %v; want exit %d saying %q", c.args, exitCode(err), err, exitBadInput, c.says)
		}
	}

	// md and csv together, with html, are written as files.
	files := filepath.Join(dir, "files")
	text, err = drover(t, append([]string{"report", "--compare", "--format", "html,md,csv", "--out", files}, runs...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"compare.html", "compare.md", "compare.csv"} {
		p := filepath.Join(files, f)
		if b, err := os.ReadFile(p); err != nil || len(b) == 0 || !strings.Contains(text, p) {
			t.Errorf("report --compare --format html,md,csv: %s: %v\n%s", f, err, text)
		}
	}

	text, err = drover(t, "report", "--schema")
	if err != nil || !strings.Contains(text, `"$id": "https://github.com/droverlab/drover/reports/report.schema.json"`) {
		t.Errorf("report --schema: %v\n%.200s", err, text)
	}
}

// plan --report writes the plan as a report of kind plan, and its page
// says the figures are predictions.
func TestPlanReport(t *testing.T) {
	dir := t.TempDir()
	maint := filepath.Join("..", "..", "scenarios", "examples", "maintenance.yaml")
	text, err := drover(t, "plan", maint, "--policy", "evacuate", "--report", dir, "--format", "html")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "report: "+filepath.Join(dir, "report.json")) || !strings.Contains(text, "html: "+filepath.Join(dir, "report.html")) {
		t.Errorf("plan --report:\n%s", text)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || !strings.Contains(string(data), `"kind": "plan"`) || !strings.Contains(string(data), `"migration_ids": [`) {
		t.Errorf("plan's report.json: %v\n%.300s", err, data)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for _, want := range []string{"plan (predicted, nothing measured)", "completed (predicted)", "<title>Migrations</title>",
		"<title>Evacuation progress</title>", "nothing was measured yet"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("plan's report.html lacks %q", want)
		}
	}
	if _, err := drover(t, "plan", maint, "--policy", "evacuate", "--format", "html"); exitCode(err) != exitBadInput {
		t.Errorf("plan --format without --report: %v, want bad input", err)
	}
}

// calibrate --format html writes the held-out predictions against the
// measurements as a report and its page.
func TestCalibrateReport(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join("..", "..", "e2e", "lab", "calib", "day3", "measurements.csv")
	text, err := drover(t, "calibrate", "--table", table, "--out", dir, "--format", "html", "--folds", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || !strings.Contains(string(data), `"kind": "calibration"`) || !strings.Contains(string(data), `"predicted_low_ms"`) {
		t.Fatalf("calibrate's report.json: %v\n%.300s", err, data)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	for _, want := range []string{"<title>Predicted against measured</title>", "within the 80 % range", "a profile fitted without it"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("calibrate's report.html lacks %q", want)
		}
	}
	if strings.Contains(string(page), `<section id="gantt">`) {
		t.Errorf("calibrate's page draws a Gantt chart of migrations that shared no clock")
	}
}

// calibrate predicts a table with the half of the default its guests ran
// under (TCG unless told), and refuses runs of TCG and KVM guests mixed.
func TestCalibrateTakesTheAcceleratorsHalf(t *testing.T) {
	table := filepath.Join("..", "..", "e2e", "lab", "calib", "day4", "measurements.csv")
	for accel, want := range map[string]string{"tcg": "Profile qemu10-tcg-lab on", "kvm": "Profile qemu10-tcg on", "auto": "Profile qemu10-tcg-lab on"} {
		text, err := drover(t, "calibrate", "--table", table, "--evaluate", "--accel", accel)
		if err != nil || !strings.Contains(text, want) {
			t.Errorf("--accel %s: %v, want %q in\n%.200s", accel, err, want, text)
		}
	}
	dir := t.TempDir()
	in := func(accel string) *reports.MigrationInputs {
		return &reports.MigrationInputs{MemoryBytes: 256 << 20, ResidentBytes: 200 << 20, WSSBytes: 16 << 20, Cap: 32 << 20, Accel: accel}
	}
	rep := &reports.Report{Kind: reports.KindApply, Migrations: []reports.Migration{
		{ID: 1, VM: "e", Outcome: "completed", JobMS: 5000, DurationMS: 6000, Bytes: 1 << 28, Rounds: 3, Inputs: in("tcg")},
		{ID: 2, VM: "k", Outcome: "completed", JobMS: 5000, DurationMS: 6000, Bytes: 1 << 28, Rounds: 3, Inputs: in("")},
	}}
	if _, err := rep.Save(dir); err != nil {
		t.Fatal(err)
	}
	text, err := drover(t, "calibrate", "--from-runs", dir, "--out", t.TempDir())
	if !strings.Contains(text+fmt.Sprint(err), "1 of 2 migrations are of TCG guests, the rest of KVM ones: calibrate each apart") {
		t.Errorf("mixed runs not refused: %v\n%s", err, text)
	}
}
