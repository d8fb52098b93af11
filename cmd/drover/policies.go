package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/scheduler/registry"
)

func policiesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "policies",
		Short: "List the policies and each one's parameters, with their defaults",
		Long: "List every policy drover builds by name, and the parameters each reads from\n" +
			"policy.params.<name> in a scenario file. An unknown policy or parameter there is\n" +
			"an error at its line.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			for _, s := range registry.Specs {
				fmt.Fprintf(w, "%s\n    %s\n", s.Name, s.Doc)
				if len(s.Params) == 0 {
					fmt.Fprintf(w, "    (no parameters)\n")
				}
				for _, p := range s.Params {
					kind := string(p.Kind)
					if p.Kind == registry.Enum {
						kind = strings.Join(p.Values, "|")
					}
					def := p.Default
					if def == "" {
						def = "the policy's own"
					}
					fmt.Fprintf(w, "    %-14s %-10s default %-8s %s\n", p.Key, kind, def, p.Doc)
				}
			}
			fmt.Fprintf(w, "%s\n    %s\n    (no parameters: the safety parameter is part of the name)\n", registry.PowerAwareNames,
				"periodic: Beloglazov and Buyya's dynamic consolidation (overload detection, VM selection, PABFD, underload evacuation)")
			return nil
		},
	}
}
