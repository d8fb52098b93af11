package plan

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/network"
	"github.com/droverlab/drover/scheduler/precopy"
)

// Topology builds the migration network of a snapshot: its links when it
// has them, otherwise every host's NICs into one non-blocking switch.
func Topology(snap *cluster.Snapshot) (*network.Network, error) {
	n := network.New()
	n.Reserve(len(snap.Hosts), max(len(snap.Links), len(snap.Hosts)))
	for i := range snap.Hosts {
		n.AddNode(snap.Hosts[i].Name)
	}
	if len(snap.Links) > 0 {
		for _, l := range snap.Links {
			if err := n.AddLink(l.Name, l.A, l.B, l.Bandwidth, l.Latency); err != nil {
				return nil, fmt.Errorf("link %s: %w", l.Name, err)
			}
		}
		return n, nil
	}
	for i := range snap.Hosts {
		h := &snap.Hosts[i]
		bw := h.NICBandwidth()
		if bw <= 0 {
			return nil, fmt.Errorf("host %s has no NIC bandwidth", h.Name)
		}
		if err := n.AddLink(h.Name, h.Name, "switch", bw, 50*time.Microsecond); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Workload is the model's view of a VM.
func Workload(v *cluster.VM) precopy.Workload {
	return precopy.Workload{Memory: v.Memory, Resident: v.Resident, WSS: v.WSS, DirtyRate: v.DirtyRate}
}

// Interval is the 80% range of a move's predicted duration d: the
// profile's own held-out error, widened by how far the bounds of a live
// VM's measured working set and dirty rate move the prediction at the
// stream's cap bw (the two taken as independent).
func Interval(v *cluster.VM, cfg precopy.Config, bw float64, d time.Duration) (lo, hi time.Duration) {
	up, down := 0.0, 0.0
	if v != nil && v.Measured != nil && bw > 0 {
		nominal := precopy.Predict(Workload(v), cfg, bw).TotalTime
		if nominal > 0 {
			at := func(wss int64, rate float64) float64 {
				w := Workload(v)
				w.WSS, w.DirtyRate = wss, rate
				return float64(precopy.Predict(w, cfg, bw).TotalTime) / float64(nominal)
			}
			m := v.Measured
			up = max(0, at(m.WSSHigh, m.DirtyRateHigh)-1)
			down = max(0, 1-at(m.WSSLow, m.DirtyRateLow))
		}
	}
	p := cfg.WithDefaults().Profile
	lo = time.Duration(float64(d) * max(0, 1-p.Spread(down)))
	hi = time.Duration(float64(d) * (1 + p.Spread(up)))
	return lo.Round(time.Millisecond), hi.Round(time.Millisecond)
}

// Timer times plans on one snapshot; it keeps the network between calls.
type Timer struct {
	snap *cluster.Snapshot
	net  *network.Network
	cfg  precopy.Config
	topo topology // what net was built from
	last *timing  // the plan timed last, to resume from
	// resumed says whether the last timing resumed from a mark; tests read
	// it to know they covered that path.
	resumed bool
}

// timing is what a Timer keeps of the large plan it timed last. A deadline
// plan is timed, its late moves dropped, and timed again: the two timings
// run the same until the first dropped move starts, which in a zone's
// evacuation is in the last minute of half an hour (the late moves are the
// last to start). So the first timing marks its state now and then, and the
// second resumes from the last mark before that start instead of from zero.
type timing struct {
	limits Limits
	moves  []Move    // as timed, predictions included
	seq    []int     // seq[i]: the order move i started in; -1: never
	order  []int     // the move each stream carried
	caps   []float64 // and its stream's cap
	marks  []timingMark
}

type timingMark struct {
	at       time.Duration
	streams  *streamsMark
	state    []moveState // the dispatcher's
	failures bool
	live     int // migrations started and not ended
}

// Plans smaller than markedMoves are timed without marks: timing them again
// costs little. Larger ones are marked each time another 1/marksPerTiming of
// their moves has started.
const (
	markedMoves    = 1024
	marksPerTiming = 64
)

// resumeFrom is the last mark of tr from which a timing of p, with budget,
// runs as one from zero would, and the index in p of each of tr's moves (-1:
// not in p); nil if there is none. That holds when p's moves are tr's, less
// some, in the same order, with the same dependencies and limits, and no
// move of tr that p lacks had started at the mark: until one does, the
// dispatcher picks the same moves (it takes the first ready ones in order,
// and moves never started weigh on none of its limits), so every stream
// and flow is the same.
func (tr *timing) resumeFrom(p *Plan, budget time.Duration) (*timingMark, []int) {
	if tr == nil || p.Limits != tr.limits || len(p.Moves) >= len(tr.moves) {
		return nil, nil
	}
	ix := make([]int, len(tr.moves))
	k := 0
	for i := range tr.moves {
		ix[i] = -1
		if k < len(p.Moves) && sameInputs(&tr.moves[i], &p.Moves[k]) {
			ix[i] = k
			k++
		}
	}
	if k < len(p.Moves) {
		return nil, nil
	}
	oldAt := make(map[int]int, len(tr.moves))
	for i := range tr.moves {
		oldAt[tr.moves[i].ID] = i
	}
	newAt := make(map[int]int, len(p.Moves))
	for i := range p.Moves {
		newAt[p.Moves[i].ID] = i
	}
	first := len(tr.order) // the first start of a move p lacks
	for i, k := range ix {
		if k < 0 {
			if tr.seq[i] >= 0 {
				first = min(first, tr.seq[i])
			}
			continue
		}
		a, b := tr.moves[i].After, p.Moves[k].After
		if len(a) != len(b) {
			return nil, nil
		}
		for j := range a {
			o, oin := oldAt[a[j]]
			n, nin := newAt[b[j]]
			if oin != nin || oin && ix[o] != n {
				return nil, nil
			}
		}
	}
	for j := len(tr.marks) - 1; j >= 0; j-- {
		m := &tr.marks[j]
		if m.streams.started <= first && (budget < 0 || m.at <= budget) {
			return m, ix
		}
	}
	return nil, nil
}

// sameInputs reports whether two moves are timed alike, IDs and
// dependencies aside.
func sameInputs(a, b *Move) bool {
	return a.VM == b.VM && a.Source == b.Source && a.Destination == b.Destination && a.Transport == b.Transport &&
		a.Bandwidth == b.Bandwidth && a.DowntimeLimit == b.DowntimeLimit
}

// NewTimer prepares to time plans on snap with migration settings cfg.
func NewTimer(snap *cluster.Snapshot, cfg precopy.Config) (*Timer, error) {
	return NewTimerLike(nil, snap, cfg)
}

// NewTimerLike is NewTimer for a snapshot that most likely has the
// network prev was made for (prev may be nil): the same hosts in the same
// order and the same links. It then times on prev's network, whose routes
// are already known, and prev is not to be used again. A policy that plans
// every five minutes on 10,000 hosts built a network and its routes for
// each run, 4 ms and more of every balancing step. The network's flows do
// not carry over (ScheduleBy starts without any), and routes depend on
// nothing but the topology, so the plans come out the same.
func NewTimerLike(prev *Timer, snap *cluster.Snapshot, cfg precopy.Config) (*Timer, error) {
	if prev != nil && prev.topo.same(snap) {
		return &Timer{snap: snap, net: prev.net, cfg: cfg.WithDefaults(), topo: prev.topo}, nil
	}
	n, err := Topology(snap)
	if err != nil {
		return nil, err
	}
	return &Timer{snap: snap, net: n, cfg: cfg.WithDefaults(), topo: topologyOf(snap)}, nil
}

// topology is what Topology builds a network from, copied: callers reuse
// snapshots' arrays.
type topology struct {
	hosts []string
	nics  []float64 // each host's NIC bandwidth, when there are no links
	links []cluster.Link
}

func topologyOf(snap *cluster.Snapshot) topology {
	t := topology{hosts: make([]string, len(snap.Hosts)), links: slices.Clone(snap.Links)}
	for i := range snap.Hosts {
		t.hosts[i] = snap.Hosts[i].Name
	}
	if len(snap.Links) == 0 {
		t.nics = make([]float64, len(snap.Hosts))
		for i := range snap.Hosts {
			t.nics[i] = snap.Hosts[i].NICBandwidth()
		}
	}
	return t
}

// same reports whether Topology would build t's network from snap.
func (t *topology) same(snap *cluster.Snapshot) bool {
	if len(snap.Hosts) != len(t.hosts) || !slices.Equal(snap.Links, t.links) {
		return false
	}
	for i := range snap.Hosts {
		h := &snap.Hosts[i]
		if h.Name != t.hosts[i] || t.nics != nil && h.NICBandwidth() != t.nics[i] {
			return false
		}
	}
	return true
}

// Schedule predicts every move of p: when the dispatcher starts it, how
// long it takes with the bandwidth it shares, its downtime and bytes; then
// the plan's makespan and lower bound. The moves run on Streams, which
// share links max-min fairly as the simulator does.
func (t *Timer) Schedule(p *Plan) error {
	_, err := t.ScheduleBy(p, -1)
	return err
}

// ScheduleBy is Schedule for a caller that wants p only if every move
// ends by budget (negative: no budget). It stops at the first move that
// ends later and reports false; p's predictions are then partial, and p
// is to be thrown away. A disaster plan tries a first order this way, and
// the simulation of the moves past the budget was a tenth of that try.
func (t *Timer) ScheduleBy(p *Plan, budget time.Duration) (bool, error) {
	last := t.last
	t.last = nil
	disp := NewDispatcher(p.Moves, p.Limits)
	for i := range p.Moves {
		p.Moves[i].Predicted = Prediction{Outcome: cluster.OutcomeBlocked}
	}
	var s *Streams
	var moves []int    // the move each stream carries
	var caps []float64 // and its stream's cap
	live := 0
	mk, ix := last.resumeFrom(p, budget)
	t.resumed = mk != nil
	if mk != nil {
		s = restore(t.net, mk.streams)
		state := make([]moveState, len(p.Moves))
		for i, k := range ix {
			if k >= 0 {
				state[k] = mk.state[i]
			}
		}
		disp.resume(state, mk.failures)
		moves, caps = make([]int, mk.streams.started), slices.Clone(last.caps[:mk.streams.started])
		for j := range moves {
			i := last.order[j]
			moves[j] = ix[i]
			pr := &p.Moves[moves[j]].Predicted
			if _, running := mk.streams.live[j]; running {
				*pr = Prediction{Start: last.moves[i].Predicted.Start, Outcome: cluster.OutcomeRunning, Rate: caps[j]}
			} else {
				*pr = last.moves[i].Predicted
			}
		}
		live = mk.live
	} else {
		for _, id := range t.net.Flows() {
			t.net.RemoveFlow(id)
		}
		t.net.Changed()
		s = NewStreams(t.net)
	}
	var tr *timing
	nextMark, step := 0, 0
	if len(p.Moves) >= markedMoves {
		tr = &timing{limits: p.Limits}
		step = len(p.Moves) / marksPerTiming
		nextMark = len(moves) + step
	}
	// keep leaves what tr needs of this timing to the next, once it ends or
	// stops at the budget.
	keep := func() {
		if tr == nil {
			return
		}
		tr.moves, tr.order, tr.caps = slices.Clone(p.Moves), moves, caps
		for i := range tr.moves {
			tr.moves[i].After = slices.Clone(tr.moves[i].After)
		}
		tr.seq = make([]int, len(p.Moves))
		for i := range tr.seq {
			tr.seq[i] = -1
		}
		for j, i := range moves {
			tr.seq[i] = j
		}
		t.last = tr
	}
	start := func() error {
		for _, i := range disp.Next() {
			m := &p.Moves[i]
			v := t.snap.VM(m.VM)
			if v == nil {
				return fmt.Errorf("move %d: unknown vm %q", m.ID, m.VM)
			}
			route, err := t.net.Route(m.Source, m.Destination)
			if err != nil {
				return fmt.Errorf("move %d: %s -> %s: %w", m.ID, m.Source, m.Destination, err)
			}
			cfg := t.cfg.For(v.TCG)
			cfg.Latency = t.net.Latency(route)
			if m.DowntimeLimit > 0 {
				cfg.DowntimeLimit = m.DowntimeLimit
			}
			src, dst := t.snap.Host(m.Source), t.snap.Host(m.Destination)
			if src == nil || dst == nil {
				return fmt.Errorf("move %d: unknown host", m.ID)
			}
			// QEMU's unthrottled final copy is bounded by the path, not the cap.
			rate, link := cfg.Profile.Stream(cluster.StreamCap(src, dst, 0), m.Bandwidth, m.Transport == cluster.TransportTLS)
			cfg.LinkRate, cfg.CopyShared, cfg.TLS, cfg.Wall = link, true, m.Transport == cluster.TransportTLS, true
			cfg.Bound = cfg.Profile.Bound(m.Bandwidth, cfg.TLS)
			m.Predicted = Prediction{Start: s.Now(), Outcome: cluster.OutcomeRunning, Rate: rate}
			s.Start(precopy.NewStepper(Workload(v), cfg), route, rate)
			moves, caps = append(moves, i), append(caps, rate)
		}
		return nil
	}
	if mk == nil {
		if err := start(); err != nil {
			return false, err
		}
		live = len(moves)
	}
	for live > 0 {
		j, ok := s.Next()
		if ok && budget >= 0 && s.Now() > budget {
			keep()
			return false, nil
		}
		if !ok {
			// Every running migration is stalled for good (no bandwidth,
			// no time limit): they never end.
			for j, i := range moves {
				if !s.Ended(j) {
					p.Moves[i].Predicted.Outcome = cluster.OutcomeStalled
					p.Moves[i].Predicted.End = s.Now()
					disp.Finish(i, false)
				}
			}
			break
		}
		st := s.Stepper(j)
		res := st.Result()
		m := &p.Moves[moves[j]]
		m.Predicted.End = s.Now()
		m.Predicted.Downtime = res.Downtime
		m.Predicted.Bytes = res.TransferredBytes
		m.Predicted.Outcome, m.Predicted.Reason = res.Outcome, res.Reason
		m.Predicted.Low, m.Predicted.High = Interval(t.snap.VM(m.VM), st.Config(), caps[j], m.Predicted.End-m.Predicted.Start)
		live--
		disp.Finish(moves[j], res.Outcome != cluster.OutcomeAborted)
		before := len(moves)
		if err := start(); err != nil {
			return false, err
		}
		live += len(moves) - before
		if tr != nil && len(moves) >= nextMark {
			tr.marks = append(tr.marks, timingMark{at: s.Now(), streams: s.mark(), state: slices.Clone(disp.state), failures: disp.failures, live: live})
			nextMark = len(moves) + step
		}
	}
	keep()
	t.totals(p)
	return true, nil
}

// Cut decides, in one pass over moves in their order, which can possibly
// end by budget: a move is kept when the setup time plus the bytes already
// kept on the busiest link of its own route, its own included, over that
// link's capacity, fits; otherwise it is cut and loads nothing. Bytes are
// predicted at each move's stream cap, so the estimate is optimistic and
// cuts only moves no schedule could save; timing the kept moves in full
// then settles the rest. One pass instead of a simulation per attempt is
// what makes deadline planning of 100,000 moves affordable.
func (t *Timer) Cut(moves []Move, budget time.Duration) ([]bool, error) {
	load := map[network.LinkID]float64{}
	keep := make([]bool, len(moves))
	for i := range moves {
		m := &moves[i]
		v := t.snap.VM(m.VM)
		src, dst := t.snap.Host(m.Source), t.snap.Host(m.Destination)
		if v == nil || src == nil || dst == nil {
			return nil, fmt.Errorf("move %d: unknown vm or host", m.ID)
		}
		route, err := t.net.Route(m.Source, m.Destination)
		if err != nil {
			return nil, fmt.Errorf("move %d: %w", m.ID, err)
		}
		cfg := t.cfg.For(v.TCG)
		cfg.BandwidthCap, _ = cfg.Profile.Stream(cluster.StreamCap(src, dst, 0), m.Bandwidth, m.Transport == cluster.TransportTLS)
		bytes := float64(precopy.Predict(Workload(v), cfg, cfg.BandwidthCap).TransferredBytes)
		var worst float64
		for _, l := range route {
			if c := t.net.Capacity(l); c > 0 {
				worst = max(worst, (load[l]+bytes)/c)
			}
		}
		fixed := cfg.SetupTime + cfg.Profile.Overhead(m.Transport == cluster.TransportTLS) + cfg.Profile.Finish()
		if fixed+time.Duration(worst/cfg.Profile.Goodput*float64(time.Second)) > budget {
			continue
		}
		keep[i] = true
		for _, l := range route {
			load[l] += bytes
		}
	}
	return keep, nil
}

// totals fills makespan, lower bound, bytes and downtime.
func (t *Timer) totals(p *Plan) {
	p.Makespan, p.Bytes, p.Downtime = 0, 0, 0
	out := map[string]int64{}
	in := map[string]int64{}
	for i := range p.Moves {
		m := &p.Moves[i]
		pr := &m.Predicted
		p.Makespan = max(p.Makespan, pr.End)
		p.Bytes += pr.Bytes
		p.Downtime += pr.Downtime
		out[m.Source] += pr.Bytes
		in[m.Destination] += pr.Bytes
		pr.Late = p.Deadline > 0 && p.At+pr.End > p.Deadline
	}
	// A bound must hold for KVM and TCG guests alike: the best goodput and
	// the least fixed cost of the profile's two halves.
	goodput, fixed := 0.0, time.Duration(math.MaxInt64)
	for _, tcg := range []bool{false, true} {
		c := t.cfg.For(tcg)
		goodput = max(goodput, c.Profile.Goodput, c.Profile.LinkGoodput)
		fixed = min(fixed, c.SetupTime+c.Profile.Overhead(false)+c.Profile.Finish())
	}
	p.LowerBound, p.BoundBy = lowerBound(t.snap, out, in, goodput)
	// A shared link (a rack's uplink) can bind harder than any NIC: the
	// bytes that must cross it over its capacity bound the makespan too.
	load := map[network.LinkID]int64{}
	for i := range p.Moves {
		m := &p.Moves[i]
		if route, err := t.net.Route(m.Source, m.Destination); err == nil {
			for _, l := range route {
				load[l] += m.Predicted.Bytes
			}
		}
	}
	for _, l := range slices.Sorted(maps.Keys(load)) {
		if c := t.net.Capacity(l); c > 0 {
			if lb := time.Duration(float64(load[l]) / (c * goodput) * float64(time.Second)); lb > p.LowerBound {
				p.LowerBound, p.BoundBy = lb, "link "+t.net.LinkName(l)
			}
		}
	}
	if len(p.Moves) == 0 {
		return
	}
	// Nothing is sent before the first migration's setup (libvirt's
	// phases outside the job included) is over, and the last one still
	// has libvirt's confirm to go once its guest runs on the destination.
	p.LowerBound += fixed
	// The plan's own limits on migrations in flight: each move takes at
	// least its fixed cost and its first pass (the guest's non-zero pages,
	// sent under the stream's limit: the final copy, with the limit lifted,
	// may go faster) at the most its stream could get, and at most K run at
	// once, in the cluster and out of or into a host.
	least := func(m *Move) time.Duration {
		d := fixed
		v := t.snap.VM(m.VM)
		if r := m.Predicted.Rate; r > 0 && v != nil {
			first := min(v.Resident, m.Predicted.Bytes)
			d += time.Duration(float64(first) / (r * goodput) * float64(time.Second))
		}
		return d
	}
	var all time.Duration
	perOut, perIn := map[string]time.Duration{}, map[string]time.Duration{}
	for i := range p.Moves {
		m := &p.Moves[i]
		d := least(m)
		all += d
		perOut[m.Source] += d
		perIn[m.Destination] += d
	}
	bind := func(lb time.Duration, by string) {
		if lb > p.LowerBound {
			p.LowerBound, p.BoundBy = lb, by
		}
	}
	if k := p.Limits.MaxParallel; k > 0 {
		bind(all/time.Duration(k), fmt.Sprintf("max_parallel %d", k))
	}
	for _, lim := range []struct {
		k    int
		per  map[string]time.Duration
		name string
	}{{p.Limits.MaxPerHostOut, perOut, "max_per_host_out"}, {p.Limits.MaxPerHostIn, perIn, "max_per_host_in"}} {
		if lim.k <= 0 {
			continue
		}
		for _, h := range slices.Sorted(maps.Keys(lim.per)) {
			bind(lim.per[h]/time.Duration(lim.k), fmt.Sprintf("%s %d on %s", lim.name, lim.k, h))
		}
	}
}

// lowerBound is LowerBound and what binds it ("nic h1").
func lowerBound(snap *cluster.Snapshot, out, in map[string]int64, goodput float64) (time.Duration, string) {
	if !(goodput > 0) {
		goodput = 1
	}
	var lb float64
	by := ""
	for i := range snap.Hosts {
		h := &snap.Hosts[i]
		bw := h.NICBandwidth() * goodput
		if bw <= 0 {
			continue
		}
		if x := max(float64(out[h.Name])/bw, float64(in[h.Name])/bw); x > lb {
			lb, by = x, "nic "+h.Name
		}
	}
	return time.Duration(lb * float64(time.Second)), by
}

// LowerBound is a time no schedule can beat: for each host, the bytes it
// must send and receive over what its NIC carries of migration bytes
// (bandwidth times the profile's goodput, 1 if unset); the largest. Schedule
// tightens it with every link the moves cross, and adds the setup time,
// during which no migration sends anything.
func LowerBound(snap *cluster.Snapshot, out, in map[string]int64, goodput float64) time.Duration {
	lb, _ := lowerBound(snap, out, in, goodput)
	return lb
}
