package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/droverlab/drover/backend/driver"
	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// openInventory reads an inventory file and opens a Backend on its hosts;
// New makes no connection yet. A bad file prints every problem as
// file:line:col on stderr and exits 2. The logger shows the Backend's
// warnings on stderr.
func openInventory(file string) (*libvirt.Config, *libvirt.Backend, *slog.Logger, error) {
	cfg, err := libvirt.LoadConfig(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return nil, nil, nil, exitError{exitBadInput}
	}
	log, err := newLogger(os.Stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := libvirt.New(cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, b, log, nil
}

// logFormat is --log-format, for every command that talks to hosts.
var logFormat = "text"

// newLogger is the logger of the commands that talk to hosts: warnings and
// worse on w, as text or as JSON lines (--log-format) for machines.
func newLogger(w io.Writer) (*slog.Logger, error) {
	o := &slog.HandlerOptions{Level: slog.LevelWarn}
	switch logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, badInput("--log-format %q: want text or json", logFormat)
}

// coreConfig is the scheduler's configuration for the hosts of an
// inventory file, built as the simulator builds it (scheduler.NewConfig),
// so live runs plan and predict as simulated ones do; plus the options only
// real migrations take (post-copy). pol names the periodic policy, if any.
func coreConfig(cfg *libvirt.Config, pol scheduler.Policy) (scheduler.Config, error) {
	pol.TLS = cfg.TLS
	c, err := scheduler.NewConfig(pol, cfg.SchedulerMigration())
	if err != nil {
		return c, err
	}
	c.Options = cfg.MigrationOptions()
	return c, nil
}

// live is one run of the Core on real hosts.
type live struct {
	b       *libvirt.Backend
	log     *slog.Logger
	journal *os.File
	// pl is the plan being applied (nil for drover run); forever keeps a
	// periodic run going until ctx ends.
	pl      *plan.Plan
	forever bool
	// outDir, if set, receives report.json and the other formats asked
	// for (--format); label names the run in it.
	outDir, label string
	formats       []string
	// profile names the calibration profile the plans were predicted with.
	profile string
}

// drive runs core on the wall clock until it is done or ctx ends, shows
// progress on out, and writes the report. It returns driver.Run's error
// and the exit status the moves call for (movesExit).
func (l live) drive(ctx context.Context, out io.Writer, core *scheduler.Core, initial []cluster.Event) (error, error) {
	pr := newProgress(out, l.pl)
	pr.profile = l.profile
	err := driver.Run(ctx, core, l.b, initial, driver.Options{
		Journal: l.journal, OnReady: pr.ready, OnEvent: pr.event, Logger: l.log, Forever: l.forever,
	})
	pr.finish()
	if l.outDir != "" {
		rep := pr.report(l.label)
		path, rerr := rep.Save(l.outDir)
		if rerr != nil {
			return nil, rerr
		}
		fmt.Fprintf(out, "report: %s\n", path)
		if rerr := writeFormats(out, l.outDir, rep, l.formats); rerr != nil {
			return nil, rerr
		}
	}
	return pr.exit(), err
}
