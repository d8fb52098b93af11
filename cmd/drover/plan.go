package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/registry"
	"github.com/droverlab/drover/sim"
)

// planRequest is what drover plan is asked: the policy and its inputs.
type planRequest struct {
	policy, hosts, zone string
	at, deadline        time.Duration // deadline from at; 0 with failsAt
	failsAt             time.Duration // on the scenario's clock
	explain             bool
}

// makePlan asks the policy for a plan on the cluster of sc as it is at
// req.at, timed with the simulator's network and pre-copy model. Errors
// about the request are usage errors.
func makePlan(sc *scenarios.Scenario, req planRequest) (*plan.Plan, error) {
	cfg, err := scheduler.NewConfig(sc.Policy, sc.Migration)
	if err != nil {
		return nil, badInput("%v", err)
	}
	pol, err := registry.New(req.policy, sc.Policy.Settings(req.policy))
	if err != nil {
		return nil, badInput("--policy %s: %v", req.policy, err)
	}
	at := req.at
	in := &policy.Input{Now: at, Settings: cfg.Settings}
	in.Explain = req.explain
	switch req.policy {
	case "evacuate", "planned", "fixed-batch":
		if req.hosts != "" {
			in.Drain = strings.Split(req.hosts, ",")
		} else {
			for _, e := range sc.Events {
				if e.Kind == scenarios.EventMaintenance {
					in.Drain = append(in.Drain, e.Host)
				}
			}
		}
		if len(in.Drain) == 0 {
			return nil, badInput("--hosts: no hosts to drain (and the scenario requests no maintenance)")
		}
	case "disaster", "disaster-fixed-batch":
		// --deadline counts from --at, as drover run's counts from now;
		// --fails-at is the scenario's own clock.
		in.Zone = req.zone
		switch {
		case req.failsAt > 0:
			in.Deadline = req.failsAt
		case req.deadline > 0:
			in.Deadline = at + req.deadline
		}
		for _, e := range sc.Events {
			if e.Kind == scenarios.EventDisasterWarning && (in.Zone == "" || in.Zone == e.Zone) {
				in.Zone = e.Zone
				if in.Deadline == 0 {
					in.Deadline = e.FailsAt - e.At + at
				}
				break
			}
		}
		switch {
		case in.Zone == "":
			return nil, badInput("--zone is needed: the scenario warns of no disaster")
		case in.Deadline == 0:
			return nil, badInput("--deadline (or --fails-at) is needed: the scenario warns zone %s of no disaster", in.Zone)
		case in.Deadline <= at:
			return nil, badInput("the zone fails at %s, not after --at %s", in.Deadline, at)
		}
	}
	snap, err := sim.SnapshotAt(sc, at, sim.Options{})
	if err != nil {
		return nil, err
	}
	in.Snap = snap
	p, err := pol.Plan(in)
	if err != nil {
		return nil, badInput("%v", err)
	}
	return p, nil
}

func planCmd() *cobra.Command {
	var (
		req       planRequest
		out, inv  string
		ttl       time.Duration
		reportDir string
		format    string
	)
	c := &cobra.Command{
		Use:   "plan (SCENARIO.yaml | --inventory FILE) --policy balance|evacuate|disaster|fixed-batch|greedy-cv|consolidate",
		Short: "Make a plan on a scenario's cluster and print its predicted timing",
		Long: "Builds the cluster of SCENARIO at --at (running the simulation up to then), asks the policy for a plan,\n" +
			"and times it with the same network and pre-copy model as the simulator. Evacuation takes --hosts\n" +
			"(default: the scenario's maintenance hosts); disaster takes --zone and --deadline (default: the\n" +
			"scenario's first disaster warning). With --inventory it plans on a live snapshot of the hosts of\n" +
			"FILE instead (as `drover inventory` takes it); hosts the file marks maintenance are drained. A plan\n" +
			"made on live hosts records the cluster it was made on and expires after --expires: drover apply\n" +
			"refuses it once the cluster has moved on.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := parseFormats(format)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("format") && reportDir == "" {
				return badInput("--format writes files beside DIR/report.json: give --report DIR")
			}
			var sc *scenarios.Scenario
			var live *cluster.Snapshot
			switch {
			case inv != "" && len(args) == 0:
				sc, live, err = liveScenario(cmd.Context(), inv)
				if err != nil {
					return err
				}
			case inv == "" && len(args) == 1:
				sc, err = scenarios.Load(args[0])
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return exitError{exitBadInput}
				}
			default:
				return badInput("give a scenario file or --inventory FILE, not both")
			}
			if req.at < 0 || inv == "" && req.at > sc.Sim.Duration {
				return badInput("--at %s: want a time within the scenario, 0 to %s", req.at, sc.Sim.Duration)
			}
			if cmd.Flags().Changed("deadline") && cmd.Flags().Changed("fails-at") {
				return badInput("give --deadline (from --at) or --fails-at (from the scenario's start), not both")
			}
			if req.deadline < 0 || req.failsAt < 0 || ttl <= 0 {
				return badInput("--deadline and --fails-at must not be negative, --expires must be positive")
			}
			p, err := makePlan(sc, req)
			if err != nil {
				return err
			}
			if live != nil {
				p.Basis = plan.NewBasis(live, time.Now(), ttl, plan.Request{Policy: req.policy, Hosts: splitList(req.hosts),
					Zone: req.zone, Deadline: req.deadline})
			}
			p.WriteTable(cmd.OutOrStdout())
			if req.explain {
				fmt.Fprintf(cmd.OutOrStdout(), "\nrefused hosts (%d):\n", len(p.Rejections))
				for _, r := range p.Rejections {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s -> %s: %s: %s\n", r.VM, r.Host, r.Plugin, strings.Join(r.Reason, "; "))
				}
			}
			warnLimits(cmd.ErrOrStderr(), p)
			if out != "" {
				var buf bytes.Buffer
				if err := p.WriteJSON(&buf); err != nil {
					return err
				}
				if err := renameio.WriteFile(out, buf.Bytes(), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "plan: %s\n", out)
				if p.Basis != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "made on cluster %s; apply refuses it after %s or once the cluster has changed\n",
						p.Basis.Fingerprint, p.Basis.Expires.Local().Format(time.DateTime))
				}
			}
			if reportDir != "" {
				rep := reports.PlanReport(p, sc.Name)
				path, err := rep.Save(reportDir)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", path)
				if err := writeFormats(cmd.OutOrStdout(), reportDir, rep, formats); err != nil {
					return err
				}
			}
			if len(p.Unplaced) > 0 {
				return exitError{exitPartial} // the table above says which and why
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&req.policy, "policy", "balance", "balance, greedy-cv, consolidate, evacuate, fixed-batch or disaster")
	f.StringVar(&req.hosts, "hosts", "", "hosts to drain, comma-separated (evacuate, fixed-batch)")
	f.StringVar(&req.zone, "zone", "", "zone predicted to fail (disaster)")
	f.DurationVar(&req.deadline, "deadline", 0, "how long after --at the zone fails (disaster), as drover run's --deadline counts from now")
	f.DurationVar(&req.failsAt, "fails-at", 0, "when the zone fails on the scenario's clock (disaster), instead of --deadline")
	f.DurationVar(&req.at, "at", 0, "plan on the cluster as it is at this time of the scenario")
	f.BoolVar(&req.explain, "explain", false, "list every host refused for every VM, and why")
	f.StringVar(&out, "out", "", "write the plan as JSON")
	f.StringVar(&reportDir, "report", "", "write DIR/report.json: the plan's moves as predicted, in the report schema")
	f.StringVar(&format, "format", "json", "with --report: files to write into DIR: json (always), html, md, csv")
	f.StringVar(&inv, "inventory", "", "plan on the live hosts of this inventory file instead of a scenario")
	f.DurationVar(&ttl, "expires", time.Hour, "with --inventory: how long drover apply accepts the plan")
	return c
}

// splitList splits a comma-separated flag; "" is none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// warnLimits says which moves the plan's own prediction ends by a limit
// (a completion or progress timeout, max iterations): they would abort,
// force or switch to post-copy when applied.
func warnLimits(w io.Writer, p *plan.Plan) {
	for _, m := range p.Moves {
		if o := m.Predicted.Outcome; o != "" && o != cluster.OutcomeCompleted {
			fmt.Fprintf(w, "warning: move %d (%s -> %s) is predicted to end %s: %s\n", m.ID, m.VM, m.Destination, o, m.Predicted.Reason)
		}
	}
}
