package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// The apply report: what the Core did and the backend answered, in the
// sim's report format, each move beside its prediction.
func TestApplyReport(t *testing.T) {
	pl := &plan.Plan{Policy: "evacuate", Makespan: 20 * time.Second, LowerBound: 10 * time.Second, Moves: []plan.Move{
		{ID: 1, VM: "v1", Source: "a", Destination: "b", Predicted: plan.Prediction{Start: 0, End: 9 * time.Second}},
		{ID: 2, VM: "v2", Source: "a", Destination: "b", Predicted: plan.Prediction{Start: 9 * time.Second, End: 20 * time.Second}},
		{ID: 3, VM: "v3", Source: "a", Destination: "c"},
	}}
	var out bytes.Buffer
	pr := newProgress(&out, pl)
	// The Core readies its own copy of the submitted plan: the report
	// must list the plan once, not twice.
	accepted := *pl
	accepted.Moves = pl.Moves[:2]
	pr.ready(scheduler.Ready{
		Plans: []*plan.Plan{&accepted},
		Journal: []scheduler.Record{
			{Kind: scheduler.RecMove, Plan: 1, Policy: "evacuate", ID: 7},
			{Kind: scheduler.RecMove, Plan: 1, Policy: "evacuate", ID: 8},
			{Kind: scheduler.RecRefuse, VM: "v3", Destination: "c", Policy: "evacuate", Reason: "insufficient memory"},
		},
		Commands: []cluster.Command{
			cluster.StartMigration{ID: 7, VM: "v1", Source: "a", Destination: "b", Transport: cluster.TransportTLS, Cause: "evacuate"},
			cluster.StartMigration{ID: 8, VM: "v2", Source: "a", Destination: "b", Transport: cluster.TransportTLS, Cause: "evacuate"},
		},
	})
	pr.event(cluster.MigrationProgress{ID: 7, Iteration: 2, Sent: 50, Remaining: 50})
	pr.event(cluster.MigrationDone{ID: 7, VM: "v1", Outcome: cluster.OutcomeCompleted, Downtime: 40 * time.Millisecond, Bytes: 100, Rounds: 3})
	pr.event(cluster.MigrationDone{ID: 8, VM: "v2", Outcome: cluster.OutcomeAborted, Reason: "progress-timeout", Bytes: 10})
	pr.finish()
	r := pr.report("plan.json")
	if len(r.Migrations) != 3 {
		t.Fatalf("migrations %+v", r.Migrations)
	}
	s := r.Summary
	if s.Completed != 1 || s.Aborted != 1 || s.Rejected != 1 || s.BytesMoved != 110 || s.MaxConcurrent != 2 || s.MaxDowntimeMS != 40 {
		t.Errorf("summary %+v", s)
	}
	var v1 = r.Migrations[0]
	for _, m := range r.Migrations {
		if m.VM == "v1" {
			v1 = m
		}
	}
	if v1.PredictedMS != 9000 || v1.Transport != "tls" || v1.Cause != "evacuate" || v1.Rounds != 3 {
		t.Errorf("v1 %+v", v1)
	}
	if len(r.Plans) != 1 {
		t.Fatalf("plans %+v, want the submitted one once", r.Plans)
	}
	if r.Kind != "apply" || r.Policy != "evacuate" {
		t.Errorf("kind %q policy %q", r.Kind, r.Policy)
	}
	if p := r.Plans[0]; p.PredictedMakespanMS != 20000 || p.LowerBoundMS != 10000 || p.Completed != 1 || p.Moves != 3 {
		t.Errorf("plan %+v", p)
	}
	// Its page shows the predictions against what happened, and says
	// why a real run has no utilisation heat map.
	var page bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<section id="predicted">`, `<svg class="chart"`, "a migration on real hosts",
		"This run sampled no host utilisation", "<td>v3</td><td> → c</td><td>evacuate</td>"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("apply's report.html lacks %q", want)
		}
	}
	for _, want := range []string{"refused v3 -> c: insufficient memory", "completed v1", "aborted  v2", "2 moves ended (1 not on their destination)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Commands on real hosts refuse bad input before contacting any host.
func TestRealHostCommandsCheckTheirInput(t *testing.T) {
	dir := t.TempDir()
	inv := dir + "/hosts.yaml"
	if err := os.WriteFile(inv, []byte("hosts:\n  - {name: a, address: 198.18.200.1, transport: tcp}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := dir + "/bad.yaml"
	if err := os.WriteFile(bad, []byte("hosts:\n  - {name: a, transport: tcp}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd  *cobra.Command
		args []string
		want string
	}{
		{runCmd(), []string{"--inventory", inv}, "nothing to do"},
		{runCmd(), []string{"--inventory", inv, "--disaster", "b"}, "needs --deadline"},
		{runCmd(), []string{"--inventory", inv, "--policy", "nosuch"}, "nosuch"},
		{runCmd(), []string{"--inventory", bad, "--drain", "a"}, "exit 2"},
		{applyCmd(), []string{dir + "/missing.json", "--inventory", inv}, "no such file"},
	} {
		var out bytes.Buffer
		tc.cmd.SetArgs(tc.args)
		tc.cmd.SetOut(&out)
		tc.cmd.SetErr(&out)
		tc.cmd.SilenceUsage, tc.cmd.SilenceErrors = true, true
		err := tc.cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: err = %v, want %q", tc.cmd.Name(), tc.args, err, tc.want)
		}
	}
}
