package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{[]string{"report", small, "--format", "html"}, exitBadInput, `--format "html"`},
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
