package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command (README, "Exit codes").
const (
	exitOK          = 0
	exitFailed      = 1   // the command ran and what it was asked did not happen
	exitBadInput    = 2   // a flag, an argument or an input file is wrong: nothing was done
	exitPartial     = 3   // some of it happened: moves failed or VMs were left unplaced beside moves that succeeded
	exitRefused     = 4   // nothing happened because everything was refused (constraints, TLS, a stale plan)
	exitInterrupted = 130 // Ctrl-C or SIGTERM; running migrations were aborted
)

// exitError carries a status code without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError is a mistake in how a command was called: exit 2, with the
// message.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badInput wraps err as a usage error (exit 2).
func badInput(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode is the status for err: its own code, 2 for usage errors, 1 for
// anything else.
func exitCode(err error) int {
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		return exitBadInput
	case strings.HasPrefix(err.Error(), "unknown command "):
		return exitBadInput // cobra's, for the root command
	}
	return exitFailed
}

// movesExit is the status of a run of moves: all done, some, none because
// they failed, or none because every one was refused.
func movesExit(succeeded, failed, refused int) error {
	switch {
	case failed == 0 && refused == 0:
		return nil
	case succeeded == 0 && failed == 0:
		return exitError{exitRefused}
	case succeeded == 0:
		return exitError{exitFailed}
	}
	return exitError{exitPartial}
}

// markUsage makes the argument and flag errors of cmd and every command
// under it usage errors (exit 2).
func markUsage(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		markUsage(c)
	}
}

// version is drover's module version and the commit it was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (commit " + rev + dirty + ")"
	}
	return v + " " + bi.GoVersion
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print drover's version and the commit it was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "drover", version())
			return nil
		},
	}
}
