package scheduler

import (
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Env is the world a Node carries a Core's decisions out in: the
// simulator, real hosts through a backend, a test's fake world, or nothing
// at all (a dry run). Its methods run on the Node's caller's goroutine.
type Env interface {
	// Persist makes records durable. It runs before any command of the
	// same Ready, so a crash never leaves a started migration unrecorded.
	Persist(recs []Record) error
	// Execute carries out commands in order. Events they cause may be
	// handed back at once with Node.Push (the Node is carrying out a Ready
	// and steps them before the next).
	Execute(cmds []cluster.Command) error
	// SetTimer asks for Step(TimerFired{Key}) at t.At.
	SetTimer(t Timer)
	// Snapshot answers a Ready's NeedSnapshot. Events that happened before
	// the snapshot was taken must be pushed first, so that the Core hears
	// of a move's end before a snapshot that shows it. A nil snapshot with
	// a nil error answers nothing this time (a dry run, a driver that is
	// stopping and wants no policy to start anything).
	Snapshot() (*cluster.Snapshot, error)
}

// Node is the one loop that drives a Core, the loop of the package
// comment, as etcd raft's node drives its RawNode: the simulator, the
// wall-clock driver, the test harness and the dry run all run their Core
// through it and differ only in their Env and their clock. It is not safe
// for concurrent use; a driver with goroutines of its own hands their
// events over on the Node's goroutine.
type Node struct {
	core  *Core
	env   Env
	now   func() time.Duration
	inbox []inboxEvent
	busy  bool
	// OnEvent sees each event right before the Core is stepped with it;
	// OnReady sees each Ready before it is carried out. Neither may keep
	// or change what it is given.
	OnEvent func(ev cluster.Event)
	OnReady func(rd Ready)
}

type inboxEvent struct {
	ev cluster.Event
	at time.Duration // with atSet: the event's own time, not now()
	// atSet: the event comes with its own time (a timer the driver fired).
	atSet bool
}

// NewNode returns a Node over core; now is the Core's clock (virtual time
// in the simulator, the wall clock's distance from the start on real
// hosts).
func NewNode(core *Core, env Env, now func() time.Duration) *Node {
	return &Node{core: core, env: env, now: now}
}

// Core is the Core the Node drives.
func (n *Node) Core() *Core { return n.core }

// Push queues ev for the next Run (or for the Run under way, when called
// from inside an Env method). Events pushed together are all stepped
// before the Core is asked what to do.
func (n *Node) Push(ev cluster.Event) { n.inbox = append(n.inbox, inboxEvent{ev: ev}) }

// PushAt is Push for an event with its own time: a timer due at at that
// the driver's clock says has not quite come yet.
func (n *Node) PushAt(at time.Duration, ev cluster.Event) {
	n.inbox = append(n.inbox, inboxEvent{ev: ev, at: at, atSet: true})
}

// Step pushes ev and runs.
func (n *Node) Step(ev cluster.Event) error {
	n.Push(ev)
	return n.Run()
}

// Run steps every queued event, then carries out Readies until the Core
// has none and nothing is queued: for each Ready, (a) Persist its journal,
// (b) Execute its commands, (c) set its timers, (d) Advance, (e) answer
// NeedSnapshot. The first error stops it; the Core's state is as far as it
// got, and so is the journal. Called from inside an Env method it returns
// at once: the Run under way takes what was pushed.
func (n *Node) Run() error {
	if n.busy {
		return nil
	}
	n.busy = true
	defer func() { n.busy = false }()
	for {
		if len(n.inbox) > 0 {
			q := n.inbox[0]
			// Clear the slot: the backing array outlives the slice's
			// front, and a SnapshotTaken left in it would keep a whole
			// snapshot alive (at 200,000 VMs, dozens of them: gigabytes).
			n.inbox[0] = inboxEvent{}
			n.inbox = n.inbox[1:]
			if n.OnEvent != nil {
				n.OnEvent(q.ev)
			}
			at := n.now()
			if q.atSet {
				at = max(at, q.at)
			}
			if err := n.core.Step(at, q.ev); err != nil {
				return err
			}
			continue
		}
		if !n.core.HasReady() {
			return nil
		}
		rd := n.core.Ready()
		if n.OnReady != nil {
			n.OnReady(rd)
		}
		if len(rd.Journal) > 0 {
			if err := n.env.Persist(rd.Journal); err != nil {
				return err
			}
		}
		if len(rd.Commands) > 0 {
			if err := n.env.Execute(rd.Commands); err != nil {
				return err
			}
		}
		for _, t := range rd.Timers {
			n.env.SetTimer(t)
		}
		n.core.Advance(rd)
		if !rd.NeedSnapshot {
			continue
		}
		snap, err := n.env.Snapshot()
		if err != nil {
			return err
		}
		if snap != nil {
			n.Push(cluster.SnapshotTaken{Snap: snap})
		}
	}
}
