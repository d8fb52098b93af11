package scheduler_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/schedtest"
)

// TestDatadriven runs the scripts under testdata/, one file per topic, in
// the manner of etcd raft's interaction tests: each script sets up a
// cluster and a Core on the schedtest harness, feeds it events, and prints
// what the Core asked for. The scripts are the Core's specification;
// regenerate their expected output with
//
//	go test ./scheduler/ -run TestDatadriven -rewrite
//
// and read the diff. The commands:
//
//	cluster                      a world, one line per host, VM or group:
//	  host h1 zone=a rack=r1 cpus=32 mem=256GiB nic=10Gbit nics=2 security=secured|unsecured|invalid state=up|maintenance|down cpu-model=M
//	  vm v1 on=h1 mem=4GiB resident=3GiB vcpus=2 cpu=1 wss=512MiB dirty=20MiB/s group=g1 priority=0 pinned=why
//	  group g1 anti-affinity|affinity
//	config key=value...          the Core (see (*ddEnv).config); builds the harness
//	maintenance hosts=(h1,...)   MaintenanceRequested
//	disaster zone=a deadline=10m DisasterWarning: the zone fails at that instant
//	migrate vm=v1 to=h2 [...]    an operator's MigrationRequested
//	submit-plan [policy=...]     PlanSubmitted; body: move id=1 vm=v1 from=h1 to=h2 [after=(...)]
//	abort [id=N] [reason=...]    AbortRequested (no id: everything)
//	wait 30s | tick 5m | wait until=10m   time passes; due timers fire
//	progress id=1 iteration=3 remaining=100MiB
//	complete id=(1,...) | complete-all | fail id=1 reason=... | finish id=1 outcome=... [reason=...]
//	crash host=h2                the host dies with its guests (schedtest CrashHost)
//	set vm=v1 key=value... | set host=h1 key=value...   change the world, no event
//	restore [arrived=(vm...)] [rolled-back=(vm...)]     a new Core from the journal so far
//	                             (not started: a periodic policy is not re-armed)
//	state | world | journal      the harness's view
//
// Sizes take B, KiB, MiB, GiB suffixes; rates add /s, or are Mbit/Gbit.
func TestDatadriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		e := &ddEnv{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := e.run(d)
			if err != nil {
				d.Fatalf(t, "%s: %v", d.Pos, err)
			}
			return out
		})
	})
}

// ddEnv is one script's state: the world being described, the Core's
// configuration and the harness running it.
type ddEnv struct {
	world *cluster.Snapshot
	cfg   scheduler.Config
	h     *schedtest.Harness
}

// run executes one command. An error is a mistake in the script; what the
// Core or the harness refuses is printed as output.
func (e *ddEnv) run(d *datadriven.TestData) (string, error) {
	var b strings.Builder
	if d.Cmd == "cluster" {
		w, err := parseCluster(d.Input)
		if err != nil {
			return "", err
		}
		e.world, e.h = w, nil
		writeWorld(&b, e.world)
		return b.String(), nil
	}
	if e.world == nil {
		return "", fmt.Errorf("%s before cluster", d.Cmd)
	}
	if d.Cmd == "config" {
		if err := e.config(d.CmdArgs); err != nil {
			return "", err
		}
		e.h = schedtest.NewHarness(e.cfg, e.world)
		if !writeReadies(&b, e.h.Readies()) {
			b.WriteString("ok\n")
		}
		return b.String(), nil
	}
	if e.h == nil {
		// Events before any config run with the defaults.
		if err := e.config(nil); err != nil {
			return "", err
		}
		e.h = schedtest.NewHarness(e.cfg, e.world)
	}
	h := e.h
	m := h.Mark()
	args, err := argMap(d.CmdArgs)
	if err != nil {
		return "", err
	}
	// report prints what the Core asked for since m, or an error.
	report := func(err error) {
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
		}
		writeReadies(&b, h.ReadiesSince(m))
		m = h.Mark()
	}
	switch d.Cmd {
	case "maintenance":
		report(h.Step(cluster.MaintenanceRequested{Hosts: args.list("hosts")}))
	case "disaster":
		at, err := time.ParseDuration(args.one("deadline"))
		if err != nil {
			return "", err
		}
		report(h.Step(cluster.DisasterWarning{Zone: args.one("zone"), FailsAt: at}))
	case "migrate":
		ev := cluster.MigrationRequested{VM: args.one("vm"), Host: args.one("to")}
		if err := parseOptions(args, &ev.Options); err != nil {
			return "", err
		}
		report(h.Step(ev))
	case "submit-plan":
		pl, err := parsePlan(args, d.Input)
		if err != nil {
			return "", err
		}
		report(h.Step(scheduler.PlanSubmitted{Plan: pl}))
	case "abort":
		id := 0
		if s := args.one("id"); s != "" {
			if id, err = strconv.Atoi(s); err != nil {
				return "", err
			}
		}
		report(h.Step(cluster.AbortRequested{ID: id, Reason: args.one("reason")}))
	case "wait", "tick":
		until := h.Now()
		if s := args.one("until"); s != "" {
			if until, err = time.ParseDuration(s); err != nil {
				return "", err
			}
		} else {
			if len(d.CmdArgs) != 1 || len(d.CmdArgs[0].Vals) != 0 {
				return "", fmt.Errorf("want %s <duration> or %s until=<time>", d.Cmd, d.Cmd)
			}
			dur, err := time.ParseDuration(d.CmdArgs[0].Key)
			if err != nil {
				return "", err
			}
			until += dur
		}
		// Fire the due timers one instant at a time, saying which fired.
		for {
			ts := h.Timers()
			if len(ts) == 0 || ts[0].At > until {
				break
			}
			fired := len(h.Fired())
			err := h.FireTimersUntil(ts[0].At)
			var keys []string
			for _, t := range h.Fired()[fired:] {
				keys = append(keys, t.Key)
			}
			fmt.Fprintf(&b, "%s: fired %s\n", h.Now(), strings.Join(keys, ", "))
			report(err)
			if err != nil {
				break
			}
		}
		report(h.FireTimersUntil(until))
		fmt.Fprintf(&b, "now %s\n", h.Now())
	case "progress":
		id, err := args.int("id")
		if err != nil {
			return "", err
		}
		it, err := args.int("iteration")
		if err != nil {
			return "", err
		}
		left, err := parseSize(args.one("remaining"))
		if err != nil {
			return "", err
		}
		report(h.Progress(id, it, left))
	case "complete", "fail", "finish":
		outcome, reason := cluster.OutcomeCompleted, args.one("reason")
		switch d.Cmd {
		case "fail":
			outcome = cluster.OutcomeFailed
		case "finish":
			if outcome, err = parseOutcome(args.one("outcome")); err != nil {
				return "", err
			}
		}
		ids := args.list("id")
		if len(ids) == 0 {
			return "", fmt.Errorf("%s: no id", d.Cmd)
		}
		for _, s := range ids {
			id, err := strconv.Atoi(s)
			if err != nil {
				return "", err
			}
			if len(ids) > 1 {
				fmt.Fprintf(&b, "-- %s %d\n", d.Cmd, id)
			}
			report(h.Finish(id, outcome, reason))
		}
	case "complete-all":
		// Every running migration completes, lowest ID first, including
		// the ones each completion starts.
		for range 200 {
			run := h.Running()
			if len(run) == 0 {
				break
			}
			fmt.Fprintf(&b, "-- complete %d\n", run[0])
			report(h.Complete(run[0]))
		}
	case "crash":
		report(h.CrashHost(args.one("host")))
	case "set":
		if err := e.set(args); err != nil {
			return "", err
		}
		writeWorld(&b, h.Snapshot())
	case "restore":
		if err := e.restore(&b, args); err != nil {
			return "", err
		}
		h = e.h
	case "state":
		writeState(&b, h)
	case "world":
		writeWorld(&b, h.Snapshot())
	case "journal":
		for _, r := range h.Journal() {
			fmt.Fprintf(&b, "%s ", r.At)
			writeRecord(&b, r, false)
		}
	default:
		return "", fmt.Errorf("unknown command %q", d.Cmd)
	}
	for _, v := range h.Violations() {
		fmt.Fprintf(&b, "VIOLATION %s\n", v)
	}
	if b.Len() == 0 {
		b.WriteString("ok\n")
	}
	return b.String(), nil
}

// config builds the Core's configuration with scheduler.NewConfig, the way
// scenario files and the command line do, from:
//
//	policy=balance|greedy-cv|consolidate  the periodic policy (none by default)
//	interval=5m threshold=0.2 hysteresis=0.8 max-moves=10 cooldown=30m
//	evacuation=planned|fixed-batch  the Evacuate and Disaster policies
//	tls=matching|required|off     (matching)
//	overcommit=4                  vCPUs per core (4)
//	max-parallel=N                in the cluster (and each plan's)
//	max-out=N max-in=N            per host, each plan's
//	max-retries=N                 (the Core's default, 2)
//	on-limit=abort|force|postcopy max-iterations=N progress-timeout=30s completion-per-gib=10s
//	margin=0.1                    the disaster policy's reserve
func (e *ddEnv) config(cargs []datadriven.CmdArg) error {
	args, err := argMap(cargs)
	if err != nil {
		return err
	}
	p := scheduler.Policy{Params: map[string]map[string]string{}}
	// param sets a parameter of the named policy.
	param := func(policy, key, v string) {
		if p.Params[policy] == nil {
			p.Params[policy] = map[string]string{}
		}
		p.Params[policy][key] = v
	}
	cooldown := ""
	var m scheduler.Migration
	retries := 0
	for _, k := range args.keys {
		v := args.one(k)
		var err error
		switch k {
		case "policy":
			p.Name = v
		case "interval":
			p.Interval, err = time.ParseDuration(v)
		case "threshold":
			p.Threshold, err = strconv.ParseFloat(v, 64)
		case "hysteresis":
			p.Hysteresis, err = strconv.ParseFloat(v, 64)
		case "max-moves":
			p.MaxMovesPerRound, err = strconv.Atoi(v)
		case "cooldown":
			cooldown = v
		case "margin":
			param("disaster", k, v)
		case "evacuation":
			p.Evacuation = v
		case "tls":
			p.TLS, err = cluster.ParseTLSMode(v)
		case "overcommit":
			p.CPUOvercommit, err = strconv.ParseFloat(v, 64)
		case "max-parallel":
			m.MaxParallel, err = strconv.Atoi(v)
		case "max-out":
			m.MaxPerHostOut, err = strconv.Atoi(v)
		case "max-in":
			m.MaxPerHostIn, err = strconv.Atoi(v)
		case "max-retries":
			retries, err = strconv.Atoi(v)
		case "on-limit":
			m.OnLimit, err = cluster.ParseOnLimit(v)
		case "max-iterations":
			m.MaxIterations, err = strconv.Atoi(v)
		case "progress-timeout":
			m.ProgressTimeout, err = time.ParseDuration(v)
		case "completion-per-gib":
			m.CompletionTimeoutPerGiB, err = time.ParseDuration(v)
		default:
			return fmt.Errorf("config: unknown key %q", k)
		}
		if err != nil {
			return fmt.Errorf("config %s: %w", k, err)
		}
	}
	if cooldown != "" {
		// The periodic policy's, whatever its name.
		param(p.Name, "cooldown", cooldown)
	}
	cfg, err := scheduler.NewConfig(p, m)
	if err != nil {
		return err
	}
	cfg.MaxRetries = retries
	if err := cfg.Validate(); err != nil {
		return err
	}
	e.cfg = cfg
	return nil
}

// set changes one host or VM of the world, as something outside the Core
// would (a guest's load grows, a certificate expires).
func (e *ddEnv) set(args ddArgs) error {
	if name := args.one("vm"); name != "" {
		var err error
		if !e.h.UpdateVM(name, func(v *cluster.VM) { err = vmAttrs(v, args, "vm") }) {
			return fmt.Errorf("set: no vm %s", name)
		}
		return err
	}
	if name := args.one("host"); name != "" {
		var err error
		if !e.h.UpdateHost(name, func(hs *cluster.Host) { err = hostAttrs(hs, args, "host") }) {
			return fmt.Errorf("set: no host %s", name)
		}
		return err
	}
	return fmt.Errorf("set: want vm= or host=")
}

// restore ends the current Core as a crash of the driver would and builds
// a new one from the journal so far (scheduler.Restore through
// schedtest.RestoreHarness) at the current time, over the current world.
// Migrations under way stay under way in the world (their VMs migrating),
// unless named: arrived ones finished on their destination meanwhile,
// rolled-back ones are back on their source with nothing under way.
func (e *ddEnv) restore(b *strings.Builder, args ddArgs) error {
	old := e.h
	w := old.Snapshot()
	byVM := map[string]cluster.StartMigration{}
	for _, id := range old.Running() {
		c, _ := old.InFlight(id)
		byVM[c.VM] = c
	}
	for _, name := range args.list("arrived") {
		c, ok := byVM[name]
		if !ok {
			return fmt.Errorf("restore: %s is not migrating", name)
		}
		v := w.VM(name)
		v.Host, v.Migrating = c.Destination, false
	}
	for _, name := range args.list("rolled-back") {
		if _, ok := byVM[name]; !ok {
			return fmt.Errorf("restore: %s is not migrating", name)
		}
		w.VM(name).Migrating = false
	}
	h, err := schedtest.RestoreHarness(e.cfg, old.Now(), old.Journal(), w)
	if h == nil {
		return err
	}
	e.h = h
	if err != nil {
		fmt.Fprintf(b, "error: %v\n", err)
	}
	fmt.Fprintf(b, "restored at %s from %d journal records\n", h.Now(), len(old.Journal()))
	writeReadies(b, h.ReadiesSince(0))
	return nil
}

// Output.

// writeReadies prints each Ready in the order the harness handled it:
// journal, commands, timers, then the snapshot it asked for. Each plan a
// policy made is printed under its journal record. It reports whether it
// wrote anything.
func writeReadies(b *strings.Builder, rds []scheduler.Ready) bool {
	n := b.Len()
	for _, rd := range rds {
		plans := rd.Plans
		// Moves of a plan with a deadline show their predicted end.
		deadline := false
		for _, r := range rd.Journal {
			writeRecord(b, r, deadline)
			if r.Kind == scheduler.RecPlan {
				deadline = false
				if r.Outcome == "" && len(plans) > 0 {
					writePlan(b, plans[0])
					deadline = plans[0].Deadline > 0
					plans = plans[1:]
				}
			}
		}
		for _, p := range plans {
			fmt.Fprintf(b, "plan %s (no record)\n", p.Policy)
			writePlan(b, p)
		}
		for _, c := range rd.Commands {
			writeCommand(b, c)
		}
		for _, t := range rd.Timers {
			fmt.Fprintf(b, "timer   %s at %s\n", t.Key, t.At)
		}
		if rd.NeedSnapshot {
			b.WriteString("snapshot requested\n")
		}
	}
	return b.Len() > n
}

// writeRecord prints one journal record; predicted adds a move's
// predicted end (from the plan's start) and whether it is late.
func writeRecord(b *strings.Builder, r scheduler.Record, predicted bool) {
	b.WriteString("journal ")
	switch r.Kind {
	case scheduler.RecPlan:
		fmt.Fprintf(b, "plan %s", r.Policy)
		if r.Outcome != "" {
			fmt.Fprintf(b, " %s", r.Outcome)
		}
		fmt.Fprintf(b, ": %s", r.Reason)
	case scheduler.RecMove:
		if r.Move == nil {
			fmt.Fprintf(b, "move %d (no move)", r.ID)
			break
		}
		m := r.Move
		fmt.Fprintf(b, "move %d %s %s->%s %s plan=%d", r.ID, m.VM, m.Source, m.Destination, m.Transport, r.Plan)
		if len(m.After) > 0 {
			fmt.Fprintf(b, " after=%s", ints(m.After))
		}
		if m.Priority != 0 {
			fmt.Fprintf(b, " priority=%d", m.Priority)
		}
		if predicted {
			fmt.Fprintf(b, " predicted=%s", m.Predicted.End.Round(time.Second))
			if o := m.Predicted.Outcome; o != "" && o != cluster.OutcomeCompleted {
				fmt.Fprintf(b, " %s", o)
			}
			if m.Predicted.Late {
				b.WriteString(" late")
			}
		}
		fmt.Fprintf(b, " %q", m.Reason)
	case scheduler.RecStart:
		fmt.Fprintf(b, "start %d", r.ID)
	case scheduler.RecLimit:
		fmt.Fprintf(b, "limit %d %s: %s", r.ID, r.Action, r.Reason)
	case scheduler.RecDone:
		fmt.Fprintf(b, "done %d %s", r.ID, r.Outcome)
		if r.Reason != "" {
			fmt.Fprintf(b, ": %s", r.Reason)
		}
	case scheduler.RecCancel:
		fmt.Fprintf(b, "cancel %d: %s", r.ID, r.Reason)
	case scheduler.RecGiveUp:
		fmt.Fprintf(b, "give-up %d %s: %s", r.ID, r.VM, r.Reason)
	case scheduler.RecDrain, scheduler.RecHostFailed:
		fmt.Fprintf(b, "%s %s", r.Kind, strings.Join(r.Hosts, ","))
	case scheduler.RecWarn:
		fmt.Fprintf(b, "warn zone %s fails at %s", r.Zone, r.FailsAt)
	case scheduler.RecRefuse:
		fmt.Fprintf(b, "refuse %s->%s", r.VM, r.Destination)
		if r.Policy != "" {
			fmt.Fprintf(b, " (%s)", r.Policy)
		}
		fmt.Fprintf(b, " %s: %s", r.Outcome, r.Reason)
	default:
		fmt.Fprintf(b, "%s %+v", r.Kind, r)
	}
	b.WriteString("\n")
}

func writePlan(b *strings.Builder, p *plan.Plan) {
	var l []string
	for _, f := range []struct {
		name string
		n    int
	}{{"max-parallel", p.Limits.MaxParallel}, {"max-out", p.Limits.MaxPerHostOut}, {"max-in", p.Limits.MaxPerHostIn}} {
		if f.n > 0 {
			l = append(l, fmt.Sprintf("%s=%d", f.name, f.n))
		}
	}
	if p.Limits.Batch {
		l = append(l, "batch")
	}
	if len(l) == 0 {
		l = append(l, "none")
	}
	fmt.Fprintf(b, "        limits %s\n", strings.Join(l, " "))
	if p.Deadline > 0 {
		fmt.Fprintf(b, "        deadline %s\n", p.Deadline)
	}
	if p.ImbalanceBefore > 0 {
		fmt.Fprintf(b, "        imbalance %.3f -> %.3f\n", p.ImbalanceBefore, p.ImbalanceAfter)
	}
	for _, u := range p.Unplaced {
		fmt.Fprintf(b, "        unplaced %s on %s: %s\n", u.VM, u.Host, u.Reason)
	}
}

func writeCommand(b *strings.Builder, c cluster.Command) {
	b.WriteString("command ")
	switch c := c.(type) {
	case cluster.FollowMigration:
		fmt.Fprintf(b, "follow %d %s %s->%s %s", c.ID, c.VM, c.Source, c.Destination, c.Transport)
	case cluster.StartMigration:
		fmt.Fprintf(b, "start %d %s %s->%s %s cause=%s", c.ID, c.VM, c.Source, c.Destination, c.Transport, c.Cause)
		o := c.Options
		if o.Bandwidth > 0 {
			fmt.Fprintf(b, " bandwidth=%s", fmtRate(o.Bandwidth))
		}
		if o.DowntimeLimit > 0 {
			fmt.Fprintf(b, " downtime=%s", o.DowntimeLimit)
		}
		if o.AutoConverge {
			b.WriteString(" auto-converge")
		}
		if o.PostCopy {
			b.WriteString(" postcopy-allowed")
		}
	case cluster.AbortMigration:
		fmt.Fprintf(b, "abort %d: %s", c.ID, c.Reason)
	case cluster.ForceSwitchover:
		fmt.Fprintf(b, "force %d: %s", c.ID, c.Reason)
	case cluster.StartPostCopy:
		fmt.Fprintf(b, "postcopy %d: %s", c.ID, c.Reason)
	default:
		fmt.Fprintf(b, "%T %+v", c, c)
	}
	b.WriteString("\n")
}

// writeWorld prints each host with its guests (* migrating) and use.
func writeWorld(b *strings.Builder, w *cluster.Snapshot) {
	for i := range w.Hosts {
		hs := &w.Hosts[i]
		state := hs.State
		if state == "" {
			state = cluster.HostUp
		}
		var names []string
		var mem int64
		vcpus := 0
		for _, v := range w.VMs {
			if v.Host != hs.Name {
				continue
			}
			n := v.Name
			if v.Migrating {
				n += "*"
			}
			names = append(names, n)
			mem += v.Memory
			vcpus += v.VCPUs
		}
		if len(names) == 0 {
			names = []string{"-"}
		}
		fmt.Fprintf(b, "%s zone=%s %s %s: mem %s/%s vcpus %d/%d: %s\n", hs.Name, hs.Zone, hs.Security, state,
			fmtSize(mem), fmtSize(hs.Memory), vcpus, hs.CPUs, strings.Join(names, " "))
	}
	for _, v := range w.VMs {
		if w.Host(v.Host) == nil {
			fmt.Fprintf(b, "%s on unknown host %s\n", v.Name, v.Host)
		}
	}
}

// writeState prints the Core's view: time, whether it is idle, the
// migrations it believes under way and the timers set.
func writeState(b *strings.Builder, h *schedtest.Harness) {
	fmt.Fprintf(b, "now %s idle=%t\n", h.Now(), h.Core.Idle())
	for _, m := range h.Core.Running() {
		fmt.Fprintf(b, "running %d %s %s->%s %s\n", m.ID, m.VM, m.Source, m.Destination, m.Transport)
	}
	var core []int
	for _, m := range h.Core.Running() {
		core = append(core, m.ID)
	}
	if run := h.Running(); !slices.Equal(run, core) {
		fmt.Fprintf(b, "backend running %s\n", ints(run))
	}
	for _, t := range h.Timers() {
		fmt.Fprintf(b, "timer %s at %s\n", t.Key, t.At)
	}
}

// Parsing.

// parseCluster reads the body of a cluster command.
func parseCluster(input string) (*cluster.Snapshot, error) {
	var hosts []cluster.Host
	var vms []cluster.VM
	var groups []cluster.Group
	for _, line := range strings.Split(input, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, cargs, err := datadriven.ParseLine(line)
		if err != nil {
			return nil, err
		}
		if len(cargs) == 0 || len(cargs[0].Vals) != 0 {
			return nil, fmt.Errorf("%q: want %s <name> key=value...", line, kind)
		}
		name := cargs[0].Key
		args, err := argMap(cargs[1:])
		if err != nil {
			return nil, err
		}
		switch kind {
		case "host":
			hs := schedtest.MakeHost(name).Obj()
			if err := hostAttrs(&hs, args, ""); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
			hosts = append(hosts, hs)
		case "vm":
			on := args.one("on")
			if on == "" {
				return nil, fmt.Errorf("%q: vm without on=", line)
			}
			v := schedtest.MakeVM(name, on).Obj()
			if err := vmAttrs(&v, args, "on"); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
			vms = append(vms, v)
		case "group":
			if len(cargs) != 2 {
				return nil, fmt.Errorf("%q: want group <name> affinity|anti-affinity", line)
			}
			groups = append(groups, cluster.Group{Name: name, Kind: cluster.GroupKind(cargs[1].Key)})
		default:
			return nil, fmt.Errorf("%q: want host, vm or group", line)
		}
	}
	for i := range groups {
		for _, v := range vms {
			if v.Group == groups[i].Name {
				groups[i].Members = append(groups[i].Members, v.Name)
			}
		}
	}
	return schedtest.Snapshot(hosts, vms, groups...), nil
}

// hostAttrs applies key=value pairs to a host; skip names the key that
// is not an attribute.
func hostAttrs(hs *cluster.Host, args ddArgs, skip string) error {
	for _, k := range args.keys {
		v := args.one(k)
		var err error
		switch k {
		case skip:
		case "zone":
			hs.Zone = v
		case "rack":
			hs.Rack = v
		case "cpus":
			hs.CPUs, err = strconv.Atoi(v)
		case "mem":
			hs.Memory, err = parseSize(v)
		case "nic":
			hs.NICSpeed, err = parseRate(v)
		case "nics":
			hs.NICs, err = strconv.Atoi(v)
		case "cpu-model":
			hs.CPUModel = v
		case "security":
			switch v {
			case "secured":
				hs.Security = cluster.Secured
			case "unsecured":
				hs.Security = cluster.Unsecured
			case "invalid":
				hs.Security = cluster.Invalid
			default:
				err = fmt.Errorf("want secured, unsecured or invalid")
			}
		case "state":
			hs.State = cluster.HostState(v)
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return fmt.Errorf("host %s %s=%s: %w", hs.Name, k, v, err)
		}
	}
	return nil
}

// vmAttrs applies key=value pairs to a VM. A memory size without a
// resident size makes three quarters of it resident, as MakeVM's default
// guest has.
func vmAttrs(v *cluster.VM, args ddArgs, skip string) error {
	resident := false
	for _, k := range args.keys {
		val := args.one(k)
		var err error
		switch k {
		case skip:
		case "on":
			v.Host = val
		case "mem":
			v.Memory, err = parseSize(val)
			if !resident {
				v.Resident = v.Memory * 3 / 4
			}
			v.WSS = min(v.WSS, v.Resident)
		case "resident":
			v.Resident, err = parseSize(val)
			resident = true
		case "vcpus":
			v.VCPUs, err = strconv.Atoi(val)
		case "cpu":
			v.CPU, err = strconv.ParseFloat(val, 64)
		case "wss":
			v.WSS, err = parseSize(val)
		case "dirty":
			v.DirtyRate, err = parseRate(val)
		case "group":
			v.Group = val
		case "priority":
			v.Priority, err = strconv.Atoi(val)
		case "pinned":
			v.Pinned = val
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return fmt.Errorf("vm %s %s=%s: %w", v.Name, k, val, err)
		}
	}
	return nil
}

// parseOptions reads a request's migration options.
func parseOptions(args ddArgs, o *cluster.MigrationOptions) error {
	var err error
	for _, k := range args.keys {
		v := args.one(k)
		switch k {
		case "vm", "to":
		case "bandwidth":
			o.Bandwidth, err = parseRate(v)
		case "downtime":
			o.DowntimeLimit, err = time.ParseDuration(v)
		case "max-iterations":
			o.MaxIterations, err = strconv.Atoi(v)
		case "on-limit":
			o.OnLimit, err = cluster.ParseOnLimit(v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parsePlan reads an operator's plan: args give its policy and limits, the
// body one move a line.
func parsePlan(args ddArgs, input string) (*plan.Plan, error) {
	pl := &plan.Plan{Policy: args.one("policy")}
	for _, k := range args.keys {
		var err error
		switch k {
		case "policy":
		case "max-parallel":
			pl.Limits.MaxParallel, err = args.int(k)
		case "max-out":
			pl.Limits.MaxPerHostOut, err = args.int(k)
		case "max-in":
			pl.Limits.MaxPerHostIn, err = args.int(k)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, line := range strings.Split(input, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, cargs, err := datadriven.ParseLine(line)
		if err != nil {
			return nil, err
		}
		margs, err := argMap(cargs)
		if err != nil {
			return nil, err
		}
		if kind != "move" {
			return nil, fmt.Errorf("%q: want move id=N vm=V from=H to=H [after=(...)] [transport=tls|tcp]", line)
		}
		id, err := margs.int("id")
		if err != nil {
			return nil, err
		}
		m := plan.Move{ID: id, VM: margs.one("vm"), Source: margs.one("from"), Destination: margs.one("to"),
			Transport: cluster.Transport(margs.one("transport")), Reason: "operator"}
		for _, s := range margs.list("after") {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, err
			}
			m.After = append(m.After, n)
		}
		pl.Moves = append(pl.Moves, m)
	}
	return pl, nil
}

// parseOutcome reads how the backend says a migration ended.
func parseOutcome(s string) (cluster.Outcome, error) {
	for _, o := range []cluster.Outcome{cluster.OutcomeCompleted, cluster.OutcomeForced, cluster.OutcomePostCopy,
		cluster.OutcomeAborted, cluster.OutcomeFailed, cluster.OutcomeRejected} {
		if string(o) == s {
			return o, nil
		}
	}
	return "", fmt.Errorf("outcome %q: want completed, forced, postcopy, aborted, failed or rejected", s)
}

// ddArgs are a command's key=value arguments, in the order written.
type ddArgs struct {
	keys []string
	vals map[string][]string
}

func argMap(cargs []datadriven.CmdArg) (ddArgs, error) {
	a := ddArgs{vals: map[string][]string{}}
	for _, c := range cargs {
		if _, dup := a.vals[c.Key]; dup {
			return a, fmt.Errorf("argument %s given twice", c.Key)
		}
		a.keys = append(a.keys, c.Key)
		a.vals[c.Key] = c.Vals
	}
	return a, nil
}

// one is the value of key ("" if absent); list all its values.
func (a ddArgs) one(key string) string {
	if v := a.vals[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (a ddArgs) list(key string) []string { return a.vals[key] }

func (a ddArgs) int(key string) (int, error) {
	n, err := strconv.Atoi(a.one(key))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

var sizeUnits = []struct {
	suffix string
	n      float64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}}

// parseSize reads 4GiB, 1.5GiB, 256MiB, 4096B or 4096.
func parseSize(s string) (int64, error) {
	num, mult := s, 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.n
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want a number with KiB, MiB, GiB or TiB", s)
	}
	return int64(f * mult), nil
}

// parseRate reads 8MiB/s (bytes per second) or 10Gbit, 100Mbit (bits).
func parseRate(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		n      float64
	}{{"Gbit", 1e9 / 8}, {"Mbit", 1e6 / 8}} {
		if num, ok := strings.CutSuffix(strings.TrimSuffix(s, "/s"), u.suffix); ok {
			f, err := strconv.ParseFloat(num, 64)
			return f * u.n, err
		}
	}
	n, err := parseSize(strings.TrimSuffix(s, "/s"))
	return float64(n), err
}

func fmtSize(n int64) string {
	if n == 0 {
		return "0"
	}
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.n == 0 {
			return fmt.Sprintf("%d%s", n/u.n, u.suffix)
		}
	}
	if n >= 1<<30 {
		return fmt.Sprintf("%.2fGiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%dB", n)
}

// fmtRate prints a rate in megabits per second, as bandwidth caps are
// usually given.
func fmtRate(r float64) string { return strconv.FormatFloat(r*8/1e6, 'f', -1, 64) + "Mbit" }

func ints(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return "(" + strings.Join(s, ",") + ")"
}
