package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/registry"
	"github.com/droverlab/drover/sim"
)

func planCmd() *cobra.Command {
	var (
		name, hosts, zone, out, inv string
		at, deadline, failsAt       time.Duration
		explain                     bool
	)
	c := &cobra.Command{
		Use:   "plan (SCENARIO.yaml | --inventory FILE) --policy balance|evacuate|disaster|fixed-batch|greedy-cv|consolidate",
		Short: "Make a plan on a scenario's cluster and print its predicted timing",
		Long: "Builds the cluster of SCENARIO at --at (running the simulation up to then), asks the policy for a plan,\n" +
			"and times it with the same network and pre-copy model as the simulator. Evacuation takes --hosts\n" +
			"(default: the scenario's maintenance hosts); disaster takes --zone and --deadline (default: the\n" +
			"scenario's first disaster warning). With --inventory it plans on a live snapshot of the hosts of\n" +
			"FILE instead (as `drover inventory` takes it); hosts the file marks maintenance are drained.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sc *scenarios.Scenario
			var err error
			switch {
			case inv != "" && len(args) == 0:
				sc, err = liveScenario(cmd.Context(), inv)
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
			if at < 0 || inv == "" && at > sc.Sim.Duration {
				return badInput("--at %s: want a time within the scenario, 0 to %s", at, sc.Sim.Duration)
			}
			if cmd.Flags().Changed("deadline") && cmd.Flags().Changed("fails-at") {
				return badInput("give --deadline (from --at) or --fails-at (from the scenario's start), not both")
			}
			if deadline < 0 || failsAt < 0 {
				return badInput("--deadline and --fails-at must not be negative")
			}
			cfg, err := scheduler.NewConfig(sc.Policy, sc.Migration)
			if err != nil {
				return badInput("%v", err)
			}
			pol, err := registry.New(name, sc.Policy.Settings(name))
			if err != nil {
				return badInput("--policy %s: %v", name, err)
			}
			in := &policy.Input{Now: at, Settings: cfg.Settings}
			in.Explain = explain
			switch name {
			case "evacuate", "fixed-batch":
				if hosts != "" {
					in.Drain = strings.Split(hosts, ",")
				} else {
					for _, e := range sc.Events {
						if e.Kind == scenarios.EventMaintenance {
							in.Drain = append(in.Drain, e.Host)
						}
					}
				}
				if len(in.Drain) == 0 {
					return badInput("--hosts: no hosts to drain (and the scenario requests no maintenance)")
				}
			case "disaster":
				// --deadline counts from --at, as drover run's counts from
				// now; --fails-at is the scenario's own clock.
				in.Zone = zone
				switch {
				case failsAt > 0:
					in.Deadline = failsAt
				case deadline > 0:
					in.Deadline = at + deadline
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
					return badInput("--zone is needed: the scenario warns of no disaster")
				case in.Deadline == 0:
					return badInput("--deadline (or --fails-at) is needed: the scenario warns zone %s of no disaster", in.Zone)
				case in.Deadline <= at:
					return badInput("the zone fails at %s, not after --at %s", in.Deadline, at)
				}
			}
			snap, err := sim.SnapshotAt(sc, at, sim.Options{})
			if err != nil {
				return err
			}
			in.Snap = snap
			p, err := pol.Plan(in)
			if err != nil {
				return badInput("%v", err)
			}
			p.WriteTable(cmd.OutOrStdout())
			if explain {
				fmt.Fprintf(cmd.OutOrStdout(), "\nrefused hosts (%d):\n", len(p.Rejections))
				for _, r := range p.Rejections {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s -> %s: %s: %s\n", r.VM, r.Host, r.Plugin, strings.Join(r.Reason, "; "))
				}
			}
			if out != "" {
				var buf bytes.Buffer
				if err := p.WriteJSON(&buf); err != nil {
					return err
				}
				if err := renameio.WriteFile(out, buf.Bytes(), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "plan: %s\n", out)
			}
			if len(p.Unplaced) > 0 {
				return exitError{exitPartial} // the table above says which and why
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&name, "policy", "balance", "balance, greedy-cv, consolidate, evacuate, fixed-batch or disaster")
	f.StringVar(&hosts, "hosts", "", "hosts to drain, comma-separated (evacuate, fixed-batch)")
	f.StringVar(&zone, "zone", "", "zone predicted to fail (disaster)")
	f.DurationVar(&deadline, "deadline", 0, "how long after --at the zone fails (disaster), as drover run's --deadline counts from now")
	f.DurationVar(&failsAt, "fails-at", 0, "when the zone fails on the scenario's clock (disaster), instead of --deadline")
	f.DurationVar(&at, "at", 0, "plan on the cluster as it is at this time of the scenario")
	f.BoolVar(&explain, "explain", false, "list every host refused for every VM, and why")
	f.StringVar(&out, "out", "", "write the plan as JSON")
	f.StringVar(&inv, "inventory", "", "plan on the live hosts of this inventory file instead of a scenario")
	return c
}
