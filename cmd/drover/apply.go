package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"

	"github.com/droverlab/drover/backend/driver"
	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/units"
)

func applyCmd() *cobra.Command {
	var (
		inv, journal, outDir string
		format               string
		dryRun               bool
		resume               bool
		replan, yes          bool
	)
	c := &cobra.Command{
		Use:   "apply PLAN.json --inventory FILE [--dry-run] [--journal FILE] [--resume] [--out DIR]",
		Short: "Carry out a plan on real libvirt hosts, with progress, limits, abort and resume",
		Long: "Runs the moves of PLAN (from `drover plan --out`) on the hosts of the inventory FILE through the same\n" +
			"scheduler Core as the simulator: each move is checked again against the live cluster (moves that no\n" +
			"longer fit are refused, not run), the plan's limits and dependencies hold, migrations that stall\n" +
			"or overrun their timeouts get the configured limit action, and failed moves are retried elsewhere.\n" +
			"Every step goes to the journal (default PLAN.journal.jsonl) before it happens. Ctrl-C aborts the\n" +
			"running migrations (guests stay on their sources); --resume continues from the journal, skipping\n" +
			"the moves that are done. --dry-run checks the plan against the live cluster and changes nothing.\n\n" +
			"The contract: a plan made on live hosts (plan --inventory) records the cluster it was made on. apply\n" +
			"refuses it (exit 4), saying what changed, once it has expired or a guest has moved or gone or a host\n" +
			"has changed state or security, unless --replan: plan again on the cluster as it is, show the\n" +
			"difference, and carry on with the new plan. apply asks for confirmation on a terminal and needs\n" +
			"--yes anywhere else.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := parseFormats(format)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("format") && outDir == "" {
				return badInput("--format writes files beside DIR/report.json: give --out DIR")
			}
			pl, err := readPlan(args[0])
			if err != nil {
				return err
			}
			cfg, b, log, err := openInventory(inv)
			if err != nil {
				return err
			}
			defer b.Close()
			ccfg, err := coreConfig(cfg, scheduler.Policy{})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			// A resumed run's journal is its authority: the cluster has
			// moved on by the run's own moves.
			if !resume {
				if pl, err = current(ctx, out, b, inv, args[0], pl, replan, dryRun); err != nil {
					return err
				}
			}
			if dryRun {
				return dryRunPlan(ctx, out, b, ccfg, pl)
			}
			if journal == "" {
				journal = args[0] + ".journal.jsonl"
			}
			if !yes {
				if err := confirm(cmd, pl, inv); err != nil {
					return err
				}
			}
			unlock, err := driver.LockJournal(journal)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "drover:", err)
				return exitError{exitRefused}
			}
			defer unlock()
			var core *scheduler.Core
			var jf *os.File
			// A resumed run submits only what its journal left unsettled;
			// the rest is the restored Core's, which runs what was queued
			// and follows what is still migrating.
			initial := []cluster.Event{scheduler.PlanSubmitted{Plan: pl}}
			if _, err := os.Stat(journal); err == nil {
				if !resume {
					return badInput("journal %s exists: --resume to continue that run, or remove it to start over", journal)
				}
				f, recs, err := driver.OpenJournal(journal)
				if err != nil {
					return err
				}
				jf = f
				at := time.Duration(0)
				if len(recs) > 0 {
					at = recs[len(recs)-1].At
				}
				if core, err = scheduler.Restore(ccfg, at, recs); err != nil {
					jf.Close()
					return fmt.Errorf("journal %s: %w", journal, err)
				}
				initial = nil
				again := 0
				if rem := scheduler.Remaining(pl, recs); rem != nil {
					initial, again = []cluster.Event{scheduler.PlanSubmitted{Plan: rem}}, len(rem.Moves)
				}
				fmt.Fprintf(out, "resuming from %s (%d records): %d of %d moves submitted again, the rest done or under way\n",
					journal, len(recs), again, len(pl.Moves))
			} else {
				if resume {
					return badInput("--resume: no journal %s", journal)
				}
				if jf, err = os.OpenFile(journal, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
					return err
				}
				if core, err = scheduler.New(ccfg); err != nil {
					return err
				}
			}
			defer jf.Close()

			run := live{b: b, log: log, journal: jf, pl: pl, outDir: outDir, formats: formats, label: args[0], profile: ccfg.Settings.Migration.Profile.Name}
			status, err := run.drive(ctx, out, core, initial)
			if errors.Is(err, context.Canceled) {
				fmt.Fprintf(out, "interrupted: running migrations aborted; continue with --resume (journal %s)\n", journal)
				return exitError{exitInterrupted}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "journal: %s\n", journal)
			return status
		},
	}
	f := c.Flags()
	f.StringVar(&inv, "inventory", "", "inventory file: the hosts and how to reach them")
	f.StringVar(&journal, "journal", "", "journal file (default PLAN.journal.jsonl)")
	f.BoolVar(&dryRun, "dry-run", false, "check the plan against the live cluster; move nothing")
	f.BoolVar(&resume, "resume", false, "continue the run the journal records")
	f.StringVar(&outDir, "out", "", "write DIR/report.json: every migration, predicted against actual, as drover sim's reports")
	f.StringVar(&format, "format", "json", "with --out: files to write into DIR: json (always), html (predicted against measured, a page to look at), md, csv")
	f.BoolVar(&replan, "replan", false, "when the plan no longer fits the live cluster, plan again on it, show the difference and go on")
	f.BoolVar(&yes, "yes", false, "do not ask for confirmation (needed when not on a terminal)")
	c.MarkFlagRequired("inventory")
	return c
}

// current checks that pl (read from path) still fits the live cluster (its
// Basis) and returns the plan to run: pl, or with replan a new plan made
// the same way on the cluster as it is, which replaces the file (the old
// one kept as PATH.stale) so that a resumed run reads the plan it ran. A
// stale plan without replan is refused (exit 4); a dry run only says so.
func current(ctx context.Context, out io.Writer, b *libvirt.Backend, inv, path string, pl *plan.Plan, replan, dryRun bool) (*plan.Plan, error) {
	if pl.Basis == nil {
		fmt.Fprintln(out, "note: this plan was made on a scenario file, not on live hosts: apply cannot check that it is current")
		return pl, nil
	}
	snap, err := b.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	changes := pl.Basis.Changes(snap, time.Now())
	if len(changes) == 0 {
		fmt.Fprintf(out, "the plan fits the cluster it was made on (%s, expires %s)\n", pl.Basis.Fingerprint,
			pl.Basis.Expires.Local().Format(time.DateTime))
		return pl, nil
	}
	fmt.Fprintf(out, "the plan no longer fits the cluster it was made on (%s at %s):\n", pl.Basis.Fingerprint,
		pl.Basis.MadeAt.Local().Format(time.DateTime))
	for _, c := range changes {
		fmt.Fprintf(out, "  %s\n", c)
	}
	switch {
	case dryRun && !replan:
		return pl, nil
	case !replan:
		fmt.Fprintln(out, "refused: make a new plan (drover plan --inventory), or give --replan")
		return nil, exitError{exitRefused}
	}
	req := pl.Basis.Request
	sc, live, err := liveScenario(ctx, inv)
	if err != nil {
		return nil, err
	}
	np, err := makePlan(sc, planRequest{policy: req.Policy, hosts: strings.Join(req.Hosts, ","), zone: req.Zone, deadline: req.Deadline})
	if err != nil {
		return nil, err
	}
	np.Basis = plan.NewBasis(live, time.Now(), pl.Basis.Expires.Sub(pl.Basis.MadeAt), req)
	fmt.Fprintf(out, "planned again (%s): %d moves, predicted makespan %s\n", req.Policy, len(np.Moves), np.Makespan.Round(100*time.Millisecond))
	for _, d := range plan.Diff(pl, np) {
		fmt.Fprintf(out, "  %s\n", d)
	}
	if dryRun {
		return np, nil
	}
	var buf bytes.Buffer
	if err := np.WriteJSON(&buf); err != nil {
		return nil, err
	}
	if err := os.Rename(path, path+".stale"); err != nil {
		return nil, err
	}
	if err := renameio.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "plan: %s (the stale one kept as %s.stale)\n", path, path)
	return np, nil
}

// confirm asks the operator on a terminal; anywhere else apply needs --yes.
func confirm(cmd *cobra.Command, pl *plan.Plan, inv string) error {
	if !isTerminal(os.Stdin) {
		return badInput("apply changes the live cluster: give --yes to run it without a terminal to confirm on")
	}
	fmt.Fprintf(cmd.OutOrStdout(), "apply %d moves (%s, predicted makespan %s) to the hosts of %s? [y/N] ", len(pl.Moves),
		units.FormatSize(pl.Bytes), pl.Makespan.Round(100*time.Millisecond), inv)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	fmt.Fprintln(cmd.OutOrStdout(), "not confirmed: nothing was done")
	return exitError{exitRefused}
}

func readPlan(path string) (*plan.Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := plan.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// dryRunPlan steps a Core with the live snapshot and the plan, and prints
// what it would start and what it refuses, without applying anything.
func dryRunPlan(ctx context.Context, w io.Writer, b *libvirt.Backend, cfg scheduler.Config, pl *plan.Plan) error {
	snap, err := b.Snapshot(ctx)
	if err != nil {
		return err
	}
	core, err := scheduler.New(cfg)
	if err != nil {
		return err
	}
	dry := &dryRun{}
	node := scheduler.NewNode(core, dry, func() time.Duration { return snap.At })
	node.Push(scheduler.PlanSubmitted{Plan: pl})
	node.Push(cluster.SnapshotTaken{Snap: snap})
	if err := node.Run(); err != nil {
		return err
	}
	recs := dry.recs
	fmt.Fprintf(w, "dry run of %d moves against the live cluster (%d hosts, %d VMs); nothing is moved\n",
		len(pl.Moves), len(snap.Hosts), len(snap.VMs))
	accepted := 0
	for _, r := range recs {
		switch r.Kind {
		case scheduler.RecMove:
			accepted++
			m := r.Move
			p := predicted(pl, m.VM)
			fmt.Fprintf(w, "  run     %-14s %s -> %s over %s, predicted %s, downtime %s\n", m.VM, m.Source, m.Destination,
				m.Transport, (p.End - p.Start).Round(100*time.Millisecond), p.Downtime.Round(time.Millisecond))
		case scheduler.RecRefuse:
			fmt.Fprintf(w, "  refuse  %-14s -> %s: %s\n", r.VM, r.Destination, r.Reason)
		}
	}
	fmt.Fprintf(w, "%d of %d moves would run; predicted makespan %s\n", accepted, len(pl.Moves), pl.Makespan.Round(100*time.Millisecond))
	return nil
}

// dryRun is the Env of a dry run: it keeps the journal and carries out
// nothing; the Core's later requests for snapshots go unanswered.
type dryRun struct{ recs []scheduler.Record }

func (d *dryRun) Persist(recs []scheduler.Record) error {
	d.recs = append(d.recs, recs...)
	return nil
}
func (*dryRun) Execute([]cluster.Command) error      { return nil }
func (*dryRun) SetTimer(scheduler.Timer)             {}
func (*dryRun) Snapshot() (*cluster.Snapshot, error) { return nil, nil }

func predicted(pl *plan.Plan, vm string) plan.Prediction {
	for _, m := range pl.Moves {
		if m.VM == vm {
			return m.Predicted
		}
	}
	return plan.Prediction{}
}
