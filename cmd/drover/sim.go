package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/droverlab/drover/planetlab/plreplay"
	"github.com/droverlab/drover/planetlab/plscenario"
	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/reports/consolidation"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/sim"
)

func simCmd() *cobra.Command {
	var (
		seed             uint64
		out              string
		noProgr          bool
		policy, evacuate string
		maxEvents        int64
		format           string
		plDay, plRef     string
		plHosts          int
		cpuProf, memProf string
	)
	c := &cobra.Command{
		Use:   "sim SCENARIO.yaml",
		Short: "Run a scenario in the simulator and write DIR/report.json and DIR/journal.jsonl",
		Long: "Runs a scenario in the simulator and writes DIR/report.json (the run, in the schema `drover report\n" +
			"--schema` prints) and DIR/journal.jsonl (what the scheduler decided). --format html adds DIR/report.html,\n" +
			"one self-contained page of charts to open in a browser; md adds report.md, csv migrations.csv.",
		Args: func(cmd *cobra.Command, args []string) error {
			if plDay != "" {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if plDay != "" {
				// A PlanetLab day: the paper's policies in CloudSim's
				// replay (drover planetlab), CloudSim's bookkeeping to
				// the letter; a scenario (drover gen planetlab) runs
				// the same policies in the simulator instead.
				if policy == "" {
					return badInput("sim --planetlab: --policy DETECTOR-SELECTOR-PARAMETER is required, as thr-mmt-0.8")
				}
				names, err := parsePolicies([]string{policy})
				if err != nil {
					return err
				}
				ref, err := readReference(plRef)
				if err != nil {
					return err
				}
				return runPlanetLab(cmd.OutOrStdout(), plDay, names, plHosts, seed, "cloudsim", ref, out)
			}
			formats, err := parseFormats(format)
			if err != nil {
				return err
			}
			sc, err := scenarios.Load(args[0])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return exitError{exitBadInput}
			}
			ref, err := readReference(plRef)
			if err != nil {
				return err
			}
			day, isDay := plscenario.DayOf(sc.Name)
			if ref != nil && !isDay {
				return badInput("sim --reference: scenario %q is not a PlanetLab day (drover gen planetlab names it %sDAY)", sc.Name, plscenario.NamePrefix)
			}
			for _, w := range sc.Warnings {
				fmt.Fprintln(os.Stderr, w)
			}
			var opts sim.Options
			if cmd.Flags().Changed("seed") {
				opts.Seed = &seed
			}
			if cmd.Flags().Changed("policy") {
				opts.Policy = &policy
			}
			if cmd.Flags().Changed("evacuation") {
				opts.Evacuation = &evacuate
			}
			if maxEvents != 0 {
				opts.MaxEvents = maxEvents
			}
			// The flags' policy names are checked before anything runs.
			if _, err := scheduler.NewConfig(opts.PolicyOf(sc), sc.Migration); err != nil {
				return badInput("%v", err)
			}
			var bar *mpb.Bar
			var progress *mpb.Progress
			if !noProgr && isTerminal(os.Stderr) {
				progress = mpb.New(mpb.WithOutput(os.Stderr), mpb.WithWidth(50))
				bar = progress.AddBar(int64(sc.Sim.Duration/time.Second),
					mpb.PrependDecorators(decor.Name("simulating "+sc.Name+" ")),
					mpb.AppendDecorators(decor.Percentage(), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
				opts.Progress = func(now, total time.Duration) {
					bar.SetCurrent(int64(now / time.Second))
				}
			}
			stopProf, err := startProfiles(cpuProf, memProf)
			if err != nil {
				return err
			}
			rep, path, err := simulate(sc, opts, out)
			if perr := stopProf(); err == nil {
				err = perr
			}
			if progress != nil {
				bar.SetTotal(-1, true)
				progress.Wait()
			}
			if err != nil {
				return err
			}
			rep.PrintSummary(cmd.OutOrStdout())
			if ref != nil {
				res, err := consolidationResult(rep, day, string(sc.Sim.MigrationModel))
				if err != nil {
					return err
				}
				printPlanetLab(cmd.OutOrStdout(), []*plreplay.Result{res}, ref)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", path)
			return writeFormats(cmd.OutOrStdout(), out, rep, formats)
		},
	}
	c.Flags().Uint64Var(&seed, "seed", 0, "seed for this run (default: the scenario's)")
	c.Flags().StringVar(&out, "out", "out", "directory for report.json")
	c.Flags().StringVar(&format, "format", "json", "files to write into --out: json (always), html, md, csv, comma-separated")
	c.Flags().BoolVar(&noProgr, "no-progress", false, "never show a progress bar")
	c.Flags().StringVar(&policy, "policy", "", "periodic policy instead of the scenario's: balance, greedy-cv, consolidate, or \"\" for none")
	c.Flags().StringVar(&evacuate, "evacuation", "", "evacuation strategy instead of the scenario's: planned or fixed-batch")
	c.Flags().StringVar(&plDay, "planetlab", "", "replay a PlanetLab day (folder or .tar.gz) under --policy DETECTOR-SELECTOR-PARAMETER (thr-mmt-0.8, lr-mmt-1.2, ...) instead of a scenario; writes DIR/planetlab.json")
	c.Flags().StringVar(&plRef, "reference", "", "CloudSim's figures to print beside (cloudsim-reference.csv), with --planetlab or for a scenario of drover gen planetlab")
	c.Flags().IntVar(&plHosts, "hosts", 800, "with --planetlab: hosts")
	c.Flags().StringVar(&cpuProf, "cpuprofile", "", "write a CPU profile of the run to FILE (for go tool pprof)")
	c.Flags().StringVar(&memProf, "memprofile", "", "write a heap profile to FILE at the run's end (for go tool pprof)")
	c.Flags().Int64Var(&maxEvents, "max-events", 0, fmt.Sprintf("stop a run that needs more events than this (default %d; -1: no bound)", sim.DefaultMaxEvents))
	return c
}

// simulate runs sc in the simulator and saves out/journal.jsonl and
// out/report.json durably (sim.Result.Save, which a sweep's runs also
// save through, so both give the same bytes).
func simulate(sc *scenarios.Scenario, opts sim.Options, out string) (*reports.Report, string, error) {
	res, err := sim.RunFull(sc, opts)
	if err != nil {
		return nil, "", err
	}
	path, err := res.Save(out, durable)
	if err != nil {
		return nil, "", err
	}
	return res.Report, path, nil
}

// durable writes a file whole and synced before it is renamed into place:
// what drover sim writes is kept even if the machine goes down after.
func durable(path string, data []byte) error {
	return renameio.WriteFile(path, data, 0o644)
}

func validateCmd() *cobra.Command {
	var strict bool
	c := &cobra.Command{
		Use:   "validate SCENARIO.yaml...",
		Short: "Check scenario files; print every problem as file:line:col: message",
		Long: "Checks scenario files and prints every problem as file:line:col: message. A valid file may still\n" +
			"set up what the scheduler will refuse later (anti-affinity members sharing a host, a guest no host\n" +
			"can take, hosts that can never exchange guests): those are warnings, and errors with --strict.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := false
			for _, a := range args {
				sc, err := scenarios.Load(a)
				if err != nil {
					fmt.Fprintln(cmd.OutOrStdout(), err)
					bad = true
					continue
				}
				for _, w := range sc.Warnings {
					fmt.Fprintln(cmd.OutOrStdout(), w)
				}
				if strict && len(sc.Warnings) > 0 {
					bad = true
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d hosts, %d vms, %d events, %d warnings)\n", a, len(sc.Hosts), len(sc.VMs), len(sc.Events), len(sc.Warnings))
			}
			if bad {
				return exitError{exitBadInput}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors")
	return c
}

func schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files, for editors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := scenarios.Schema()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(append(b, '\n'))
			return err
		},
	}
}

func genCmd() *cobra.Command {
	var o scenarios.GenOptions
	var out string
	c := &cobra.Command{
		Use:   "gen",
		Short: "Generate a large cluster scenario",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := scenarios.Generate(o)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return os.WriteFile(out, b, 0o644)
		},
	}
	c.AddCommand(genPlanetLabCmd())
	c.Flags().IntVar(&o.Hosts, "hosts", 1000, "hosts")
	c.Flags().IntVar(&o.VMs, "vms", 20000, "VMs")
	c.Flags().IntVar(&o.Racks, "racks", 0, "racks (default: one per 25 hosts)")
	c.Flags().IntVar(&o.Zones, "zones", 0, "zones (default 2)")
	c.Flags().Uint64Var(&o.Seed, "seed", 1, "seed")
	c.Flags().DurationVar(&o.Duration, "duration", 24*time.Hour, "simulated duration")
	c.Flags().DurationVar(&o.SampleInterval, "sample-interval", 5*time.Minute, "sample interval")
	c.Flags().StringVarP(&out, "out", "o", "", "file to write (default stdout)")
	return c
}

// startProfiles starts a CPU profile into cpu and returns the function
// that stops it and writes the heap profile into mem; either name may be
// empty. The heap profile is taken after a GC so that it shows what the
// run allocated (alloc_space) and what survived to its end (inuse_space).
func startProfiles(cpu, mem string) (func() error, error) {
	var cf *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		cf = f
	}
	return func() error {
		var errs []error
		if cf != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cf.Close())
		}
		if mem != "" {
			runtime.GC()
			f, err := os.Create(mem)
			if err != nil {
				return err
			}
			errs = append(errs, pprof.WriteHeapProfile(f), f.Close())
		}
		return errors.Join(errs...)
	}, nil
}

// consolidationResult is a simulated PlanetLab day's report in the replay's
// terms, to set beside CloudSim's figures: every migration started counts,
// as CloudSim counts them.
func consolidationResult(rep *reports.Report, day, model string) (*plreplay.Result, error) {
	c := rep.Summary.Consolidation
	if c == nil {
		return nil, fmt.Errorf("sim --reference: the run has no power figures (no host has a power model)")
	}
	var seconds []float64
	for _, m := range rep.Migrations {
		if m.Outcome != cluster.OutcomeRejected {
			seconds = append(seconds, m.DurationMS/1000)
		}
	}
	ms, err := consolidation.MigrationStatsOf(seconds)
	if err != nil {
		return nil, err
	}
	if model == "" {
		model = scenarios.MigrationPrecopy
	}
	return &plreplay.Result{
		Day: day, Policy: rep.Policy, Migration: model, Hosts: len(rep.Hosts), EnergyKWh: c.EnergyKWh,
		Migrations: ms.Count, SLATAH: c.SLATAH, PDM: c.PDM, SLAV: c.SLAV, ESV: c.ESV, Shutdowns: c.Shutdowns,
		MeanMigration: ms.Mean, MaxMigration: ms.Max,
	}, nil
}
