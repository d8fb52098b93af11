// Command drover moves virtual machines between KVM hosts and lets people try
// every move first in a simulator. This file only wires commands; each does
// its work in a package.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		var ee exitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "drover:", err)
		}
		os.Exit(exitCode(err))
	}
}

// newRoot is the command tree.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "drover",
		Short:         "Plan, simulate and carry out live migrations of VMs between KVM hosts",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		Long: "Plan, simulate and carry out live migrations of VMs between KVM hosts.\n\n" +
			"Exit codes, the same for every command: 0 ok; 1 failed; 2 bad input or usage (nothing was done);\n" +
			"3 partial (some moves failed or VMs were left unplaced); 4 refused (nothing was done: every move\n" +
			"was refused, or the plan is stale); 130 interrupted.",
	}
	root.AddCommand(simCmd(), validateCmd(), schemaCmd(), predictCmd(), genCmd(), planCmd(), pkiCmd(), reportCmd(), inventoryCmd(),
		applyCmd(), runCmd(), calibrateCmd(), guestXMLCmd(), policiesCmd(), planetlabCmd(), sweepCmd(), versionCmd())
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "logs of the commands that talk to hosts: text or json (one JSON object a line)")
	markUsage(root)
	return root
}

// isTerminal reports whether f is a terminal, where a progress bar may
// redraw itself (not /dev/null, which is a character device too).
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}
