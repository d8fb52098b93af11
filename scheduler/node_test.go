package scheduler_test

import (
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
)

// recEnv records what the Node asks of its Env, in order, and can answer a
// start with the migration's end at once (a world that acts synchronously,
// as the simulator does).
type recEnv struct {
	node    *scheduler.Node
	log     []string
	snap    *cluster.Snapshot
	finish  bool
	failOn  string
	persist int
}

func (e *recEnv) Persist(recs []scheduler.Record) error {
	for _, r := range recs {
		e.log = append(e.log, "journal "+r.Kind)
	}
	e.persist++
	if e.failOn == "persist" {
		return errors.New("disk full")
	}
	return nil
}

func (e *recEnv) Execute(cmds []cluster.Command) error {
	for _, c := range cmds {
		if s, ok := c.(cluster.StartMigration); ok {
			e.log = append(e.log, "start "+s.VM)
			if e.finish {
				e.node.Push(cluster.MigrationDone{ID: s.ID, VM: s.VM, Outcome: cluster.OutcomeCompleted})
			}
		}
	}
	return nil
}

func (e *recEnv) SetTimer(t scheduler.Timer) { e.log = append(e.log, "timer "+t.Key) }

func (e *recEnv) Snapshot() (*cluster.Snapshot, error) {
	e.log = append(e.log, "snapshot")
	return e.snap, nil
}

var _ = Describe("Node, the one driver loop", func() {
	newNode := func(env *recEnv) *scheduler.Node {
		cfg := config()
		cfg.Evacuate = fixed("drain", plan.Limits{}, mv(1, "v1", "h1", "h2"))
		core, err := scheduler.New(cfg)
		Expect(err).NotTo(HaveOccurred())
		n := scheduler.NewNode(core, env, func() time.Duration { return time.Minute })
		env.node = n
		return n
	}

	It("persists each Ready's journal before its commands and answers snapshots", func() {
		env := &recEnv{snap: world(hostsNamed("h1", "h2"), vmsOn("h1", "v", 1))}
		n := newNode(env)
		Expect(n.Step(cluster.MaintenanceRequested{Hosts: []string{"h1"}})).To(Succeed())
		Expect(env.log).To(HaveExactElements("journal drain", "snapshot", "journal plan", "journal move", "journal start", "start v1"))
		Expect(n.Core().Running()).To(HaveLen(1))
	})

	It("steps events the Env pushes while a Ready is carried out before the next Ready", func() {
		env := &recEnv{snap: world(hostsNamed("h1", "h2"), vmsOn("h1", "v", 1)), finish: true}
		n := newNode(env)
		Expect(n.Step(cluster.MaintenanceRequested{Hosts: []string{"h1"}})).To(Succeed())
		Expect(n.Core().Running()).To(BeEmpty(), "the move's end came back from Execute and was stepped")
		Expect(env.log).To(ContainElement("journal done"))
	})

	It("leaves a request waiting when the Env answers no snapshot (a dry run, a stopping driver)", func() {
		env := &recEnv{}
		n := newNode(env)
		Expect(n.Step(cluster.MaintenanceRequested{Hosts: []string{"h1"}})).To(Succeed())
		Expect(env.log).To(HaveExactElements("journal drain", "snapshot"))
		Expect(n.Core().Idle()).To(BeFalse(), "the drain waits for a snapshot")
	})

	It("stops at the first Env error, before that Ready's commands", func() {
		env := &recEnv{snap: world(hostsNamed("h1", "h2"), vmsOn("h1", "v", 1)), failOn: "persist"}
		n := newNode(env)
		Expect(n.Step(cluster.MaintenanceRequested{Hosts: []string{"h1"}})).To(MatchError("disk full"))
		Expect(env.log).NotTo(ContainElement("start v1"))
	})

	It("steps events pushed together before asking the Core what to do", func() {
		env := &recEnv{snap: world(hostsNamed("h1", "h2", "h3"), vmsOn("h1", "v", 1))}
		n := newNode(env)
		n.Push(cluster.MaintenanceRequested{Hosts: []string{"h1"}})
		n.Push(cluster.MaintenanceRequested{Hosts: []string{"h3"}})
		Expect(n.Run()).To(Succeed())
		Expect(env.log[:3]).To(Equal([]string{"journal drain", "journal drain", "snapshot"}))
		Expect(env.log).To(HaveLen(7), "one snapshot and one plan for both requests: %v", env.log)
	})
})
