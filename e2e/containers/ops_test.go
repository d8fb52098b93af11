package containers_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/calibrate/grid"
	"github.com/droverlab/drover/e2e/containerlab"
	"github.com/droverlab/drover/scheduler/cluster"
)

// The unsecured pair, h1 and h2, carries the policy specs: specs run one
// at a time, each boots its own guests after clearing them from every host.
var _ = Describe("maintenance evacuation on container hosts", Label("evacuation"), func() {
	It("drains a host with drover plan and apply: every guest on the other host once, same MAC, memory intact", func(ctx SpecContext) {
		gs := []guest{{name: "ct-ev1", mac: "52:54:00:ee:03:01", dirty: 2 << 20}, {name: "ct-ev2", mac: "52:54:00:ee:03:02", dirty: 4 << 20},
			{name: "ct-ev3", mac: "52:54:00:ee:03:03"}}
		was := bootAll("h1", gs)
		// Only the unsecured pair: the plan has nowhere else to go.
		inv := inventory("")
		plan := filepath.Join(GinkgoT().TempDir(), "plan.json")
		out, code := droverCmd(ctx, "plan", "--inventory", inv, "--policy", "evacuate", "--hosts", "h1", "--out", plan)
		Expect(code).To(BeZero(), out)
		Expect(out).To(ContainSubstring("evacuate: 3 moves"))
		out, code = droverCmd(ctx, "apply", plan, "--inventory", inv, "--yes", "--out", filepath.Join(GinkgoT().TempDir(), "run"))
		Expect(code).To(BeZero(), out)
		for _, g := range gs {
			expectIntact("h2", g.name, was[g.name])
			expectOnce(g.name, "h2")
		}
	}, SpecTimeout(6*time.Minute))
})

var _ = Describe("disaster avoidance on container hosts", Label("disaster"), func() {
	It("evacuates a warned zone before its deadline, then the zone's hosts die: no guest lost", func(ctx SpecContext) {
		// z1 is h1, h3, h5; the unsecured guest can only go to h2.
		g := guest{name: "ct-dis1", mac: "52:54:00:ee:04:01", dirty: 4 << 20}
		boot(g, "h1")
		was, _ := beat("h1", g.name)
		inv := inventory("")
		plan := filepath.Join(GinkgoT().TempDir(), "plan.json")
		out, code := droverCmd(ctx, "plan", "--inventory", inv, "--policy", "disaster", "--zone", "z1", "--deadline", "5m", "--out", plan)
		Expect(code).To(BeZero(), out)
		start := time.Now()
		out, code = droverCmd(ctx, "apply", plan, "--inventory", inv, "--yes")
		Expect(code).To(BeZero(), out)
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Minute), "the evacuation missed its deadline")
		expectOnce(g.name, "h2")
		// The zone fails: its unsecured host dies (and comes back for the
		// specs after this one).
		Expect(lab.Kill(ctx, "h1")).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(lab.Restart(ctx, "h1")).To(Succeed()) }, NodeTimeout(2*time.Minute))
		expectIntact("h2", g.name, was)
		expectOnce(g.name, "h2")
	}, SpecTimeout(6*time.Minute))
})

// Faults mid-migration: after each, every guest runs exactly once, with
// its memory intact. A guest capped at 2 MiB/s with 160 MiB to send is
// still migrating when the fault comes.
var _ = Describe("faults in the middle of a migration", Label("faults"), func() {
	slow := cluster.MigrationOptions{Bandwidth: 2 << 20}

	startSlow := func(name, mac string) (*events, grid.Heartbeat) {
		g := guest{name: name, mac: mac, dirty: 1 << 20}
		boot(g, "h1")
		was, _ := beat("h1", g.name)
		b := backendFor("migration: {progress_timeout: 40s}\n")
		ev := subscribe(b)
		migrate(b, 1, g.name, "h1", "h2", cluster.TransportTCP, slow)
		ev.progressed(1, 4<<20, time.Minute)
		return ev, was
	}

	It("a destination container killed: the guest runs on on its source", func(ctx SpecContext) {
		ev, was := startSlow("ct-crash1", "52:54:00:ee:05:01")
		Expect(lab.Kill(ctx, "h2")).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(lab.Restart(ctx, "h2")).To(Succeed()) }, NodeTimeout(2*time.Minute))
		d := ev.done(1, 2*time.Minute)
		Expect(d.Outcome).NotTo(Equal(cluster.OutcomeCompleted))
		GinkgoWriter.Printf("destination killed: %s %s\n", d.Outcome, d.Reason)
		expectIntact("h1", "ct-crash1", was)
		expectOnce("ct-crash1", "h1")
	}, SpecTimeout(5*time.Minute))

	// A destination that stops answering without dying: the source's
	// libvirtd gives the migration up; once the fault is undone the guest
	// runs on its source only.
	DescribeTable("a destination that stops answering: the guest runs on on its source, and only there once it is back",
		func(ctx SpecContext, name, mac string, fault, undo func(*containerlab.Lab, context.Context, string) error) {
			ev, was := startSlow(name, mac)
			Expect(fault(lab, ctx, "h2")).To(Succeed())
			undone := false
			DeferCleanup(func(ctx SpecContext) {
				if !undone {
					Expect(undo(lab, ctx, "h2")).To(Succeed())
				}
			})
			d := ev.done(1, 3*time.Minute)
			Expect(d.Outcome).NotTo(Equal(cluster.OutcomeCompleted))
			GinkgoWriter.Printf("%s: %s %s\n", CurrentSpecReport().LeafNodeText, d.Outcome, d.Reason)
			Expect(undo(lab, ctx, "h2")).To(Succeed())
			undone = true
			expectIntact("h1", name, was)
			Eventually(func() []string { return where(name) }).WithTimeout(time.Minute).Should(Equal([]string{"h1"}))
		},
		// Method expressions: the lab exists only once BeforeSuite ran.
		Entry("cut off the network", "ct-part1", "52:54:00:ee:05:02", (*containerlab.Lab).Disconnect, (*containerlab.Lab).Reconnect, SpecTimeout(6*time.Minute)),
		Entry("frozen", "ct-pause1", "52:54:00:ee:05:03", (*containerlab.Lab).Pause, (*containerlab.Lab).Resume, SpecTimeout(6*time.Minute)),
	)

	It("drover killed with SIGKILL mid-plan, then resumed from its journal: every guest on its destination once", func(ctx SpecContext) {
		gs := []guest{{name: "ct-kill1", mac: "52:54:00:ee:06:01", dirty: 1 << 20}, {name: "ct-kill2", mac: "52:54:00:ee:06:02", dirty: 1 << 20}}
		was := bootAll("h1", gs)
		inv := inventory("migration: {bandwidth: 8MiB/s, max_parallel: 1}\n")
		plan := filepath.Join(GinkgoT().TempDir(), "plan.json")
		out, code := droverCmd(ctx, "plan", "--inventory", inv, "--policy", "evacuate", "--hosts", "h1", "--out", plan)
		Expect(code).To(BeZero(), out)
		cmd, buf := droverStart(ctx, "apply", plan, "--inventory", inv, "--yes")
		Eventually(buf.String).WithTimeout(2 * time.Minute).Should(MatchRegexp(`(?m)^round`))
		Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		_ = cmd.Wait()
		GinkgoWriter.Printf("killed apply:\n%s", buf.String())
		out, code = droverCmd(ctx, "apply", plan, "--inventory", inv, "--resume", "--yes")
		Expect(code).To(BeZero(), out)
		for _, g := range gs {
			expectIntact("h2", g.name, was[g.name])
			expectOnce(g.name, "h2")
		}
	}, SpecTimeout(8*time.Minute))
})

// syncBuffer is a bytes.Buffer safe for a writing process and a reading spec.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
