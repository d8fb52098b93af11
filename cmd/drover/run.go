package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
)

func runCmd() *cobra.Command {
	var (
		inv, journal, outDir, policyName, drain, zone string
		format                                        string
		interval, deadline, runFor                    time.Duration
		threshold                                     float64
	)
	c := &cobra.Command{
		Use:   "run --inventory FILE [--drain h1,h2] [--disaster ZONE --deadline 10m] [--policy balance --interval 5m]",
		Short: "Run drover's policies live on real libvirt hosts, as the simulator runs them",
		Long: "Drives the scheduler Core against the hosts of the inventory FILE on the wall clock, with the same\n" +
			"policies as `drover sim`: --drain puts hosts into maintenance and evacuates them (planned, with the\n" +
			"plan's limits and dependencies), --disaster warns that ZONE fails after --deadline and evacuates it in\n" +
			"priority order, --policy runs balance (or greedy-cv, consolidate) every --interval. It ends when no\n" +
			"move is left, or with a periodic policy at Ctrl-C or after --for. Every step goes to the journal.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			formats, err := parseFormats(format)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("format") && outDir == "" {
				return badInput("--format writes files beside DIR/report.json: give --out DIR")
			}
			cfg, b, log, err := openInventory(inv)
			if err != nil {
				return err
			}
			defer b.Close()
			ccfg, err := coreConfig(cfg, scheduler.Policy{Name: policyName, Interval: interval, Threshold: threshold})
			if err != nil {
				return err
			}
			forever := policyName != ""
			var initial []cluster.Event
			if drain != "" {
				initial = append(initial, cluster.MaintenanceRequested{Hosts: strings.Split(drain, ",")})
			}
			if zone != "" {
				if deadline <= 0 {
					return badInput("--disaster needs --deadline")
				}
				initial = append(initial, cluster.DisasterWarning{Zone: zone, FailsAt: deadline})
			}
			if len(initial) == 0 && !forever {
				return badInput("nothing to do: give --drain, --disaster or --policy")
			}
			if journal == "" {
				journal = fmt.Sprintf("drover-run-%s.journal.jsonl", time.Now().UTC().Format("20060102T150405Z"))
			}
			jf, err := os.OpenFile(journal, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			defer jf.Close()

			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if runFor > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, runFor)
				defer cancel()
			}
			core, err := scheduler.New(ccfg)
			if err != nil {
				return err
			}
			if forever {
				initial = append(initial, scheduler.PeriodicNow{})
			}
			out := cmd.OutOrStdout()
			run := live{b: b, log: log, journal: jf, forever: forever, outDir: outDir, formats: formats, label: "run " + inv, profile: ccfg.Settings.Migration.Profile.Name}
			status, err := run.drive(ctx, out, core, initial)
			fmt.Fprintf(out, "journal: %s\n", journal)
			switch {
			case forever && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
				return status // the operator's or --for's end of a periodic run
			case errors.Is(err, context.Canceled):
				fmt.Fprintln(out, "interrupted: running migrations aborted")
				return exitError{exitInterrupted}
			case err != nil:
				return err
			}
			return status
		},
	}
	f := c.Flags()
	f.StringVar(&inv, "inventory", "", "inventory file: the hosts and how to reach them")
	f.StringVar(&drain, "drain", "", "hosts to put into maintenance and evacuate, comma-separated")
	f.StringVar(&zone, "disaster", "", "zone predicted to fail (with --deadline)")
	f.DurationVar(&deadline, "deadline", 0, "time from now until the --disaster zone fails")
	f.StringVar(&policyName, "policy", "", "periodic policy: balance, greedy-cv or consolidate (runs until Ctrl-C or --for)")
	f.DurationVar(&interval, "interval", 5*time.Minute, "how often the periodic policy runs")
	f.Float64Var(&threshold, "threshold", 0, "imbalance threshold of balance (default the policy's)")
	f.DurationVar(&runFor, "for", 0, "stop a periodic run after this long (running moves are aborted)")
	f.StringVar(&journal, "journal", "", "journal file (default drover-run-TIME.journal.jsonl)")
	f.StringVar(&outDir, "out", "", "write DIR/report.json")
	f.StringVar(&format, "format", "json", "with --out: files to write into DIR: json (always), html, md, csv")
	c.MarkFlagRequired("inventory")
	return c
}
