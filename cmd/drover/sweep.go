package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/sweep"
)

func sweepCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sweep",
		Short: "Run a matrix of scenario variants: locally on a worker pool or as a Slurm job array, then compare them",
		Long: "A sweep file names a base scenario and a matrix of overrides by path (policy.name, sim.seed or seed,\n" +
			"hosts[0].cpus, ...), with exclude and include rows as in CI matrices; \"1..30\" in a list is a range.\n\n" +
			"  name: thresholds\n  base: ../examples/imbalanced.yaml\n  matrix:\n" +
			"    policy.name: [balance, greedy-cv]\n    policy.threshold: [0.1, 0.2]\n    seed: [1..10]\n" +
			"  exclude:\n    - {policy.name: greedy-cv, policy.threshold: 0.2}\n\n" +
			"Every run has a stable id (a hash of its overrides) and its folder DIR/runs/ID with report.json;\n" +
			"a run whose report.json is complete is never run again, so every command resumes.",
	}
	c.AddCommand(sweepExpandCmd(), sweepRunCmd(), sweepTaskCmd(), sweepSubmitCmd(), sweepStatusCmd(), sweepResubmitCmd(), sweepCollectCmd())
	return c
}

// expandSweep loads a sweep file, checks one run of every cell and writes
// the sweep directory.
func expandSweep(file, out string) (*sweep.Dir, error) {
	s, err := sweep.Load(file)
	if err != nil {
		var se *scenarios.Errors
		if errors.As(err, &se) {
			fmt.Fprintln(os.Stderr, err)
			return nil, exitError{exitBadInput}
		}
		return nil, badInput("%v", err)
	}
	runs, err := s.Expand()
	if err != nil {
		return nil, badInput("%v", err)
	}
	if err := s.Check(runs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return nil, exitError{exitBadInput}
	}
	return sweep.Write(out, s, runs)
}

func sweepExpandCmd() *cobra.Command {
	var out string
	var resolved bool
	c := &cobra.Command{
		Use:   "expand SWEEP.yaml --out DIR",
		Short: "Write the sweep's runs into DIR: ids, cells, overrides and scenario hashes (runs.jsonl), the base once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := expandSweep(args[0], out)
			if err != nil {
				return err
			}
			if resolved {
				for i := range d.Runs {
					r := &d.Runs[i]
					text, err := d.Resolved(r)
					if err != nil {
						return err
					}
					if err := os.MkdirAll(d.RunDir(r), 0o755); err != nil {
						return err
					}
					if err := writeWith(filepath.Join(d.RunDir(r), "scenario.yaml"), func(w io.Writer) error { _, err := w.Write(text); return err }); err != nil {
						return err
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d runs in %d cells: %s\n", d.Manifest.Name, d.Manifest.Runs, d.Manifest.Cells, filepath.Join(out, "runs.jsonl"))
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "sweep directory")
	c.Flags().BoolVar(&resolved, "resolved", false, "also write every run's resolved scenario (DIR/runs/ID/scenario.yaml); runs write theirs anyway")
	c.MarkFlagRequired("out")
	return c
}

func sweepRunCmd() *cobra.Command {
	var out string
	var jobs int
	var noProgr bool
	c := &cobra.Command{
		Use:   "run SWEEP.yaml --out DIR [--jobs N]",
		Short: "Run a sweep on this machine, N runs at a time; again after an interruption, it runs what is left",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := expandSweep(args[0], out)
			if err != nil {
				return err
			}
			sweep.TuneGC()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stdout := cmd.OutOrStdout()
			last := time.Now()
			var progress func(done, todo int)
			var p *mpb.Progress
			var bar *mpb.Bar
			if !noProgr && isTerminal(os.Stderr) {
				p = mpb.New(mpb.WithOutput(os.Stderr), mpb.WithWidth(50))
				progress = func(done, todo int) {
					if bar == nil {
						bar = p.AddBar(int64(todo), mpb.PrependDecorators(decor.Name("sweep "+d.Manifest.Name+" "), decor.CountersNoUnit("%d/%d")),
							mpb.AppendDecorators(decor.Percentage(), decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_GO, 30)))
						return
					}
					bar.EwmaIncrement(time.Since(last))
					last = time.Now()
				}
			} else if !noProgr {
				start := time.Now()
				var said time.Time
				progress = func(done, todo int) {
					if done == todo || time.Since(said) >= 5*time.Second {
						said = time.Now()
						eta := "-"
						if done > 0 {
							eta = (time.Since(start) / time.Duration(done) * time.Duration(todo-done)).Round(time.Second).String()
						}
						fmt.Fprintf(os.Stderr, "sweep %s: %d/%d runs, ETA %s\n", d.Manifest.Name, done, todo, eta)
					}
				}
			}
			begin := time.Now()
			res, err := d.RunLocal(ctx, jobs, sweep.SimRunner, progress)
			if p != nil {
				if bar != nil {
					bar.Abort(false)
				}
				p.Shutdown()
			}
			for _, e := range res.Failed {
				fmt.Fprintln(os.Stderr, e)
			}
			fmt.Fprintf(stdout, "%s: %d runs: %d done before, %d run now (%s, %d at a time), %d failed\n", d.Manifest.Name, len(d.Runs),
				res.Skipped, res.Done, time.Since(begin).Round(time.Millisecond), max(1, jobs), len(res.Failed))
			if err != nil {
				fmt.Fprintf(stdout, "interrupted: run the same command again to continue\n")
				return exitError{exitInterrupted}
			}
			if len(res.Failed) > 0 {
				return exitError{exitPartial}
			}
			fmt.Fprintf(stdout, "compare: drover sweep collect %s\n", out)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "sweep directory (the runs' folders go in DIR/runs)")
	c.Flags().IntVar(&jobs, "jobs", defaultJobs(), "runs at a time")
	c.Flags().BoolVar(&noProgr, "no-progress", false, "never show a progress bar")
	c.MarkFlagRequired("out")
	return c
}

func defaultJobs() int {
	if n := numCPU(); n > 0 {
		return n
	}
	return 1
}

func sweepTaskCmd() *cobra.Command {
	var per int
	c := &cobra.Command{
		Use:   "task DIR INDEX [--per-task N]",
		Short: "Run one run of an expanded sweep (what each Slurm array task runs); nothing if its report is complete",
		Long: "Runs run INDEX of the sweep in DIR, or with --per-task N the runs INDEX*N to INDEX*N+N-1, skipping\n" +
			"those whose report.json is complete. Exit 1 if a run failed (the others still run).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sweep.TuneGC()
			per = max(per, 1)
			i, err := strconv.Atoi(args[1])
			if err != nil || i < 0 || i > math.MaxInt32/per {
				return badInput("index %q: want a task index from 0", args[1])
			}
			d, err := sweep.OpenRange(args[0], i*per, (i+1)*per)
			if err != nil {
				return badInput("%v", err)
			}
			if len(d.Runs) == 0 {
				return badInput("index %q: want 0 to %d", args[1], (d.Manifest.Runs-1)/per)
			}
			failed := false
			for j := range d.Runs {
				r := &d.Runs[j]
				if d.Complete(r) {
					fmt.Fprintf(cmd.OutOrStdout(), "run %d (%s): complete already\n", r.Index, r.ID)
					continue
				}
				if err := d.RunOne(r, sweep.SimRunner); err != nil {
					fmt.Fprintln(os.Stderr, err)
					failed = true
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "run %d (%s, %s): %s\n", r.Index, r.ID, r.Cell, filepath.Join(d.RunDir(r), "report.json"))
			}
			if failed {
				return exitError{exitFailed}
			}
			return nil
		},
	}
	c.Flags().IntVar(&per, "per-task", 1, "runs per task: INDEX*N to INDEX*N+N-1")
	return c
}

func slurmFlags(c *cobra.Command, o *sweep.SlurmOptions) {
	c.Flags().StringVar(&o.Partition, "partition", "", "Slurm partition (default: the cluster's)")
	c.Flags().StringVar(&o.Time, "time", "", "time limit of each task, as sbatch --time takes it (10:00)")
	c.Flags().StringVar(&o.Mem, "mem", "", "memory of each task, as sbatch --mem takes it (1G)")
	c.Flags().IntVar(&o.MaxParallel, "max-parallel", 0, "at most this many tasks at once (the %K of --array; 0: no bound)")
	c.Flags().StringVar(&o.Drover, "drover", "", "the drover binary on the nodes (default: this one, at the same path)")
}

func sweepSubmitCmd() *cobra.Command {
	var out string
	var slurm bool
	var o sweep.SlurmOptions
	c := &cobra.Command{
		Use:   "submit SWEEP.yaml --out DIR --slurm [--partition P] [--time T] [--mem M] [--max-parallel K]",
		Short: "Expand a sweep into DIR (on storage every node sees) and submit it as a Slurm job array, one task per run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slurm {
				return badInput("submit needs a scheduler: --slurm")
			}
			d, err := expandSweep(args[0], out)
			if err != nil {
				return err
			}
			var idx []int
			for i := range d.Runs {
				if !d.Complete(&d.Runs[i]) {
					idx = append(idx, i)
				}
			}
			if len(idx) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "every run is complete: drover sweep collect %s\n", out)
				return nil
			}
			id, err := d.Submit(cmd.Context(), o, idx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", id)
			fmt.Fprintf(os.Stderr, "submitted job %s: %d runs; drover sweep status %s\n", id, len(idx), out)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "sweep directory, on storage every node sees")
	c.Flags().BoolVar(&slurm, "slurm", false, "submit to Slurm with sbatch")
	c.Flags().IntVar(&o.PerTask, "per-task", 1, "runs per array task, for runs much shorter than Slurm's cost of a task (about a second)")
	slurmFlags(c, &o)
	c.MarkFlagRequired("out")
	return c
}

func sweepStatuses(ctx context.Context, dir string) (*sweep.Dir, []sweep.RunStatus, error) {
	d, err := sweep.Open(dir)
	if err != nil {
		return nil, nil, badInput("%v", err)
	}
	tasks, err := d.SlurmTasks(ctx)
	if err != nil {
		return nil, nil, err
	}
	return d, d.Classify(tasks), nil
}

func sweepStatusCmd() *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "status DIR",
		Short: "Count a sweep's runs done, running, pending, failed and missing (run folders, squeue, sacct)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, sts, err := sweepStatuses(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			count := map[string]int{}
			for _, s := range sts {
				count[s.State]++
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d runs: %d done, %d running, %d pending, %d failed, %d missing\n", len(sts),
				count[sweep.Done], count[sweep.Running], count[sweep.Pending], count[sweep.Failed], count[sweep.Missing])
			for _, s := range sts {
				if s.State == sweep.Failed || (verbose && s.State != sweep.Done) {
					fmt.Fprintf(w, "%s %d %s %s: %s\n", s.State, s.Run.Index, s.Run.ID, s.Run.Cell, s.Why)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every run not done, not only the failed")
	return c
}

func sweepResubmitCmd() *cobra.Command {
	var o sweep.SlurmOptions
	c := &cobra.Command{
		Use:   "resubmit DIR [--partition P] [--time T] [--mem M] [--max-parallel K]",
		Short: "Submit the failed and missing runs of a sweep again, as one job array",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, sts, err := sweepStatuses(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var idx []int
			for _, s := range sts {
				if s.State == sweep.Failed || s.State == sweep.Missing {
					idx = append(idx, s.Run.Index)
				}
			}
			if len(idx) == 0 {
				fmt.Fprintln(os.Stderr, "no failed or missing runs")
				return nil
			}
			id, err := d.Submit(cmd.Context(), o, idx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", id)
			fmt.Fprintf(os.Stderr, "submitted job %s: %d runs, one a task\n", id, len(idx))
			return nil
		},
	}
	slurmFlags(c, &o)
	return c
}

func sweepCollectCmd() *cobra.Command {
	var format, out string
	c := &cobra.Command{
		Use:   "collect DIR [--format md,csv,html] [--out PATH]",
		Short: "Compare a sweep's cells: each metric's mean and 95 % interval over seeds, and the best cell per metric",
		Long: "The same comparison as drover report DIR --compare: one group per matrix cell (the runs of a cell differ\n" +
			"only in their seed), the mean of each metric with a 95 % confidence interval (Student t), which cell is\n" +
			"best and how sure that is (Welch's t-test against the runner-up). --format html writes DIR/compare.html.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := parseFormats(format)
			if err != nil {
				return err
			}
			d, err := sweep.Open(args[0])
			if err != nil {
				return badInput("%v", err)
			}
			runs, missing, err := d.Collect()
			if err != nil {
				return err
			}
			if missing > 0 {
				fmt.Fprintf(os.Stderr, "%d of %d runs have no report yet and are left out\n", missing, len(d.Runs))
			}
			cmp := reports.CompareRuns(runs)
			if err := writeComparison(cmd.OutOrStdout(), cmp, formats, out, args[0]); err != nil {
				return err
			}
			if slices.Contains(formats, "md") && !slices.Contains(formats, "csv") {
				printBest(cmd.OutOrStdout(), cmp)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "md", "md, csv or html, comma-separated: md or csv prints; html (and md with csv) write files")
	c.Flags().StringVar(&out, "out", "", "where files go: a directory or a .html file (default: the sweep directory)")
	return c
}

// writeComparison prints or writes a comparison in the formats asked.
func writeComparison(stdout io.Writer, cmp reports.Comparison, formats []string, out, dir string) error {
	toFiles := slices.Contains(formats, "md") && slices.Contains(formats, "csv")
	for _, f := range formats {
		if f == "json" {
			continue
		}
		write := func(w io.Writer) error {
			if f == "html" {
				return reports.WriteComparisonHTML(w, cmp)
			}
			return reports.WriteComparison(w, f, cmp)
		}
		if f != "html" && !toFiles {
			if err := write(stdout); err != nil {
				return err
			}
			continue
		}
		o := out
		if o == "" {
			o = dir
		}
		path := outputPath(o, nil, 0, true, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := writeWith(path, write); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s\n", f, path)
	}
	return nil
}

func numCPU() int { return runtime.NumCPU() }

// printBest writes the best cell of each metric, as a Markdown list.
func printBest(w io.Writer, cmp reports.Comparison) {
	fmt.Fprintf(w, "\n### Best cell per metric\n\n")
	for _, b := range sweep.BestCells(cmp) {
		unit := ""
		if b.Unit != "" {
			unit = " " + b.Unit
		}
		sure := "the best cells tie"
		switch {
		case b.Verdict.Best < 0:
		case math.IsNaN(b.Verdict.P):
			sure = "untested against the runner-up (fewer than 2 runs)"
		case b.Verdict.Significant:
			sure = fmt.Sprintf("better than the runner-up, significant (p = %.3g)", b.Verdict.P)
		default:
			sure = fmt.Sprintf("better than the runner-up, not significant (p = %.3g)", b.Verdict.P)
		}
		cells := strings.Join(b.Cells, "; ")
		if len(b.Cells) > 3 {
			cells = fmt.Sprintf("%s and %d more", strings.Join(b.Cells[:3], "; "), len(b.Cells)-3)
		}
		fmt.Fprintf(w, "- %s: %s (mean %.4g%s; %s)\n", b.Metric, cells, b.Mean, unit, sure)
	}
}
