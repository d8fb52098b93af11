package plan

// Dispatcher decides when moves start: in plan order, as soon as their
// dependencies are done and the limits allow. The Core and Schedule share
// it, so a plan runs the way it was timed.
type Dispatcher struct {
	limits Limits
	moves  []Move
	state  []moveState
	index  map[int]int
	// src and dst are each move's hosts as small numbers, and out and in
	// count running moves by those numbers: the dispatch loop passes over
	// every move a per-host limit holds back each time it runs, tens of
	// thousands in a zone evacuation, and a string-keyed map lookup per
	// pass was most of its cost.
	hostID   map[string]int32
	src, dst []int32
	out, in  []int
	running  int
	// first is the lowest index that may still be pending.
	first int
	// failures is set when a move failed or was cancelled since the last
	// Blocked: only then can a pending move have become blocked.
	failures bool
}

type moveState uint8

const (
	pending moveState = iota
	running
	done
	failed
	// blocked: a dependency failed; the Core re-plans these.
	blocked
)

// NewDispatcher tracks moves (not copied: callers must not reorder them).
func NewDispatcher(moves []Move, limits Limits) *Dispatcher {
	d := &Dispatcher{
		limits: limits, moves: moves, state: make([]moveState, len(moves)),
		index: make(map[int]int, len(moves)), hostID: map[string]int32{},
		src: make([]int32, 0, len(moves)), dst: make([]int32, 0, len(moves)),
	}
	for i, m := range moves {
		d.index[m.ID] = i
		d.addHosts(&m)
	}
	return d
}

// addHosts numbers m's hosts, appending them to src and dst.
func (d *Dispatcher) addHosts(m *Move) {
	d.src = append(d.src, d.host(m.Source))
	d.dst = append(d.dst, d.host(m.Destination))
}

func (d *Dispatcher) host(name string) int32 {
	id, ok := d.hostID[name]
	if !ok {
		id = int32(len(d.out))
		d.hostID[name] = id
		d.out = append(d.out, 0)
		d.in = append(d.in, 0)
	}
	return id
}

// Next returns the indexes of the moves to start now and marks them running.
func (d *Dispatcher) Next() []int { return d.NextUpTo(-1) }

// NextUpTo is Next with at most n starts (n < 0: no cap of its own), for a
// caller that enforces a limit across several dispatchers.
func (d *Dispatcher) NextUpTo(n int) []int {
	if n == 0 || d.limits.Batch && d.running > 0 {
		return nil
	}
	var start []int
	for d.first < len(d.moves) && d.state[d.first] != pending {
		d.first++
	}
	for i := d.first; i < len(d.moves); i++ {
		if d.state[i] != pending {
			continue
		}
		if d.limits.MaxParallel > 0 && d.running >= d.limits.MaxParallel || n >= 0 && len(start) >= n {
			break
		}
		m := &d.moves[i]
		if !d.ready(m) {
			continue
		}
		if d.limits.MaxPerHostOut > 0 && d.out[d.src[i]] >= d.limits.MaxPerHostOut {
			continue
		}
		if d.limits.MaxPerHostIn > 0 && d.in[d.dst[i]] >= d.limits.MaxPerHostIn {
			continue
		}
		d.state[i] = running
		d.running++
		d.out[d.src[i]]++
		d.in[d.dst[i]]++
		start = append(start, i)
	}
	return start
}

func (d *Dispatcher) ready(m *Move) bool {
	for _, id := range m.After {
		j, ok := d.index[id]
		if !ok {
			continue // a dependency outside the plan has already happened
		}
		switch d.state[j] {
		case done:
		case failed, blocked:
			d.state[d.index[m.ID]] = blocked
			return false
		default:
			return false
		}
	}
	return true
}

// Finish records the end of a running move.
func (d *Dispatcher) Finish(i int, ok bool) {
	if d.state[i] != running {
		return
	}
	d.running--
	d.out[d.src[i]]--
	d.in[d.dst[i]]--
	if ok {
		d.state[i] = done
	} else {
		d.state[i] = failed
		d.failures = true
	}
}

// Skip marks a pending move as done without running it (resumed from a
// journal that records it finished) or as failed.
func (d *Dispatcher) Skip(i int, ok bool) {
	if d.state[i] != pending {
		return
	}
	if ok {
		d.state[i] = done
	} else {
		d.state[i] = failed
		d.failures = true
	}
}

// Add appends a move (a retry) and returns its index.
func (d *Dispatcher) Add(m Move) int {
	d.moves = append(d.moves, m)
	d.state = append(d.state, pending)
	d.index[m.ID] = len(d.moves) - 1
	d.addHosts(&m)
	return len(d.moves) - 1
}

// Cancel drops a pending move; moves that depend on it become blocked.
func (d *Dispatcher) Cancel(i int) {
	if d.state[i] == pending || d.state[i] == blocked {
		d.state[i] = failed
		d.failures = true
	}
}

// MarkRunning counts a pending move as running without dispatching it
// (restored from a journal that says it started).
func (d *Dispatcher) MarkRunning(i int) {
	if d.state[i] != pending {
		return
	}
	d.state[i] = running
	d.running++
	d.out[d.src[i]]++
	d.in[d.dst[i]]++
}

// Requeue puts a running move back to pending: it turned out never to
// have run.
func (d *Dispatcher) Requeue(i int) {
	if d.state[i] != running {
		return
	}
	d.running--
	d.out[d.src[i]]--
	d.in[d.dst[i]]--
	d.state[i] = pending
	d.first = min(d.first, i)
}

// Pending reports whether move i has not started and still may.
func (d *Dispatcher) Pending(i int) bool { return d.state[i] == pending }

// Running is the number of moves under way.
func (d *Dispatcher) Running() int { return d.running }

// Idle reports that nothing runs and nothing more can start.
func (d *Dispatcher) Idle() bool {
	if d.running > 0 {
		return false
	}
	for i := d.first; i < len(d.moves); i++ {
		if d.state[i] == pending && d.ready(&d.moves[i]) {
			return false
		}
	}
	return true
}

// Blocked lists the indexes of moves that can never start because a move
// they depend on failed, and of moves still pending behind them.
func (d *Dispatcher) Blocked() []int {
	if !d.failures {
		return nil
	}
	d.failures = false
	// A dependent may come before its dependency in plan order: pass
	// again until no move changes, so a whole chain is found at once.
	for changed := true; changed; {
		changed = false
		for i := range d.moves {
			if d.state[i] == pending {
				d.ready(&d.moves[i])
				changed = changed || d.state[i] == blocked
			}
		}
	}
	var out []int
	for i := range d.moves {
		if d.state[i] == blocked {
			out = append(out, i)
		}
	}
	return out
}

// resume takes each move's state from a dispatcher of the same moves that
// a timing left part-way (Timer.ScheduleBy resuming): running moves count
// against the limits again.
func (d *Dispatcher) resume(state []moveState, failures bool) {
	copy(d.state, state)
	for i, st := range d.state {
		if st == running {
			d.running++
			d.out[d.src[i]]++
			d.in[d.dst[i]]++
		}
	}
	d.failures = failures
}
