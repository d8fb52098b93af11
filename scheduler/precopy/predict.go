package precopy

import "math"

// maxPredictRounds bounds Predict when the rounds would go on for ever
// without a verdict from hopeless: a dirty rate within a hair of the
// bandwidth approaches its fixed point so slowly that only this stops it.
const maxPredictRounds = 100_000

// Predict runs the stepper at constant bandwidth (bytes/s, capped by
// c.BandwidthCap) to the end, so the planner's prediction and the
// simulator's stepping share every equation and every rounding.
//
// Where QEMU would run for ever, Predict gives a verdict instead: at
// bandwidth 0 with no time limit, Outcome Aborted with ReasonNoBandwidth; when
// pre-copy provably cannot converge and no configured limit can end it (see
// hopeless), Outcome Aborted with ReasonNoConvergence at the round where that
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
			s.finish(Aborted, ReasonNoBandwidth)
			break
		}
		round := s.round
		s.Advance(d, bw)
		if s.round != round && s.seg == segSend && (s.round > maxPredictRounds || s.hopeless(bw)) {
			s.finish(Aborted, ReasonNoConvergence)
		}
	}
	return s.result(s.rounds)
}

// hopeless reports, at the start of a round, that pre-copy can never switch
// over and no configured limit will ever stop it.
//
// With the throttle at its last value and the bandwidth constant, the bytes
// dirtied per round follow D' = f(D) = min(WSS, r(1-θ)(D(1+h)/B + 2L)), an
// increasing map, so the sequence is monotone. If it does not fall, it stays
// above the switch-over threshold for ever. If it falls, it tends to the fixed
// point D* = r(1-θ)2L / (1 - r(1-θ)(1+h)/B) from above and never reaches a
// threshold below D*. A progress timeout does end a sequence that stops
// falling, so then the stepper runs on and the timeout decides.
func (s *Stepper) hopeless(bw float64) bool {
	c := s.c
	if c.MaxIterations > 0 || s.completionAt != never || bw <= 0 || s.round < 2 {
		return false
	}
	if c.AutoConverge && s.pct < 99 {
		return false
	}
	a := s.w.DirtyRate * (1 - s.throttle())
	d := s.roundBytes / (1 + s.hdr)
	t := float64(sat(bytesNs(s.roundBytes, bw), s.rtt)) / 1e9
	if next := min(float64(s.w.WSS), a*t); next >= d {
		return c.ProgressTimeout == 0
	}
	if c.ProgressTimeout > 0 {
		return false
	}
	q := a * (1 + s.hdr) / bw
	if q >= 1 {
		return false // cannot fall with q >= 1; kept for safety against rounding
	}
	fixed := a * (float64(s.rtt) / 1e9) / (1 - q)
	threshold := bw * c.DowntimeLimit.Seconds()
	return fixed*(1+s.hdr) > threshold*(1+1e-9) && !math.IsInf(fixed, 0)
}

// Hopeless reports, at the start of a round, that the migration can never
// converge even at bandwidth bw (give the most it could ever get) and no
// configured limit will end it. Callers that step a migration themselves
// use it to stop where Predict would give its no-convergence verdict.
func (s *Stepper) Hopeless(bw float64) bool {
	if s.seg != segSend {
		return false
	}
	return s.round > maxPredictRounds || s.hopeless(cleanBandwidth(bw))
}
