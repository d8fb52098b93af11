package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/cluster"
)

func inventoryCmd() *cobra.Command {
	var file, out string
	c := &cobra.Command{
		Use:   "inventory --inventory FILE [--out scenario.yaml]",
		Short: "Snapshot a live cluster of libvirt hosts as a scenario",
		Long: "Connects to every host of the inventory FILE, reads its size, CPU model, security state and running\n" +
			"domains with their CPU use, memory and dirty rate, and writes the cluster as a scenario that\n" +
			"`drover plan` and `drover sim` take. A summary goes to stderr.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			snap, cfg, unreachable, err := liveSnapshot(cmd.Context(), file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			summarize(cmd.ErrOrStderr(), snap, cfg)
			var w io.Writer = cmd.OutOrStdout()
			var f *os.File
			if out != "" {
				if f, err = os.Create(out); err != nil {
					return err
				}
				w = f
			}
			err = exportLive(w, snap, cfg, file)
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "scenario: %s\n", out)
				}
			}
			if err == nil && unreachable > 0 {
				return exitError{exitPartial} // the scenario has them as down
			}
			return err
		},
	}
	c.Flags().StringVar(&file, "inventory", "", "inventory file: the hosts and how to reach them")
	c.Flags().StringVar(&out, "out", "", "write the scenario here (default: stdout)")
	c.MarkFlagRequired("inventory")
	return c
}

// liveSnapshot reads an inventory file and takes a snapshot of its hosts.
// A host that cannot be asked is listed as down and said on warn; the
// count of them is returned.
func liveSnapshot(ctx context.Context, file string, warn io.Writer) (*cluster.Snapshot, *libvirt.Config, int, error) {
	cfg, b, _, err := openInventory(file)
	if err != nil {
		return nil, nil, 0, err
	}
	defer b.Close()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	snap, errs := b.SnapshotReachable(ctx)
	for _, e := range errs {
		fmt.Fprintf(warn, "warning: %v; the host is taken as down\n", e)
	}
	return snap, cfg, len(errs), nil
}

// exportLive writes the snapshot as a scenario with the inventory's
// migration settings, so plans on it predict what apply will do.
func exportLive(w io.Writer, snap *cluster.Snapshot, cfg *libvirt.Config, file string) error {
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	return scenarios.Export(w, snap, scenarios.ExportOptions{Name: name, Migration: new(cfg.SchedulerMigration()), TLS: cfg.TLS,
		Comment: fmt.Sprintf("taken by drover inventory from %s at %s", file, time.Now().UTC().Format(time.RFC3339))})
}

// liveScenario is the live cluster of an inventory file as a loaded
// scenario, so every command that plans on a scenario plans on it too.
// The snapshot it was made from comes too (a plan's basis).
func liveScenario(ctx context.Context, file string) (*scenarios.Scenario, *cluster.Snapshot, error) {
	snap, cfg, _, err := liveSnapshot(ctx, file, os.Stderr)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if err := exportLive(&buf, snap, cfg, file); err != nil {
		return nil, nil, err
	}
	sc, err := scenarios.Parse(file+" (live snapshot)", buf.Bytes())
	return sc, snap, err
}

func summarize(w io.Writer, s *cluster.Snapshot, cfg *libvirt.Config) {
	per := map[string]int{}
	for _, v := range s.VMs {
		per[v.Host]++
	}
	fmt.Fprintf(w, "%-12s %-8s %5s %9s %-20s %4s %s\n", "HOST", "SECURITY", "CPUS", "MEMORY", "CPU MODEL", "VMS", "STATE")
	for _, h := range s.Hosts {
		fmt.Fprintf(w, "%-12s %-8s %5d %6d MiB %-20s %4d %s\n", h.Name, h.Security, h.CPUs, h.Memory>>20, h.CPUModel, per[h.Name], h.State)
	}
	fmt.Fprintf(w, "%-12s %-10s %5s %9s %6s %-22s %-24s %s\n", "VM", "HOST", "VCPUS", "MEMORY", "CPU", "WSS MiB (80%)", "DIRTY MiB/s (80%)", "MEASURED BY")
	for _, v := range s.VMs {
		wss, dirty, by := fmt.Sprintf("%.0f", mib(float64(v.WSS))), fmt.Sprintf("%.1f", mib(v.DirtyRate)), "-"
		if m := v.Measured; m != nil {
			wss = fmt.Sprintf("%.0f [%.0f, %.0f]", mib(float64(v.WSS)), mib(float64(m.WSSLow)), mib(float64(m.WSSHigh)))
			dirty = fmt.Sprintf("%.1f [%.1f, %.1f]", mib(v.DirtyRate), mib(m.DirtyRateLow), mib(m.DirtyRateHigh))
			by = m.Method
		}
		if v.Migrating {
			by += " (migrating)"
		}
		fmt.Fprintf(w, "%-12s %-10s %5d %6d MiB %6.2f %-22s %-24s %s\n", v.Name, v.Host, v.VCPUs, v.Memory>>20, v.CPU, wss, dirty, by)
	}
	// A profile that knows the accelerator streams an emulated guest by
	// its TCG half: say what each half in use allows.
	used := map[bool]bool{}
	for _, v := range s.VMs {
		used[v.TCG && cfg.Profile().TCG != nil] = true
	}
	if len(used) == 0 {
		used[false] = true
	}
	for _, tcg := range []bool{false, true} {
		if !used[tcg] {
			continue
		}
		p := cfg.Profile().For(tcg)
		rate := func(tls bool) string {
			if r := p.Achievable(tls) * p.Goodput; r > 0 {
				return fmt.Sprintf("%.0f MiB/s", mib(r))
			}
			return "the NIC's speed"
		}
		guests := map[bool]string{false: "", true: " of TCG guests"}[tcg]
		if len(used) == 2 && !tcg {
			guests = " of KVM guests"
		}
		fmt.Fprintf(w, "migration streams%s (profile %s): tcp at most %s, tls at most %s, or the cap if less\n", guests, p.Name, rate(false), rate(true))
		if p.StreamRate <= 0 && p.StreamRateTLS <= 0 {
			fmt.Fprintf(w, "  the profile has no stream rates for these hosts: a CPU-bound stream (TCG, TLS) may run far below the NIC; "+
				"drover calibrate --from-runs on an uncapped apply, or a grid with CAP_MIBS=0, measures them\n")
		}
	}
}

func mib(x float64) float64 { return x / (1 << 20) }
