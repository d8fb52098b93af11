package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/reports"
)

func reportCmd() *cobra.Command {
	var format, chart string
	var migrations bool
	c := &cobra.Command{
		Use:   "report DIR...",
		Short: "Print runs' reports side by side (Markdown or CSV), or one run's migrations as CSV",
		Long: "Reads DIR/report.json of each run (as written by drover sim --out DIR) and prints one column per run,\n" +
			"headed by the directory's name: compare policies, seeds or scenarios. With --migrations, prints every\n" +
			"migration of one run as CSV.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "md" && format != "csv" {
				return badInput("--format %q: want md or csv", format)
			}
			if migrations && (chart != "" || cmd.Flags().Changed("format")) {
				return badInput("--migrations prints CSV of one run; it takes neither --chart nor --format")
			}
			var reps []*reports.Report
			var names []string
			for _, dir := range args {
				path := dir
				if st, err := os.Stat(dir); err == nil && st.IsDir() {
					path = filepath.Join(dir, "report.json")
				}
				r, err := reports.Load(path)
				if err != nil {
					return badInput("%v", err)
				}
				reps = append(reps, r)
				names = append(names, filepath.Base(filepath.Clean(dir)))
			}
			if migrations {
				if len(reps) != 1 {
					return badInput("--migrations takes one run")
				}
				return reps[0].WriteMigrationsCSV(cmd.OutOrStdout())
			}
			// The comparison is printed with or without a chart: --chart
			// adds a file, it does not replace the table.
			if err := reports.Compare(cmd.OutOrStdout(), format, names, reps); err != nil {
				return err
			}
			if chart != "" {
				if err := reports.Chart(chart, names, reps); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "chart: %s\n", chart)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "md", "md or csv")
	c.Flags().BoolVar(&migrations, "migrations", false, "print one run's migrations as CSV")
	c.Flags().StringVar(&chart, "chart", "", "draw imbalance and hosts over capacity over time into FILE (.png, .svg, .pdf)")
	return c
}
