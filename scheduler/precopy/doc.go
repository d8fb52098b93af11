// Package precopy models QEMU's pre-copy live migration as a mechanism, not a
// formula: QEMU 10's migration thread, its rate-limit windows, its
// switch-over test on measured bandwidth, its dirty-bitmap syncs and its
// unthrottled final copy, bounded by a writable working set, ended by that
// test, the executor's limits or an operator.
//
// One set of equations serves three callers. The simulator drives a Stepper
// while the bandwidth a migration gets changes (Advance, Next); the planner's
// timing steps the same Stepper; `drover predict` and every plan's
// predictions call Predict, which is nothing but the Stepper run at constant
// bandwidth, so none can disagree. The numbers QEMU's code does not fix (set-up
// cost, goodput, sync cost, switch-over cost, the final copy's rate, the
// confirm phase) live in a Profile, fitted on real migrations by `drover
// calibrate`; the default is embedded from profiles/. The package is pure: no
// clock, no goroutines, no randomness; the same inputs give the same Result.
//
// # Mechanism
//
// Notation: M memory, R resident (non-zero) bytes, H the hot set (the
// writable working set) in wire bytes, r the dirty rate, P the page size, h
// the per-page header over P, B the granted bandwidth, g the profile's
// goodput (the stream carries e = g·B), W the rate-limit window (QEMU's
// BUFFER_DELAY, 100 ms), DL the downtime limit, L the one-way latency.
//
//	setup:    SetupTime + 2L, no bytes; ends with the first bitmap sync
//	pass 1:   S_1 = R + h·P·⌈R/P⌉ + z·⌊(M−R)/P⌋           (z: a zero page's marker)
//	windows:  at each window's end QEMU measures the bandwidth b of that
//	          window (migration_update_counters) and sets T = b·DL
//	          (migration_iteration_run); T is 0 until one window has passed
//	sync:     when the unsent estimate E < T at a window's end, or the set
//	          runs dry with T > 0, QEMU counts exactly: a bitmap sync (the
//	          profile's sync cost, sending paused); pending
//	          Q = E + D·(1 − o·U/H), with D the wire bytes dirtied since the
//	          last sync (at most H), U the hot bytes still unsent (E·H/S
//	          while the set S is larger than H, else E) and o the profile's
//	          overlap: a page dirtied again while still unsent is not sent
//	          twice, as often as the guest's writes and QEMU's scan let it
//	switch:   Q < T: the guest stops; Q goes at the final rate
//	          max(e, min(profile final rate, link)), since QEMU lifts its
//	          rate limit for the stop-and-copy; downtime = Q/final +
//	          switch-over cost + 2L; then the confirm phase (profile finish)
//	else:     the iteration limit, else auto-converge (QEMU's
//	          migration_trigger_throttle: over periods of at least 1 s, dirtying
//	          more than half of what was sent twice makes the throttle 20%,
//	          then +10%, at most 99%), else send on with S = Q
//
// Iterations counts dirty-bitmap syncs as libvirt does (query-migrate's
// dirty-sync-count): the setup sync, one per exact check, and the final one
// at switch-over (or the discard bitmap at post-copy's start). Rounds are the
// periods between syncs.
//
// Progress is a new minimum of pending pages at a sync. Two time limits fire
// at their exact instant during setup or pre-copy: the completion timeout at
// CompletionTimeoutPerGiB·M/GiB after the start, the progress timeout
// ProgressTimeout after the last progress (or the start). A limit leaves Q
// pending (inside setup, S_1). Then OnLimit:
//
//	Abort:     Outcome Aborted, downtime 0, the guest stays on the source.
//	Force:     Q goes paused at the final rate, Outcome Forced.
//	Postcopy:  downtime = switch-over cost + 2L; the guest then runs on the
//	           destination while Q is pulled at the final rate. Outcome PostCopy.
//
// Force and Postcopy with Q > 0 at bandwidth 0 cannot move a byte: Outcome
// Aborted, reason suffixed with StalledSuffix.
//
// With a bandwidth that changes, the same rules hold piecewise: windows are
// timed from the last sync, bytes flow at whatever rate each instant has,
// and D uses real elapsed time. Windows whose end cannot call for a sync are
// skipped in one step, so a long pass costs its caller O(1) events.
//
// Where QEMU would wait for ever, Predict returns a verdict instead: Aborted
// with ReasonNoBandwidth at bandwidth 0 and no time limit, Aborted with
// ReasonNoConvergence when the syncs provably never bring Q under T and no
// configured limit can end them. The Stepper has no such verdicts: its
// caller's time goes on.
package precopy
