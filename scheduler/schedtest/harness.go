package schedtest

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// Harness drives a scheduler.Core the way the package comment of scheduler
// says a driver must, in virtual time, and records everything the Core asks
// for. It is the Core's only test driver: no goroutine, no clock, no I/O.
//
// The harness keeps a world: a snapshot the test owns. Unless Frozen is
// set, commands and the helpers change it the way a backend would (a
// started VM is migrating; a completed one sits on its destination; a
// crashed host and its guests are gone), and every NeedSnapshot is answered
// with a copy of it.
//
// Use it from one goroutine. Like package scheduler, it is not safe for
// concurrent use. Since schedtest imports scheduler (and so cluster, plan,
// policy, place, filter, precopy), tests of those packages that use
// schedtest must be external test packages (package scheduler_test,
// plan_test, ...), or the import cycles.
type Harness struct {
	// Core is the state machine under test.
	Core *scheduler.Core
	// Frozen stops commands and helpers from changing the world; the test
	// then changes it by hand (SetSnapshot, UpdateVM).
	Frozen bool

	now   time.Duration
	world *cluster.Snapshot
	node  *scheduler.Node
	ready int // index in readies of the Ready being carried out

	readies  []scheduler.Ready
	journal  []scheduler.Record
	commands []cluster.Command
	trace    []TraceEntry
	timers   []pendingTimer
	timerSeq int
	fired    []scheduler.Timer

	// moves holds every move the journal named, by ID; inFlight the
	// migrations started and not yet ended, by ID.
	moves      map[int]plan.Move
	inFlight   map[int]cluster.StartMigration
	startedIDs map[int]bool // journalled "start" records
	violations []string
}

// TraceEntry is one item of the harness's trace, in the order the driver
// handled it: a Ready's journal records, then its commands, then its
// timers, then the snapshot it asked for.
type TraceEntry struct {
	// Ready is the index of the Ready in Readies().
	Ready int
	At    time.Duration
	// Exactly one of the following is set.
	Record   *scheduler.Record
	Command  cluster.Command
	Timer    *scheduler.Timer
	Snapshot bool
}

type pendingTimer struct {
	scheduler.Timer
	seq int
}

// Mark is a position in the harness's record; the *Since methods return
// what came after it.
type Mark int

// NewHarness returns a harness at time zero over a copy of world, with a
// Core built from cfg and started (Core.Start), and handles the first
// Ready (the periodic timer, if any).
func NewHarness(cfg scheduler.Config, world *cluster.Snapshot) *Harness {
	h := newHarness(world)
	c, err := scheduler.New(cfg)
	if err != nil {
		panic(err) // a test's own configuration is wrong
	}
	h.setCore(c)
	h.Core.Start(h.now)
	_ = h.pump() // cannot fail: Start sets timers only, no snapshot to take
	return h
}

// RestoreHarness returns a harness whose Core is rebuilt from records at
// time now (scheduler.Restore), and handles the Ready that asks for the
// first snapshot: the world given here settles the moves the journal left
// open. It does not call Core.Start; a test that wants the periodic policy
// calls h.Core.Start itself.
//
// Journal() starts with records, as the journal file of a resumed run
// does; JournalSince(0) has only what the new Core wrote. The records also
// tell the harness which move each ID is, so Complete and friends work on
// migrations an earlier Core started: the harness takes such a migration
// to be under way if the world marks its VM migrating.
func RestoreHarness(cfg scheduler.Config, now time.Duration, records []scheduler.Record, world *cluster.Snapshot) (*Harness, error) {
	h := newHarness(world)
	h.now = now
	c, err := scheduler.Restore(cfg, now, records)
	if err != nil {
		return nil, err
	}
	h.setCore(c)
	h.journal = slices.Clone(records)
	ended := map[int]bool{}
	for _, r := range records {
		switch r.Kind {
		case scheduler.RecMove:
			if r.Move != nil {
				h.moves[r.ID] = *r.Move
			}
		case scheduler.RecStart:
			h.startedIDs[r.ID] = true
		case scheduler.RecDone, scheduler.RecCancel:
			ended[r.ID] = true
		}
	}
	for id := range h.startedIDs {
		m, ok := h.moves[id]
		if !ok || ended[id] {
			continue
		}
		if v := h.world.VM(m.VM); v != nil && v.Migrating {
			h.inFlight[id] = cluster.StartMigration{ID: id, VM: m.VM, Source: m.Source, Destination: m.Destination, Transport: m.Transport}
		}
	}
	return h, h.pump()
}

func newHarness(world *cluster.Snapshot) *Harness {
	return &Harness{
		world: Clone(world), moves: map[int]plan.Move{}, inFlight: map[int]cluster.StartMigration{},
		startedIDs: map[int]bool{},
	}
}

// Now is the harness's virtual time.
func (h *Harness) Now() time.Duration { return h.now }

// Step feeds ev to the Core at the current time and handles every Ready
// that follows. The error is the Core's (or one from a snapshot it asked
// for).
func (h *Harness) Step(ev cluster.Event) error { return h.StepAll(ev) }

// StepAll feeds several events that arrive together, then handles the
// Readies: the Core sees them all before the driver asks what to do.
func (h *Harness) StepAll(evs ...cluster.Event) error {
	for _, ev := range evs {
		h.node.Push(ev)
	}
	return h.node.Run()
}

// setCore puts c under the one driver loop (scheduler.Node), with the
// harness as its Env.
func (h *Harness) setCore(c *scheduler.Core) {
	h.Core = c
	h.node = scheduler.NewNode(c, harnessEnv{h}, func() time.Duration { return h.now })
	h.node.OnReady = func(rd scheduler.Ready) {
		h.ready = len(h.readies)
		h.readies = append(h.readies, cloneReady(rd))
	}
}

func (h *Harness) pump() error { return h.node.Run() }

// harnessEnv is the harness as the Core's Env: it records everything in
// the trace and checks each command against the world.
type harnessEnv struct{ h *Harness }

// Persist records the journal, before any command runs.
func (e harnessEnv) Persist(recs []scheduler.Record) error {
	h := e.h
	for i := range recs {
		r := recs[i]
		h.journal = append(h.journal, r)
		h.trace = append(h.trace, TraceEntry{Ready: h.ready, At: h.now, Record: &r})
		switch r.Kind {
		case scheduler.RecMove:
			if r.Move != nil {
				h.moves[r.ID] = *r.Move
			}
		case scheduler.RecStart:
			h.startedIDs[r.ID] = true
		}
	}
	return nil
}

// Execute carries out the commands in order.
func (e harnessEnv) Execute(cmds []cluster.Command) error {
	h := e.h
	for _, c := range cmds {
		h.commands = append(h.commands, c)
		h.trace = append(h.trace, TraceEntry{Ready: h.ready, At: h.now, Command: c})
		h.apply(c)
	}
	return nil
}

// SetTimer keeps the timer until FireTimersUntil reaches it.
func (e harnessEnv) SetTimer(t scheduler.Timer) {
	h := e.h
	h.timerSeq++
	h.timers = append(h.timers, pendingTimer{Timer: t, seq: h.timerSeq})
	h.trace = append(h.trace, TraceEntry{Ready: h.ready, At: h.now, Timer: &t})
}

// Snapshot answers with a copy of the world.
func (e harnessEnv) Snapshot() (*cluster.Snapshot, error) {
	h := e.h
	h.trace = append(h.trace, TraceEntry{Ready: h.ready, At: h.now, Snapshot: true})
	return h.Snapshot(), nil
}

// apply checks a command against the world and, unless Frozen, carries it
// out. A problem becomes a violation, never a panic: the test decides.
func (h *Harness) apply(c cluster.Command) {
	switch c := c.(type) {
	case cluster.StartMigration:
		if !h.startedIDs[c.ID] {
			h.violate("start of move %d issued before its journal record", c.ID)
		}
		if _, ok := h.inFlight[c.ID]; ok {
			h.violate("start of move %d while it is already running", c.ID)
		}
		v := h.world.VM(c.VM)
		switch {
		case v == nil:
			h.violate("start of move %d: unknown vm %s", c.ID, c.VM)
		case v.Host != c.Source:
			h.violate("start of move %d: vm %s is on %s, not %s", c.ID, c.VM, v.Host, c.Source)
		case v.Migrating:
			h.violate("start of move %d: vm %s is already migrating", c.ID, c.VM)
		}
		if h.world.Host(c.Destination) == nil {
			h.violate("start of move %d: unknown destination %s", c.ID, c.Destination)
		}
		h.inFlight[c.ID] = c
		if v != nil && !h.Frozen {
			v.Migrating = true
		}
	case cluster.FollowMigration:
		v := h.world.VM(c.VM)
		if v == nil || !v.Migrating {
			h.violate("follow of move %d: vm %s is not migrating", c.ID, c.VM)
		}
		h.inFlight[c.ID] = cluster.StartMigration{ID: c.ID, VM: c.VM, Source: c.Source, Destination: c.Destination, Transport: c.Transport}
	case cluster.AbortMigration:
		h.checkRunning("abort", c.ID)
	case cluster.ForceSwitchover:
		h.checkRunning("force switch-over", c.ID)
	case cluster.StartPostCopy:
		h.checkRunning("post-copy", c.ID)
	default:
		h.violate("unknown command %T", c)
	}
}

func (h *Harness) checkRunning(what string, id int) {
	if _, ok := h.inFlight[id]; !ok {
		h.violate("%s of move %d, which is not running", what, id)
	}
}

func (h *Harness) violate(format string, args ...any) {
	h.violations = append(h.violations, fmt.Sprintf("at %s: ", h.now)+fmt.Sprintf(format, args...))
}

// Violations lists breaches of the driver contract the harness saw: a start
// without its journal record before it, a start of a VM that is not on the
// named source or already migrating, a limit action for a migration not
// running. Empty when all is well.
func (h *Harness) Violations() []string { return slices.Clone(h.violations) }

// Time.

// FireTimersUntil moves time forward to t, firing every timer due by then
// in order of time (ties in the order they were set), each at its own
// instant; timers the Core sets meanwhile fire too if due.
func (h *Harness) FireTimersUntil(t time.Duration) error {
	for {
		i := h.nextTimer(t)
		if i < 0 {
			break
		}
		pt := h.timers[i]
		h.timers = slices.Delete(h.timers, i, i+1)
		h.now = max(h.now, pt.At)
		h.fired = append(h.fired, pt.Timer)
		if err := h.Step(cluster.TimerFired{Key: pt.Key}); err != nil {
			return err
		}
	}
	h.now = max(h.now, t)
	return nil
}

// Wait is FireTimersUntil(Now()+d).
func (h *Harness) Wait(d time.Duration) error { return h.FireTimersUntil(h.now + d) }

func (h *Harness) nextTimer(until time.Duration) int {
	best := -1
	for i, pt := range h.timers {
		if pt.At > until {
			continue
		}
		if best < 0 || pt.At < h.timers[best].At || pt.At == h.timers[best].At && pt.seq < h.timers[best].seq {
			best = i
		}
	}
	return best
}

// Timers lists the timers set and not yet fired, by time then order set.
func (h *Harness) Timers() []scheduler.Timer {
	pts := slices.Clone(h.timers)
	slices.SortFunc(pts, func(a, b pendingTimer) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.seq, b.seq))
	})
	out := make([]scheduler.Timer, len(pts))
	for i, pt := range pts {
		out[i] = pt.Timer
	}
	return out
}

// Fired lists the timers fired so far, in order.
func (h *Harness) Fired() []scheduler.Timer { return slices.Clone(h.fired) }

// The backend's side of migrations.

// Progress reports a round of migration id.
func (h *Harness) Progress(id, iteration int, remaining int64) error {
	if _, ok := h.inFlight[id]; !ok {
		return fmt.Errorf("schedtest: progress of move %d, which is not running", id)
	}
	return h.Step(cluster.MigrationProgress{ID: id, Iteration: iteration, Remaining: remaining})
}

// Complete ends migration id with the guest on its destination.
func (h *Harness) Complete(id int) error { return h.Finish(id, cluster.OutcomeCompleted, "") }

// Fail ends migration id with the guest still on its source.
func (h *Harness) Fail(id int, reason string) error {
	return h.Finish(id, cluster.OutcomeFailed, reason)
}

// Aborted ends migration id as aborted (the backend's answer to an
// AbortMigration), the guest on its source.
func (h *Harness) Aborted(id int, reason string) error {
	return h.Finish(id, cluster.OutcomeAborted, reason)
}

// Finish ends migration id with any outcome: the guest moves to the
// destination if the outcome succeeded, else stays on its source.
func (h *Harness) Finish(id int, outcome cluster.Outcome, reason string) error {
	c, ok := h.inFlight[id]
	if !ok {
		return fmt.Errorf("schedtest: end of move %d, which is not running", id)
	}
	return h.FinishWith(cluster.MigrationDone{ID: id, VM: c.VM, Outcome: outcome, Reason: reason})
}

// FinishWith ends the running migration done.ID with done as given (VM
// filled in if empty): a succeeded guest moves to the destination, a Lost
// one leaves the world, any other stays on its source.
func (h *Harness) FinishWith(done cluster.MigrationDone) error {
	c, ok := h.inFlight[done.ID]
	if !ok {
		return fmt.Errorf("schedtest: end of move %d, which is not running", done.ID)
	}
	if done.VM == "" {
		done.VM = c.VM
	}
	delete(h.inFlight, c.ID)
	if !h.Frozen {
		if v := h.world.VM(c.VM); v != nil {
			v.Migrating = false
			if done.Succeeded() {
				v.Host = c.Destination
			}
		}
		if done.Lost {
			h.world.VMs = slices.DeleteFunc(h.world.VMs, func(v cluster.VM) bool { return v.Name == c.VM })
		}
	}
	return h.Step(done)
}

// CrashHost takes a host down as the simulator does: the migrations
// touching it fail (the guest kept on its source when only the destination
// died), its guests are gone, and then the Core gets those MigrationDone
// events, in ID order, and HostFailed, all before the driver handles the
// next Ready, as they arrive together from one backend event.
func (h *Harness) CrashHost(name string) error {
	ids := make([]int, 0, len(h.inFlight))
	for id, c := range h.inFlight {
		if c.Source == name || c.Destination == name {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var evs []cluster.Event
	for _, id := range ids {
		c := h.inFlight[id]
		delete(h.inFlight, id)
		reason := "destination host crashed"
		if c.Source == name {
			reason = "source host crashed"
		}
		if v := h.world.VM(c.VM); v != nil && !h.Frozen {
			v.Migrating = false
		}
		evs = append(evs, cluster.MigrationDone{ID: id, VM: c.VM, Outcome: cluster.OutcomeFailed, Reason: reason})
	}
	if !h.Frozen {
		if hs := h.world.Host(name); hs != nil {
			hs.State = cluster.HostDown
		}
		h.world.VMs = slices.DeleteFunc(h.world.VMs, func(v cluster.VM) bool { return v.Host == name })
	}
	return h.StepAll(append(evs, cluster.HostFailed{Host: name})...)
}

// Running lists the IDs of migrations started and not ended, sorted.
func (h *Harness) Running() []int {
	ids := make([]int, 0, len(h.inFlight))
	for id := range h.inFlight {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// InFlight returns the start command of running migration id.
func (h *Harness) InFlight(id int) (cluster.StartMigration, bool) {
	c, ok := h.inFlight[id]
	return c, ok
}

// Move returns the move the journal recorded under id.
func (h *Harness) Move(id int) (plan.Move, bool) {
	m, ok := h.moves[id]
	return m, ok
}

// The world.

// Snapshot returns a copy of the world, stamped with the current time.
func (h *Harness) Snapshot() *cluster.Snapshot {
	s := Clone(h.world)
	s.At = h.now
	return s
}

// SetSnapshot replaces the world with a copy of s.
func (h *Harness) SetSnapshot(s *cluster.Snapshot) { h.world = Clone(s) }

// UpdateVM changes the named VM of the world in place; false if none.
func (h *Harness) UpdateVM(name string, f func(*cluster.VM)) bool {
	v := h.world.VM(name)
	if v == nil {
		return false
	}
	f(v)
	return true
}

// UpdateHost changes the named host of the world in place; false if none.
func (h *Harness) UpdateHost(name string, f func(*cluster.Host)) bool {
	hs := h.world.Host(name)
	if hs == nil {
		return false
	}
	f(hs)
	return true
}

// Clone copies a snapshot deeply enough that changing the copy's hosts,
// VMs (and their MACs) or groups leaves the original alone.
func Clone(s *cluster.Snapshot) *cluster.Snapshot {
	if s == nil {
		return nil
	}
	out := *s
	out.Hosts = slices.Clone(s.Hosts)
	out.VMs = slices.Clone(s.VMs)
	for i := range out.VMs {
		out.VMs[i].MACs = slices.Clone(out.VMs[i].MACs)
	}
	out.Groups = slices.Clone(s.Groups)
	for i := range out.Groups {
		out.Groups[i].Members = slices.Clone(out.Groups[i].Members)
	}
	out.Links = slices.Clone(s.Links)
	return &out
}

// What was recorded.

// Readies lists every Ready handled, in order (copies).
func (h *Harness) Readies() []scheduler.Ready { return slices.Clone(h.readies) }

// Journal lists every record persisted, in order: the run's journal, fit
// for scheduler.Restore.
func (h *Harness) Journal() []scheduler.Record { return slices.Clone(h.journal) }

// Commands lists every command carried out, in order.
func (h *Harness) Commands() []cluster.Command { return slices.Clone(h.commands) }

// Started lists every StartMigration carried out, in order.
func (h *Harness) Started() []cluster.StartMigration {
	return CommandsOf[cluster.StartMigration](h.commands)
}

// Plans lists every plan the Core reported, in order.
func (h *Harness) Plans() []*plan.Plan {
	var out []*plan.Plan
	for _, rd := range h.readies {
		out = append(out, rd.Plans...)
	}
	return out
}

// Trace lists journal records, commands, timers and snapshot deliveries in
// the order the harness handled them.
func (h *Harness) Trace() []TraceEntry { return slices.Clone(h.trace) }

// Mark returns the current position; pass it to the *Since methods.
func (h *Harness) Mark() Mark { return Mark(len(h.readies)) }

// ReadiesSince lists the Readies handled after m.
func (h *Harness) ReadiesSince(m Mark) []scheduler.Ready { return slices.Clone(h.readies[m:]) }

// JournalSince lists the records persisted after m.
func (h *Harness) JournalSince(m Mark) []scheduler.Record {
	var out []scheduler.Record
	for _, rd := range h.readies[m:] {
		out = append(out, rd.Journal...)
	}
	return out
}

// CommandsSince lists the commands carried out after m.
func (h *Harness) CommandsSince(m Mark) []cluster.Command {
	var out []cluster.Command
	for _, rd := range h.readies[m:] {
		out = append(out, rd.Commands...)
	}
	return out
}

// StartedSince lists the StartMigration commands carried out after m.
func (h *Harness) StartedSince(m Mark) []cluster.StartMigration {
	return CommandsOf[cluster.StartMigration](h.CommandsSince(m))
}

// CommandsOf keeps the commands of type T, in order.
func CommandsOf[T cluster.Command](cmds []cluster.Command) []T {
	var out []T
	for _, c := range cmds {
		if t, ok := c.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// RecordsOf keeps the records of the given kind, in order.
func RecordsOf(records []scheduler.Record, kind string) []scheduler.Record {
	var out []scheduler.Record
	for _, r := range records {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func cloneReady(rd scheduler.Ready) scheduler.Ready {
	rd.Journal = slices.Clone(rd.Journal)
	rd.Commands = slices.Clone(rd.Commands)
	rd.Timers = slices.Clone(rd.Timers)
	rd.Plans = slices.Clone(rd.Plans)
	return rd
}
