package main

import (
	"fmt"
	"os"
	"strings"
	"time"

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
		at, deadline                time.Duration
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
					return exitError{2}
				}
			default:
				return fmt.Errorf("give a scenario file or --inventory FILE, not both")
			}
			cfg, err := scheduler.NewConfig(sc.Policy, sc.Migration)
			if err != nil {
				return err
			}
			pol, err := registry.New(name, sc.Policy.Settings(name))
			if err != nil {
				return err
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
					return fmt.Errorf("--hosts: no hosts to drain (and the scenario requests no maintenance)")
				}
			case "disaster":
				in.Zone, in.Deadline = zone, deadline
				for _, e := range sc.Events {
					if e.Kind == scenarios.EventDisasterWarning && in.Zone == "" {
						in.Zone = e.Zone
						if in.Deadline == 0 {
							in.Deadline = e.FailsAt - e.At + at
						}
					}
				}
				if in.Zone == "" || in.Deadline <= at {
					return fmt.Errorf("--zone and --deadline are needed (the scenario warns of no disaster)")
				}
			}
			snap, err := sim.SnapshotAt(sc, at, sim.Options{})
			if err != nil {
				return err
			}
			in.Snap = snap
			p, err := pol.Plan(in)
			if err != nil {
				return err
			}
			p.WriteTable(cmd.OutOrStdout())
			if explain {
				fmt.Fprintf(cmd.OutOrStdout(), "\nrefused hosts (%d):\n", len(p.Rejections))
				for _, r := range p.Rejections {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s -> %s: %s: %s\n", r.VM, r.Host, r.Plugin, strings.Join(r.Reason, "; "))
				}
			}
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				if err := p.WriteJSON(f); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "plan: %s\n", out)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&name, "policy", "balance", "balance, greedy-cv, consolidate, evacuate, fixed-batch or disaster")
	f.StringVar(&hosts, "hosts", "", "hosts to drain, comma-separated (evacuate, fixed-batch)")
	f.StringVar(&zone, "zone", "", "zone predicted to fail (disaster)")
	f.DurationVar(&deadline, "deadline", 0, "when the zone fails, from the start of the scenario (disaster)")
	f.DurationVar(&at, "at", 0, "plan on the cluster as it is at this time of the scenario")
	f.BoolVar(&explain, "explain", false, "list every host refused for every VM, and why")
	f.StringVar(&out, "out", "", "write the plan as JSON")
	f.StringVar(&inv, "inventory", "", "plan on the live hosts of this inventory file instead of a scenario")
	return c
}
