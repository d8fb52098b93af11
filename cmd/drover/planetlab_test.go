package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/droverlab/drover/scenarios"
)

// drover planetlab replays the shipped day on 800 hosts, prints CloudSim's figures beside its own, writes
// planetlab.json, and refuses a malformed policy name before reading
// anything.
func TestPlanetLabCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("a day replay")
	}
	out := t.TempDir()
	root := newRoot()
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(&buf)
	root.SetArgs([]string{"planetlab", "--traces", "../../planetlab/testdata/20110303.tar.gz", "--policy", "thr-mmt-0.8",
		"--reference", "../../planetlab/testdata/cloudsim-reference.csv", "--out", out})
	if err := root.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	for _, want := range []string{"thr-mmt-0.8", "CloudSim", "198.08", "Δ"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "planetlab.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res []struct {
		Policy     string
		Migrations int
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res) != 1 || res[0].Policy != "thr-mmt-0.8" || res[0].Migrations == 0 {
		t.Errorf("planetlab.json: %v %+v", err, res)
	}
}

func TestPlanetLabBadPolicy(t *testing.T) {
	for _, c := range []struct{ arg, says string }{
		{"thr-mmt", "want DETECTOR-SELECTOR-PARAMETER"},
		{"thr-mmt-1.5", "threshold 1.5 must be in (0, 1]"},
		{"xyz-mmt-1", `unknown detector "xyz"`},
	} {
		root := newRoot()
		var buf bytes.Buffer
		root.SetOut(&buf)
		root.SetErr(&buf)
		root.SetArgs([]string{"planetlab", "--traces", "nonexistent", "--policy", c.arg})
		err := root.Execute()
		if exitCode(err) != exitBadInput || err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("--policy %s: exit %d, %v; want %d saying %q", c.arg, exitCode(err), err, exitBadInput, c.says)
		}
	}
}

// drover sim --planetlab DAY --policy thr-mmt-0.8 runs the same replay; on a
// scenario the same policy runs in the simulator.
func TestSimPlanetLab(t *testing.T) {
	if testing.Short() {
		t.Skip("a day replay")
	}
	out := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"sim", "--planetlab", "../../planetlab/testdata/20110303.tar.gz", "--policy", "thr-mmt-0.8", "--out", out}, exitOK, "thr-mmt-0.8"},
		{[]string{"sim", "--planetlab", "../../planetlab/testdata/20110303.tar.gz", "--out", out}, exitBadInput, "--policy DETECTOR-SELECTOR-PARAMETER is required"},
		{[]string{"sim", "--planetlab", "x", "--policy", "thr-xyz-0.8", "--out", out}, exitBadInput, `unknown VM selector "xyz"`},
		{[]string{"sim", "--planetlab", "x", "extra", "--policy", "thr-mmt-0.8"}, exitBadInput, "unknown command"},
		{[]string{"sim", "../../scenarios/examples/small.yaml", "--policy", "thr-mmt-0.8", "--out", t.TempDir()}, exitOK, "plan thr-mmt-0.8 at"},
		{[]string{"sim", "../../scenarios/examples/small.yaml", "--policy", "thr-mmt-1.5", "--out", t.TempDir()}, exitBadInput, "threshold 1.5 must be in (0, 1]"},
		{[]string{"sim", "../../scenarios/examples/small.yaml", "--reference", "../../planetlab/testdata/cloudsim-reference.csv", "--out", t.TempDir()}, exitBadInput, `scenario "small" is not a PlanetLab day`},
	} {
		root := newRoot()
		var buf bytes.Buffer
		root.SetOut(&buf)
		root.SetErr(&buf)
		root.SetArgs(c.args)
		err := root.Execute()
		text := buf.String()
		if err != nil {
			text += err.Error()
		}
		if exitCode(err) != c.code || !strings.Contains(text, c.says) {
			t.Errorf("drover %s: exit %d, %q; want %d saying %q", strings.Join(c.args, " "), exitCode(err), text, c.code, c.says)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "planetlab.json")); err != nil {
		t.Error(err)
	}
}

// drover gen planetlab writes a scenario that drover validate accepts.
func TestGenPlanetLab(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pl.yaml")
	cs := filepath.Join(dir, "cs.yaml")
	for _, args := range [][]string{
		{"gen", "planetlab", "--traces", "../../planetlab/testdata/20110303.tar.gz", "--out", file},
		{"validate", file},
		{"gen", "planetlab", "--cloudsim", "--traces", "../../planetlab/testdata/20110303.tar.gz", "--out", cs},
		{"validate", cs},
	} {
		root := newRoot()
		var buf bytes.Buffer
		root.SetOut(&buf)
		root.SetErr(&buf)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("drover %s: %v\n%s", strings.Join(args, " "), err, buf.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pl-traces", "vm1051.csv")); err != nil {
		t.Error(err)
	}
	sc, err := scenarios.Load(cs)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Sim.MigrationModel != scenarios.MigrationCloudSim {
		t.Errorf("--cloudsim: migration model %q, want %q", sc.Sim.MigrationModel, scenarios.MigrationCloudSim)
	}
}

// The shipped day as CloudSim's experiment in the simulator: drover gen
// planetlab --cloudsim, then drover sim --policy thr-mmt-0.8 --reference
// prints CloudSim's figures beside; the goals hold on this day and
// policy (energy and migrations within 5%, SLAV within 10%).
func TestSimCloudSimScenarioAgainstReference(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulated day")
	}
	dir := t.TempDir()
	cs := filepath.Join(dir, "cs.yaml")
	var buf bytes.Buffer
	for _, args := range [][]string{
		{"gen", "planetlab", "--cloudsim", "--traces", "../../planetlab/testdata/20110303.tar.gz", "--out", cs},
		{"sim", cs, "--policy", "thr-mmt-0.8", "--no-progress", "--reference", "../../planetlab/testdata/cloudsim-reference.csv", "--out", filepath.Join(dir, "out")},
	} {
		buf.Reset()
		root := newRoot()
		root.SetOut(&buf)
		root.SetErr(&buf)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("drover %s: %v\n%s", strings.Join(args, " "), err, buf.String())
		}
	}
	var delta []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "Δ" {
			delta = f[1:]
		}
	}
	if len(delta) < 5 || !strings.Contains(buf.String(), "198.08") {
		t.Fatalf("no CloudSim figures and Δ line:\n%s", buf.String())
	}
	pct := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil {
			t.Fatalf("Δ %q: %v", s, err)
		}
		return math.Abs(v)
	}
	// Energy, migrations, SLATAH, PDM, SLAV.
	if pct(delta[0]) > 5 || pct(delta[1]) > 5 || pct(delta[4]) > 10 {
		t.Errorf("energy %s, migrations %s, SLAV %s from CloudSim's; want within 5%%, 5%%, 10%%:\n%s", delta[0], delta[1], delta[4], buf.String())
	}
}
