package plan

import (
	"time"

	"github.com/droverlab/drover/scheduler/engine"
	"github.com/droverlab/drover/scheduler/network"
	"github.com/droverlab/drover/scheduler/precopy"
)

// Streams steps migrations that share a network, as the simulator does: a
// migration's flow joins its links only once its setup is over, its cap is
// lifted for the final copy (QEMU lifts its rate limit), and it leaves the
// links for libvirt's confirm; flows share links max-min fairly. A
// migration is advanced only when its own state or its bandwidth changes,
// each one's next change held in one engine slot, so many migrations cost
// what their events cost, not migrations × events.
//
// A plan's timing runs its moves on it, and so does calibrate for a batch
// of migrations started together on one link: the two predict a batch the
// same way because they are the same code.
type Streams struct {
	net    *network.Network
	eng    *engine.Engine
	runs   []*stream
	byFlow map[network.FlowID]*stream
	setup  []*stream // started, not yet on the network
}

type stream struct {
	slot    engine.Slot
	last    time.Duration
	done    bool
	st      *precopy.Stepper
	flow    network.FlowID
	hasFlow bool
	lifted  bool // the flow's cap is lifted for the final copy
	route   []network.LinkID
	cap     float64
	rate    float64
}

// NewStreams steps migrations on net from time 0. net must carry no flows:
// the Streams own every flow they add, and read every change net reports.
func NewStreams(net *network.Network) *Streams {
	return &Streams{net: net, eng: engine.New(0), byFlow: map[network.FlowID]*stream{}}
}

// Now is the time the Streams have reached.
func (s *Streams) Now() time.Duration { return s.eng.Now() }

// Start begins st's migration now along route, its pre-copy capped at cap
// bytes/s (0: none), and returns its index (0, 1, … in the order started).
// The Streams own st from then on; read it back with Stepper.
func (s *Streams) Start(st *precopy.Stepper, route []network.LinkID, cap float64) int {
	r := &stream{st: st, route: route, cap: cap, last: s.eng.Now()}
	i := len(s.runs)
	r.slot = s.eng.NewSlot(0, int32(i), 0)
	s.runs = append(s.runs, r)
	s.setup = append(s.setup, r)
	s.schedule(r)
	return i
}

// Stepper is the migration started with index i.
func (s *Streams) Stepper(i int) *precopy.Stepper { return s.runs[i].st }

// Ended reports whether migration i has been returned by Next.
func (s *Streams) Ended(i int) bool { return s.runs[i].done }

// Next runs until a migration ends and returns its index; its Stepper holds
// its result. A migration that would never converge at its whole cap, with
// no limit to end it, is aborted with precopy.ReasonNoConvergence, as
// precopy.Predict does. ok is false when no migration can ever end (every
// unfinished one is stalled for good, or none is left): Now is then when
// that became certain.
func (s *Streams) Next() (i int, ok bool) {
	for {
		s.settle()
		ev, ok := s.eng.Next(1<<62 - 1)
		if !ok {
			return -1, false
		}
		r := s.runs[ev.A]
		if r.done {
			continue
		}
		s.advance(r)
		if !r.st.Done() && r.st.Hopeless(r.cap) {
			// Not even the whole stream would make it converge, and no
			// limit will end it: the executor would run it for ever.
			r.st.Abort(precopy.ReasonNoConvergence)
		}
		if !r.st.Done() {
			s.schedule(r)
			continue
		}
		r.done = true
		if r.hasFlow {
			s.net.RemoveFlow(r.flow)
			delete(s.byFlow, r.flow)
		}
		return int(ev.A), true
	}
}

// schedule queues r's next state change at its current rate.
func (s *Streams) schedule(r *stream) {
	if r.st.Done() {
		s.eng.Set(r.slot, s.eng.Now())
		return
	}
	if d := r.st.Next(r.rate); d >= 0 {
		s.eng.Set(r.slot, s.eng.Now()+d)
	} else {
		s.eng.Clear(r.slot)
	}
}

// advance brings r's model up to now at the rate it had, and moves its
// flow as its phase asks.
func (s *Streams) advance(r *stream) {
	if dt := s.eng.Now() - r.last; dt > 0 {
		r.st.Advance(dt, r.rate)
	}
	r.last = s.eng.Now()
	if r.hasFlow && r.st.Phase() == precopy.PhaseFinishing {
		// libvirt's confirm sends nothing: the link is free for others.
		s.net.RemoveFlow(r.flow)
		delete(s.byFlow, r.flow)
		r.hasFlow, r.rate = false, 0
	}
	if ph := r.st.Phase(); r.hasFlow && !r.lifted && (ph == precopy.PhaseStopAndCopy || ph == precopy.PhasePostCopy) {
		// The final copy's cap is lifted, and it shares the path with the
		// others.
		s.net.RemoveFlow(r.flow)
		delete(s.byFlow, r.flow)
		r.flow = s.net.AddFlow(r.route, r.st.Config().LinkRate)
		s.byFlow[r.flow] = r
		r.rate, r.lifted = s.net.Rate(r.flow), true
	}
}

// settle opens the flows whose setup ended and reschedules every migration
// whose bandwidth moved, until nothing changes.
func (s *Streams) settle() {
	for {
		opened := false
		kept := s.setup[:0]
		for _, r := range s.setup {
			switch ph := r.st.Phase(); {
			case r.done || r.hasFlow || r.st.Done():
			case ph != precopy.PhaseSetup:
				// A migration still connecting holds no share of a link.
				if ph != precopy.PhaseFinishing {
					r.flow = s.net.AddFlow(r.route, r.cap)
					r.hasFlow = true
					s.byFlow[r.flow] = r
					opened = true
				}
			default:
				kept = append(kept, r)
			}
		}
		s.setup = kept
		changed := s.net.Changed()
		if !opened && len(changed) == 0 {
			return
		}
		for _, f := range changed {
			r, ok := s.byFlow[f]
			if !ok || r.done {
				continue
			}
			s.advance(r)
			// advance may have closed the flow or opened a new one.
			r.rate = 0
			if r.hasFlow {
				r.rate = s.net.Rate(r.flow)
			}
			s.schedule(r)
		}
	}
}

// streamsMark is the state of Streams and of their network at one time,
// from which they can be resumed as often as wanted (restore).
type streamsMark struct {
	eng     engine.Mark
	net     *network.Flows
	started int            // migrations started
	live    map[int]stream // the unfinished ones, their steppers copied
	setup   []int          // indexes of the migrations in setup
}

// mark copies the Streams' state. Finished migrations are not copied: they
// are never stepped again.
func (s *Streams) mark() *streamsMark {
	m := &streamsMark{eng: s.eng.Mark(), net: s.net.SaveFlows(), started: len(s.runs), live: map[int]stream{}}
	for i, r := range s.runs {
		if !r.done {
			c := *r
			c.st = r.st.Clone()
			m.live[i] = c
		}
	}
	for _, r := range s.setup {
		m.setup = append(m.setup, int(r.slot))
	}
	return m
}

// finished stands for every migration that had ended when a mark was taken:
// only its done flag is ever read again.
var finished = &stream{done: true}

// restore resumes Streams from m on the network they were marked on.
func restore(net *network.Network, m *streamsMark) *Streams {
	s := NewStreams(net)
	net.RestoreFlows(m.net)
	s.runs = make([]*stream, m.started)
	for i := range s.runs {
		s.eng.NewSlot(0, int32(i), 0)
		r, ok := m.live[i]
		if !ok {
			s.runs[i] = finished
			continue
		}
		r.st = r.st.Clone()
		s.runs[i] = &r
		if r.hasFlow {
			s.byFlow[r.flow] = &r
		}
	}
	s.eng.Reset(m.eng)
	for _, i := range m.setup {
		s.setup = append(s.setup, s.runs[i])
	}
	return s
}
