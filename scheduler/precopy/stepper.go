package precopy

import (
	"math"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// segment is the stepper's finer state. A Phase spans several segments
// because some depend on bandwidth and others only on time.
type segment uint8

const (
	segSetup  segment = iota // timed: setup cost and one RTT, ends with the first bitmap sync
	segSend                  // a rate-limit window of sending from the dirty set
	segSync                  // timed: a dirty-bitmap sync, sending paused
	segCopy                  // bytes: stop-and-copy at the unthrottled rate, guest paused
	segCost                  // timed: device state and resume, guest paused
	segPull                  // bytes: post-copy pulls the rest, guest running
	segFinish                // timed: libvirt's confirm and clean-up, guest running
	segDone
)

func (g segment) bytes() bool  { return g == segCopy || g == segPull }
func (g segment) paused() bool { return g == segCopy || g == segCost }

// limited reports whether limits can fire: once switch-over or post-copy has
// begun there is nothing left to give up on.
func (g segment) limited() bool { return g == segSetup || g == segSend || g == segSync }

// never is "no event": time is kept in integer nanoseconds so that the
// planner and the simulator, whatever steps the latter takes, see events at
// the same instants.
const never int64 = math.MaxInt64

// stuckSyncs is how many bitmap syncs without a new low in pending bytes
// Predict waits, once nothing can change any more, before its
// no-convergence verdict: a backstop behind hopeless.
const stuckSyncs = 2000

// Stepper advances one migration through time while its bandwidth changes.
// It is a plain value machine: no clock, no goroutines; the caller owns time.
type Stepper struct {
	w Workload
	c Config
	// hdr is header bytes per data byte; first is pass 1's wire size,
	// zero-page markers included; hot is the working set's wire size.
	hdr     float64
	first   float64
	hot     float64
	rtt     int64
	window  int64
	syncNs  int64
	finish  int64
	goodput float64
	zeroSec float64 // the first pass's scan of its zero pages, seconds of the migration thread

	seg    segment
	now    int64
	left   float64 // segSend: the dirty set not yet sent; bytes segments: bytes to go
	leftNs int64   // time still to spend in a timed segment or in the window
	size   float64 // the bytes segment's full size, so Sent is exact at its end

	pass      float64 // the dirty set's size at the last sync (for overlap)
	winStart  int64
	winBytes  float64
	threshold float64 // bytes: measured bandwidth × downtime limit; 0 until measured
	syncs     int     // dirty-bitmap syncs, libvirt's "Iteration"

	round      int
	roundStart int64 // the last sync: what the guest dirtied since is not yet in the bitmap
	roundBytes float64
	pct        int // auto-converge throttle in percent: 0.3 must print as 0.3
	acStart    int64
	acDirty    float64
	acSent     float64
	acHigh     int
	rounds     []Round

	sent     float64 // bytes sent in pre-copy and finished bytes segments
	downtime int64
	bw       float64 // the bandwidth granted in the current Advance
	queueNs  int64   // the switch-over's wait for the path's queue to drain

	// Progress is judged in whole pages at each sync, as QEMU reports
	// remaining RAM.
	minPages     float64
	lastProgress int64
	stuck        int
	completionAt int64

	postcopy bool
	pull     float64
	outcome  cluster.Outcome // decided when switch-over starts, reported when done
	reason   string
}

// NewStepper starts a migration of w under c (defaults applied) at time 0.
// An invalid workload is clamped into range rather than refused: callers that
// must refuse it use Workload.Validate.
func NewStepper(w Workload, c Config) *Stepper {
	c = c.WithDefaults()
	w = clampWorkload(w)
	p := c.Profile
	if p.DirtyFactor > 0 && w.DirtyRate < math.MaxFloat64 {
		w.DirtyRate *= p.DirtyFactor
	}
	s := &Stepper{
		w:            w,
		c:            c,
		hdr:          p.PageHeaderBytes / float64(c.PageSize),
		rtt:          2 * nonneg(c.Latency),
		window:       max(int64(msDur(p.WindowMS)), 1),
		syncNs:       int64(msDur(p.SyncMS)),
		finish:       int64(msDur(p.FinishMS)),
		goodput:      p.GoodputOf(c.TLS),
		minPages:     math.Inf(1),
		completionAt: never,
	}
	nonZero := (w.Resident + c.PageSize - 1) / c.PageSize
	zero := (w.Memory - w.Resident) / c.PageSize
	s.first = float64(w.Resident) + p.PageHeaderBytes*float64(nonZero) + p.ZeroPageBytes*float64(zero)
	s.hot = float64(w.WSS) * (1 + s.hdr)
	if us := p.ZeroPageUS; us > 0 && zero > 0 {
		s.zeroSec = float64(zero) * us / 1e6
	}
	if c.CompletionTimeoutPerGiB > 0 {
		s.completionAt = int64(math.Round(float64(c.CompletionTimeoutPerGiB) * float64(w.Memory) / (1 << 30)))
	}
	s.seg = segSetup
	s.leftNs = sat(nonneg(c.SetupTime), s.rtt)
	if c.Wall {
		s.leftNs = sat(s.leftNs, int64(p.Overhead(c.TLS)))
	}
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
	if !(bw > 0) || math.IsNaN(bw) {
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

// dirty is what the guest has dirtied since the last sync. It is computed
// from elapsed time, not accumulated, so that how a caller slices time
// cannot change it; the throttle only changes at a sync.
func (s *Stepper) dirty() float64 {
	rate := s.w.DirtyRate * (1 - float64(s.pct)/100)
	return min(float64(s.w.WSS), rate*float64(s.now-s.roundStart)/1e9)
}

func (s *Stepper) throttle() float64 { return float64(s.pct) / 100 }

// eff is the rate migration bytes flow at when bw is granted.
func (s *Stepper) eff(bw float64) float64 {
	if g := s.c.Profile.LinkGoodput; g > 0 && s.pathBound(bw) {
		return bw * g
	}
	return bw * s.goodput
}

// pathBound says a stream granted bw gets less than its own bound (cap,
// CPU): its path decides its rate.
func (s *Stepper) pathBound(bw float64) bool { return bw < s.c.Bound*(1-1e-9) }

// sendRate is what pre-copy sends at when bw is granted: eff, and in the
// first pass less, by the time the migration thread spends reading every
// zero page. A rate limit does not hide that time: a guest's zero pages
// lie in long runs, where the thread scans and sends nothing.
func (s *Stepper) sendRate(bw float64) float64 {
	e := s.eff(bw)
	if s.round == 1 && s.zeroSec > 0 && e > 0 {
		return s.first / (s.first/e + s.zeroSec)
	}
	return e
}

// finalRate is the stop-and-copy's rate: QEMU lifts its rate limit, so what
// bounds it is the host (the profile) and the path, never less than the
// rate pre-copy had.
func (s *Stepper) finalRate(bw float64) float64 {
	e := s.eff(bw)
	f := s.c.Profile.FinalRate
	if s.c.CopyShared {
		// bw is already the stream's share of the path with its cap
		// lifted: the copy gets no more, and the host's final rate holds
		// it back only down to what pre-copy last measured (the CPU fed
		// that much already).
		r := e
		if f > 0 {
			r = min(f, e)
		}
		if pre := s.threshold / s.c.DowntimeLimit.Seconds(); pre > r {
			r = min(pre, e)
		}
		return r
	}
	if f <= 0 {
		return e
	}
	if s.c.LinkRate > 0 {
		// The path bounds the copy: at its own goodput.
		g := s.goodput
		if lg := s.c.Profile.LinkGoodput; lg > 0 {
			g = lg
		}
		f = min(f, s.c.LinkRate*g)
	}
	return max(f, e)
}

// pending is what the bitmap holds after a sync now: the unsent part of the
// dirty set plus the pages dirtied since the last sync that are not already
// in it. A guest writing its working set uniformly dirties a page already
// pending with the share of the hot set that is still unsent; the profile's
// Overlap scales that share. It is fitted, not derived: below 1 it also
// absorbs what the guest's own kernel dirties outside the declared working
// set, which is why no union bound is applied (the lab's table predicts
// better held out without one: 3.7% against 4.5% median time error).
func (s *Stepper) pending() float64 {
	n := s.dirty() * (1 + s.hdr)
	if s.hot <= 0 || n <= 0 {
		return s.left
	}
	unsentHot := s.left
	if s.pass > 0 && s.hot < s.pass {
		unsentHot = s.left * s.hot / s.pass
	}
	return s.left + n*max(0, 1-s.c.Profile.Overlap*unsentHot/s.hot)
}

// step is how long until the current segment ends at bw.
func (s *Stepper) step(bw float64) int64 {
	switch {
	case s.seg == segSend:
		if s.left > 0 {
			return min(s.leftNs, bytesNs(s.left, s.sendRate(bw)))
		}
		return s.leftNs
	case s.seg == segCopy:
		return bytesNs(s.left, s.finalRate(bw))
	case s.seg == segPull:
		return bytesNs(s.left, s.finalRate(bw))
	}
	return s.leftNs
}

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
// may be 0), crossing any number of windows, syncs and limits inside dt.
// It never goes past Done. Events due exactly at the end of dt happen.
func (s *Stepper) Advance(dt time.Duration, bandwidth float64) {
	bw := cleanBandwidth(bandwidth)
	s.bw = bw
	left := max(int64(dt), 0)
	for s.seg != segDone {
		left -= s.skipWindows(left, bw)
		step := s.step(bw)
		if lim, why := s.limit(); lim < step {
			// A sync at the very instant of a deadline goes first: it may
			// converge and so escape the limit.
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

// skipWindows jumps, at the start of a window, over the whole windows
// within dt whose ends cannot call for a sync (the estimate stays at or
// above the threshold) and before any limit, exactly as stepping them one
// by one would, so a long pass costs O(1). It returns the time it spent.
func (s *Stepper) skipWindows(dt int64, bw float64) int64 {
	if s.seg != segSend || s.leftNs != s.window || s.winBytes != 0 || s.left <= 0 {
		return 0
	}
	k := float64(dt / s.window)
	if lim, _ := s.limit(); lim != never {
		k = min(k, float64(lim/s.window))
	}
	per := s.sendRate(bw) * float64(s.window) / 1e9
	t := s.sendRate(bw) * s.c.DowntimeLimit.Seconds()
	if per > 0 {
		k = min(k, math.Floor((s.left-t)/per))
	}
	if k < 1 {
		return 0
	}
	n := int64(k)
	d := n * s.window
	x := k * per
	s.now += d
	s.left -= x
	s.sent += x
	s.roundBytes += x
	s.threshold = t
	s.winStart = s.now
	return d
}

// elapse spends d in the current segment; whole means d reaches its end,
// which is then exact whatever rounding the byte count suffered.
func (s *Stepper) elapse(d int64, bw float64, whole bool) {
	s.now = sat(s.now, d)
	if s.seg.paused() {
		s.downtime = sat(s.downtime, d)
	}
	switch {
	case s.seg == segSend:
		x := min(s.left, s.sendRate(bw)*float64(d)/1e9)
		if whole && d == bytesNs(s.left, s.sendRate(bw)) && d <= s.leftNs {
			x = s.left
		}
		s.left -= x
		s.winBytes += x
		s.roundBytes += x
		s.sent += x
		s.leftNs -= d
	case whole && s.seg.bytes():
		s.left = 0
	case whole:
		s.leftNs = 0
	case s.seg.bytes():
		s.left = max(s.left-s.finalRate(bw)*float64(d)/1e9, 0)
	default:
		s.leftNs -= d
	}
}

// endSegment moves on from a finished segment.
func (s *Stepper) endSegment(bw float64) {
	switch s.seg {
	case segSetup:
		// ram_save_setup marks every page dirty and syncs once.
		s.syncs = 1
		s.round, s.roundStart, s.pass = 1, s.now, s.first
		s.acStart = s.now
		s.left = s.first
		s.newWindow()
	case segSend:
		s.endWindow()
	case segSync:
		s.endSync()
	case segCopy:
		s.closeBytes()
		s.seg, s.leftNs = segCost, s.costNs()
	case segCost:
		if s.postcopy {
			s.startBytes(segPull, s.pull)
			return
		}
		s.seg, s.leftNs = segFinish, s.finish
	case segPull:
		s.closeBytes()
		s.seg, s.leftNs = segFinish, s.finish
	case segFinish:
		s.finish0()
	}
}

func (s *Stepper) newWindow() {
	s.seg, s.leftNs = segSend, s.window
	s.winStart, s.winBytes = s.now, 0
}

// endWindow is QEMU's migration_iteration_run: with the bandwidth measured
// over the window just ended (migration_update_counters), the threshold is
// that bandwidth times the downtime limit; an estimate of what is pending
// under it calls for an exact count, i.e. a bitmap sync. A pass that runs
// dry mid-window asks at once.
func (s *Stepper) endWindow() {
	full := s.leftNs <= 0
	if full {
		if el := s.now - s.winStart; el > 0 {
			s.threshold = s.winBytes / (float64(el) / 1e9) * s.c.DowntimeLimit.Seconds()
		}
	}
	if s.threshold > 0 && (s.left == 0 || full && s.left < s.threshold) {
		s.seg, s.leftNs = segSync, s.syncNs
		return
	}
	if full {
		s.newWindow()
	}
}

// endSync applies QEMU's order after an exact count: switch over if the
// pending bytes are under the threshold, else give up at the iteration
// limit, else let auto-converge judge the period and send on.
func (s *Stepper) endSync() {
	d := s.dirty()
	p := s.pending()
	s.syncs++
	s.record(s.roundBytes, d, false)
	if pages := math.Ceil(p / (1 + s.hdr) / float64(s.c.PageSize)); pages < s.minPages {
		s.minPages, s.lastProgress, s.stuck = pages, s.now, 0
	} else {
		s.stuck++
	}
	switch {
	case p < s.threshold:
		s.stopAndCopy(p, cluster.OutcomeCompleted, "")
		return
	case s.c.MaxIterations > 0 && s.round >= s.c.MaxIterations:
		s.applyLimit(ReasonMaxIterations, p)
		return
	}
	if s.c.AutoConverge {
		s.autoConverge(d)
	}
	s.round, s.roundStart, s.roundBytes = s.round+1, s.now, 0
	s.left, s.pass = p, p
	s.newWindow()
}

// autoConverge is QEMU's migration_trigger_throttle and
// mig_throttle_guest_down: over periods of at least a second, a guest that
// dirtied more than the trigger share of what was sent, twice in a row,
// gets throttled: the initial step at first, then the increment (with
// tailslow, only as much as brings the dirty rate down to the trigger),
// at most the maximum.
func (s *Stepper) autoConverge(d float64) {
	s.acDirty += d
	s.acSent += s.roundBytes
	if s.now-s.acStart < int64(time.Second) {
		return
	}
	t := s.c.Throttle
	threshold := s.acSent * float64(t.Trigger) / 100
	if s.acDirty > threshold {
		if s.acHigh++; s.acHigh >= 2 {
			s.acHigh = 0
			switch {
			case s.pct == 0:
				s.pct = t.Initial
			case t.Tailslow:
				// QEMU's unsigned arithmetic truncates the ideal share.
				now := 100 - s.pct
				ideal := int(float64(now) * threshold / s.acDirty)
				s.pct = min(s.pct+min(now-ideal, t.Increment), t.Max)
			default:
				s.pct = min(s.pct+t.Increment, t.Max)
			}
		}
	}
	s.acStart, s.acDirty, s.acSent = s.now, 0, 0
}

func (s *Stepper) costNs() int64 { return sat(sat(nonneg(s.c.SwitchoverCost), s.rtt), s.queueNs) }

// pathQueue is how long the destination waits, once the guest has stopped,
// for what the path still holds: only a stream granted less than its own
// bound (cap, CPU) keeps the path's queue full.
func (s *Stepper) pathQueue() int64 {
	q := s.c.Profile.QueueBytes
	if q <= 0 || !s.pathBound(s.bw) {
		return 0
	}
	return bytesNs(q, s.finalRate(s.bw))
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

// fire handles a time limit in the middle of setup or pre-copy.
func (s *Stepper) fire(why string, bw float64) {
	var p float64
	switch s.seg {
	case segSetup:
		p = s.first
	case segSend, segSync:
		p = s.pending()
		s.record(s.roundBytes, s.dirty(), true)
	}
	if bw <= 0 && p > 0 && s.c.OnLimit != cluster.LimitAbort {
		s.finish0Reason(cluster.OutcomeAborted, why+StalledSuffix)
		return
	}
	s.applyLimit(why, p)
}

func (s *Stepper) applyLimit(why string, p float64) {
	switch s.c.OnLimit {
	case cluster.LimitForce:
		s.stopAndCopy(p, cluster.OutcomeForced, why)
	case cluster.LimitPostcopy:
		s.syncs++ // the discard bitmap sent at post-copy's start syncs once more
		s.postcopy, s.pull = true, p
		s.outcome, s.reason = cluster.OutcomePostCopy, why
		s.seg, s.leftNs = segCost, s.costNs()
	default:
		s.finish0Reason(cluster.OutcomeAborted, why)
	}
}

func (s *Stepper) stopAndCopy(p float64, o cluster.Outcome, why string) {
	s.syncs++ // ram_save_complete syncs once more, the guest stopped
	s.outcome, s.reason = o, why
	s.queueNs = s.pathQueue()
	s.startBytes(segCopy, p)
}

func (s *Stepper) finish0() { s.finish0Reason(s.outcome, s.reason) }

func (s *Stepper) finish0Reason(o cluster.Outcome, why string) {
	s.closeBytes()
	s.seg, s.outcome, s.reason = segDone, o, why
}

// Next returns how long until the next state change a caller schedules an
// event for (the end of a window, a sync, switch-over, completion, a limit
// firing) if bandwidth stays as given. It returns a positive duration,
// rounded up to the nanosecond so that Advance(Next(bw), bw) crosses the
// boundary, or -1 if nothing will ever happen (bandwidth 0 and no time
// limits, or Done). Windows in which the switch-over test cannot pass are
// skipped, so a long pass costs its caller few events.
func (s *Stepper) Next(bandwidth float64) time.Duration {
	if s.seg == segDone {
		return -1
	}
	bw := cleanBandwidth(bandwidth)
	d := s.step(bw)
	if s.seg == segSend && bw > 0 && s.left > 0 && d == s.leftNs {
		// Whole windows that will leave the estimate above the threshold
		// are uneventful; the first that may pass is the next event.
		per := s.sendRate(bw) * float64(s.window) / 1e9
		if per > 0 {
			need := s.left - max(s.threshold, s.sendRate(bw)*s.c.DowntimeLimit.Seconds())
			if k := math.Floor(need/per) - 1; k >= 1 {
				d = sat(d, int64(min(k, 1e6))*s.window)
				d = min(d, sat(s.leftNs, bytesNs(s.left, s.sendRate(bw))))
			}
		}
	}
	if s.seg == segSend && s.left > 0 && bytesNs(s.left, s.sendRate(bw)) == never {
		// Windows of nothing measure nothing: no sync can ever come.
		d = never
	}
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
	case segFinish:
		return PhaseFinishing
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

// Remaining is the bytes still to send in the current phase: the dirty set
// known to pre-copy, the final copy's, post-copy's; during setup, pass 1's
// whole size.
func (s *Stepper) Remaining() int64 {
	switch s.seg {
	case segSetup:
		return int64(math.Round(s.first))
	case segSend, segSync, segCopy, segPull:
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
		s.record(s.roundBytes, s.dirty(), true)
	}
	s.finish0Reason(cluster.OutcomeAborted, reason)
}

// Clone is an independent copy of s: stepping one leaves the other as it
// was.
func (s *Stepper) Clone() *Stepper {
	c := *s
	c.rounds = slices.Clone(s.rounds)
	return &c
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
		Iterations:       s.syncs,
		TransferredBytes: s.Sent(),
		Throttle:         s.throttle(),
		Rounds:           rounds,
	}
	if s.seg == segDone {
		r.Outcome, r.Reason = s.outcome, s.reason
		r.Converged = s.outcome == cluster.OutcomeCompleted
		if s.outcome == cluster.OutcomeAborted {
			r.Downtime = 0
		}
	}
	return r
}

// Intervene applies a limit action from outside, now: the executor's own
// timeouts on a real host end a migration this way (libvirt's abort,
// suspend to force switch-over, or post-copy), and the simulator must
// behave the same. It does nothing outside setup and pre-copy.
func (s *Stepper) Intervene(action cluster.OnLimit, reason string, bandwidth float64) {
	if !s.seg.limited() {
		return
	}
	saved := s.c.OnLimit
	s.c.OnLimit = action
	s.fire(reason, cleanBandwidth(bandwidth))
	s.c.OnLimit = saved
}

// Round is the pre-copy pass under way (0 during setup): it changes at each
// bitmap sync.
func (s *Stepper) Round() int { return s.round }

// Config is the configuration the migration runs under, defaults applied.
func (s *Stepper) Config() Config { return s.c }
