// Package engine is the simulator's discrete-event core: a virtual clock and a
// heap of events ordered by time, then by the order they were scheduled. It
// has no notion of wall-clock time, so a run is as fast as its events allow
// and the same inputs always replay the same way.
package engine

import (
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"
)

// Event is one scheduled occurrence. Its payload is plain integers rather
// than an interface or closure so that scheduling allocates nothing: the heap
// is the hot path of every simulation.
type Event struct {
	At   time.Duration
	seq  uint64
	Kind uint16
	// slot is the Slot this event belongs to, or -1.
	slot int32
	// A and B are the handler's to interpret (an index, a generation number).
	A int32
	B int64
}

// Slot is an event that is moved rather than scheduled anew: a migration
// whose next state change moves with every change of its bandwidth keeps
// one slot, so the heap holds one entry for it instead of a trail of stale
// ones that would grow it, and every operation on it, by orders of
// magnitude.
type Slot int32

// Engine owns the clock and the event queue. It is not safe for concurrent
// use: a simulation is a single thread by design.
type Engine struct {
	now  time.Duration
	seq  uint64
	heap []Event
	seed uint64
	// pos is each slot's index in the heap (-1: not scheduled); slots
	// holds each slot's kind and payload.
	pos   []int32
	slots []Event
	// Processed counts events handed out by Next.
	Processed uint64
}

// New returns an engine at time zero whose random streams derive from seed.
func New(seed uint64) *Engine {
	return &Engine{seed: seed, heap: make([]Event, 0, 1024)}
}

// Now is the current virtual time: the time of the last event handed out.
func (e *Engine) Now() time.Duration { return e.now }

// Len is the number of pending events.
func (e *Engine) Len() int { return len(e.heap) }

// Schedule queues an event. An event in the past runs at the current time
// (after those already queued for it), so time never goes backwards.
func (e *Engine) Schedule(at time.Duration, kind uint16, a int32, b int64) {
	if at < e.now {
		at = e.now
	}
	e.seq++
	e.heap = append(e.heap, Event{At: at, seq: e.seq, Kind: kind, slot: -1, A: a, B: b})
	e.up(len(e.heap) - 1)
}

// NewSlot makes a slot whose event, when set, carries kind, a and b.
func (e *Engine) NewSlot(kind uint16, a int32, b int64) Slot {
	e.slots = append(e.slots, Event{Kind: kind, A: a, B: b, slot: int32(len(e.slots))})
	e.pos = append(e.pos, -1)
	return Slot(len(e.slots) - 1)
}

// Set schedules the slot's event at at, moving it if it is pending. It
// counts as a new scheduling for ties, as Schedule does.
func (e *Engine) Set(s Slot, at time.Duration) {
	if at < e.now {
		at = e.now
	}
	e.seq++
	if i := e.pos[s]; i >= 0 {
		old := e.heap[i]
		e.heap[i].At, e.heap[i].seq = at, e.seq
		if less(&e.heap[i], &old) {
			e.up(int(i))
		} else {
			e.down(int(i))
		}
		return
	}
	ev := e.slots[s]
	ev.At, ev.seq = at, e.seq
	e.heap = append(e.heap, ev)
	e.pos[s] = int32(len(e.heap) - 1)
	e.up(len(e.heap) - 1)
}

// Clear unschedules the slot's event, if pending.
func (e *Engine) Clear(s Slot) {
	i := e.pos[s]
	if i < 0 {
		return
	}
	e.pos[s] = -1
	last := len(e.heap) - 1
	if int(i) != last {
		moved := e.heap[last]
		e.heap[i] = moved
		e.heap = e.heap[:last]
		e.place(int(i))
		if i > 0 && less(&e.heap[i], &e.heap[(i-1)/4]) {
			e.up(int(i))
		} else {
			e.down(int(i))
		}
		return
	}
	e.heap = e.heap[:last]
}

// place records where a slot's event sits after a move.
func (e *Engine) place(i int) {
	if s := e.heap[i].slot; s >= 0 {
		e.pos[s] = int32(i)
	}
}

// After queues an event d after now.
func (e *Engine) After(d time.Duration, kind uint16, a int32, b int64) {
	e.Schedule(e.now+d, kind, a, b)
}

// Peek returns the time of the next event, or false if none is queued.
func (e *Engine) Peek() (time.Duration, bool) {
	if len(e.heap) == 0 {
		return 0, false
	}
	return e.heap[0].At, true
}

// Next removes the earliest event, advances the clock to it and returns it.
// It returns false when the queue is empty or the next event lies after
// until; the clock then stays where it is.
func (e *Engine) Next(until time.Duration) (Event, bool) {
	if len(e.heap) == 0 || e.heap[0].At > until {
		return Event{}, false
	}
	ev := e.heap[0]
	if ev.slot >= 0 {
		e.pos[ev.slot] = -1
	}
	last := len(e.heap) - 1
	e.heap[0] = e.heap[last]
	e.heap = e.heap[:last]
	if last > 0 {
		e.place(0)
		e.down(0)
	}
	e.now = ev.At
	e.Processed++
	return ev, true
}

// AdvanceTo moves the clock forward to t without an event (end of a run).
func (e *Engine) AdvanceTo(t time.Duration) {
	if t > e.now {
		e.now = t
	}
}

// Rand returns a random stream for the named component. Streams are
// independent of each other and of the order components ask for them, so
// adding a component does not perturb the others' draws.
func (e *Engine) Rand(name string) *rand.Rand {
	return Stream(e.seed, name)
}

// Stream derives the named stream of a master seed.
func Stream(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

func less(a, b *Event) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	return a.seq < b.seq
}

// The heap is 4-ary: shallower than binary, and the children of a node share
// a cache line or two, which matters more than the extra comparisons.
func (e *Engine) up(i int) {
	h := e.heap
	ev := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !less(&ev, &h[p]) {
			break
		}
		h[i] = h[p]
		e.place(i)
		i = p
	}
	h[i] = ev
	e.place(i)
}

func (e *Engine) down(i int) {
	h := e.heap
	n := len(h)
	ev := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if less(&h[j], &h[m]) {
				m = j
			}
		}
		if !less(&h[m], &ev) {
			break
		}
		h[i] = h[m]
		e.place(i)
		i = m
	}
	h[i] = ev
	e.place(i)
}

// Mark is an engine's clock and queue at one time, taken by Mark and put
// back by Reset.
type Mark struct {
	now       time.Duration
	seq       uint64
	heap      []Event
	processed uint64
}

// Mark copies the engine's clock, queue and sequence counter.
func (e *Engine) Mark() Mark {
	return Mark{now: e.now, seq: e.seq, heap: slices.Clone(e.heap), processed: e.Processed}
}

// Reset puts back the clock, queue and sequence counter of m, taken from
// this engine or from one with the same slots up to those m's queue holds;
// slots made since stay, cleared. Events then come out in the order they
// would have from m: ties go by the sequence numbers kept with them.
func (e *Engine) Reset(m Mark) {
	e.now, e.seq, e.Processed = m.now, m.seq, m.processed
	e.heap = append(e.heap[:0], m.heap...)
	for i := range e.pos {
		e.pos[i] = -1
	}
	for i := range e.heap {
		e.place(i)
	}
}
