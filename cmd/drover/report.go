package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/sweep"
)

func reportCmd() *cobra.Command {
	var format, chart, out string
	var migrations, compare, schema bool
	c := &cobra.Command{
		Use:   "report DIR... [--compare] [--format md,csv,html]",
		Short: "Render runs' reports: side by side, compared over seeds with confidence, or as an HTML page",
		Long: "Reads DIR/report.json of each run (written by drover sim, plan --report, apply, run and calibrate) and prints one\n" +
			"column per run, headed by the directory's name (--format md or csv). A sweep directory (drover sweep) stands for its\n" +
			"runs, one group per matrix cell.\n\n" +
			"--compare groups the runs by scenario and policy and gives, per metric, each policy's mean over its runs\n" +
			"with a 95 % confidence interval (Student t), which policy is better, and whether the difference is\n" +
			"significant (Welch's t-test against the runner-up).\n\n" +
			"--format html writes a self-contained page: of one run, DIR/report.html; of a comparison, compare.html\n" +
			"(or into --out). md and csv together are written as files too. --chart FILE draws the runs over time\n" +
			"into an image as well.\n" +
			"--migrations prints every migration of one run as CSV; --schema prints the JSON Schema of report.json.",
		Args: func(cmd *cobra.Command, args []string) error {
			if schema {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			stdout := cmd.OutOrStdout()
			if schema {
				_, err := stdout.Write(reports.Schema)
				return err
			}
			formats, err := parseFormats(format)
			if err != nil {
				return err
			}
			if slices.Contains(formats, "json") {
				return badInput("--format json: report.json is the input; want md, csv or html")
			}
			if migrations && (chart != "" || compare || cmd.Flags().Changed("format")) {
				return badInput("--migrations prints CSV of one run; it takes neither --chart, --compare nor --format")
			}
			var runs []reports.Run
			for _, dir := range args {
				// A sweep directory is its runs, grouped by matrix cell.
				if d, err := sweep.Open(dir); err == nil {
					rs, missing, err := d.Collect()
					if err != nil {
						return badInput("%v", err)
					}
					if missing > 0 {
						fmt.Fprintf(os.Stderr, "%s: %d of %d runs have no report yet and are left out\n", dir, missing, len(d.Runs))
					}
					runs = append(runs, rs...)
					continue
				}
				path := dir
				if st, err := os.Stat(dir); err == nil && st.IsDir() {
					path = filepath.Join(dir, "report.json")
				}
				r, err := reports.Load(path)
				if err != nil {
					return badInput("%v", err)
				}
				runs = append(runs, reports.Run{Name: runName(dir), R: r})
			}
			names := make([]string, len(runs))
			reps := make([]*reports.Report, len(runs))
			for i, r := range runs {
				names[i], reps[i] = r.Name, r.R
			}
			if migrations {
				if len(reps) != 1 {
					return badInput("--migrations takes one run")
				}
				return reps[0].WriteMigrationsCSV(stdout)
			}
			var cmp reports.Comparison
			if compare {
				cmp = reports.CompareRuns(runs)
			}
			// One text format goes to standard output; md and csv together
			// go to files (as html always does), named after what they hold.
			toFiles := slices.Contains(formats, "md") && slices.Contains(formats, "csv")
			for _, f := range formats {
				w := stdout
				var path string
				if f == "html" || toFiles {
					if !compare && len(runs) > 1 && f == "html" {
						return badInput("--format html of %d runs: give --compare (one page compares them), or one run", len(runs))
					}
					path = outputPath(out, args, len(runs), compare, f)
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						return err
					}
				}
				write := func(w io.Writer) error {
					switch {
					case f == "html" && compare:
						return reports.WriteComparisonHTML(w, cmp)
					case f == "html":
						return runs[0].R.WriteHTML(w)
					case compare:
						return reports.WriteComparison(w, f, cmp)
					}
					// The comparison is printed with or without a chart:
					// --chart adds a file, it does not replace the table.
					return reports.Compare(w, f, names, reps)
				}
				if path == "" {
					if err := write(w); err != nil {
						return err
					}
					continue
				}
				if err := writeWith(path, write); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s: %s\n", f, path)
			}
			if chart != "" {
				if err := reports.Chart(chart, names, reps); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "chart: %s\n", chart)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "md", "md, csv or html, comma-separated: one of md and csv prints, html and md with csv write files (--out)")
	c.Flags().BoolVar(&compare, "compare", false, "group runs by scenario and policy: means, 95 % intervals, which is better and how sure")
	c.Flags().StringVar(&out, "out", "", "where files go: a directory, or a .html file (default: the one run's directory, else compare.* or report.* here)")
	c.Flags().BoolVar(&migrations, "migrations", false, "print one run's migrations as CSV")
	c.Flags().BoolVar(&schema, "schema", false, "print the JSON Schema of report.json")
	c.Flags().StringVar(&chart, "chart", "", "draw imbalance, hosts over capacity and migrations in flight over time into FILE (.png, .svg, .pdf)")
	return c
}

// runName names a run after its directory (or its file, without
// report.json).
func runName(arg string) string {
	p := filepath.Clean(arg)
	if filepath.Base(p) == "report.json" {
		p = filepath.Dir(p)
	}
	return filepath.Base(p)
}

// outputPath is where a report file of format ext goes: --out if it names
// such a file, else a file in the --out directory, else beside the one
// run's report.json, else in the current directory; compare.EXT for a
// comparison, report.EXT otherwise.
func outputPath(out string, args []string, runs int, compare bool, ext string) string {
	name := "report." + ext
	if compare {
		name = "compare." + ext
	}
	switch {
	case strings.HasSuffix(out, "."+ext):
		return out
	case out != "" && filepath.Ext(out) == "":
		return filepath.Join(out, name)
	case out != "":
		return filepath.Join(filepath.Dir(out), name)
	case runs == 1 && !compare:
		dir := args[0]
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			dir = filepath.Dir(dir)
		}
		return filepath.Join(dir, name)
	}
	return name
}
