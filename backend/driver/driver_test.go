package driver_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/backend/driver"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/scheduler/schedtest"
)

func TestDriver(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "driver")
}

func config() scheduler.Config {
	return scheduler.Config{Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{}.WithDefaults(),
	}}
}

// fourHosts has h1..h4 and v1..v3 on h1.
func fourHosts() *cluster.Snapshot {
	hosts := make([]cluster.Host, 4)
	for i := range hosts {
		hosts[i] = schedtest.MakeHost(fmt.Sprintf("h%d", i+1)).Obj()
	}
	vms := make([]cluster.VM, 3)
	for i := range vms {
		vms[i] = schedtest.MakeVM(fmt.Sprintf("v%d", i+1), "h1").Obj()
	}
	return schedtest.Snapshot(hosts, vms)
}

func mv(id int, vm, src, dst string) plan.Move {
	return plan.Move{ID: id, VM: vm, Source: src, Destination: dst, Transport: cluster.TransportTLS}
}

// threeMoves drains h1 one move at a time (one out per host).
func threeMoves() *plan.Plan {
	return &plan.Plan{Policy: "evacuate", Limits: plan.Limits{MaxPerHostOut: 1},
		Moves: []plan.Move{mv(1, "v1", "h1", "h2"), mv(2, "v2", "h1", "h3"), mv(3, "v3", "h1", "h4")}}
}

// run runs the driver on a goroutine, bounded by a deadline so a hang
// fails the spec instead of the suite.
func run(ctx context.Context, core *scheduler.Core, b backend.Backend, initial []cluster.Event, opt driver.Options) <-chan error {
	out := make(chan error, 1)
	go func() { out <- driver.Run(ctx, core, b, initial, opt) }()
	return out
}

func records(buf *bytes.Buffer) []scheduler.Record {
	GinkgoHelper()
	rs, err := driver.ReadJournal(bytes.NewReader(buf.Bytes()))
	Expect(err).NotTo(HaveOccurred())
	return rs
}

func recordsOf(rs []scheduler.Record, kind string) []scheduler.Record {
	return schedtest.RecordsOf(rs, kind)
}

var _ = Describe("Run", func() {
	var (
		ctx    context.Context
		cancel context.CancelFunc
		f      *fake
		buf    *bytes.Buffer
	)
	BeforeEach(func() {
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		DeferCleanup(func() { cancel() })
		buf = &bytes.Buffer{}
	})
	newBackend := func(delay time.Duration) *fake {
		f = newFake(fourHosts(), delay)
		f.journal = buf
		DeferCleanup(f.wait)
		return f
	}

	It("runs a submitted plan to the end under its limits, and leaves a journal with nothing left to do", func() {
		newBackend(20 * time.Millisecond)
		cfg := config()
		var readies, events atomic.Int32
		err := driver.Run(ctx, newCore(cfg), f, []cluster.Event{scheduler.PlanSubmitted{Plan: threeMoves()}}, driver.Options{
			Journal: buf,
			OnReady: func(scheduler.Ready) { readies.Add(1) },
			OnEvent: func(cluster.Event) { events.Add(1) },
		})
		Expect(err).NotTo(HaveOccurred())

		maxActive, violations := f.stats()
		Expect(violations).To(BeEmpty())
		Expect(maxActive).To(Equal(1), "one move out of h1 at a time")
		w := f.snapshot()
		for vm, host := range map[string]string{"v1": "h2", "v2": "h3", "v3": "h4"} {
			Expect(w.VM(vm).Host).To(Equal(host), vm)
			Expect(w.VM(vm).Migrating).To(BeFalse(), vm)
		}
		rs := records(buf)
		Expect(recordsOf(rs, scheduler.RecDone)).To(HaveLen(3))
		for _, r := range recordsOf(rs, scheduler.RecDone) {
			Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
		}
		for i := 1; i < len(rs); i++ {
			Expect(rs[i].At).To(BeNumerically(">=", rs[i-1].At), "journal times never go back")
		}
		Expect(readies.Load()).To(BeNumerically(">", 3))
		// the plan, a snapshot, 3 x (progress, done)
		Expect(events.Load()).To(BeNumerically(">=", 8))

		By("replaying the journal into a restored Core that has nothing left to do")
		h, err := schedtest.RestoreHarness(cfg, time.Hour, rs, w)
		Expect(err).NotTo(HaveOccurred())
		Expect(h.Started()).To(BeEmpty())
		Expect(h.Core.Idle()).To(BeTrue())

		By("running the restored Core: one snapshot, no command, times from the journal's on")
		c, err := scheduler.Restore(cfg, time.Hour, rs)
		Expect(err).NotTo(HaveOccurred())
		more := &bytes.Buffer{}
		Expect(driver.Run(ctx, c, f, nil, driver.Options{Journal: more})).To(Succeed())
		Expect(f.starts()).To(HaveLen(3))
		Expect(c.Now()).To(BeNumerically(">=", time.Hour))
	})

	It("aborts the running move when interrupted and returns after its MigrationDone", func() {
		newBackend(time.Minute) // no move ends by itself within the spec
		cfg := config()
		p := threeMoves()
		p.Limits = plan.Limits{MaxParallel: 1}
		var last atomic.Value
		done := run(ctx, newCore(cfg), f, []cluster.Event{scheduler.PlanSubmitted{Plan: p}}, driver.Options{
			Journal: buf,
			OnEvent: func(ev cluster.Event) { last.Store(fmt.Sprintf("%T", ev)) },
		})
		Eventually(f.started).Should(Receive(Equal(1)))
		cancel()
		var err error
		Eventually(done, 2*time.Second).Should(Receive(&err))
		Expect(err).To(MatchError(context.Canceled))
		Expect(last.Load()).To(Equal("cluster.MigrationDone"), "it waited for the abort's answer")

		Expect(f.starts()).To(HaveLen(1))
		w := f.snapshot()
		for _, v := range w.VMs {
			Expect(v.Host).To(Equal("h1"), v.Name)
			Expect(v.Migrating).To(BeFalse(), v.Name)
		}
		rs := records(buf)
		Expect(recordsOf(rs, scheduler.RecLimit)).To(ConsistOf(SatisfyAll(HaveField("ID", 1),
			HaveField("Action", cluster.LimitAbort), HaveField("Reason", "operator: interrupted"))))
		Expect(recordsOf(rs, scheduler.RecCancel)).To(HaveLen(2))
		Expect(recordsOf(rs, scheduler.RecDone)).To(ConsistOf(SatisfyAll(HaveField("ID", 1),
			HaveField("Outcome", cluster.OutcomeAborted))))

		By("restoring: the aborted and cancelled moves do not run again")
		h, err := schedtest.RestoreHarness(cfg, time.Minute, rs, w)
		Expect(err).NotTo(HaveOccurred())
		Expect(h.Started()).To(BeEmpty())
		Expect(h.Core.Idle()).To(BeTrue())

		By("resubmitting the plan after the restore runs it in full")
		ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel2()
		c, err := scheduler.Restore(cfg, time.Minute, rs)
		Expect(err).NotTo(HaveOccurred())
		f.delay = 0 // the fake reads it only when a migration starts
		Expect(driver.Run(ctx2, c, f, []cluster.Event{scheduler.PlanSubmitted{Plan: p}}, driver.Options{Journal: buf})).To(Succeed())
		Expect(f.snapshot().VM("v3").Host).To(Equal("h4"))
	})

	It("gives up on aborts after the grace period", func() {
		newBackend(time.Minute)
		f.deaf = true
		done := run(ctx, newCore(config()), f, []cluster.Event{scheduler.PlanSubmitted{Plan: threeMoves()}},
			driver.Options{Journal: buf, AbortGrace: 50 * time.Millisecond})
		Eventually(f.started).Should(Receive())
		cancel()
		var err error
		Eventually(done, 2*time.Second).Should(Receive(&err))
		Expect(err).To(MatchError(driver.ErrAbortGrace))
		Expect(err).To(MatchError(context.Canceled))
		Expect(err.Error()).To(ContainSubstring("1 migrations still running"))
	})

	It("fires the Core's timers: a stalled migration hits the progress timeout and is aborted", func() {
		newBackend(time.Minute)
		f.stuck["v1"] = true
		cfg := config()
		cfg.ProgressTimeout = 50 * time.Millisecond
		p := &plan.Plan{Moves: []plan.Move{mv(1, "v1", "h1", "h2")}}
		start := time.Now()
		err := driver.Run(ctx, newCore(cfg), f, []cluster.Event{scheduler.PlanSubmitted{Plan: p}}, driver.Options{Journal: buf})
		Expect(err).NotTo(HaveOccurred())
		Expect(time.Since(start)).To(BeNumerically(">=", 50*time.Millisecond))
		rs := records(buf)
		Expect(recordsOf(rs, scheduler.RecLimit)).To(ConsistOf(SatisfyAll(HaveField("ID", 1),
			HaveField("Action", cluster.LimitAbort), HaveField("Reason", "progress-timeout"))))
		Expect(recordsOf(rs, scheduler.RecLimit)[0].At).To(BeNumerically(">=", 50*time.Millisecond))
		Expect(recordsOf(rs, scheduler.RecDone)).To(ConsistOf(HaveField("Outcome", cluster.OutcomeAborted)))
		Expect(f.snapshot().VM("v1").Host).To(Equal("h1"))
	})

	It("maps the injected clock onto the Core's time", func() {
		newBackend(0)
		var ticks atomic.Int64
		epoch := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { return epoch.Add(time.Duration(ticks.Add(1)) * time.Second) }
		p := &plan.Plan{Moves: []plan.Move{mv(1, "v1", "h1", "h2")}}
		Expect(driver.Run(ctx, newCore(config()), f, []cluster.Event{scheduler.PlanSubmitted{Plan: p}},
			driver.Options{Journal: buf, Clock: clock})).To(Succeed())
		rs := records(buf)
		Expect(rs[0].At).To(BeNumerically(">=", time.Second))
		Expect(rs[len(rs)-1].At).To(BeNumerically("<", time.Duration(ticks.Load())*time.Second))
	})

	Describe("snapshots", func() {
		It("retries a failed snapshot with backoff", func() {
			newBackend(0)
			f.snapFails = 2
			p := &plan.Plan{Moves: []plan.Move{mv(1, "v1", "h1", "h2")}}
			Expect(driver.Run(ctx, newCore(config()), f, []cluster.Event{scheduler.PlanSubmitted{Plan: p}},
				driver.Options{Journal: buf, SnapshotBackoff: time.Millisecond})).To(Succeed())
			Expect(f.snapshot().VM("v1").Host).To(Equal("h2"))
		})

		It("gives up after the retries with the backend's error", func() {
			newBackend(0)
			f.snapFails = 100
			err := driver.Run(ctx, newCore(config()), f, []cluster.Event{scheduler.PlanSubmitted{Plan: threeMoves()}},
				driver.Options{Journal: buf, SnapshotRetries: 2, SnapshotBackoff: time.Millisecond})
			Expect(err).To(MatchError(cluster.ErrHostUnreachable))
			Expect(err.Error()).To(ContainSubstring("failed 3 times"))
			Expect(f.starts()).To(BeEmpty())
		})

		It("takes none once interrupted", func() {
			newBackend(0)
			cancel()
			err := driver.Run(ctx, newCore(config()), f, []cluster.Event{scheduler.PlanSubmitted{Plan: threeMoves()}},
				driver.Options{Journal: buf})
			Expect(err).To(MatchError(context.Canceled))
			Expect(f.snaps).To(BeZero())
			Expect(f.starts()).To(BeEmpty())
		})
	})

	It("stops before any command when the journal cannot be written", func() {
		newBackend(0)
		err := driver.Run(ctx, newCore(config()), f, []cluster.Event{cluster.MigrationRequested{VM: "v1", Host: "h2"}},
			driver.Options{Journal: failingWriter{}})
		Expect(err).To(MatchError(ContainSubstring("disk full")))
		Expect(f.starts()).To(BeEmpty())
	})

	It("returns at once when there is nothing to do", func() {
		newBackend(0)
		Expect(driver.Run(ctx, newCore(config()), f, nil, driver.Options{})).To(Succeed())
	})
})

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

var _ = Describe("ReadJournal", func() {
	const good = `{"at":0,"kind":"plan","policy":"apply"}
{"at":1,"kind":"refuse","vm":"v9","outcome":"rejected","reason":"unknown vm"}
`
	It("reads one record a line", func() {
		rs, err := driver.ReadJournal(strings.NewReader(good + "\n"))
		Expect(err).NotTo(HaveOccurred())
		Expect(rs).To(Equal([]scheduler.Record{{Kind: "plan", Policy: "apply"}, {At: 1, Kind: "refuse", VM: "v9", Outcome: "rejected", Reason: "unknown vm"}}))
	})

	It("drops a last line cut short by a crash", func() {
		rs, err := driver.ReadJournal(strings.NewReader(good + `{"at":2,"kind":"do`))
		Expect(err).NotTo(HaveOccurred())
		Expect(rs).To(HaveLen(2))
	})

	It("keeps a whole last record without its newline", func() {
		rs, err := driver.ReadJournal(strings.NewReader(good + `{"at":2,"kind":"done","id":1}`))
		Expect(err).NotTo(HaveOccurred())
		Expect(rs).To(HaveLen(3))
	})

	It("names a bad line that is not the last", func() {
		_, err := driver.ReadJournal(strings.NewReader(good + "{oops\n" + good))
		Expect(err).To(MatchError(ContainSubstring("journal line 3")))
	})

	It("reads what Run writes, and OpenJournal resumes a crashed file on a line of its own", func() {
		path := filepath.Join(GinkgoT().TempDir(), "journal.jsonl")
		Expect(os.WriteFile(path, []byte(good+`{"at":2,"ki`), 0o644)).To(Succeed())
		fh, rs, err := driver.OpenJournal(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(rs).To(HaveLen(2))

		f := newFake(fourHosts(), 0)
		DeferCleanup(f.wait)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w := bufio.NewWriter(fh)
		c, err := scheduler.Restore(config(), 0, rs)
		Expect(err).NotTo(HaveOccurred())
		Expect(driver.Run(ctx, c, f, []cluster.Event{cluster.MigrationRequested{VM: "v2", Host: "h3"}},
			driver.Options{Journal: w})).To(Succeed())
		Expect(fh.Close()).To(Succeed())

		b, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		all, err := driver.ReadJournal(bytes.NewReader(b))
		Expect(err).NotTo(HaveOccurred())
		Expect(all[:2]).To(Equal(rs))
		Expect(recordsOf(all, scheduler.RecDone)).To(ConsistOf(HaveField("Outcome", cluster.OutcomeCompleted)))
		Expect(string(b)).NotTo(ContainSubstring(`"ki`+"\n"), "the cut line is gone")
	})
})

// newCore is scheduler.New for a configuration the test knows is valid.
func newCore(cfg scheduler.Config) *scheduler.Core {
	c, err := scheduler.New(cfg)
	Expect(err).NotTo(HaveOccurred())
	return c
}

var _ = Describe("LockJournal", func() {
	It("lets one run hold a journal and refuses a second until the first lets go", func() {
		path := filepath.Join(GinkgoT().TempDir(), "plan.json.journal.jsonl")
		unlock, err := driver.LockJournal(path)
		Expect(err).NotTo(HaveOccurred())
		_, err = driver.LockJournal(path)
		Expect(err).To(MatchError(driver.ErrJournalLocked))
		Expect(unlock()).To(Succeed())
		again, err := driver.LockJournal(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(again()).To(Succeed())
	})
})
