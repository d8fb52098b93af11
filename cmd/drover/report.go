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
			var reps []*reports.Report
			var names []string
			for _, dir := range args {
				path := dir
				if st, err := os.Stat(dir); err == nil && st.IsDir() {
					path = filepath.Join(dir, "report.json")
				}
				r, err := reports.Load(path)
				if err != nil {
					return err
				}
				reps = append(reps, r)
				names = append(names, filepath.Base(filepath.Clean(dir)))
			}
			if chart != "" {
				if err := reports.Chart(chart, names, reps); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "chart: %s\n", chart)
				return nil
			}
			if migrations {
				if len(reps) != 1 {
					return fmt.Errorf("--migrations takes one run")
				}
				return reps[0].WriteMigrationsCSV(cmd.OutOrStdout())
			}
			return reports.Compare(cmd.OutOrStdout(), format, names, reps)
		},
	}
	c.Flags().StringVar(&format, "format", "md", "md or csv")
	c.Flags().BoolVar(&migrations, "migrations", false, "print one run's migrations as CSV")
	c.Flags().StringVar(&chart, "chart", "", "draw imbalance and hosts over capacity over time into FILE (.png, .svg, .pdf)")
	return c
}
