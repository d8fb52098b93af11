// Package scheduler is Drover's decision core: a pure state machine that
// decides which VM moves where and when, and then carries it out, without
// knowing whether the world is simulated or real.
//
// It never reads a clock, starts a goroutine or does I/O. A driver runs it:
//
//  1. Step(now, event) for each event (from the backend, the operator or a
//     timer the Core set), in order.
//  2. While HasReady(): rd := Ready(), then
//     a. persist rd.Journal (append-only; BEFORE any command runs, so a
//     crash never leaves a started migration unrecorded),
//     b. carry out rd.Commands in order (backend.Apply),
//     c. set rd.Timers (each fires as Step(now, TimerFired{Key})),
//     d. Advance(rd),
//     e. if rd.NeedSnapshot, take a snapshot and Step(now, SnapshotTaken).
//
// Node is that loop, written once: the simulator runs it in virtual time,
// backend/driver.Run on the wall clock, schedtest's harness in a test's
// time, and drover apply --dry-run with nothing to carry out. Each gives
// it an Env (journal, commands, timers, snapshots) and a clock. An operator's reviewed plan comes in as
// PlanSubmitted and is checked against a fresh snapshot before it runs. Policies run on a snapshot, produce plans, and the
// Core dispatches their moves under the plan's limits and a global one,
// watches their progress, applies the limit action (abort, force
// switch-over, post-copy) on timeouts, retries failed moves elsewhere, and
// journals every step so an interrupted run resumes without repeating
// finished migrations.
package scheduler
