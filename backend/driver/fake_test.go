package driver_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/backend/driver"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/schedtest"
)

// fake is a backend in real time: a migration reports one round, then
// completes after delay on a goroutine of its own, unless aborted first.
// Its events reach the sink one at a time, as the Backend contract says.
type fake struct {
	delay time.Duration
	// stuck VMs' migrations make no progress after their first round and
	// never end by themselves; deaf ignores aborts.
	stuck map[string]bool
	deaf  bool
	// snapFails fails the first Snapshot calls with ErrHostUnreachable.
	snapFails int
	// journal, if set, is checked on every start: its record must be
	// there already.
	journal *bytes.Buffer

	mu         sync.Mutex
	world      *cluster.Snapshot
	sink       func(cluster.Event)
	migs       map[int]chan string
	active     int
	maxActive  int
	snaps      int
	commands   []cluster.Command
	violations []string
	started    chan int

	emitMu sync.Mutex
	wg     sync.WaitGroup
}

var _ backend.Backend = (*fake)(nil)

func newFake(world *cluster.Snapshot, delay time.Duration) *fake {
	return &fake{
		delay: delay, stuck: map[string]bool{}, world: schedtest.Clone(world),
		migs: map[int]chan string{}, started: make(chan int, 100),
	}
}

func (f *fake) Snapshot(ctx context.Context) (*cluster.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snaps++
	if f.snaps <= f.snapFails {
		return nil, fmt.Errorf("fake: host h1: %w", cluster.ErrHostUnreachable)
	}
	return schedtest.Clone(f.world), nil
}

func (f *fake) Subscribe(sink func(cluster.Event)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sink = sink
}

func (f *fake) Apply(_ context.Context, cmds []cluster.Command) error {
	for _, c := range cmds {
		f.mu.Lock()
		f.commands = append(f.commands, c)
		f.mu.Unlock()
		switch c := c.(type) {
		case cluster.StartMigration:
			f.start(c)
		case cluster.AbortMigration:
			f.mu.Lock()
			if ch, ok := f.migs[c.ID]; ok && !f.deaf {
				select {
				case ch <- c.Reason:
				default:
				}
			}
			f.mu.Unlock()
		default:
			return fmt.Errorf("fake: unsupported command %T", c)
		}
	}
	return nil
}

func (f *fake) start(c cluster.StartMigration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.journal != nil && !f.journalled(c.ID) {
		f.violations = append(f.violations, fmt.Sprintf("move %d started before its journal record", c.ID))
	}
	v := f.world.VM(c.VM)
	if v == nil || v.Host != c.Source || v.Migrating {
		f.violations = append(f.violations, fmt.Sprintf("move %d: %s is not ready on %s", c.ID, c.VM, c.Source))
		f.goEmit(cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: cluster.OutcomeRejected, Reason: "not on source"})
		return
	}
	v.Migrating = true
	f.active++
	f.maxActive = max(f.maxActive, f.active)
	abort := make(chan string, 1)
	f.migs[c.ID] = abort
	stuck, delay := f.stuck[c.VM], f.delay
	f.started <- c.ID
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.emit(cluster.MigrationProgress{ID: c.ID, Iteration: 1, Sent: 1 << 20, Remaining: 1 << 30})
		var done <-chan time.Time
		if !stuck {
			t := time.NewTimer(delay)
			defer t.Stop()
			done = t.C
		}
		ev := cluster.MigrationDone{ID: c.ID, VM: c.VM, Outcome: cluster.OutcomeCompleted}
		select {
		case <-done:
		case reason := <-abort:
			ev.Outcome, ev.Reason = cluster.OutcomeAborted, reason
		}
		f.mu.Lock()
		v := f.world.VM(c.VM)
		v.Migrating = false
		if ev.Succeeded() {
			v.Host = c.Destination
		}
		f.active--
		delete(f.migs, c.ID)
		f.mu.Unlock()
		f.emit(ev)
	}()
}

// journalled reports whether the journal holds move id's start record.
func (f *fake) journalled(id int) bool {
	rs, err := driver.ReadJournal(bytes.NewReader(f.journal.Bytes()))
	if err != nil {
		return false
	}
	return slices.ContainsFunc(rs, func(r scheduler.Record) bool { return r.Kind == scheduler.RecStart && r.ID == id })
}

// goEmit emits from a goroutine: never call the sink under f.mu.
func (f *fake) goEmit(ev cluster.Event) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.emit(ev)
	}()
}

func (f *fake) emit(ev cluster.Event) {
	f.emitMu.Lock()
	defer f.emitMu.Unlock()
	f.mu.Lock()
	sink := f.sink
	f.mu.Unlock()
	if sink != nil {
		sink(ev)
	}
}

// snapshot is the world now.
func (f *fake) snapshot() *cluster.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return schedtest.Clone(f.world)
}

// starts lists the StartMigration commands carried out.
func (f *fake) starts() []cluster.StartMigration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return schedtest.CommandsOf[cluster.StartMigration](f.commands)
}

func (f *fake) stats() (maxActive int, violations []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxActive, slices.Clone(f.violations)
}

// wait ends the test's goroutines: aborting whatever still runs.
func (f *fake) wait() {
	f.mu.Lock()
	for _, ch := range f.migs {
		select {
		case ch <- "test over":
		default:
		}
	}
	f.mu.Unlock()
	f.wg.Wait()
}
