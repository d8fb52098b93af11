package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// Every command answers with the documented exit codes (exit.go, README).
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nzones: [[[\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join("..", "..", "scenarios", "examples", "small.yaml")
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want int
		says string
	}{
		{[]string{"validate", small}, exitOK, "ok"},
		{[]string{"validate", bad}, exitBadInput, "bad.yaml:2:"},
		{[]string{"sim", small, "--evacuation", "bogus", "--out", out}, exitBadInput, `evacuation "bogus"`},
		{[]string{"sim", small, "--policy", "balanse", "--out", out}, exitBadInput, `unknown policy "balanse"`},
		{[]string{"sim", small, "--max-events", "100", "--no-progress", "--out", out}, exitFailed, "event budget exceeded"},
		{[]string{"plan", small, "--at", "2h"}, exitBadInput, "want a time within the scenario"},
		{[]string{"plan", small, "--at", "-5m"}, exitBadInput, "want a time within the scenario"},
		{[]string{"plan", small, "--policy", "disaster", "--deadline", "5m", "--fails-at", "10m"}, exitBadInput, "not both"},
		{[]string{"report", small, "--format", "pdf"}, exitBadInput, `--format "pdf"`},
		{[]string{"sim", small, "--format", "html,pdf", "--out", out}, exitBadInput, `--format "pdf": want a comma-separated list of json, html, md, csv`},
		{[]string{"sim"}, exitBadInput, "accepts 1 arg"},
		{[]string{"sim", small, "--bogus"}, exitBadInput, "unknown flag"},
		{[]string{"nosuch"}, exitBadInput, "unknown command"},
		{[]string{"version"}, exitOK, "drover "},
	} {
		root := newRoot()
		var buf bytes.Buffer
		root.SetOut(&buf)
		root.SetErr(&buf)
		root.SetArgs(c.args)
		err := root.Execute()
		if got := exitCode(err); got != c.want {
			t.Errorf("drover %s: exit %d (%v), want %d", strings.Join(c.args, " "), got, err, c.want)
		}
		text := buf.String()
		if err != nil {
			text += err.Error()
		}
		if !strings.Contains(text, c.says) {
			t.Errorf("drover %s: output %q lacks %q", strings.Join(c.args, " "), text, c.says)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "report.json")); err == nil {
		t.Errorf("a run stopped by its budget left a report")
	}
}

// An unreachable host is listed as down and the rest is read: the scenario
// is written, the warning says which host and why, and the exit is 3
// (partial). The host is a closed port on loopback, refused at once.
func TestInventoryCarriesOnPastAnUnreachableHost(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.yaml")
	if err := os.WriteFile(inv, []byte("tls: required\nhosts:\n  - {name: gone, address: 127.0.0.1, port: 1, transport: tcp}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "live.yaml")
	root := newRoot()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs([]string{"inventory", "--inventory", inv, "--out", out})
	err := root.Execute()
	if got := exitCode(err); got != exitPartial {
		t.Fatalf("exit %d (%v), want %d; stderr:\n%s", got, err, exitPartial, stderr.String())
	}
	if !strings.Contains(stderr.String(), "gone") || !strings.Contains(stderr.String(), "taken as down") {
		t.Errorf("no warning for the unreachable host:\n%s", stderr.String())
	}
	if strings.Count(stderr.String(), "dial tcp") > 1 {
		t.Errorf("the dial error is said twice:\n%s", stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"down, not asked", "host_crash", "tls: required"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the scenario lacks %q:\n%s", want, data)
		}
	}
	sc, err := scenarios.Load(out)
	if err != nil {
		t.Fatalf("the scenario inventory wrote does not load: %v\n%s", err, data)
	}
	if sc.Policy.TLS != cluster.TLSRequired {
		t.Errorf("policy.tls %q, want required", sc.Policy.TLS)
	}
}

// plan warns of the moves its own prediction ends by a limit.
func TestPlanWarnsOfLimits(t *testing.T) {
	p := &plan.Plan{Moves: []plan.Move{
		{ID: 1, VM: "a", Destination: "h2", Predicted: plan.Prediction{Outcome: cluster.OutcomeCompleted}},
		{ID: 2, VM: "b", Destination: "h3", Predicted: plan.Prediction{Outcome: cluster.OutcomeAborted, Reason: "completion-timeout"}},
	}}
	var b bytes.Buffer
	warnLimits(&b, p)
	if got, want := b.String(), "warning: move 2 (b -> h3) is predicted to end aborted: completion-timeout\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// --log-format json gives one JSON object a line; anything else is refused.
func TestLogFormat(t *testing.T) {
	defer func(f string) { logFormat = f }(logFormat)
	logFormat = "json"
	var b bytes.Buffer
	log, err := newLogger(&b)
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("snapshot failed; retrying", "attempt", 1)
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["msg"] != "snapshot failed; retrying" || m["attempt"] != 1.0 {
		t.Errorf("not a JSON line: %q (%v)", b.String(), err)
	}
	logFormat = "xml"
	if _, err := newLogger(&b); exitCode(err) != exitBadInput {
		t.Errorf("--log-format xml: %v, want a usage error", err)
	}
}
