package precopy

import "github.com/droverlab/drover/scheduler/cluster"

// maxPredictSyncs bounds Predict when the syncs would go on for ever
// without a verdict from hopeless.
const maxPredictSyncs = 1_000_000

// Predict runs the stepper at constant bandwidth (bytes/s, capped by
// c.BandwidthCap) to the end, so the planner's prediction and the
// simulator's stepping share every equation and every rounding.
//
// Where QEMU would run for ever, Predict gives a verdict instead: at
// bandwidth 0 with no time limit, Outcome Aborted with ReasonNoBandwidth; when
// pre-copy provably cannot converge and no configured limit can end it (see
// hopeless), Outcome Aborted with ReasonNoConvergence at the sync where that
// became certain.
func Predict(w Workload, c Config, bandwidth float64) Result {
	c = c.WithDefaults()
	bw := cleanBandwidth(bandwidth)
	if c.BandwidthCap > 0 && bw > c.BandwidthCap {
		bw = c.BandwidthCap
	}
	s := NewStepper(w, c)
	for s.seg != segDone {
		d := s.Next(bw)
		if d < 0 {
			s.finish0Reason(cluster.OutcomeAborted, ReasonNoBandwidth)
			break
		}
		syncs := s.syncs
		s.Advance(d, bw)
		if s.syncs != syncs && s.seg == segSend && (s.syncs > maxPredictSyncs || s.hopeless(bw)) {
			s.finish0Reason(cluster.OutcomeAborted, ReasonNoConvergence)
		}
	}
	return s.result(s.rounds)
}

// hopeless reports, right after a sync, that pre-copy can never switch over
// and no configured limit will ever stop it.
//
// With the throttle at its last value and the bandwidth constant, write e
// for the goodput, a for the wire bytes the guest dirties per second, T =
// e·DL for the threshold, W for the window, σ for a sync and H for the hot
// set's wire size. A sync comes at the first window end where the unsent
// estimate E falls under T, so T−E ≤ e·W; what the sync adds is at least
// a(W+σ)(1−T/H). If that is at least e·W, and a ≥ e (so a set sent within a
// window refills as fast), the pending bytes never fall under T. A set
// that fits in H < T always converges. As a backstop, stuckSyncs syncs
// without a new low also end it once the throttle can rise no more.
func (s *Stepper) hopeless(bw float64) bool {
	c := s.c
	if c.MaxIterations > 0 || s.completionAt != never || c.ProgressTimeout > 0 || bw <= 0 || s.round < 2 {
		return false
	}
	if c.AutoConverge && s.pct < 99 {
		return false
	}
	if s.stuck >= stuckSyncs {
		return true
	}
	e := s.eff(bw)
	t := e * c.DowntimeLimit.Seconds()
	if s.hot < t || s.hot <= 0 {
		return false
	}
	a := s.w.DirtyRate * (1 - s.throttle()) * (1 + s.hdr)
	win := float64(s.window) / 1e9
	return a >= e && a*(win+float64(s.syncNs)/1e9)*(1-t/s.hot) >= e*win
}

// Hopeless reports, right after a sync, that the migration can never
// converge even at bandwidth bw (give the most it could ever get) and no
// configured limit will end it. Callers that step a migration themselves
// use it to stop where Predict would give its no-convergence verdict.
func (s *Stepper) Hopeless(bw float64) bool {
	if s.seg != segSend {
		return false
	}
	return s.syncs > maxPredictSyncs || s.hopeless(cleanBandwidth(bw))
}
