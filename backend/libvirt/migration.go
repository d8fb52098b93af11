package libvirt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
)

// forcedDowntime is the downtime limit a forced switch-over sets: QEMU
// then stops the guest at its next check, whatever is left. QEMU refuses
// limits above 2000 s.
const forcedDowntime = 1000 * time.Second

type ctlKind int

const (
	ctlAbort ctlKind = iota + 1
	ctlForce
	ctlPostCopy
)

type control struct {
	kind   ctlKind
	reason string
}

type stage int32

const (
	stagePreparing stage = iota
	stageRunning
	// stageSwitched: the guest runs on the destination (post-copy started
	// or the migration completed).
	stageSwitched
)

// migration is one running StartMigration.
type migration struct {
	cmd cluster.StartMigration
	ctl chan control
	st  atomic.Int32
}

func (m *migration) send(c control) {
	select {
	case m.ctl <- c:
	default: // a full queue already holds enough of the same wishes
	}
}

func (m *migration) stage() stage { return stage(m.st.Load()) }
func (m *migration) set(s stage)  { m.st.Store(int32(s)) }
func (b *Backend) migrating(vm string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byVM[vm] != nil
}

func (b *Backend) control(id int, c control) {
	b.mu.Lock()
	m := b.migs[id]
	b.mu.Unlock()
	if m != nil {
		m.send(c)
	}
}

func (b *Backend) startMigration(c cluster.StartMigration) { b.launch(c, b.migrate) }

// followMigration adopts a migration an earlier process started: the
// source daemon drives a peer-to-peer migration on its own, so the job is
// there to be watched, aborted, forced, and settled like one of ours.
func (b *Backend) followMigration(c cluster.FollowMigration) {
	b.launch(cluster.StartMigration{ID: c.ID, VM: c.VM, Source: c.Source, Destination: c.Destination, Transport: c.Transport}, b.adopt)
}

// launch registers a migration and runs it to its MigrationDone in the
// background.
func (b *Backend) launch(c cluster.StartMigration, run func(*migration) cluster.MigrationDone) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.emit(cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: cluster.OutcomeRejected, Reason: "backend closed"})
		return
	}
	if _, dup := b.migs[c.ID]; dup {
		b.mu.Unlock()
		b.log.Warn("libvirt: migration id already running; command ignored", "id", c.ID, "vm", c.VM)
		return
	}
	if b.byVM[c.VM] != nil {
		b.mu.Unlock()
		b.emit(cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: cluster.OutcomeRejected, Reason: "vm is already migrating"})
		return
	}
	m := &migration{cmd: c, ctl: make(chan control, 8)}
	b.migs[c.ID] = m
	b.byVM[c.VM] = m
	b.migWG.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.migWG.Done()
		d := run(m)
		b.mu.Lock()
		delete(b.migs, c.ID)
		if b.byVM[c.VM] == m {
			delete(b.byVM, c.VM)
		}
		b.mu.Unlock()
		b.log.Info("libvirt: migration done", "id", d.ID, "vm", d.VM, "outcome", d.Outcome, "reason", d.Reason,
			"downtime", d.Downtime, "bytes", d.Bytes, "rounds", d.Rounds)
		b.emit(d)
	}()
}

// migrate runs one migration to its end and says how it ended, having
// checked where the guest runs.
func (b *Backend) migrate(m *migration) cluster.MigrationDone {
	c := m.cmd
	end := func(outcome cluster.Outcome, format string, args ...any) cluster.MigrationDone {
		return cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: outcome, Reason: fmt.Sprintf(format, args...)}
	}
	notFound := func(what, name string) cluster.MigrationDone {
		d := end(cluster.OutcomeRejected, "unknown %s %s", what, name)
		d.Err = fmt.Errorf("%w: %s %s", cluster.ErrNotFound, what, name)
		return d
	}
	src, dst := b.hosts[c.Source], b.hosts[c.Destination]
	switch {
	case src == nil:
		return notFound("source host", c.Source)
	case dst == nil:
		return notFound("destination host", c.Destination)
	case src == dst:
		return end(cluster.OutcomeRejected, "source and destination are both %s", c.Source)
	case src.cfg.State == cluster.HostDown:
		return end(cluster.OutcomeRejected, "source %s is down", c.Source)
	case dst.cfg.State == cluster.HostDown || dst.cfg.State == cluster.HostMaintenance:
		return end(cluster.OutcomeRejected, "destination %s is %s", c.Destination, dst.cfg.State)
	}
	ctx := b.ctx

	// TLS enforcement comes before any libvirt connection: a mixed or
	// invalid pair never gets as far as a daemon.
	tr, err := b.enforce(ctx, src, dst)
	if err != nil {
		return end(cluster.OutcomeRejected, "%v", err)
	}
	if c.Transport != "" && c.Transport != tr {
		return end(cluster.OutcomeRejected, "tls: the move says %s but %s and %s now call for %s", c.Transport, c.Source, c.Destination, tr)
	}
	uri, err := dst.migrationURI(tr == cluster.TransportTLS)
	if err != nil {
		return end(cluster.OutcomeRejected, "%v", err)
	}

	sc, err := src.conn(ctx)
	if err != nil {
		return end(cluster.OutcomeFailed, "source: %v", err)
	}
	dc, err := dst.conn(ctx)
	if err != nil {
		return end(cluster.OutcomeFailed, "destination: %v", err)
	}
	before, dom, err := b.lookup(ctx, sc, c.VM)
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		d := end(cluster.OutcomeRejected, "no running vm %s on %s", c.VM, c.Source)
		d.Err = err
		return d
	case err != nil:
		return end(cluster.OutcomeFailed, "source: %v", err)
	case before.State != stateRunning && before.State != "paused":
		return end(cluster.OutcomeRejected, "vm %s is %s on %s", c.VM, before.State, c.Source)
	case !before.Movable:
		return end(cluster.OutcomeRejected, "vm %s is not movable: %s", c.VM, before.Reason)
	}
	if _, _, err := b.lookup(ctx, dc, c.VM); err == nil {
		return end(cluster.OutcomeRejected, "destination %s already runs a domain called %s", c.Destination, c.VM)
	}

	flags := golibvirt.MigrateLive | golibvirt.MigratePeer2peer
	if before.Persistent {
		flags |= golibvirt.MigratePersistDest | golibvirt.MigrateUndefineSource
	}
	if tr == cluster.TransportTLS {
		flags |= golibvirt.MigrateTLS
	}
	opts := c.Options
	var params []golibvirt.TypedParam
	if opts.AutoConverge {
		flags |= golibvirt.MigrateAutoConverge
		for _, t := range []struct {
			field string
			v     int
		}{{golibvirt.MigrateParamAutoConvergeInitial, opts.ThrottleInitial}, {golibvirt.MigrateParamAutoConvergeIncrement, opts.ThrottleIncrement}} {
			if t.v > 0 {
				params = append(params, golibvirt.TypedParam{Field: t.field, Value: *golibvirt.NewTypedParamValueInt(int32(t.v))})
			}
		}
	}
	if opts.PostCopy {
		flags |= golibvirt.MigratePostcopy
	}
	if b.cfg.BlockMigration && slices.ContainsFunc(before.Disks, func(d Disk) bool { return !d.Shared && !d.Empty }) {
		flags |= golibvirt.MigrateNonSharedDisk
	}
	if opts.Bandwidth > 0 {
		// libvirt takes MiB/s; round up so a cap never becomes "none".
		mib := uint64(math.Ceil(opts.Bandwidth / (1 << 20)))
		params = append(params, golibvirt.TypedParam{Field: golibvirt.MigrateParamBandwidth,
			Value: *golibvirt.NewTypedParamValueUllong(mib)})
	}

	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	iterations := b.iterationEvents(evCtx, sc, c.VM)

	m.set(stageRunning)
	perform := make(chan error, 1)
	go func() {
		_, err := sc.l.DomainMigratePerform3Params(dom, golibvirt.OptString{uri}, params, nil, flags)
		perform <- err
	}()

	r := runner{b: b, m: m, sc: sc, dom: dom, opts: opts, downtimeSet: opts.DowntimeLimit <= 0, lastIter: -1}
	tick := time.NewTicker(b.cfg.pollInterval())
	defer tick.Stop()
	var perr error
loop:
	for {
		select {
		case perr = <-perform:
			break loop
		case k := <-m.ctl:
			r.want(k)
		case it, ok := <-iterations:
			if ok && it > r.lastIter {
				r.lastIter = it
				b.emit(cluster.MigrationProgress{ID: c.ID, Iteration: it, Sent: r.lastSent, Remaining: r.lastLeft})
			}
		case <-tick.C:
			r.poll(ctx)
		}
	}
	stopEvents()
	if perr != nil && !sc.l.IsConnected() {
		// drover's connection to the source broke, not the migration: the
		// source daemon drives a peer-to-peer migration on its own.
		b.log.Warn("libvirt: lost the source during a migration; following it after reconnecting",
			"id", c.ID, "vm", c.VM, "host", c.Source, "err", perr)
		perr = r.follow(ctx, src, tick.C)
	}
	return r.finish(ctx, perr, before, src, dst)
}

// adopt follows a migration this process did not start, from its source,
// to its end.
func (b *Backend) adopt(m *migration) cluster.MigrationDone {
	c := m.cmd
	src, dst := b.hosts[c.Source], b.hosts[c.Destination]
	if src == nil || dst == nil {
		name := c.Source
		if src != nil {
			name = c.Destination
		}
		return cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: cluster.OutcomeFailed, Reason: "unknown host " + name,
			Err: fmt.Errorf("%w: host %s", cluster.ErrNotFound, name)}
	}
	m.set(stageRunning)
	r := runner{b: b, m: m, downtimeSet: true, lastIter: -1}
	tick := time.NewTicker(b.cfg.pollInterval())
	defer tick.Stop()
	perr := r.follow(b.ctx, src, tick.C)
	return r.finish(b.ctx, perr, nil, src, dst)
}

// followLimit bounds how long a migration whose source connection broke
// is followed after reconnecting.
const followLimit = 30 * time.Minute

// follow reconnects to the source and watches the migration job there
// until it ends, still emitting progress and obeying abort, force and
// post-copy. It returns nil when the job left the source (finish then
// checks where the guest is), and an error when the job ended with the
// guest still on its source or could not be followed.
func (r *runner) follow(ctx context.Context, src *host, tick <-chan time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, followLimit)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: could not follow the migration after losing the connection: %w",
				cluster.ErrHostUnreachable, src.cfg.Name, ctx.Err())
		case k := <-r.m.ctl:
			r.want(k)
		case <-tick:
		}
		sc, err := src.conn(ctx)
		if err != nil {
			continue // backoff is the host's
		}
		if sc != r.sc {
			dom, err := call(ctx, sc, func() (golibvirt.Domain, error) { return sc.l.DomainLookupByName(r.m.cmd.VM) })
			if errors.Is(err, cluster.ErrNotFound) {
				return nil // gone from the source: undefined after a completed migration
			}
			if err != nil {
				continue
			}
			r.sc, r.dom = sc, dom
			r.abortSent, r.forceSent = false, false // ask again on the new connection
		}
		jctx, jcancel := context.WithTimeout(ctx, r.b.cfg.timeout())
		typ, err := call(jctx, r.sc, func() (int32, error) {
			t, _, err := r.sc.l.DomainGetJobStats(r.dom, 0)
			return t, err
		})
		jcancel()
		switch {
		case errors.Is(err, cluster.ErrNotFound):
			return nil
		case err != nil:
			continue
		}
		switch golibvirt.DomainJobType(typ) {
		case golibvirt.DomainJobBounded, golibvirt.DomainJobUnbounded:
			r.poll(ctx)
			continue
		}
		// The job is over and the domain is still here: see where it runs.
		active, err := call(ctx, r.sc, func() (int32, error) { return r.sc.l.DomainIsActive(r.dom) })
		if err == nil && active == 1 {
			if r.aborting {
				return fmt.Errorf("operation aborted: %s", r.abortWhy)
			}
			return errors.New("the migration ended with the guest still on its source (followed after reconnecting)")
		}
		return nil
	}
}

// enforce applies TLS enforcement to a pair from their probed states and
// returns the transport the migration must use.
func (b *Backend) enforce(ctx context.Context, src, dst *host) (cluster.Transport, error) {
	ss, swhy, err := src.securityState(ctx)
	if err != nil {
		return "", err
	}
	ds, dwhy, err := dst.securityState(ctx)
	if err != nil {
		return "", err
	}
	tr, st := filter.Transport(b.cfg.TLS, &cluster.Host{Name: src.cfg.Name, Security: ss},
		&cluster.Host{Name: dst.cfg.Name, Security: ds})
	if st != nil {
		return "", fmt.Errorf("tls %s: %s (%s: %s; %s: %s)", b.cfg.TLS, strings.Join(st.Reasons(), "; "), src.cfg.Name, swhy, dst.cfg.Name, dwhy)
	}
	return tr, nil
}

// lookup finds a running domain by name and reads it.
func (b *Backend) lookup(ctx context.Context, c *Conn, name string) (*VM, golibvirt.Domain, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout())
	defer cancel()
	d, err := call(ctx, c, func() (golibvirt.Domain, error) { return c.l.DomainLookupByName(name) })
	if err != nil {
		return nil, d, err
	}
	active, err := call(ctx, c, func() (int32, error) { return c.l.DomainIsActive(d) })
	if err != nil {
		return nil, d, err
	}
	if active != 1 {
		return nil, d, fmt.Errorf("%w: domain %s is defined but not running", cluster.ErrNotFound, name)
	}
	vm, err := c.domain(ctx, d, InventoryOptions{SharedPaths: b.cfg.SharedPaths, BlockMigration: b.cfg.BlockMigration})
	return vm, d, err
}

// iterationEvents streams the source's migration-iteration events for vm
// (each pre-copy round's start). Without them, polling alone reports
// progress.
func (b *Backend) iterationEvents(ctx context.Context, c *Conn, vm string) <-chan int {
	out := make(chan int, 16)
	evs, err := c.l.SubscribeEvents(ctx, golibvirt.DomainEventIDMigrationIteration, golibvirt.OptDomain{})
	if err != nil {
		b.log.Debug("libvirt: no migration-iteration events", "host", c.name, "err", err)
		close(out)
		return out
	}
	go func() {
		defer close(out)
		for e := range evs {
			if msg, ok := e.(*golibvirt.DomainEventCallbackMigrationIterationMsg); ok && msg.Dom.Name == vm {
				select {
				case out <- int(msg.Iteration):
				default:
				}
			}
		}
	}()
	return out
}

// runner is the state of one running migration's control loop.
type runner struct {
	b    *Backend
	m    *migration
	sc   *Conn
	dom  golibvirt.Domain
	opts cluster.MigrationOptions

	downtimeSet bool
	aborting    bool
	abortSent   bool
	abortWhy    string
	forcing     bool
	forceSent   bool
	forceWhy    string
	postcopy    bool
	postWhy     string

	lastIter int
	lastSent int64
	lastLeft int64
}

func (r *runner) want(k control) {
	switch k.kind {
	case ctlAbort:
		if r.postcopy {
			r.b.log.Warn("libvirt: abort ignored: post-copy has started, the guest runs on the destination", "id", r.m.cmd.ID)
			return
		}
		r.aborting, r.abortWhy = true, k.reason
	case ctlForce:
		r.forcing, r.forceWhy = true, k.reason
	case ctlPostCopy:
		if !r.opts.PostCopy {
			// Not negotiated at the start: the best left is a forced end.
			r.forcing, r.forceWhy = true, k.reason+" (post-copy not enabled: forced switch-over)"
			break
		}
		if !r.postcopy {
			ctx, cancel := context.WithTimeout(r.b.ctx, r.b.cfg.timeout())
			_, err := call(ctx, r.sc, func() (struct{}, error) { return struct{}{}, r.sc.l.DomainMigrateStartPostCopy(r.dom, 0) })
			cancel()
			if err != nil {
				r.b.log.Warn("libvirt: start post-copy failed; forcing switch-over", "id", r.m.cmd.ID, "err", err)
				r.forcing, r.forceWhy = true, k.reason+" (post-copy refused: forced switch-over)"
			} else {
				r.postcopy, r.postWhy = true, k.reason
				r.m.set(stageSwitched)
			}
		}
	}
	r.act()
}

// act sends the abort and force wishes not yet accepted; libvirt refuses
// them until the migration job exists, so poll retries.
func (r *runner) act() {
	ctx, cancel := context.WithTimeout(r.b.ctx, r.b.cfg.timeout())
	defer cancel()
	if r.aborting && !r.abortSent {
		_, err := call(ctx, r.sc, func() (struct{}, error) { return struct{}{}, r.sc.l.DomainAbortJob(r.dom) })
		r.abortSent = err == nil
		r.debug("abort", err)
	}
	if r.forcing && !r.forceSent {
		_, err := call(ctx, r.sc, func() (struct{}, error) {
			return struct{}{}, r.sc.l.DomainMigrateSetMaxDowntime(r.dom, uint64(forcedDowntime/time.Millisecond), 0)
		})
		r.forceSent = err == nil
		r.debug("force switch-over", err)
	}
}

// debug logs a refused wish; it is tried again at the next poll (libvirt
// refuses them until the migration job exists).
func (r *runner) debug(what string, err error) {
	if err != nil {
		r.b.log.Debug("libvirt: "+what+" not accepted yet", "id", r.m.cmd.ID, "err", err)
	}
}

// poll reads the job's figures and emits progress when they moved.
func (r *runner) poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.b.cfg.timeout())
	defer cancel()
	type job struct {
		typ int32
		p   typedParams
	}
	j, err := call(ctx, r.sc, func() (job, error) {
		t, ps, err := r.sc.l.DomainGetJobStats(r.dom, 0)
		return job{t, params(ps)}, err
	})
	if err != nil {
		return
	}
	switch golibvirt.DomainJobType(j.typ) {
	case golibvirt.DomainJobBounded, golibvirt.DomainJobUnbounded:
	default:
		return // not started yet, or over: its figures are no progress
	}
	if !r.downtimeSet {
		_, err := call(ctx, r.sc, func() (struct{}, error) {
			return struct{}{}, r.sc.l.DomainMigrateSetMaxDowntime(r.dom, uint64(max(r.opts.DowntimeLimit/time.Millisecond, 1)), 0)
		})
		r.downtimeSet = err == nil
	}
	r.act()
	it := int(j.p.uint(golibvirt.DomainJobMemoryIteration))
	sent := int64(j.p.uint(golibvirt.DomainJobDataProcessed))
	left := int64(j.p.uint(golibvirt.DomainJobDataRemaining))
	if it != r.lastIter || sent != r.lastSent {
		r.lastIter = max(r.lastIter, it)
		r.lastSent, r.lastLeft = sent, left
		r.b.emit(cluster.MigrationProgress{ID: r.m.cmd.ID, Iteration: r.lastIter, Sent: sent, Remaining: left})
	}
}

// finish decides the outcome from the perform call's error and from where
// the guest actually runs, reading the final figures on the destination.
func (r *runner) finish(ctx context.Context, perr error, before *VM, src, dst *host) cluster.MigrationDone {
	c := r.m.cmd
	d := cluster.MigrationDone{ID: c.ID, VM: c.VM}
	where := r.b.locate(ctx, c.VM, src, dst)
	if perr == nil {
		r.m.set(stageSwitched)
		switch {
		case r.postcopy:
			d.Outcome, d.Reason = cluster.OutcomePostCopy, r.postWhy
		case r.forcing:
			d.Outcome, d.Reason = cluster.OutcomeForced, r.forceWhy
		default:
			d.Outcome = cluster.OutcomeCompleted
		}
		r.completedStats(ctx, dst, &d)
		if msg := postconditions(before, where, c.Source, c.Destination); msg != "" {
			d.Outcome, d.Reason = cluster.OutcomeFailed, "post-condition: "+msg
		}
		return d
	}
	err := MapError(perr)
	var le golibvirt.Error
	aborted := r.aborting || (errors.As(perr, &le) && golibvirt.ErrorNumber(le.Code) == golibvirt.ErrOperationAborted)
	switch {
	case where.on(c.Destination) && !where.on(c.Source):
		// The guest made it although the call failed (a late error, or the
		// source connection broke after the switch-over).
		d.Outcome, d.Reason = cluster.OutcomeCompleted, fmt.Sprintf("completed, but libvirt said: %v", err)
		r.completedStats(ctx, dst, &d)
	case aborted:
		d.Outcome, d.Reason = cluster.OutcomeAborted, r.abortWhy
		if d.Reason == "" {
			d.Reason = err.Error()
		}
	default:
		d.Outcome, d.Reason = cluster.OutcomeFailed, err.Error()
	}
	if !d.Succeeded() {
		// What was sent before the end, for reports: the guest stays put.
		d.Bytes, d.Rounds = r.lastSent, max(r.lastIter, 0)
		switch {
		case where.running(c.Source):
		case where.err != nil:
			d.Reason += fmt.Sprintf("; where the guest runs is unknown: %v", where.err)
		case !where.on(c.Source) && !where.on(c.Destination):
			d.Lost = true
			d.Reason += "; the guest runs on neither host"
		default:
			d.Reason += fmt.Sprintf("; the guest is %s on %s and %s on %s", where.state[c.Source], c.Source,
				orNone(where.state[c.Destination]), c.Destination)
		}
	}
	return d
}

// completedStats reads the completed job on the destination: downtime,
// bytes sent and rounds, as QEMU counted them.
func (r *runner) completedStats(ctx context.Context, dst *host, d *cluster.MigrationDone) {
	// Without the destination's record (or after post-copy, whose record
	// lacks the pre-copy figures) keep what the source reported.
	defer func() {
		if d.Bytes == 0 {
			d.Bytes = r.lastSent
		}
		if d.Rounds == 0 {
			d.Rounds = max(r.lastIter, 0)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, r.b.cfg.timeout())
	defer cancel()
	dc, err := dst.conn(ctx)
	if err != nil {
		return
	}
	// Kept: drover calibrate reads the same record for its table.
	p, err := dc.CompletedJob(ctx, d.VM)
	if err != nil {
		r.b.log.Warn("libvirt: no completed job stats on destination", "vm", d.VM, "err", err)
		return
	}
	d.Downtime = time.Duration(p[golibvirt.DomainJobDowntime]) * time.Millisecond
	d.Bytes = int64(p[golibvirt.DomainJobDataProcessed])
	d.Rounds = int(p[golibvirt.DomainJobMemoryIteration])
	d.Elapsed = time.Duration(p[golibvirt.DomainJobTimeElapsed]) * time.Millisecond
}

// placement is where a guest was found after a migration.
type placement struct {
	state map[string]string // host → domain state; absent: not there
	macs  map[string][]string
	err   error
}

func (p placement) on(h string) bool      { _, ok := p.state[h]; return ok }
func (p placement) running(h string) bool { return p.state[h] == stateRunning }

func orNone(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

// locate asks both hosts for the guest, reconnecting if need be, for a
// bounded time: a migration's end is the moment connections break.
func (b *Backend) locate(ctx context.Context, vm string, hosts ...*host) placement {
	p := placement{state: map[string]string{}, macs: map[string][]string{}}
	ctx, cancel := context.WithTimeout(ctx, 2*b.cfg.timeout())
	defer cancel()
	for _, h := range hosts {
		var lastErr error
		for attempt := 0; attempt < 3; attempt++ {
			c, err := h.conn(ctx)
			if err == nil {
				var v *VM
				v, _, err = b.lookup(ctx, c, vm)
				if err == nil {
					p.state[h.cfg.Name], p.macs[h.cfg.Name] = v.State, v.MACs
				}
				if err == nil || errors.Is(err, cluster.ErrNotFound) {
					lastErr = nil
					break
				}
				h.failed(c, err)
			}
			lastErr = err
			if ctx.Err() != nil {
				break
			}
		}
		if lastErr != nil && p.err == nil {
			p.err = fmt.Errorf("%s: %w", h.cfg.Name, lastErr)
		}
	}
	return p
}

// postconditions of a migration that libvirt says completed: the guest
// runs on the destination only, with the MAC addresses it had (before is
// nil for a migration another process started: its MACs are not known).
func postconditions(before *VM, where placement, src, dst string) string {
	var problems []string
	if where.err != nil {
		problems = append(problems, where.err.Error())
	}
	if !where.running(dst) {
		problems = append(problems, fmt.Sprintf("not running on %s (%s)", dst, orNone(where.state[dst])))
	}
	if where.on(src) {
		problems = append(problems, fmt.Sprintf("still %s on %s", where.state[src], src))
	}
	if before != nil && where.on(dst) && !slices.Equal(where.macs[dst], before.MACs) {
		problems = append(problems, fmt.Sprintf("MAC addresses changed: %v before, %v after", before.MACs, where.macs[dst]))
	}
	return strings.Join(problems, "; ")
}
