package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/planetlab/plreplay"
	"github.com/droverlab/drover/planetlab/plscenario"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
)

func planetlabCmd() *cobra.Command {
	var (
		traces, reference, out string
		model                  string
		policies               []string
		hosts                  int
		seed                   uint64
	)
	c := &cobra.Command{
		Use:   "planetlab --traces DAY [--policy thr-mmt-0.8,...] [--reference cloudsim-reference.csv] [--out DIR]",
		Short: "Replay a PlanetLab day under Beloglazov & Buyya's consolidation policies, as CloudSim 4.0 runs them",
		Long: "Replays one day of PlanetLab CPU traces (a folder of trace files or a .tar.gz of one) on CloudSim's\n" +
			"standard data centre (800 HP ML110 G4/G5 hosts, SPECpower models, hosts off when empty) under each\n" +
			"--policy, named DETECTOR-SELECTOR-PARAMETER: detectors thr (threshold), iqr, mad, lr, lrr (safety\n" +
			"parameter); selectors mmt, mc, rs, mu. Prints energy (kWh), migrations, SLATAH, PDM, SLAV, ESV, host\n" +
			"shutdowns and migration times; with --reference, CloudSim's figures and the relative difference.\n" +
			"--out DIR writes DIR/planetlab.json. The policies are scheduler/policy/poweraware's; the replay is\n" +
			"planetlab/plreplay (migration model: CloudSim's, RAM / (BW / 2), 10% CPU penalty).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if traces == "" {
				return badInput("planetlab: --traces DAY is required (a folder of trace files or a .tar.gz)")
			}
			if hosts <= 0 {
				return badInput("planetlab: --hosts %d: want at least 1", hosts)
			}
			names, err := parsePolicies(policies)
			if err != nil {
				return err
			}
			ref, err := readReference(reference)
			if err != nil {
				return err
			}
			return runPlanetLab(cmd.OutOrStdout(), traces, names, hosts, seed, model, ref, out)
		},
	}
	c.Flags().StringVar(&traces, "traces", "", "one day of traces: a folder, or a .tar.gz holding one")
	c.Flags().StringVar(&model, "migration", "cloudsim", "migration model: cloudsim (RAM / (BW / 2), to reproduce) or precopy (Drover's calibrated model, dirty rate from the CPU trace)")
	c.Flags().StringSliceVar(&policies, "policy", []string{"thr-mmt-0.8", "iqr-mmt-1.5", "mad-mmt-2.5", "lr-mmt-1.2", "lrr-mmt-1.2"}, "policies, DETECTOR-SELECTOR-PARAMETER, comma-separated")
	c.Flags().IntVar(&hosts, "hosts", planetlab.Hosts, "hosts (types alternate G4, G5)")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed of the rs selector")
	c.Flags().StringVar(&reference, "reference", "", "CloudSim's figures to compare with (cloudsim-reference.csv)")
	c.Flags().StringVar(&out, "out", "", "directory for planetlab.json")
	return c
}

// runPlanetLab replays the day at traces under each policy, prints the
// figures (beside ref's when given) and, when out is set, writes
// out/planetlab.json.
func runPlanetLab(w io.Writer, traces string, names []poweraware.Name, hosts int, seed uint64, model string, ref map[string]plreplay.Reference, out string) error {
	mm, err := plreplay.NewMigrationModel(model)
	if err != nil {
		return badInput("%v", err)
	}
	day, err := planetlab.ReadDay(traces)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitError{exitBadInput}
	}
	var results []*plreplay.Result
	for _, n := range names {
		pol, err := poweraware.NewPolicy(n, seed)
		if err != nil {
			return badInput("%v", err)
		}
		res, err := plreplay.RunModel(day, pol, n.String(), hosts, mm)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	printPlanetLab(w, results, ref)
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		path := filepath.Join(out, "planetlab.json")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "results: %s\n", path)
	}
	return nil
}

// readReference reads CloudSim's figures from path, "" for none.
func readReference(path string) (map[string]plreplay.Reference, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badInput("planetlab: %v", err)
	}
	defer f.Close()
	ref, err := plreplay.ReadReference(f)
	if err != nil {
		return nil, badInput("%v", err)
	}
	return ref, nil
}

// parsePolicies reads poweraware policy names, reporting every bad one.
func parsePolicies(policies []string) ([]poweraware.Name, error) {
	var names []poweraware.Name
	var errs []string
	for _, p := range policies {
		n, err := poweraware.ParseName(strings.TrimSpace(p))
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		names = append(names, n)
	}
	if len(errs) > 0 {
		return nil, badInput("%s", strings.Join(errs, "\n"))
	}
	return names, nil
}

// printPlanetLab prints one line per result; with ref, CloudSim's figure
// and the relative difference under each.
func printPlanetLab(w io.Writer, results []*plreplay.Result, ref map[string]plreplay.Reference) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "day\tpolicy\tenergy kWh\tmigrations\tSLATAH %\tPDM %\tSLAV ×1e-5\tESV ×1e-3\tshutdowns\tmean mig s\tmax mig s\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%d\t%.2f\t%.4f\t%.2f\t%.2f\t%d\t%.2f\t%.2f\t\n", r.Day, r.Policy, r.EnergyKWh, r.Migrations,
			100*r.SLATAH, 100*r.PDM, 1e5*r.SLAV, 1e3*r.ESV, r.Shutdowns, r.MeanMigration, r.MaxMigration)
		c, ok := ref[r.Day+" "+r.Policy]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "\tCloudSim\t%.2f\t%d\t%.2f\t%.4f\t%.2f\t%.2f\t%d\t\t\t\n", c.EnergyKWh, c.Migrations,
			100*c.SLATAH, 100*c.PDM, 1e5*c.SLAV, 1e3*c.EnergyKWh*c.SLAV, c.Shutdowns)
		d := func(got, want float64) string { return fmt.Sprintf("%+.1f%%", 100*(got/want-1)) }
		fmt.Fprintf(tw, "\tΔ\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\n", d(r.EnergyKWh, c.EnergyKWh), d(float64(r.Migrations), float64(c.Migrations)),
			d(r.SLATAH, c.SLATAH), d(r.PDM, c.PDM), d(r.SLAV, c.SLAV), d(r.ESV, c.EnergyKWh*c.SLAV), d(float64(r.Shutdowns), float64(c.Shutdowns)))
	}
	tw.Flush()
}

func genPlanetLabCmd() *cobra.Command {
	var (
		traces, out string
		hosts       int
		seed        uint64
		cloudSim    bool
	)
	c := &cobra.Command{
		Use:   "planetlab --traces DAY --out scenario.yaml [--hosts 800] [--cloudsim]",
		Short: "Write a PlanetLab day as a scenario, with one trace file per VM beside it",
		Long: "Writes CloudSim's PlanetLab set-up for one day (a folder of trace files or a .tar.gz of one) as a scenario:\n" +
			"G4/G5 hosts and the four VM sizes in cores of 20 MIPS, each VM placed where CloudSim's PABFD starts it, its\n" +
			"CPU demand a trace file in DIR/NAME-traces/, hosts with their SPECpower tables, off when empty. By default\n" +
			"the day runs under Drover's rules (4 GiB hosts, vCPU overcommit, the pre-copy model); --cloudsim writes\n" +
			"CloudSim's experiment instead: migration.model cloudsim (RAM / (BW / 2), the 10% penalty, VMs ending at\n" +
			"0%), admission that memory and vCPUs never refuse, and the 86100 s CloudSim accounts. The file's header\n" +
			"lists what still differs; `drover planetlab` replays the day with all of it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if traces == "" || out == "" || out == "-" {
				return badInput("gen planetlab: --traces DAY and --out FILE.yaml are required (trace files are written beside it)")
			}
			if hosts <= 0 {
				return badInput("gen planetlab: --hosts %d: want at least 1", hosts)
			}
			day, err := planetlab.ReadDay(traces)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return exitError{exitBadInput}
			}
			place, err := plreplay.InitialPlacement(day, hosts)
			if err != nil {
				return badInput("%v", err)
			}
			base := strings.TrimSuffix(filepath.Base(out), filepath.Ext(out)) + "-traces"
			doc, files, err := plscenario.YAML(day, place, hosts, base, seed, plscenario.Options{CloudSim: cloudSim})
			if err != nil {
				return err
			}
			dir := filepath.Dir(out)
			if err := os.MkdirAll(filepath.Join(dir, base), 0o755); err != nil {
				return err
			}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					return err
				}
			}
			if err := os.WriteFile(out, doc, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scenario: %s (%d hosts, %d VMs; traces in %s)\n", out, hosts, len(day.VMs), filepath.Join(dir, base))
			return nil
		},
	}
	c.Flags().StringVar(&traces, "traces", "", "one day of traces: a folder, or a .tar.gz holding one")
	c.Flags().StringVarP(&out, "out", "o", "", "scenario file to write; the traces go to NAME-traces/ beside it")
	c.Flags().IntVar(&hosts, "hosts", planetlab.Hosts, "hosts (types alternate G4, G5)")
	c.Flags().Uint64Var(&seed, "seed", 1, "the scenario's seed")
	c.Flags().BoolVar(&cloudSim, "cloudsim", false, "CloudSim's experiment: its migration model, VMs ending at 0%, no memory or vCPU bound, 86100 s")
	return c
}
