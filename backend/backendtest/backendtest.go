// Package backendtest holds the conformance specs every backend must pass:
// the simulator and real libvirt hosts answer the same commands with the
// same events, so the scheduler cannot tell them apart.
package backendtest

import (
	"context"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/scheduler/cluster"
)

// Fixture names what the specs move around. Source and Destination share a
// security state; VM runs on Source and migrates in well under Patience;
// SlowVM runs on Source and migrates slowly enough to be aborted (its
// migration is expected to take at least a few seconds).
type Fixture struct {
	Source, Destination string
	VM, SlowVM          string
	Transport           cluster.Transport
	// SlowOptions are the options that make SlowVM slow (a bandwidth cap).
	SlowOptions cluster.MigrationOptions
	// Patience bounds how long any one migration may take.
	Patience time.Duration
}

// Harness is a backend under test.
type Harness interface {
	Backend() backend.Backend
	Fixture() Fixture
	// Wait lets time pass (virtual or real) until cond holds or d passes,
	// and reports whether cond held.
	Wait(d time.Duration, cond func() bool) bool
}

// recorder collects events; real backends deliver from their own
// goroutine, hence the snapshot-under-lock reads through Gomega's Eventually
// being replaced by Wait.
type recorder struct {
	events []cluster.Event
}

func (r *recorder) done(id int) (cluster.MigrationDone, bool) {
	for _, e := range r.events {
		if d, ok := e.(cluster.MigrationDone); ok && d.ID == id {
			return d, true
		}
	}
	return cluster.MigrationDone{}, false
}

func (r *recorder) count(id int) int {
	n := 0
	for _, e := range r.events {
		if d, ok := e.(cluster.MigrationDone); ok && d.ID == id {
			n++
		}
	}
	return n
}

// Specs registers the conformance specs; call it from a Describe.
// newHarness is called before each spec.
func Specs(newHarness func() Harness, lock func(func())) {
	var (
		h   Harness
		fx  Fixture
		rec *recorder
		ctx = context.Background()
	)
	if lock == nil {
		lock = func(f func()) { f() }
	}
	BeforeEach(func() {
		h = newHarness()
		fx = h.Fixture()
		rec = &recorder{}
		h.Backend().Subscribe(func(e cluster.Event) { lock(func() { rec.events = append(rec.events, e) }) })
	})
	snapshot := func() *cluster.Snapshot {
		s, err := h.Backend().Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		return s
	}
	waitDone := func(id int) cluster.MigrationDone {
		var d cluster.MigrationDone
		ok := h.Wait(fx.Patience, func() bool {
			var found bool
			lock(func() { d, found = rec.done(id) })
			return found
		})
		Expect(ok).To(BeTrue(), "no MigrationDone for migration %d within %s", id, fx.Patience)
		return d
	}
	start := func(id int, vm, dst string, opts cluster.MigrationOptions) {
		Expect(h.Backend().Apply(ctx, []cluster.Command{cluster.StartMigration{
			ID: id, VM: vm, Source: fx.Source, Destination: dst, Transport: fx.Transport, Options: opts,
		}})).To(Succeed())
	}

	It("lists hosts and VMs, sorted, with their facts", func() {
		s := snapshot()
		Expect(slices.IsSortedFunc(s.Hosts, func(a, b cluster.Host) int { return strings.Compare(a.Name, b.Name) })).To(BeTrue())
		Expect(slices.IsSortedFunc(s.VMs, func(a, b cluster.VM) int { return strings.Compare(a.Name, b.Name) })).To(BeTrue())
		src := s.Host(fx.Source)
		Expect(src).NotTo(BeNil())
		Expect(src.CPUs).To(BeNumerically(">", 0))
		Expect(src.Memory).To(BeNumerically(">", 0))
		Expect(s.Host(fx.Destination)).NotTo(BeNil())
		v := s.VM(fx.VM)
		Expect(v).NotTo(BeNil())
		Expect(v.Host).To(Equal(fx.Source))
		Expect(v.Memory).To(BeNumerically(">", 0))
		Expect(v.MACs).NotTo(BeEmpty())
		Expect(v.Migrating).To(BeFalse())
	})

	It("live-migrates a VM: one MigrationDone, the VM on the destination, MACs kept", func() {
		before := snapshot().VM(fx.VM)
		start(1, fx.VM, fx.Destination, cluster.MigrationOptions{})
		d := waitDone(1)
		Expect(d.Outcome).To(Equal(cluster.OutcomeCompleted), d.Reason)
		Expect(d.Bytes).To(BeNumerically(">", 0))
		Expect(d.Downtime).To(BeNumerically(">", 0))
		after := snapshot().VM(fx.VM)
		Expect(after).NotTo(BeNil())
		Expect(after.Host).To(Equal(fx.Destination))
		Expect(after.Migrating).To(BeFalse())
		Expect(after.MACs).To(Equal(before.MACs))
		h.Wait(time.Second, nil)
		lock(func() { Expect(rec.count(1)).To(Equal(1)) })
	})

	It("reports progress while a migration runs", func() {
		start(2, fx.SlowVM, fx.Destination, fx.SlowOptions)
		var progressed bool
		h.Wait(fx.Patience, func() bool {
			lock(func() {
				for _, e := range rec.events {
					if p, ok := e.(cluster.MigrationProgress); ok && p.ID == 2 && p.Iteration >= 1 {
						progressed = true
					}
				}
			})
			return progressed
		})
		Expect(progressed).To(BeTrue())
		Expect(h.Backend().Apply(ctx, []cluster.Command{cluster.AbortMigration{ID: 2, Reason: "test over"}})).To(Succeed())
		waitDone(2)
	})

	It("aborts a running migration and leaves the VM on its source", func() {
		start(3, fx.SlowVM, fx.Destination, fx.SlowOptions)
		Expect(h.Wait(fx.Patience, func() bool { return snapshot().VM(fx.SlowVM).Migrating })).To(BeTrue(),
			"the migration never showed as running")
		Expect(h.Backend().Apply(ctx, []cluster.Command{cluster.AbortMigration{ID: 3, Reason: "operator abort"}})).To(Succeed())
		d := waitDone(3)
		Expect(d.Outcome).To(Equal(cluster.OutcomeAborted))
		v := snapshot().VM(fx.SlowVM)
		Expect(v.Host).To(Equal(fx.Source))
		Expect(v.Migrating).To(BeFalse())
	})

	It("rejects a migration to an unknown host, VM untouched", func() {
		start(4, fx.VM, "no-such-host", cluster.MigrationOptions{})
		d := waitDone(4)
		Expect(d.Outcome).To(Equal(cluster.OutcomeRejected))
		Expect(d.Err).To(MatchError(cluster.ErrNotFound), "the sentinel both worlds give for an unknown host")
		Expect(snapshot().VM(fx.VM).Host).To(Equal(fx.Source))
	})

	It("rejects a migration of an unknown VM", func() {
		start(5, "no-such-vm", fx.Destination, cluster.MigrationOptions{})
		d := waitDone(5)
		Expect(d.Outcome).To(Equal(cluster.OutcomeRejected))
		Expect(d.Err).To(MatchError(cluster.ErrNotFound), "the sentinel both worlds give for an unknown VM")
	})

	It("refuses a command it does not know with an error", func() {
		Expect(h.Backend().Apply(ctx, []cluster.Command{unknownCommand{}})).To(MatchError(cluster.ErrUnknownCommand))
	})
}

type unknownCommand struct{}

func (unknownCommand) IsCommand() {}
