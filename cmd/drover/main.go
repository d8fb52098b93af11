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

// exitError carries a status code without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	root := &cobra.Command{
		Use:           "drover",
		Short:         "Plan, simulate and carry out live migrations of VMs between KVM hosts",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(simCmd(), validateCmd(), schemaCmd(), predictCmd(), genCmd(), planCmd(), pkiCmd(), reportCmd(), inventoryCmd(), applyCmd(), runCmd(), calibrateCmd(), guestXMLCmd(), policiesCmd())
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "drover:", err)
		os.Exit(1)
	}
}

// isTerminal reports whether f is a terminal, where a progress bar may
// redraw itself (not /dev/null, which is a character device too).
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}
