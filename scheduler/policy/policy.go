// Package policy holds what every policy shares: its input, the settings it
// obeys, and a Builder that turns placements into a plan with dependencies.
// The policies themselves live one per folder below.
package policy

import (
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/place"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/precopy"
)

// Settings are the rules every policy obeys.
type Settings struct {
	TLS        cluster.TLSMode
	Overcommit float64
	// Migration is the model configuration used to predict moves.
	Migration precopy.Config
	// Bandwidth caps each migration (bytes/s, 0: none).
	Bandwidth float64
	// Limits bound concurrent migrations of the plans policies make.
	Limits  plan.Limits
	Explain bool
}

// Input is what a policy plans from. Policies read it and never change it.
type Input struct {
	Snap *cluster.Snapshot
	Now  time.Duration
	Settings
	// Drain lists hosts to empty (maintenance).
	Drain []string
	// Zone is warned to fail at Deadline (disaster avoidance).
	Zone     string
	Deadline time.Duration
	// LastMoved is when each VM last migrated, for hysteresis.
	LastMoved map[string]time.Duration
	// Pending are moves already queued or running: their VMs are busy
	// and their destinations' room is taken.
	Pending []plan.Move
}

// Policy proposes a plan. An empty plan (no moves) is a valid answer; an
// error is a fault, not a refusal.
type Policy interface {
	Name() string
	Plan(in *Input) (*plan.Plan, error)
}

// Builder accumulates moves on a what-if state. A move into a host that
// only has room once VMs leave it depends on those departures.
type Builder struct {
	Placer *place.Placer
	St     *cluster.State
	in     *Input
	moves  []plan.Move
	// arrived is memory planned into each host, departures the moves out.
	arrived    []int64
	departures [][]int
	base       []int64
	arrivedCPU []int
	baseCPU    []int
	moved      map[int]int // vm -> index of its move
	// dependents lists, for each move's index, the indices of the moves
	// waiting for it, in the order they were added, so undo need not scan
	// every move for each one it drops (thousands of drops × ~90,000
	// moves when a disaster plan trims its late moves).
	dependents [][]int
	timer      *plan.Timer
	prevTimer  *plan.Timer // see NewBuilderAfter
}

// NewBuilder starts a plan over in.Snap.
func NewBuilder(in *Input) *Builder { return NewBuilderAfter(nil, in) }

// NewBuilderAfter is NewBuilder for a policy that planned with prev before
// (nil: none) and is done with it: the new builder takes over prev's
// arrays and the network its plans were timed on (cluster.NewStateFrom,
// plan.NewTimerLike), which a balancing run every five minutes on 10,000
// hosts otherwise made again each time. prev is not to be used again.
func NewBuilderAfter(prev *Builder, in *Input) *Builder {
	var st *cluster.State
	var timer *plan.Timer
	if prev != nil {
		st, timer = prev.St, prev.timer
		if timer == nil {
			timer = prev.prevTimer
		}
	}
	st = cluster.NewStateFrom(st, in.Snap)
	for _, m := range in.Pending {
		if vm, dst := st.VMIndex(m.VM), st.HostIndex(m.Destination); vm >= 0 && dst >= 0 {
			st.Move(vm, dst)
		}
	}
	p := place.New(st, in.TLS, in.Overcommit)
	p.Explain = in.Explain
	b := &Builder{
		Placer: p, St: st, in: in,
		arrived:    make([]int64, len(in.Snap.Hosts)),
		departures: make([][]int, len(in.Snap.Hosts)),
		base:       slices.Clone(st.Memory),
		arrivedCPU: make([]int, len(in.Snap.Hosts)),
		baseCPU:    slices.Clone(st.VCPUs),
		moved:      map[int]int{},
		prevTimer:  timer,
	}
	return b
}

// Add plans vm to dst and returns the move. Moving a VM a second time
// replaces its first move.
func (b *Builder) Add(vm, dst int, reason string) *plan.Move {
	st := b.St
	v := &st.Snap.VMs[vm]
	src := st.Origin[vm] // v.Host's index, without the by-name map
	if i, ok := b.moved[vm]; ok {
		b.undo(i)
	}
	st.Move(vm, dst)
	b.Placer.Touched(dst)
	b.Placer.Touched(src)
	m := plan.Move{
		ID: len(b.moves) + 1, VM: v.Name, Source: v.Host, Destination: st.Snap.Hosts[dst].Name,
		Transport: b.Placer.Transport(vm, dst), Bandwidth: b.in.Bandwidth, Priority: v.Priority, Reason: reason,
	}
	// Room without any departure? Otherwise wait for enough of them, in
	// memory and in vCPUs alike (the capacity filter checks both).
	h := &st.Snap.Hosts[dst]
	oc := b.in.Overcommit
	if oc <= 0 {
		oc = 1
	}
	need := b.base[dst] + b.arrived[dst] + v.Memory - h.Memory
	needCPU := float64(b.baseCPU[dst]+b.arrivedCPU[dst]+v.VCPUs) - float64(h.CPUs)*oc
	for _, d := range b.departures[dst] {
		if need <= 0 && needCPU <= 1e-9 {
			break
		}
		dm := &b.moves[d]
		if dm.ID == 0 {
			continue
		}
		m.After = append(m.After, dm.ID)
		b.dependents[d] = append(b.dependents[d], len(b.moves))
		dv := st.Snap.VM(dm.VM)
		need -= dv.Memory
		needCPU -= float64(dv.VCPUs)
	}
	b.arrived[dst] += v.Memory
	b.arrivedCPU[dst] += v.VCPUs
	if src >= 0 {
		b.departures[src] = append(b.departures[src], len(b.moves))
	}
	b.moved[vm] = len(b.moves)
	b.moves = append(b.moves, m)
	b.dependents = append(b.dependents, nil)
	return &b.moves[len(b.moves)-1]
}

// undo drops a planned move (its slot stays, with ID 0, until Plan).
//
// Moves that waited for it lose the room it would have freed, so they are
// dropped too, and theirs after them.
func (b *Builder) undo(i int) {
	m := &b.moves[i]
	if m.ID == 0 {
		return
	}
	vm := b.St.VMIndex(m.VM)
	dst := b.St.HostIndex(m.Destination)
	b.arrived[dst] -= b.St.Snap.VMs[vm].Memory
	b.arrivedCPU[dst] -= b.St.Snap.VMs[vm].VCPUs
	b.St.Move(vm, b.St.HostIndex(m.Source))
	b.Placer.Touched(dst)
	b.Placer.Touched(b.St.HostIndex(m.Source))
	delete(b.moved, vm)
	m.ID = 0
	for _, j := range b.dependents[i] {
		if b.moves[j].ID != 0 {
			b.undo(j)
		}
	}
}

// Remove drops the move of vm, if any.
func (b *Builder) Remove(vm int) {
	if i, ok := b.moved[vm]; ok {
		b.undo(i)
	}
}

// Moves returns the live moves in the order they were added, renumbered
// from 1 with dependencies following the renumbering.
func (b *Builder) Moves() []plan.Move {
	live := map[int]bool{}
	n := 0
	for i := range b.moves {
		if b.moves[i].ID != 0 {
			n++
		}
	}
	// Sized up front: a disaster plan's ~90,000 moves regrew it a dozen
	// times per call. Nil when empty, as before: a plan's JSON says null.
	var out []plan.Move
	if n > 0 {
		out = make([]plan.Move, 0, n)
	}
	for _, m := range b.moves {
		if m.ID != 0 {
			live[m.ID] = true
			out = append(out, m)
		}
	}
	for i := range out {
		var after []int
		for _, a := range out[i].After {
			if live[a] {
				after = append(after, a)
			}
		}
		out[i].After = after
	}
	Renumber(out)
	return out
}

// Finish assembles and times the plan.
// Callers merge their defaults with the input's limits (in.Limits.Or).
func (b *Builder) Finish(name string, limits plan.Limits, order func([]plan.Move)) (*plan.Plan, error) {
	p, _, err := b.FinishBy(name, limits, order, -1)
	return p, err
}

// FinishBy is Finish for a plan wanted only if every move ends within
// budget of now (negative: no budget): false means a move would end later
// and the plan, timed only in part, is to be thrown away.
func (b *Builder) FinishBy(name string, limits plan.Limits, order func([]plan.Move), budget time.Duration) (*plan.Plan, bool, error) {
	p := &plan.Plan{Policy: name, At: b.in.Now, Limits: limits, Moves: b.Moves()}
	if order != nil {
		order(p.Moves)
		Renumber(p.Moves)
	}
	p.Rejections = b.Placer.Rejections
	t, err := b.Timer()
	if err != nil {
		return nil, false, err
	}
	done, err := t.ScheduleBy(p, budget)
	if err != nil {
		return nil, false, err
	}
	return p, done, nil
}

// Timer is the plan timer of the input's snapshot, kept between calls so
// its routes are computed once.
func (b *Builder) Timer() (*plan.Timer, error) {
	if b.timer == nil {
		t, err := plan.NewTimerLike(b.prevTimer, b.in.Snap, b.in.Migration)
		if err != nil {
			return nil, err
		}
		b.timer = t
	}
	return b.timer, nil
}

// Renumber gives moves IDs 1..n in their current order, keeping
// dependencies pointing at the same moves.
func Renumber(moves []plan.Move) {
	renum := make(map[int]int, len(moves))
	for i := range moves {
		renum[moves[i].ID] = i + 1
	}
	for i := range moves {
		moves[i].ID = i + 1
		for j, a := range moves[i].After {
			moves[i].After[j] = renum[a]
		}
	}
}

// SourceLimits are the limits a policy that drains hosts starts from: as
// many migrations per source host as it has NIC ports, since one stream
// rides one port, plus one when overlap is wanted so that one migration's
// setup and switch-over hide behind the others' transfers; two into each
// destination. Overlap shortens a drain; without it migrations finish one
// after another instead of together, which saves more before a deadline.
func SourceLimits(st *cluster.State, sources map[string]bool, overlap bool) plan.Limits {
	nics := 1
	for h := range st.Snap.Hosts {
		if sources[st.Snap.Hosts[h].Name] {
			nics = max(nics, st.Snap.Hosts[h].NICs)
		}
	}
	if overlap {
		nics++
	}
	return plan.Limits{MaxPerHostOut: nics, MaxPerHostIn: 2}
}

// VMsOn lists the VM indexes on the named hosts, in snapshot order,
// leaving out VMs already migrating (they are on their way elsewhere).
func VMsOn(st *cluster.State, hosts map[string]bool) []int {
	var out []int
	for i := range st.Snap.VMs {
		if v := &st.Snap.VMs[i]; hosts[v.Host] && !v.Migrating {
			out = append(out, i)
		}
	}
	return out
}
