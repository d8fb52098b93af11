package precopy

import (
	"math"
	"slices"
	"time"
)

// segment is the stepper's finer state. A Phase can span two segments (a
// round's send and its dirty-bitmap sync; the final copy and the switch-over
// cost) because one depends on bandwidth and the other only on time.
type segment uint8

const (
	segSetup segment = iota // timed
	segSend                 // bytes: a round's pages
	segSync                 // timed: dirty-bitmap sync, one RTT
	segCopy                 // bytes: stop-and-copy, guest paused
	segCost                 // timed: device state and resume, guest paused
	segPull                 // bytes: post-copy pulls the rest, guest running
	segDone
)

func (g segment) bytes() bool  { return g == segSend || g == segCopy || g == segPull }
func (g segment) paused() bool { return g == segCopy || g == segCost }

// limited reports whether limits can fire: once switch-over or post-copy has
// begun there is nothing left to give up on.
func (g segment) limited() bool { return g == segSetup || g == segSend || g == segSync }

// never is "no event": time is kept in integer nanoseconds so that the
// planner and the simulator, whatever steps the latter takes, see events at
// the same instants.
const never int64 = math.MaxInt64

// Stepper advances one migration through time while its bandwidth changes.
// It is a plain value machine: no clock, no goroutines; the caller owns time.
type Stepper struct {
	w Workload
	c Config
	// hdr is header bytes per data byte (8 per page); first is round 1's
	// wire size, zero-page markers included.
	hdr   float64
	first float64
	rtt   int64

	seg    segment
	now    int64
	left   float64 // bytes still to move in a bytes segment
	leftNs int64   // time still to spend in a timed segment
	size   float64 // the bytes segment's full size, so Sent is exact at its end

	round      int
	roundStart int64
	roundBytes float64
	pct        int // auto-converge throttle in percent: 0.3 must print as 0.3
	rounds     []Round

	sent     float64 // bytes of finished segments
	downtime int64

	// Progress is judged in whole pages, as QEMU reports remaining RAM: a
	// geometric approach to a fixed point then stops making "progress", as
	// it does on a real host.
	minPages     float64
	lastProgress int64
	completionAt int64

	postcopy bool    // the switch-over pause leads to a post-copy pull
	pull     float64 // bytes post-copy pulls after the pause
	outcome  Outcome // decided when switch-over starts, reported when done
	reason   string
}

// NewStepper starts a migration of w under c (defaults applied) at time 0.
// An invalid workload is clamped into range rather than refused: callers that
// must refuse it use Workload.Validate.
func NewStepper(w Workload, c Config) *Stepper {
	c = c.WithDefaults()
	w = clampWorkload(w)
	s := &Stepper{
		w:            w,
		c:            c,
		hdr:          8 / float64(c.PageSize),
		rtt:          2 * nonneg(c.Latency),
		minPages:     math.Inf(1),
		completionAt: never,
	}
	nonZero := (w.Resident + c.PageSize - 1) / c.PageSize
	zero := (w.Memory - w.Resident) / c.PageSize
	s.first = float64(w.Resident) + 8*float64(nonZero) + 9*float64(zero)
	if c.CompletionTimeoutPerGiB > 0 {
		s.completionAt = int64(math.Round(float64(c.CompletionTimeoutPerGiB) * float64(w.Memory) / (1 << 30)))
	}
	s.seg = segSetup
	s.leftNs = sat(nonneg(c.SetupTime), s.rtt)
	return s
}

func clampWorkload(w Workload) Workload {
	w.Memory = max(w.Memory, 0)
	w.Resident = min(max(w.Resident, 0), w.Memory)
	w.WSS = min(max(w.WSS, 0), w.Memory)
	switch {
	case math.IsInf(w.DirtyRate, 1):
		// Still "the whole WSS at once", without 0*Inf = NaN at a round's
		// first instant.
		w.DirtyRate = math.MaxFloat64
	case !(w.DirtyRate > 0):
		w.DirtyRate = 0
	}
	return w
}

func nonneg(d time.Duration) int64 { return max(int64(d), 0) }

// sat adds two non-negative durations, saturating at never.
func sat(a, b int64) int64 {
	if a >= never-b {
		return never
	}
	return a + b
}

func cleanBandwidth(bw float64) float64 {
	if !(bw > 0) {
		return 0
	}
	return bw
}

// bytesNs is how long n bytes take at bw, rounded up to the nanosecond so
// that an event scheduled then has really happened.
func bytesNs(n, bw float64) int64 {
	if n <= 0 {
		return 0
	}
	if bw <= 0 {
		return never
	}
	ns := math.Ceil(n / bw * 1e9)
	if ns >= 1<<62 {
		return never
	}
	return int64(ns)
}

// dirty is what the guest has dirtied since the round began. It is computed
// from the round's elapsed time, not accumulated, so that how a caller slices
// time cannot change it.
func (s *Stepper) dirty() float64 {
	rate := s.w.DirtyRate * (1 - float64(s.pct)/100)
	return min(float64(s.w.WSS), rate*float64(s.now-s.roundStart)/1e9)
}

func (s *Stepper) throttle() float64 { return float64(s.pct) / 100 }

// step is how long until the current segment ends at bw.
func (s *Stepper) step(bw float64) int64 {
	if s.seg.bytes() {
		return bytesNs(s.left, bw)
	}
	return s.leftNs
}

// visible is how long until the next change a caller can observe: a
// round's send runs into its sync and the final copy into the switch-over
// cost without any change of Phase or round.
func (s *Stepper) visible(bw float64) int64 {
	d := s.step(bw)
	switch s.seg {
	case segSend:
		d = sat(d, s.rtt)
	case segCopy:
		d = sat(d, s.costNs())
	}
	return d
}

func (s *Stepper) costNs() int64 { return sat(nonneg(s.c.SwitchoverCost), s.rtt) }

// limit is how long until a time limit fires, and which. On a tie the
// completion timeout wins, for determinism.
func (s *Stepper) limit() (int64, string) {
	if !s.seg.limited() {
		return never, ""
	}
	at, why := s.completionAt, ReasonCompletionTimeout
	if s.c.ProgressTimeout > 0 {
		if p := sat(s.lastProgress, int64(s.c.ProgressTimeout)); p < at {
			at, why = p, ReasonProgressTimeout
		}
	}
	if at == never {
		return never, ""
	}
	return max(at-s.now, 0), why
}

// Advance moves the migration forward by dt at the given bandwidth (bytes/s,
// may be 0), crossing any number of round boundaries and limits inside dt.
// It never goes past Done. Events due exactly at the end of dt happen.
func (s *Stepper) Advance(dt time.Duration, bandwidth float64) {
	bw := cleanBandwidth(bandwidth)
	left := max(int64(dt), 0)
	for s.seg != segDone {
		step := s.step(bw)
		if lim, why := s.limit(); lim < step {
			// A round boundary at the very instant of a deadline goes first:
			// it may converge and so escape the limit.
			if lim > left {
				s.elapse(left, bw, false)
				return
			}
			s.elapse(lim, bw, false)
			left -= lim
			s.fire(why, bw)
			continue
		}
		if step > left {
			s.elapse(left, bw, false)
			return
		}
		s.elapse(step, bw, true)
		left -= step
		s.endSegment(bw)
	}
}

// elapse spends d in the current segment; whole means d reaches its end,
// which is then exact whatever rounding the byte count suffered.
func (s *Stepper) elapse(d int64, bw float64, whole bool) {
	s.now = sat(s.now, d)
	if s.seg.paused() {
		s.downtime = sat(s.downtime, d)
	}
	switch {
	case whole && s.seg.bytes():
		s.left = 0
	case whole:
		s.leftNs = 0
	case s.seg.bytes():
		s.left = max(s.left-bw*float64(d)/1e9, 0)
	default:
		s.leftNs -= d
	}
}

// endSegment moves on from a finished segment.
func (s *Stepper) endSegment(bw float64) {
	switch s.seg {
	case segSetup:
		s.startRound(1, s.first)
	case segSend:
		s.closeBytes()
		s.seg, s.leftNs = segSync, s.rtt
	case segSync:
		s.endRound(bw)
	case segCopy:
		s.closeBytes()
		s.seg, s.leftNs = segCost, s.costNs()
	case segCost:
		if s.postcopy {
			s.startBytes(segPull, s.pull)
			return
		}
		s.finish(s.outcome, s.reason)
	case segPull:
		s.closeBytes()
		s.finish(s.outcome, s.reason)
	}
}

func (s *Stepper) startBytes(g segment, n float64) {
	s.seg, s.left, s.size = g, n, n
}

// closeBytes books what the current bytes segment has sent.
func (s *Stepper) closeBytes() {
	if s.seg.bytes() {
		s.sent += s.size - s.left
		s.size, s.left = 0, 0
	}
}

func (s *Stepper) startRound(i int, n float64) {
	s.round, s.roundStart, s.roundBytes = i, s.now, n
	s.startBytes(segSend, n)
}

func (s *Stepper) record(bytes, dirtied float64, partial bool) {
	s.rounds = append(s.rounds, Round{
		Index:    s.round,
		Start:    time.Duration(s.roundStart),
		Duration: time.Duration(s.now - s.roundStart),
		Bytes:    int64(math.Round(bytes)),
		Dirtied:  int64(math.Round(dirtied)),
		Throttle: s.throttle(),
		Partial:  partial,
	})
}

// endRound applies QEMU's order at a bitmap sync: count progress, switch over
// if the rest fits in the downtime limit, else give up at the iteration
// limit, else throttle and go again.
func (s *Stepper) endRound(bw float64) {
	d := s.dirty()
	s.record(s.roundBytes, d, false)
	pending := d * (1 + s.hdr)
	if pages := math.Ceil(d / float64(s.c.PageSize)); pages < s.minPages {
		s.minPages, s.lastProgress = pages, s.now
	}
	switch {
	case pending <= bw*s.c.DowntimeLimit.Seconds():
		s.stopAndCopy(pending, Completed, "")
	case s.c.MaxIterations > 0 && s.round >= s.c.MaxIterations:
		s.applyLimit(ReasonMaxIterations, pending, bw)
	default:
		if s.c.AutoConverge && d > 0.5*s.roundBytes {
			if s.pct == 0 {
				s.pct = 20
			} else {
				s.pct = min(s.pct+10, 99)
			}
		}
		s.startRound(s.round+1, pending)
	}
}

// fire handles a time limit in the middle of setup or a round: everything
// not yet sent of this round plus everything dirtied so far is pending.
func (s *Stepper) fire(why string, bw float64) {
	var pending float64
	switch s.seg {
	case segSetup:
		pending = s.first
	case segSend, segSync:
		d := s.dirty()
		pending = s.left + d*(1+s.hdr)
		s.record(s.roundBytes-s.left, d, true)
		s.closeBytes()
	}
	s.applyLimit(why, pending, bw)
}

func (s *Stepper) applyLimit(why string, pending, bw float64) {
	if s.c.OnLimit != Force && s.c.OnLimit != Postcopy {
		s.finish(Aborted, why)
		return
	}
	if pending > 0 && bw <= 0 {
		s.finish(Aborted, why+StalledSuffix)
		return
	}
	if s.c.OnLimit == Force {
		s.stopAndCopy(pending, Forced, why)
		return
	}
	s.postcopy, s.pull = true, pending
	s.outcome, s.reason = PostCopy, why
	s.seg, s.leftNs = segCost, s.costNs()
}

func (s *Stepper) stopAndCopy(pending float64, o Outcome, why string) {
	s.outcome, s.reason = o, why
	s.startBytes(segCopy, pending)
}

func (s *Stepper) finish(o Outcome, why string) {
	s.closeBytes()
	s.seg, s.outcome, s.reason = segDone, o, why
}

// Next returns how long until the next state change (round end, switch-over,
// completion, a limit firing) if bandwidth stays as given; callers schedule an
// event then. It returns a positive duration, rounded up to the nanosecond so
// that Advance(Next(bw), bw) crosses the boundary, or -1 if nothing will ever
// happen (bandwidth 0 and no time limits, or Done).
func (s *Stepper) Next(bandwidth float64) time.Duration {
	if s.seg == segDone {
		return -1
	}
	bw := cleanBandwidth(bandwidth)
	d := s.visible(bw)
	if lim, _ := s.limit(); lim < d {
		d = lim
	}
	if d == never {
		return -1
	}
	return time.Duration(max(d, 1))
}

// Done reports whether the migration has ended, whatever its outcome.
func (s *Stepper) Done() bool { return s.seg == segDone }

// Elapsed is the time since the migration started.
func (s *Stepper) Elapsed() time.Duration { return time.Duration(s.now) }

// Phase is where the migration is.
func (s *Stepper) Phase() Phase {
	switch s.seg {
	case segSetup:
		return PhaseSetup
	case segSend, segSync:
		return PhasePreCopy
	case segCopy, segCost:
		return PhaseStopAndCopy
	case segPull:
		return PhasePostCopy
	}
	return PhaseFinished
}

// Sent is the bytes sent so far (for progress).
func (s *Stepper) Sent() int64 {
	n := s.sent
	if s.seg.bytes() {
		n += s.size - s.left
	}
	return int64(math.Round(n))
}

// Remaining is the bytes still to send in the current phase: the current
// round's during pre-copy (0 while its dirty bitmap syncs), the final copy's,
// post-copy's; during setup, round 1's whole size.
func (s *Stepper) Remaining() int64 {
	switch {
	case s.seg == segSetup:
		return int64(math.Round(s.first))
	case s.seg.bytes():
		return int64(math.Round(s.left))
	}
	return 0
}

// Paused reports whether the guest is paused (stop-and-copy, or the device
// state transfer before post-copy).
func (s *Stepper) Paused() bool { return s.seg.paused() }

// Abort ends the migration now with Outcome Aborted and the reason given
// (operator abort, host failure). It does nothing once Done. A round in
// progress is recorded as partial.
func (s *Stepper) Abort(reason string) {
	if s.seg == segDone {
		return
	}
	if reason == "" {
		reason = "aborted"
	}
	if s.seg == segSend || s.seg == segSync {
		s.record(s.roundBytes-s.left, s.dirty(), true)
	}
	s.finish(Aborted, reason)
}

// Result is the outcome once Done; before that, a partial result so far with
// an empty Outcome. The Rounds slice is the caller's.
func (s *Stepper) Result() Result { return s.result(slices.Clone(s.rounds)) }

// result builds a Result around rounds, which Predict passes uncopied since
// its stepper dies with it.
func (s *Stepper) result(rounds []Round) Result {
	r := Result{
		TotalTime:        time.Duration(s.now),
		Downtime:         time.Duration(s.downtime),
		Iterations:       len(s.rounds),
		TransferredBytes: s.Sent(),
		Throttle:         s.throttle(),
		Rounds:           rounds,
	}
	if s.seg == segDone {
		r.Outcome, r.Reason = s.outcome, s.reason
		r.Converged = s.outcome == Completed
		if s.outcome == Aborted {
			r.Downtime = 0
		}
	}
	return r
}

// Intervene applies a limit action from outside, now: the executor's own
// timeouts on a real host end a migration this way (libvirt's abort,
// suspend to force switch-over, or post-copy), and the simulator must
// behave the same. It does nothing outside setup and pre-copy.
func (s *Stepper) Intervene(action OnLimit, reason string, bandwidth float64) {
	switch s.seg {
	case segSetup, segSend, segSync:
	default:
		return
	}
	saved := s.c.OnLimit
	s.c.OnLimit = action
	s.fire(reason, cleanBandwidth(bandwidth))
	s.c.OnLimit = saved
}

// Round is the pre-copy round under way (0 during setup).
func (s *Stepper) Round() int { return s.round }
