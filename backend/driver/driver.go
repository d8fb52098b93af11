// Package driver runs a scheduler.Core against a real backend on the wall
// clock: the Core's one loop (scheduler.Node) with this package as its
// Env, plus what real time needs: goroutines, timers and a journal file.
// The simulator runs the same Node in virtual time; this is for
// backend/libvirt and anything else that lives in real time.
//
// The Core is touched only from the goroutine that called Run. The
// backend's events arrive on its own goroutine and wait in an unbounded
// queue, so the backend never blocks on the Core; timers live in a heap
// behind a single time.Timer and fire on Run's goroutine too.
package driver

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
)

// Defaults of Options.
const (
	DefaultAbortGrace      = 60 * time.Second
	DefaultSnapshotRetries = 3
	DefaultSnapshotBackoff = time.Second
)

// InterruptReason is the reason of the AbortRequested Run steps when its
// context ends; the Core journals it as "operator: interrupted".
const InterruptReason = "interrupted"

// Options tune Run. The zero value is usable.
type Options struct {
	// Journal receives the Core's journal as JSON lines, one
	// scheduler.Record per line, ReadJournal's format. Each Ready's records
	// are written in one Write, then flushed (a Flush() error method, as
	// bufio.Writer has) and synced (Sync() error; an *os.File only when it
	// is a regular file) BEFORE any of that Ready's commands runs. A
	// failing write or sync stops Run with the error before the commands.
	// Nil: no journal.
	Journal io.Writer
	// Clock reads the wall clock; nil is time.Now. The Core's time is the
	// Core's own Now() when Run starts plus the Clock's time elapsed since,
	// so a Core restored at a journal's last time goes on from there.
	// Timers wait on real timers for the Clock's distance to them; when
	// one fires, the timer is due even if an injected Clock disagrees.
	Clock func() time.Time
	// OnReady sees each Ready before it is carried out (a progress
	// display). It runs on Run's goroutine and must neither block nor
	// keep or change rd.
	OnReady func(rd scheduler.Ready)
	// OnEvent sees each event right before the Core is stepped with it:
	// the initial events, the backend's, timers and snapshots. Same rules
	// as OnReady.
	OnEvent func(ev cluster.Event)
	// AbortGrace is how long Run waits, once its context ends, for the
	// running migrations to answer their aborts (0: DefaultAbortGrace).
	AbortGrace time.Duration
	// SnapshotRetries is how often a failed Snapshot is tried again before
	// Run gives up (0: DefaultSnapshotRetries; negative: never), waiting
	// SnapshotBackoff (0: DefaultSnapshotBackoff) and twice as long each
	// time after.
	SnapshotRetries int
	SnapshotBackoff time.Duration
	// Forever keeps Run going when the Core is idle (a daemon whose Core
	// has a periodic policy), until its context ends.
	Forever bool
	// Logger gets warnings (a failed snapshot that will be retried); nil
	// is slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.AbortGrace <= 0 {
		o.AbortGrace = DefaultAbortGrace
	}
	if o.SnapshotRetries == 0 {
		o.SnapshotRetries = DefaultSnapshotRetries
	}
	if o.SnapshotRetries < 0 {
		o.SnapshotRetries = 0
	}
	if o.SnapshotBackoff <= 0 {
		o.SnapshotBackoff = DefaultSnapshotBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ErrAbortGrace is wrapped in Run's error when migrations still ran after
// the abort grace period; the error wraps the context's error too.
var ErrAbortGrace = errors.New("migrations still running after the abort grace period")

// Run drives core against b until the Core has nothing left to do, or
// until ctx ends.
//
// Run subscribes to b (replacing any earlier sink; events after Run
// returns are dropped), steps the initial events in order (a
// PlanSubmitted, a MaintenanceRequested, a SnapshotTaken the caller
// already has: it answers the requests stepped before it), and then loops:
// it steps the backend's events as they come, carries out each Ready as
// the scheduler package comment orders (journal, commands, timers,
// Advance, snapshot), and fires the timers the Core set. It does not call
// core.Start: a caller that wants the periodic policy calls it first (and
// sets Forever).
//
// Run returns nil once the Core is idle (Core.Idle: nothing queued or
// running, no request waiting for a snapshot), unless Forever. When ctx
// ends, Run steps AbortRequested{ID: 0, Reason: InterruptReason}: queued
// moves are cancelled and running ones aborted. It stops taking snapshots
// (so no policy starts anything new), keeps stepping the backend's events
// until every running move has its MigrationDone, and returns ctx.Err();
// if that takes longer than AbortGrace it returns an error wrapping
// ErrAbortGrace and ctx.Err(). Either way the journal holds everything
// that happened, and scheduler.Restore resumes from it.
//
// Other errors end Run at once, with migrations possibly still running (the
// journal knows which): a journal write, a backend Apply error, a snapshot
// that failed SnapshotRetries+1 times, or an event the Core rejects.
// Backend calls made after ctx ended (the aborts) use a context that lives
// until Run returns.
func Run(ctx context.Context, core *scheduler.Core, b backend.Backend, initial []cluster.Event, opt Options) error {
	opt = opt.withDefaults()
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	d := &driver{
		core: core, b: b, opt: opt, work: work,
		start: opt.Clock(), base: core.Now(),
		q:    &queue{notify: make(chan struct{}, 1)},
		wake: time.NewTimer(time.Hour),
		sync: syncerOf(opt.Journal),
	}
	d.node = scheduler.NewNode(core, coreEnv{d, ctx}, d.now)
	d.node.OnEvent, d.node.OnReady = opt.OnEvent, opt.OnReady
	d.wake.Stop()
	defer d.wake.Stop()
	b.Subscribe(d.q.push)
	defer d.q.close()

	for _, ev := range initial {
		d.node.Push(ev)
	}
	done := ctx.Done()
	var (
		grace  <-chan time.Time
		graceT *time.Timer
	)
	defer func() {
		if graceT != nil {
			graceT.Stop()
		}
	}()
	for {
		if !d.stopping && ctx.Err() != nil {
			d.stopping, done = true, nil
			graceT = time.NewTimer(opt.AbortGrace)
			grace = graceT.C
			d.node.Push(cluster.AbortRequested{ID: 0, Reason: InterruptReason})
		}
		if err := d.drain(); err != nil {
			return err
		}
		if d.q.pending() {
			continue
		}
		switch {
		case d.stopping && len(core.Running()) == 0:
			return ctx.Err()
		case !d.stopping && !opt.Forever && core.Idle():
			return nil
		}
		d.arm()
		select {
		case <-d.q.notify:
		case <-d.wake.C:
			if err := d.fire(); err != nil {
				return err
			}
		case <-done:
		case <-grace:
			return fmt.Errorf("driver: %d %w (%s): %w", len(core.Running()), ErrAbortGrace, opt.AbortGrace, ctx.Err())
		}
	}
}

type driver struct {
	core  *scheduler.Core
	node  *scheduler.Node
	b     backend.Backend
	opt   Options
	work  context.Context
	start time.Time
	base  time.Duration
	q     *queue

	timers   timerHeap
	seq      int
	wake     *time.Timer
	stopping bool
	sync     func() error
}

// now is the Core's time for the wall clock's now.
func (d *driver) now() time.Duration { return d.base + d.opt.Clock().Sub(d.start) }

// run is the Core's loop (scheduler.Node) with this driver as its Env.
func (d *driver) run() error {
	if err := d.node.Run(); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	return nil
}

// drain hands the events the backend has queued to the Node.
func (d *driver) drain() error {
	for _, ev := range d.q.take() {
		d.node.Push(ev)
	}
	return d.run()
}

// coreEnv is the driver as the Core's Env: the journal file, the backend,
// the timer heap and the backend's snapshots.
type coreEnv struct {
	d   *driver
	ctx context.Context // Run's: its end stops snapshots
}

func (e coreEnv) Persist(recs []scheduler.Record) error { return e.d.persist(recs) }

func (e coreEnv) Execute(cmds []cluster.Command) error {
	if err := e.d.b.Apply(e.d.work, cmds); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

func (e coreEnv) SetTimer(t scheduler.Timer) {
	e.d.seq++
	heap.Push(&e.d.timers, timer{Timer: t, seq: e.d.seq})
}

// Snapshot takes none once the driver is stopping: it would let policies
// and retries start moves the operator wants stopped. Events that came
// before the snapshot go first, so the Core hears of a move's end before a
// snapshot that shows it.
func (e coreEnv) Snapshot() (*cluster.Snapshot, error) {
	d := e.d
	if d.stopping {
		return nil, nil
	}
	for _, ev := range d.q.take() {
		d.node.Push(ev)
	}
	snap, err := d.snapshot(e.ctx)
	if err != nil && e.ctx.Err() != nil {
		return nil, nil // Run's loop turns to stopping
	}
	return snap, err
}

// persist writes records as JSON lines in one Write, then flushes and
// syncs.
func (d *driver) persist(rs []scheduler.Record) error {
	if d.opt.Journal == nil || len(rs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range rs {
		if err := enc.Encode(&rs[i]); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if _, err := d.opt.Journal.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if f, ok := d.opt.Journal.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if d.sync != nil {
		if err := d.sync(); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// syncerOf returns how to make w's writes durable, or nil. An *os.File is
// synced only if it is a regular file: syncing a pipe or a terminal fails.
func syncerOf(w io.Writer) func() error {
	switch f := w.(type) {
	case nil:
		return nil
	case *os.File:
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return nil
		}
		return f.Sync
	case interface{ Sync() error }:
		return f.Sync
	}
	return nil
}

// snapshot asks the backend, retrying with backoff.
func (d *driver) snapshot(ctx context.Context) (*cluster.Snapshot, error) {
	wait := d.opt.SnapshotBackoff
	for attempt := 1; ; attempt++ {
		snap, err := d.b.Snapshot(ctx)
		if err == nil && snap == nil {
			err = errors.New("backend returned no snapshot")
		}
		if err == nil {
			return snap, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt > d.opt.SnapshotRetries {
			return nil, fmt.Errorf("snapshot failed %d times: %w", attempt, err)
		}
		d.opt.Logger.Warn("snapshot failed; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

// arm sets the wake-up timer to the earliest of the Core's timers.
func (d *driver) arm() {
	d.wake.Stop()
	if len(d.timers) == 0 {
		return
	}
	d.wake.Reset(max(d.timers[0].At-d.now(), 0))
}

// fire hands the Node the earliest timer (its real timer fired) and every other
// one due by now, in order of time, then of setting.
func (d *driver) fire() error {
	now := d.now()
	for first := true; len(d.timers) > 0 && (first || d.timers[0].At <= now); first = false {
		t := heap.Pop(&d.timers).(timer)
		d.node.PushAt(t.At, cluster.TimerFired{Key: t.Key})
	}
	return nil
}

type timer struct {
	scheduler.Timer
	seq int
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	return h[i].At < h[j].At || h[i].At == h[j].At && h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// queue is the backend's side: an unbounded FIFO the sink appends to
// without waiting for the Core, and a doorbell for Run.
type queue struct {
	mu     sync.Mutex
	evs    []cluster.Event
	closed bool
	notify chan struct{} // capacity 1: a pending ring is enough
}

func (q *queue) push(ev cluster.Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.evs = append(q.evs, ev)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *queue) take() []cluster.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.evs
	q.evs = nil
	return evs
}

func (q *queue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.evs) > 0
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed, q.evs = true, nil
}
