package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/place"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
)

// Config sets up a Core.
type Config struct {
	policy.Settings
	// Periodic runs every Interval while no move is pending (nil: none).
	Periodic policy.Policy
	Interval time.Duration
	// Evacuate drains hosts on maintenance requests; Disaster evacuates
	// warned zones. Nil: such requests are journalled and ignored.
	Evacuate policy.Policy
	Disaster policy.Policy
	// Options go with every migration started.
	Options cluster.MigrationOptions
	// Executor limits, as KubeVirt's: CompletionTimeoutPerGiB scales with
	// guest memory; ProgressTimeout fires when the remaining bytes have not
	// reached a new low for that long; MaxIterations counts pre-copy
	// rounds. OnLimit is abort, force or postcopy.
	CompletionTimeoutPerGiB time.Duration
	ProgressTimeout         time.Duration
	MaxIterations           int
	OnLimit                 cluster.OnLimit
	// MaxParallel caps running migrations across all plans (0: none).
	MaxParallel int
	// MaxRetries is how often a failed move is tried on another host.
	MaxRetries int
}

// Timer asks the driver to Step(TimerFired{Key}) at At.
type Timer struct {
	At  time.Duration
	Key string
}

// Record is one journal entry. A run's journal replayed into Restore gives
// back every move and how far it got.
type Record struct {
	At   time.Duration `json:"at"`
	Kind string        `json:"kind"`
	// Move is set on "move" records: a move queued for dispatch.
	Move *plan.Move `json:"move,omitempty"`
	// Plan and Policy name the plan a move belongs to; on a refusal of a
	// submitted plan's move (PlanSubmitted), Policy is that plan's cause.
	Plan   int    `json:"plan,omitempty"`
	Policy string `json:"policy,omitempty"`
	// Limits are the plan's, on "move" records.
	Limits *plan.Limits `json:"limits,omitempty"`
	ID     int          `json:"id,omitempty"`
	// VM, Source and Destination are set on refusals, which have no move.
	VM          string          `json:"vm,omitempty"`
	Destination string          `json:"destination,omitempty"`
	Outcome     cluster.Outcome `json:"outcome,omitempty"`
	// Action is the limit action on "limit" records.
	Action cluster.OnLimit `json:"action,omitempty"`
	// Hosts, Zone and FailsAt are set on drain, warn and host-failed
	// records.
	Hosts   []string      `json:"hosts,omitempty"`
	Zone    string        `json:"zone,omitempty"`
	FailsAt time.Duration `json:"fails_at,omitempty"`
	Reason  string        `json:"reason,omitempty"`
}

// CauseRequest is the policy and cause of a move an operator requested
// (MigrationRequested): a plan of one move, made by no policy.
const CauseRequest = "request"

// Journal record kinds.
const (
	RecMove   = "move"   // queued
	RecStart  = "start"  // command issued
	RecLimit  = "limit"  // limit action issued
	RecDone   = "done"   // ended, with outcome
	RecCancel = "cancel" // dropped before it started
	RecRefuse = "refuse" // a requested move broke a constraint
	RecPlan   = "plan"   // a policy ran (Policy, Reason: summary)
	// What the Core was told about the cluster, so that a restored Core
	// knows it too: hosts to drain (Hosts), a zone warned to fail (Zone,
	// FailsAt), a host that failed (Hosts).
	RecDrain = "drain"
	// RecGiveUp: a failed move is not tried again (its retries are used
	// up); VM and Reason say which and why.
	RecGiveUp     = "give-up"
	RecWarn       = "warn"
	RecHostFailed = "host-failed"
)

// Ready is what the Core wants done. Empty fields mean nothing to do.
type Ready struct {
	// Journal must be persisted before any of Commands is carried out.
	Journal []Record
	// Commands to carry out in order.
	Commands []cluster.Command
	// Timers to set.
	Timers []Timer
	// NeedSnapshot asks for Step(SnapshotTaken) after this Ready.
	NeedSnapshot bool
	// Plans made since the last Ready, for reports and dry runs.
	Plans []*plan.Plan
}

type jobState uint8

const (
	queued jobState = iota
	running
	finished
	cancelled
	// unknown: restored from a journal that says it started but not how
	// it ended; the next snapshot tells.
	unknown
)

type job struct {
	move     plan.Move
	plan     *active
	index    int // in plan.disp
	state    jobState
	cause    string
	attempts int
	exclude  []string

	started   time.Duration
	deadline  time.Duration // completion timeout; 0 none
	bestLeft  int64
	progress  time.Duration // when bestLeft last fell
	limitHit  bool
	watchGen  int
	iteration int
	// maxIter and onLimit override the Core's limits for this move.
	maxIter int
	onLimit cluster.OnLimit
	// opts replaces the Core's options for a requested move.
	opts *cluster.MigrationOptions
}

type active struct {
	id     int
	policy string
	limits plan.Limits
	disp   *plan.Dispatcher
	jobs   []*job
	// open counts jobs not yet finished or cancelled.
	open int
}

// triggerKind is why a policy or a move waits for the next snapshot.
type triggerKind uint8

const (
	trigPeriodic triggerKind = iota + 1 // the periodic policy's timer
	trigEvacuate                        // MaintenanceRequested
	trigDisaster                        // DisasterWarning
	trigRequest                         // MigrationRequested
	trigRetry                           // a failed move, to be tried elsewhere
	trigApply                           // PlanSubmitted
)

type trigger struct {
	kind     triggerKind
	hosts    []string
	zone     string
	deadline time.Duration
	vm, host string
	options  cluster.MigrationOptions
	job      *job
	plan     *plan.Plan // apply: an operator's plan, checked on the next snapshot
}

// Core is the decision state machine. It is not safe for concurrent use.
type Core struct {
	cfg   Config
	now   time.Duration
	snap  *cluster.Snapshot
	plans []*active
	// jobs holds the live jobs (queued, running, unknown) by move ID;
	// byHost the jobs touching each host, live or not, in ID order.
	jobs    map[int]*job
	byHost  map[string][]*job
	nextID  int
	planSeq int
	running int

	drained  map[string]bool
	failed   map[string]bool
	warned   map[string]time.Duration
	moved    map[string]time.Duration
	pending  []trigger
	awaiting bool // a snapshot was asked for and has not come

	rd      Ready
	started bool
}

// New returns a Core; call Start to arm its periodic policy. It checks cfg
// first and returns every problem at once: a Core never runs on settings
// it would have to guess at.
func New(cfg Config) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 2
	}
	if cfg.OnLimit == "" {
		cfg.OnLimit = cluster.LimitAbort
	}
	return &Core{
		cfg: cfg, jobs: map[int]*job{}, byHost: map[string][]*job{}, drained: map[string]bool{}, failed: map[string]bool{},
		warned: map[string]time.Duration{}, moved: map[string]time.Duration{},
	}, nil
}

// Validate lists every problem of cfg (nil if none). Zero values that
// mean "the default" (OnLimit, MaxRetries, TLS) pass.
func (cfg Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("scheduler: "+format, args...)) }
	if cfg.OnLimit != "" {
		if _, err := cluster.ParseOnLimit(string(cfg.OnLimit)); err != nil {
			bad("%v", err)
		}
	}
	if cfg.TLS != "" {
		if _, err := cluster.ParseTLSMode(string(cfg.TLS)); err != nil {
			bad("%v", err)
		}
	}
	if cfg.Periodic != nil && cfg.Interval <= 0 {
		bad("periodic policy %s needs an interval above 0, got %v", cfg.Periodic.Name(), cfg.Interval)
	}
	if cfg.Interval < 0 {
		bad("interval %v is negative", cfg.Interval)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"completion timeout per GiB", cfg.CompletionTimeoutPerGiB}, {"progress timeout", cfg.ProgressTimeout}} {
		if d.v < 0 {
			bad("%s %v is negative", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max iterations", cfg.MaxIterations}, {"max parallel", cfg.MaxParallel}, {"max retries", cfg.MaxRetries},
		{"plan limit max parallel", cfg.Limits.MaxParallel}, {"plan limit per host out", cfg.Limits.MaxPerHostOut},
		{"plan limit per host in", cfg.Limits.MaxPerHostIn}} {
		if n.v < 0 {
			bad("%s %d is negative", n.name, n.v)
		}
	}
	if cfg.Overcommit < 0 {
		bad("CPU overcommit %v is negative", cfg.Overcommit)
	}
	if cfg.Bandwidth < 0 {
		bad("bandwidth %v is negative", cfg.Bandwidth)
	}
	if err := cfg.Migration.Validate(); err != nil {
		bad("migration model: %v", err)
	}
	return errors.Join(errs...)
}

const (
	keyPeriodic = "periodic"
	keyWatch    = "watch:"
)

// Start arms the periodic policy at now.
func (c *Core) Start(now time.Duration) {
	c.now = now
	if c.started {
		return
	}
	c.started = true
	if c.cfg.Periodic != nil && c.cfg.Interval > 0 {
		c.rd.Timers = append(c.rd.Timers, Timer{At: now + c.cfg.Interval, Key: keyPeriodic})
	}
}

// Step feeds one event at time now. It returns an error only for events
// that make no sense (an unknown timer key); expected refusals are
// journalled, never returned.
func (c *Core) Step(now time.Duration, ev cluster.Event) error {
	if now > c.now {
		c.now = now
	}
	switch e := ev.(type) {
	case cluster.SnapshotTaken:
		c.awaiting = false
		// A host the world reports down that the Core has not heard of
		// (it was restored from a journal, or the event was lost) fails
		// now, before anything is dispatched to it.
		for i := range e.Snap.Hosts {
			if h := &e.Snap.Hosts[i]; h.State == cluster.HostDown && !c.failed[h.Name] {
				c.hostFailed(h.Name)
			}
		}
		c.snap = c.overlay(e.Snap)
		c.reconcile()
		c.runTriggers()
	case cluster.TimerFired:
		return c.timer(e.Key)
	case cluster.MaintenanceRequested:
		for _, h := range e.Hosts {
			c.drained[h] = true
		}
		c.journal(Record{Kind: RecDrain, Hosts: slices.Clone(e.Hosts)})
		c.want(trigger{kind: trigEvacuate, hosts: e.Hosts})
	case cluster.DisasterWarning:
		c.warned[e.Zone] = e.FailsAt
		c.journal(Record{Kind: RecWarn, Zone: e.Zone, FailsAt: e.FailsAt})
		c.want(trigger{kind: trigDisaster, zone: e.Zone, deadline: e.FailsAt})
	case cluster.MigrationRequested:
		c.want(trigger{kind: trigRequest, vm: e.VM, host: e.Host, options: e.Options})
	case cluster.MigrationProgress:
		c.progress(e)
	case cluster.MigrationDone:
		c.done(e)
	case cluster.HostFailed:
		c.hostFailed(e.Host)
	case cluster.AbortRequested:
		c.abort(e.ID, e.Reason)
	case PlanSubmitted:
		c.want(trigger{kind: trigApply, plan: clonePlan(e.Plan)})
	case PeriodicNow:
		return c.timer(keyPeriodic)
	default:
		return fmt.Errorf("scheduler: unknown event %T", ev)
	}
	c.dispatch()
	return nil
}

// Now is the latest time the Core has been given (by Start, Step or
// Restore). A driver that maps a clock onto the Core's time starts from it,
// so a restored Core's timers keep their meaning.
func (c *Core) Now() time.Duration { return c.now }

// HasReady reports whether Ready has anything.
func (c *Core) HasReady() bool {
	return len(c.rd.Journal) > 0 || len(c.rd.Commands) > 0 || len(c.rd.Timers) > 0 ||
		c.rd.NeedSnapshot || len(c.rd.Plans) > 0
}

// Ready returns what the Core wants done; see the package comment for the
// order. It stays the same until Advance.
func (c *Core) Ready() Ready { return c.rd }

// Advance acknowledges that rd was carried out.
//
// Events stepped between Ready and Advance are kept: Advance drops only
// what rd held, as etcd-raft's RawNode does.
func (c *Core) Advance(rd Ready) {
	if rd.NeedSnapshot {
		c.awaiting = true
		c.rd.NeedSnapshot = false
	}
	c.rd.Journal = slices.Clone(c.rd.Journal[min(len(rd.Journal), len(c.rd.Journal)):])
	c.rd.Commands = slices.Clone(c.rd.Commands[min(len(rd.Commands), len(c.rd.Commands)):])
	c.rd.Timers = slices.Clone(c.rd.Timers[min(len(rd.Timers), len(c.rd.Timers)):])
	c.rd.Plans = slices.Clone(c.rd.Plans[min(len(rd.Plans), len(c.rd.Plans)):])
	if len(c.rd.Journal) == 0 {
		c.rd.Journal = nil
	}
	if len(c.rd.Commands) == 0 {
		c.rd.Commands = nil
	}
	if len(c.rd.Timers) == 0 {
		c.rd.Timers = nil
	}
	if len(c.rd.Plans) == 0 {
		c.rd.Plans = nil
	}
}

// Idle reports that no move is queued or running and no policy waits.
func (c *Core) Idle() bool {
	if len(c.pending) > 0 || c.awaiting {
		return false
	}
	for _, j := range c.jobs {
		if j.state == queued || j.state == running || j.state == unknown {
			return false
		}
	}
	return true
}

func (c *Core) want(t trigger) {
	c.pending = append(c.pending, t)
	if !c.awaiting {
		c.rd.NeedSnapshot = true
	}
}

func (c *Core) journal(r Record) {
	r.At = c.now
	c.rd.Journal = append(c.rd.Journal, r)
}

// overlay marks what the Core knows and the world may not: drained hosts
// are in maintenance, warned zones and failed hosts take no VMs.
// View is s as the Core plans on it: the hosts it drains in maintenance,
// warned zones closed to arrivals, the hosts it knows failed down. Planning
// on a snapshot outside the Core (drover plan --at) uses it too, so that it
// sees what the Core would.
func (c *Core) View(s *cluster.Snapshot) *cluster.Snapshot { return c.overlay(s) }

func (c *Core) overlay(s *cluster.Snapshot) *cluster.Snapshot {
	out := *s
	out.Hosts = slices.Clone(s.Hosts)
	for i := range out.Hosts {
		h := &out.Hosts[i]
		switch {
		case c.failed[h.Name]:
			h.State = cluster.HostDown
		case c.drained[h.Name]:
			if h.State != cluster.HostDown {
				h.State = cluster.HostMaintenance
			}
		}
		if _, ok := c.warned[h.Zone]; ok && h.Usable() {
			h.State = cluster.HostMaintenance
		}
	}
	return &out
}

func (c *Core) timer(key string) error {
	switch {
	case key == keyPeriodic:
		if c.cfg.Periodic != nil && c.cfg.Interval > 0 {
			c.rd.Timers = append(c.rd.Timers, Timer{At: c.now + c.cfg.Interval, Key: keyPeriodic})
			if c.Idle() {
				c.want(trigger{kind: trigPeriodic})
			}
		}
		return nil
	case strings.HasPrefix(key, keyWatch):
		id, gen, ok := parseWatch(key)
		if !ok {
			return fmt.Errorf("scheduler: bad timer key %q", key)
		}
		if j := c.jobs[id]; j != nil && j.state == running && j.watchGen == gen {
			c.watch(j)
		}
		return nil
	}
	return fmt.Errorf("scheduler: unknown timer %q", key)
}

func parseWatch(key string) (id, gen int, ok bool) {
	a, b, found := strings.Cut(strings.TrimPrefix(key, keyWatch), ":")
	if !found {
		return 0, 0, false
	}
	id, err1 := strconv.Atoi(a)
	gen, err2 := strconv.Atoi(b)
	return id, gen, err1 == nil && err2 == nil
}

// runTriggers runs the policies that waited for this snapshot.
func (c *Core) runTriggers() {
	triggers := c.pending
	c.pending = nil
	// Maintenance requests that arrived together drain together: one plan
	// shares the destinations' room and the network between them.
	var drain []string
	for _, t := range triggers {
		if t.kind == trigEvacuate {
			drain = append(drain, t.hosts...)
		}
	}
	merged := false
	for _, t := range triggers {
		if t.kind == trigEvacuate {
			if merged {
				continue
			}
			merged = true
			t.hosts = drain
		}
		switch t.kind {
		case trigPeriodic:
			if c.Idle() {
				c.runPolicy(c.cfg.Periodic, &policy.Input{})
			}
		case trigEvacuate:
			c.runPolicy(c.cfg.Evacuate, &policy.Input{Drain: t.hosts})
		case trigDisaster:
			c.runPolicy(c.cfg.Disaster, &policy.Input{Zone: t.zone, Deadline: t.deadline})
		case trigRequest:
			c.request(t)
		case trigRetry:
			c.retry(t.job)
		case trigApply:
			c.submit(t.plan)
		default:
			panic(fmt.Sprintf("scheduler: trigger kind %d", t.kind))
		}
	}
}

// busy lists VMs with a move queued or running: policies leave them alone.
func (c *Core) busy() map[string]bool {
	b := map[string]bool{}
	for _, j := range c.jobs {
		if j.state == queued || j.state == running || j.state == unknown {
			b[j.move.VM] = true
		}
	}
	return b
}

// pendingMoves are the live jobs' moves: where VMs already on their way
// will be, so no placement counts their destination's room twice.
func (c *Core) pendingMoves() []plan.Move {
	var out []plan.Move
	for _, id := range c.sortedJobs() {
		out = append(out, c.jobs[id].move)
	}
	return out
}

// state is the what-if view the Core places on: the snapshot with every
// pending move applied.
func (c *Core) state() (*cluster.Snapshot, *cluster.State) {
	snap := c.snapshotFor()
	st := cluster.NewState(snap)
	for _, m := range c.pendingMoves() {
		if vm, dst := st.VMIndex(m.VM), st.HostIndex(m.Destination); vm >= 0 && dst >= 0 {
			st.Move(vm, dst)
		}
	}
	return snap, st
}

// snapshotFor is the Core's snapshot with busy VMs marked migrating.
func (c *Core) snapshotFor() *cluster.Snapshot {
	busy := c.busy()
	if len(busy) == 0 {
		return c.snap
	}
	s := *c.snap
	s.VMs = slices.Clone(c.snap.VMs)
	for i := range s.VMs {
		if busy[s.VMs[i].Name] {
			s.VMs[i].Migrating = true
		}
	}
	return &s
}

func (c *Core) runPolicy(p policy.Policy, in *policy.Input) {
	if c.snap == nil {
		return
	}
	if p == nil {
		c.journal(Record{Kind: RecPlan, Outcome: cluster.OutcomeIgnored, Reason: "no policy configured for this request"})
		return
	}
	in.Snap = c.snapshotFor()
	in.Now = c.now
	in.Settings = c.cfg.Settings
	in.LastMoved = c.moved
	in.Pending = c.pendingMoves()
	pl, err := p.Plan(in)
	if err != nil {
		c.journal(Record{Kind: RecPlan, Policy: p.Name(), Outcome: cluster.OutcomeError, Reason: err.Error()})
		return
	}
	// Moves of VMs already on the way elsewhere are dropped.
	busy := c.busy()
	pl.Moves = slices.DeleteFunc(pl.Moves, func(m plan.Move) bool { return busy[m.VM] })
	c.rd.Plans = append(c.rd.Plans, pl)
	c.journal(Record{Kind: RecPlan, Policy: pl.Policy, Reason: fmt.Sprintf("%d moves, %d unplaced, predicted makespan %s",
		len(pl.Moves), len(pl.Unplaced), pl.Makespan.Round(time.Millisecond))})
	c.enqueue(pl, pl.Policy)
}

// enqueue gives the plan's moves global IDs and queues them.
func (c *Core) enqueue(pl *plan.Plan, cause string) *active {
	c.planSeq++
	a := &active{id: c.planSeq, policy: cause}
	ids := map[int]int{}
	moves := make([]plan.Move, len(pl.Moves))
	for i, m := range pl.Moves {
		c.nextID++
		ids[m.ID] = c.nextID
		moves[i] = m
		moves[i].ID = c.nextID
	}
	for i := range moves {
		after := make([]int, 0, len(moves[i].After))
		for _, d := range moves[i].After {
			if n, ok := ids[d]; ok {
				after = append(after, n)
			}
		}
		moves[i].After = after
	}
	a.disp = plan.NewDispatcher(moves, pl.Limits)
	a.limits = pl.Limits
	a.open = len(moves)
	// A record per move: 87,000 for a disaster, grown once, not by doubling.
	c.rd.Journal = slices.Grow(c.rd.Journal, len(moves))
	for i := range moves {
		c.track(a, moves[i], i)
		m := moves[i]
		c.journal(Record{Kind: RecMove, Plan: a.id, Policy: cause, ID: m.ID, Move: &m, Limits: &pl.Limits})
	}
	c.plans = append(c.plans, a)
	return a
}

// request checks an operator's move against every constraint.
func (c *Core) request(t trigger) {
	snap, st := c.state()
	vm, dst := st.VMIndex(t.vm), st.HostIndex(t.host)
	refuse := func(why string) {
		c.journal(Record{Kind: RecRefuse, VM: t.vm, Destination: t.host, Outcome: cluster.OutcomeRejected, Reason: why})
	}
	switch {
	case vm < 0:
		refuse(ReasonUnknownVM)
		return
	case dst < 0:
		refuse(ReasonUnknownDestination)
		return
	case snap.VMs[vm].Migrating:
		refuse(ReasonMigrating)
		return
	}
	pl := place.New(st, c.cfg.TLS, c.cfg.Overcommit)
	if s := pl.Feasible(vm, dst); !s.IsSuccess() {
		refuse(s.String())
		return
	}
	v := &snap.VMs[vm]
	m := plan.Move{ID: 1, VM: v.Name, Source: v.Host, Destination: t.host, Transport: pl.Transport(vm, dst),
		Bandwidth: t.options.Bandwidth, DowntimeLimit: t.options.DowntimeLimit, Priority: v.Priority, Reason: "requested"}
	a := c.enqueue(&plan.Plan{Policy: CauseRequest, At: c.now, Moves: []plan.Move{m}}, CauseRequest)
	j := a.jobs[0]
	j.maxIter, j.onLimit = t.options.MaxIterations, t.options.OnLimit
	opts := t.options
	j.opts = &opts
}

// dispatch starts whatever the plans and the global limit allow.
func (c *Core) dispatch() {
	defer func() {
		c.plans = slices.DeleteFunc(c.plans, func(a *active) bool { return a.open == 0 })
	}()
	for _, a := range c.plans {
		room := -1
		if c.cfg.MaxParallel > 0 {
			room = c.cfg.MaxParallel - c.running
			if room <= 0 {
				return
			}
		}
		for _, i := range a.disp.NextUpTo(room) {
			j := a.jobs[i]
			if why := c.closed(j.move.Destination); why != "" {
				// Queued before its destination was closed (a later drain,
				// a warning, a failure): it must not land there now.
				c.retire(j, cancelled)
				a.disp.Finish(i, false)
				c.journal(Record{Kind: RecCancel, ID: j.move.ID, Reason: "destination " + why})
				c.want(trigger{kind: trigRetry, job: j})
				continue
			}
			c.start(j)
		}
		for _, i := range a.disp.Blocked() {
			j := a.jobs[i]
			if j.state == queued {
				c.retire(j, cancelled)
				c.journal(Record{Kind: RecCancel, ID: j.move.ID, Reason: "a move it depends on failed"})
				c.want(trigger{kind: trigRetry, job: j})
			}
		}
	}
}

// closed says why host may take no guest now ("" if it may): the Core was
// told it failed, is drained, or sits in a zone warned to fail.
func (c *Core) closed(host string) string {
	switch {
	case c.failed[host]:
		return host + " failed"
	case c.drained[host]:
		return host + " is being drained"
	}
	if c.snap != nil {
		if h := c.snap.Host(host); h != nil {
			if _, ok := c.warned[h.Zone]; ok {
				return fmt.Sprintf("%s is in zone %s, warned to fail", host, h.Zone)
			}
		}
	}
	return ""
}

func (c *Core) start(j *job) {
	j.state = running
	j.started = c.now
	j.progress = c.now
	j.bestLeft = -1
	c.running++
	opts := c.cfg.Options
	if j.opts != nil {
		opts = *j.opts
	}
	opts.MaxIterations, opts.OnLimit = 0, ""
	if j.move.Bandwidth > 0 {
		opts.Bandwidth = j.move.Bandwidth
	}
	if j.move.DowntimeLimit > 0 {
		opts.DowntimeLimit = j.move.DowntimeLimit
	}
	opts.PostCopy = opts.PostCopy || c.cfg.OnLimit == cluster.LimitPostcopy || j.onLimit == cluster.LimitPostcopy
	if c.cfg.CompletionTimeoutPerGiB > 0 && c.snap != nil {
		if v := c.snap.VM(j.move.VM); v != nil {
			gib := float64(v.Memory) / (1 << 30)
			j.deadline = c.now + time.Duration(float64(c.cfg.CompletionTimeoutPerGiB)*gib)
		}
	}
	c.journal(Record{Kind: RecStart, ID: j.move.ID})
	c.rd.Commands = append(c.rd.Commands, cluster.StartMigration{
		ID: j.move.ID, VM: j.move.VM, Source: j.move.Source, Destination: j.move.Destination,
		Transport: j.move.Transport, Options: opts, Cause: j.cause, Via: j.move.Via,
	})
	c.arm(j)
}

// arm sets the watch timer at the earlier of the completion deadline and
// the progress deadline.
func (c *Core) arm(j *job) {
	at := time.Duration(-1)
	if j.deadline > 0 {
		at = j.deadline
	}
	if c.cfg.ProgressTimeout > 0 {
		if p := j.progress + c.cfg.ProgressTimeout; at < 0 || p < at {
			at = p
		}
	}
	if at < 0 {
		return
	}
	j.watchGen++
	c.rd.Timers = append(c.rd.Timers, Timer{At: at, Key: fmt.Sprintf("%s%d:%d", keyWatch, j.move.ID, j.watchGen)})
}

func (c *Core) watch(j *job) {
	switch {
	case j.deadline > 0 && c.now >= j.deadline:
		c.limit(j, "completion-timeout")
	case c.cfg.ProgressTimeout > 0 && c.now >= j.progress+c.cfg.ProgressTimeout:
		c.limit(j, "progress-timeout")
	default:
		c.arm(j)
	}
}

func (c *Core) limit(j *job, reason string) {
	if j.limitHit {
		return
	}
	j.limitHit = true
	action := c.cfg.OnLimit
	if j.onLimit != "" {
		action = j.onLimit
	}
	c.journal(Record{Kind: RecLimit, ID: j.move.ID, Action: action, Reason: reason})
	switch action {
	case cluster.LimitForce:
		c.rd.Commands = append(c.rd.Commands, cluster.ForceSwitchover{ID: j.move.ID, Reason: reason})
	case cluster.LimitPostcopy:
		c.rd.Commands = append(c.rd.Commands, cluster.StartPostCopy{ID: j.move.ID, Reason: reason})
	case cluster.LimitAbort:
		c.rd.Commands = append(c.rd.Commands, cluster.AbortMigration{ID: j.move.ID, Reason: reason})
	default:
		panic(fmt.Sprintf("scheduler: on-limit %q passed New's checks", action)) // New refuses it
	}
}

func (c *Core) progress(e cluster.MigrationProgress) {
	j := c.jobs[e.ID]
	if j == nil || j.state != running {
		return
	}
	j.iteration = e.Iteration
	if j.bestLeft < 0 || e.Remaining < j.bestLeft {
		j.bestLeft = e.Remaining
		j.progress = c.now
		c.arm(j)
	}
	maxIter := c.cfg.MaxIterations
	if j.maxIter > 0 {
		maxIter = j.maxIter
	}
	if maxIter > 0 && e.Iteration > maxIter {
		c.limit(j, "max-iterations")
	}
}

func (c *Core) done(e cluster.MigrationDone) {
	j := c.jobs[e.ID]
	if j == nil || (j.state != running && j.state != unknown) {
		return
	}
	if j.state == running {
		c.running--
	}
	c.retire(j, finished)
	ok := e.Succeeded()
	j.plan.disp.Finish(j.index, ok)
	c.journal(Record{Kind: RecDone, ID: e.ID, Outcome: e.Outcome, Reason: e.Reason})
	if ok {
		c.moved[j.move.VM] = c.now
		return
	}
	// A guest still on its source is tried elsewhere, unless an operator
	// or a limit stopped it on purpose.
	if e.Lost || j.limitHit || strings.HasPrefix(e.Reason, "operator") || c.failed[j.move.Source] {
		return
	}
	c.want(trigger{kind: trigRetry, job: j})
}

// retry re-places a failed or cancelled move on another host.
func (c *Core) retry(j *job) {
	if c.snap == nil {
		return
	}
	if j.attempts >= c.cfg.MaxRetries {
		// Said in the journal, so that a person (and a report) knows the
		// move was given up, and why.
		c.journal(Record{Kind: RecGiveUp, ID: j.move.ID, VM: j.move.VM,
			Reason: fmt.Sprintf("retries used up (%d of %d)", j.attempts, c.cfg.MaxRetries)})
		return
	}
	snap, st := c.state()
	vm := st.VMIndex(j.move.VM)
	if vm < 0 || snap.VMs[vm].Migrating || snap.VMs[vm].Host != j.move.Source {
		return
	}
	pl := place.New(st, c.cfg.TLS, c.cfg.Overcommit)
	exclude := append(slices.Clone(j.exclude), j.move.Destination)
	for _, h := range exclude {
		if i := st.HostIndex(h); i >= 0 {
			pl.Exclude[i] = true
		}
	}
	dst, why := pl.BestLeastLoaded(vm)
	if dst < 0 {
		c.journal(Record{Kind: RecCancel, ID: j.move.ID, Reason: "no other host: " + why})
		return
	}
	m := j.move
	m.After = nil
	m.Destination = snap.Hosts[dst].Name
	m.Transport = pl.Transport(vm, dst)
	m.Reason = fmt.Sprintf("retry of move %d", j.move.ID)
	// The retry joins the plan it came from, so that plan's limits bound
	// it too; it keeps the operator's options if it was a request.
	nj := c.add(j.plan, m)
	nj.attempts = j.attempts + 1
	nj.exclude = exclude
	nj.maxIter, nj.onLimit, nj.opts = j.maxIter, j.onLimit, j.opts
}

// add appends a move to a live plan (or a new one if it has ended).
func (c *Core) add(a *active, m plan.Move) *job {
	if a.open == 0 {
		c.planSeq++
		a = &active{id: c.planSeq, policy: a.policy, limits: a.limits}
		a.disp = plan.NewDispatcher(nil, a.limits)
		c.plans = append(c.plans, a)
	}
	c.nextID++
	m.ID = c.nextID
	j := c.track(a, m, a.disp.Add(m))
	a.open++
	c.journal(Record{Kind: RecMove, Plan: a.id, Policy: a.policy, ID: m.ID, Move: &m, Limits: &a.limits})
	return j
}

// track makes the job of move m, index in a's dispatcher, and indexes it
// by ID and by the hosts it touches.
func (c *Core) track(a *active, m plan.Move, index int) *job {
	j := &job{move: m, plan: a, index: index, cause: a.policy}
	a.jobs = append(a.jobs, j)
	c.jobs[m.ID] = j
	c.byHost[m.Source] = append(c.byHost[m.Source], j)
	c.byHost[m.Destination] = append(c.byHost[m.Destination], j)
	return j
}

func (c *Core) hostFailed(h string) {
	c.failed[h] = true
	c.journal(Record{Kind: RecHostFailed, Hosts: []string{h}})
	jobs := c.byHost[h]
	delete(c.byHost, h)
	for _, j := range jobs {
		id := j.move.ID
		if j.state != queued || !j.plan.disp.Pending(j.index) {
			continue
		}
		switch h {
		case j.move.Source:
			c.retire(j, cancelled)
			j.plan.disp.Cancel(j.index)
			c.journal(Record{Kind: RecCancel, ID: id, Reason: "source host failed"})
		case j.move.Destination:
			c.retire(j, cancelled)
			j.plan.disp.Cancel(j.index)
			c.journal(Record{Kind: RecCancel, ID: id, Reason: "destination host failed"})
			c.want(trigger{kind: trigRetry, job: j})
		}
	}
}

func (c *Core) abort(id int, reason string) {
	if reason == "" {
		reason = "operator abort"
	} else if !strings.HasPrefix(reason, "operator") {
		reason = "operator: " + reason
	}
	for _, jid := range c.sortedJobs() {
		j := c.jobs[jid]
		if id != 0 && jid != id {
			continue
		}
		switch j.state {
		case queued:
			c.retire(j, cancelled)
			j.plan.disp.Cancel(j.index)
			c.journal(Record{Kind: RecCancel, ID: jid, Reason: reason})
		case running:
			j.limitHit = true
			c.journal(Record{Kind: RecLimit, ID: jid, Action: cluster.LimitAbort, Reason: reason})
			c.rd.Commands = append(c.rd.Commands, cluster.AbortMigration{ID: jid, Reason: reason})
		}
	}
}

// retire ends a job: only live jobs stay in c.jobs, so every walk over
// them costs what is under way, not the whole history.
func (c *Core) retire(j *job, st jobState) {
	if j.state == finished || j.state == cancelled {
		return
	}
	j.state = st
	j.plan.open--
	delete(c.jobs, j.move.ID)
}

func (c *Core) sortedJobs() []int {
	ids := make([]int, 0, len(c.jobs))
	for id := range c.jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Running lists moves under way, by ID.
func (c *Core) Running() []plan.Move {
	var out []plan.Move
	for _, id := range c.sortedJobs() {
		if j := c.jobs[id]; j.state == running {
			out = append(out, j.move)
		}
	}
	return out
}

// reconcile settles moves restored from a journal as started but not
// ended: the snapshot says where their VMs are now.
func (c *Core) reconcile() {
	for _, id := range c.sortedJobs() {
		j := c.jobs[id]
		if j.state != unknown {
			continue
		}
		v := c.snap.VM(j.move.VM)
		switch {
		case v == nil:
			c.retire(j, finished)
			j.plan.disp.Finish(j.index, false)
			c.journal(Record{Kind: RecDone, ID: id, Outcome: cluster.OutcomeFailed, Reason: "vm gone after restart"})
		case v.Host == j.move.Destination && !v.Migrating:
			c.retire(j, finished)
			j.plan.disp.Finish(j.index, true)
			c.journal(Record{Kind: RecDone, ID: id, Outcome: cluster.OutcomeCompleted, Reason: "found on destination after restart"})
		case v.Migrating:
			// Still under way in the world, started by an earlier process:
			// the backend follows it to its MigrationDone.
			j.state = running
			c.running++
			m := j.move
			c.rd.Commands = append(c.rd.Commands, cluster.FollowMigration{ID: id, VM: m.VM, Source: m.Source,
				Destination: m.Destination, Transport: m.Transport})
		case c.failed[j.move.Destination]:
			// The guest is home and its destination is gone: try elsewhere.
			c.retire(j, cancelled)
			j.plan.disp.Finish(j.index, false)
			c.journal(Record{Kind: RecCancel, ID: id, Reason: "destination host failed"})
			c.want(trigger{kind: trigRetry, job: j})
		case j.limitHit:
			// It was being stopped on purpose when the run ended, and the
			// guest is home: the stop took effect.
			c.running++
			j.state = running
			c.done(cluster.MigrationDone{ID: id, VM: j.move.VM, Outcome: cluster.OutcomeAborted, Reason: "stopped before restart"})
		default:
			// It never happened, or was rolled back: run it again.
			j.state = queued
			j.plan.disp.Requeue(j.index)
		}
	}
}
