package libvirt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/backend/pki"
	"github.com/droverlab/drover/scheduler/cluster"
)

// Backend is the real world: the libvirt hosts of a Config. It satisfies
// backend.Backend, so the scheduler's Core drives it exactly as it drives
// the simulator.
//
// Each host has one connection, dialled on first use and again, with
// backoff, after it is lost; an idle connection is checked every
// KeepAlive. Migrations run one goroutine each; events reach the sink in
// order from one goroutine of the Backend's own.
type Backend struct {
	cfg   *Config
	log   *slog.Logger
	start time.Time
	probe *tls.Config // drover's client config, to probe security states

	hosts map[string]*host
	names []string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the event queue and keepalive
	migWG  sync.WaitGroup // running migrations
	closed bool           // under mu: no new migration starts

	mu   sync.Mutex
	migs map[int]*migration // running, by command ID
	byVM map[string]*migration

	events *queue
}

// KeepAlive is how often an idle host connection is checked with a cheap
// call; a connection that fails the check is dropped and dialled again on
// next use. go-libvirt does not speak libvirt's own keepalive protocol.
const KeepAlive = 15 * time.Second

var _ backend.Backend = (*Backend)(nil)

// New returns a Backend for cfg. It connects lazily: New itself does no
// I/O beyond reading drover's client certificate. Close it when done.
func New(cfg *Config, log *slog.Logger) (*Backend, error) {
	if log == nil {
		log = slog.Default()
	}
	b := &Backend{cfg: cfg, log: log, start: time.Now(), hosts: map[string]*host{},
		migs: map[int]*migration{}, byVM: map[string]*migration{}, events: newQueue()}
	b.probe = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.PKI != "" {
		p, err := pki.ClientTLSConfig(cfg.PKI, "")
		if err != nil {
			return nil, fmt.Errorf("libvirt: pki %s: %w", cfg.PKI, err)
		}
		b.probe = p
	}
	for _, hc := range cfg.Hosts {
		b.hosts[hc.Name] = &host{cfg: hc, b: b, samples: map[string]DomainStats{}}
		b.names = append(b.names, hc.Name)
	}
	slices.Sort(b.names)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.events.run() }()
	go func() { defer b.wg.Done(); b.keepAlive() }()
	return b, nil
}

// Subscribe sets the sink for every event from now on. Events are
// delivered one at a time from one goroutine; a slow sink delays later
// events but never a migration.
func (b *Backend) Subscribe(sink func(cluster.Event)) { b.events.subscribe(sink) }

// Apply carries out commands. StartMigration returns at once; the
// migration runs in the background and ends with exactly one
// MigrationDone. Abort, force and post-copy of a migration that is not
// running (it just ended) are ignored: its MigrationDone is on the way.
func (b *Backend) Apply(_ context.Context, cmds []cluster.Command) error {
	for _, c := range cmds {
		switch c := c.(type) {
		case cluster.StartMigration:
			b.startMigration(c)
		case cluster.FollowMigration:
			b.followMigration(c)
		case cluster.AbortMigration:
			b.control(c.ID, control{kind: ctlAbort, reason: c.Reason})
		case cluster.ForceSwitchover:
			b.control(c.ID, control{kind: ctlForce, reason: c.Reason})
		case cluster.StartPostCopy:
			b.control(c.ID, control{kind: ctlPostCopy, reason: c.Reason})
		default:
			return fmt.Errorf("libvirt: %w %T", cluster.ErrUnknownCommand, c)
		}
	}
	return nil
}

// closeGrace bounds how long Close waits for aborted migrations to end.
const closeGrace = 2 * time.Minute

// Close aborts the migrations still running (their guests stay on their
// sources), waits for them to end and say so, and closes every
// connection.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	for _, m := range b.migs {
		m.send(control{kind: ctlAbort, reason: "drover is closing"})
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.migWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
		b.log.Error("libvirt: migrations did not end after their abort; closing anyway", "grace", closeGrace)
	}
	b.cancel()
	b.events.close()
	b.wg.Wait()
	var errs []error
	for _, n := range b.names {
		if err := b.hosts[n].close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Snapshot asks every host for its inventory, stats and security state, in
// parallel. Hosts the inventory file marks down are listed as down and not
// asked. It fails whole (ErrHostUnreachable) when any other host cannot
// be asked. A VM that a migration has on two hosts at once is listed
// once, on its source, as migrating.
func (b *Backend) Snapshot(ctx context.Context) (*cluster.Snapshot, error) {
	snap, errs := b.snapshot(ctx, false)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return snap, nil
}

// SnapshotReachable is Snapshot for a person reading the cluster (drover
// inventory, plan --inventory): a host that cannot be asked is listed as
// down, with its error, and the rest are read as usual. The Core never
// takes it: a partial snapshot would make a host's guests look gone.
func (b *Backend) SnapshotReachable(ctx context.Context) (*cluster.Snapshot, []error) {
	return b.snapshot(ctx, true)
}

func (b *Backend) snapshot(ctx context.Context, partial bool) (*cluster.Snapshot, []error) {
	type result struct {
		host cluster.Host
		vms  []VM
		err  error
	}
	res := make([]result, len(b.names))
	var wg sync.WaitGroup
	for i, n := range b.names {
		h := b.hosts[n]
		if h.cfg.State == cluster.HostDown {
			res[i].host = h.describe(nil)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, err := h.inventory(ctx)
			if err != nil {
				res[i].err = err
				return
			}
			res[i].host, res[i].vms = h.describe(inv), inv.VMs
		}()
	}
	wg.Wait()
	snap := &cluster.Snapshot{At: time.Since(b.start)}
	var errs []error
	for i, r := range res {
		if r.err != nil {
			errs = append(errs, r.err)
			res[i].host = b.hosts[b.names[i]].describe(nil)
			res[i].host.State = cluster.HostDown
		}
	}
	if len(errs) > 0 && !partial {
		return nil, errs
	}
	b.mu.Lock()
	running := map[string]*migration{}
	for vm, m := range b.byVM {
		running[vm] = m
	}
	b.mu.Unlock()
	seen := map[string]int{}
	for _, r := range res {
		snap.Hosts = append(snap.Hosts, r.host)
		for _, v := range r.vms {
			vm := v.VM
			if m := running[vm.Name]; m != nil {
				if vm.Host != m.cmd.Source && m.stage() != stageSwitched {
					continue // the incoming copy on the destination
				}
				vm.Migrating = true
			}
			if i, ok := seen[vm.Name]; ok {
				// Someone else's migration: both copies are in flight.
				// Keep the running one.
				snap.VMs[i].Migrating = true
				if v.State == stateRunning {
					vm.Migrating = true
					snap.VMs[i] = vm
				}
				continue
			}
			seen[vm.Name] = len(snap.VMs)
			snap.VMs = append(snap.VMs, vm)
		}
	}
	slices.SortFunc(snap.VMs, func(a, c cluster.VM) int { return strings.Compare(a.Name, c.Name) })
	return snap, errs
}

// keepAlive checks idle connections and drops dead ones, so that the next
// use dials afresh instead of failing.
func (b *Backend) keepAlive() {
	t := time.NewTicker(KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
			for _, n := range b.names {
				b.hosts[n].check(b.ctx)
			}
		}
	}
}

func (b *Backend) emit(e cluster.Event) { b.events.push(e) }

// queue is an unbounded FIFO of events with one consumer, so that the
// goroutines that produce events never wait for the sink.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []cluster.Event
	sink   func(cluster.Event)
	closed bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) subscribe(sink func(cluster.Event)) {
	q.mu.Lock()
	q.sink = sink
	q.mu.Unlock()
}

func (q *queue) push(e cluster.Event) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
}

// run delivers until closed and drained.
func (q *queue) run() {
	q.mu.Lock()
	for {
		for len(q.items) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		e := q.items[0]
		q.items = q.items[1:]
		sink := q.sink
		q.mu.Unlock()
		if sink != nil {
			sink(e)
		}
		q.mu.Lock()
	}
}
