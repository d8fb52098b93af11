// Package precopy models QEMU's pre-copy live migration as a mechanism, not a
// formula: rounds that send what the guest dirtied during the previous one,
// bounded by a writable working set, ended by QEMU's switch-over rule, the
// executor's limits or an operator.
//
// One set of equations serves two callers. The simulator drives a Stepper
// while the bandwidth a migration gets changes (Advance, Next); the planner
// calls Predict, which is nothing but the same Stepper run at constant
// bandwidth, so the two cannot disagree. The package is pure: no clock, no
// goroutines, no randomness; the same inputs give the same Result.
//
// # Equations
//
// Notation: M memory, R resident (non-zero) bytes, W the writable working
// set, r the dirty rate, P the page size, h = 8/P the per-page header (QEMU's
// RAM_SAVE_FLAG word) per data byte, B the bandwidth, L the one-way latency,
// DL the downtime limit, C the switch-over cost, θ_k the auto-converge
// throttle during round k. Time is kept in integer nanoseconds and every
// transfer time ⌈n/B⌉ is rounded up to the next one, so an event scheduled
// at the reported instant has happened.
//
//	setup:          T_0 = SetupTime + 2L                     (no bytes)
//	round 1 sends:  S_1 = R + 8⌈R/P⌉ + 9⌊(M−R)/P⌋             (zero pages are 9-byte markers)
//	round k lasts:  t_k = ⌈S_k/B⌉ + 2L                       (send, then dirty-bitmap sync)
//	dirtied:        D_k = min(W, r(1−θ_k)·t_k)               (a page dirtied twice counts once)
//	round k+1:      S_{k+1} = D_k(1+h)
//
// After round k (never before round 1: QEMU measures bandwidth by sending)
// QEMU's rule decides in this order:
//
//  1. Switch over if S_{k+1} ≤ B·DL: the guest stops, downtime =
//     ⌈S_{k+1}/B⌉ + C + 2L, Outcome Completed.
//  2. Else if k = MaxIterations, the limit fires (below).
//  3. Else, with auto-converge on and D_k > S_k/2, raise the throttle:
//     θ = 0.2 at first, then +0.1, at most 0.99. Then run round k+1.
//
// Progress is a new minimum of ⌈D_k/P⌉ pages at a round's end (round 1 always
// is one). Two time limits fire at their exact instant during setup or
// pre-copy: the completion timeout at CompletionTimeoutPerGiB·M/GiB after the
// start, the progress timeout ProgressTimeout after the last progress (or
// the start). A limit firing inside round k leaves pending
// Q = (bytes of S_k not yet sent) + D_k(1+h) with D_k dirtied so far; inside
// setup Q = S_1; at a round's end Q = S_{k+1}. Then OnLimit:
//
//	Abort:     Outcome Aborted, downtime 0, the guest stays on the source.
//	Force:     downtime = ⌈Q/B⌉ + C + 2L, Outcome Forced.
//	Postcopy:  downtime = C + 2L; the guest then runs on the destination while
//	           Q is pulled in ⌈Q/B⌉, adding no new dirty bytes. Outcome PostCopy.
//
// Force and Postcopy with Q > 0 at bandwidth 0 cannot move a byte: Outcome
// Aborted, reason suffixed with StalledSuffix. Total time is T_0 + Σ t_k +
// downtime (+ the post-copy pull).
//
// With a bandwidth that changes, the same equations hold piecewise: a round
// ends when its S_k bytes have gone at whatever rates it got, and D_k uses the
// round's real duration (the throttle is constant within a round, so the
// duration is all D_k needs).
//
// Where QEMU would wait for ever, Predict returns a verdict instead: Aborted
// with ReasonNoBandwidth at bandwidth 0 and no time limit, Aborted with
// ReasonNoConvergence when the rounds provably never reach the threshold and
// no configured limit can end them. The Stepper has no such verdicts: its
// caller's time goes on.
package precopy
