package plan_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/plan"
)

var _ = Describe("Dispatcher", func() {
	Describe("limits", func() {
		DescribeTable("which moves start first, in plan order",
			func(limits plan.Limits, moves []plan.Move, want []int) {
				d := plan.NewDispatcher(moves, limits)
				Expect(d.Next()).To(Equal(want))
				Expect(d.Running()).To(Equal(len(want)))
			},
			Entry("no limits: everything, in order", plan.Limits{},
				[]plan.Move{mv(1, "h1", "h2"), mv(2, "h1", "h3"), mv(3, "h2", "h3")}, []int{0, 1, 2}),
			Entry("one out per host: a later move from another host is not held up", plan.Limits{MaxPerHostOut: 1},
				[]plan.Move{mv(1, "h1", "h2"), mv(2, "h1", "h3"), mv(3, "h4", "h5"), mv(4, "h4", "h6")}, []int{0, 2}),
			Entry("two out per host", plan.Limits{MaxPerHostOut: 2},
				[]plan.Move{mv(1, "h1", "h2"), mv(2, "h1", "h3"), mv(3, "h1", "h4"), mv(4, "h5", "h6")}, []int{0, 1, 3}),
			Entry("one in per host", plan.Limits{MaxPerHostIn: 1},
				[]plan.Move{mv(1, "h1", "h9"), mv(2, "h2", "h9"), mv(3, "h3", "h8"), mv(4, "h4", "h8")}, []int{0, 2}),
			Entry("out and in together", plan.Limits{MaxPerHostOut: 1, MaxPerHostIn: 1},
				[]plan.Move{mv(1, "h1", "h9"), mv(2, "h1", "h8"), mv(3, "h2", "h9"), mv(4, "h3", "h7")}, []int{0, 3}),
			Entry("global MaxParallel takes the first ones", plan.Limits{MaxParallel: 2},
				[]plan.Move{mv(1, "h1", "h2"), mv(2, "h3", "h4"), mv(3, "h5", "h6")}, []int{0, 1}),
			Entry("MaxParallel counts only moves that pass the host limits", plan.Limits{MaxParallel: 2, MaxPerHostOut: 1},
				[]plan.Move{mv(1, "h1", "h2"), mv(2, "h1", "h3"), mv(3, "h5", "h6"), mv(4, "h7", "h8")}, []int{0, 2}),
		)

		It("starts the next move as soon as a slot frees, and only then", func() {
			moves := []plan.Move{mv(1, "h1", "h2"), mv(2, "h1", "h3"), mv(3, "h1", "h4")}
			d := plan.NewDispatcher(moves, plan.Limits{MaxPerHostOut: 1})
			Expect(d.Next()).To(Equal([]int{0}))
			Expect(d.Next()).To(BeEmpty(), "h1 is busy")
			d.Finish(0, true)
			Expect(d.Next()).To(Equal([]int{1}))
			d.Finish(1, false) // a failure frees the slot too
			Expect(d.Next()).To(Equal([]int{2}))
			d.Finish(2, true)
			Expect(d.Next()).To(BeEmpty())
			Expect(d.Idle()).To(BeTrue())
		})

		It("frees the destination's slot when a move ends", func() {
			moves := []plan.Move{mv(1, "h1", "h9"), mv(2, "h2", "h9")}
			d := plan.NewDispatcher(moves, plan.Limits{MaxPerHostIn: 1})
			Expect(d.Next()).To(Equal([]int{0}))
			d.Finish(0, true)
			Expect(d.Next()).To(Equal([]int{1}))
		})

		It("keeps MaxParallel as moves come and go", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "c", "d"), mv(3, "e", "f"), mv(4, "g", "h"), mv(5, "i", "j")}
			d := plan.NewDispatcher(moves, plan.Limits{MaxParallel: 2})
			Expect(d.Next()).To(Equal([]int{0, 1}))
			d.Finish(1, true)
			Expect(d.Next()).To(Equal([]int{2}))
			Expect(d.Running()).To(Equal(2))
			finishAll(d, true, 0, 2)
			Expect(d.Next()).To(Equal([]int{3, 4}))
		})
	})

	Describe("NextUpTo", func() {
		moves := func() []plan.Move {
			return []plan.Move{mv(1, "a", "b"), mv(2, "c", "d"), mv(3, "e", "f"), mv(4, "g", "h")}
		}
		DescribeTable("caps starts on top of the plan's limits",
			func(limits plan.Limits, n int, want []int) {
				d := plan.NewDispatcher(moves(), limits)
				got := d.NextUpTo(n)
				if len(want) == 0 {
					Expect(got).To(BeEmpty())
				} else {
					Expect(got).To(Equal(want))
				}
				Expect(d.Running()).To(Equal(len(want)))
			},
			Entry("0 starts nothing", plan.Limits{}, 0, nil),
			Entry("2 of 4", plan.Limits{}, 2, []int{0, 1}),
			Entry("negative: no cap of its own", plan.Limits{}, -1, []int{0, 1, 2, 3}),
			Entry("more than there are", plan.Limits{}, 9, []int{0, 1, 2, 3}),
			Entry("the smaller of n and MaxParallel: n", plan.Limits{MaxParallel: 3}, 1, []int{0}),
			Entry("the smaller of n and MaxParallel: MaxParallel", plan.Limits{MaxParallel: 2}, 3, []int{0, 1}),
		)

		It("leaves the rest pending for a later call", func() {
			d := plan.NewDispatcher(moves(), plan.Limits{})
			Expect(d.NextUpTo(1)).To(Equal([]int{0}))
			Expect(d.Pending(1)).To(BeTrue())
			Expect(d.NextUpTo(2)).To(Equal([]int{1, 2}))
			Expect(d.NextUpTo(-1)).To(Equal([]int{3}))
		})
	})

	Describe("batch mode", func() {
		It("waits for the whole batch before starting the next", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "c", "d"), mv(3, "e", "f"), mv(4, "g", "h"), mv(5, "i", "j")}
			d := plan.NewDispatcher(moves, plan.Limits{MaxParallel: 2, Batch: true})
			Expect(d.Next()).To(Equal([]int{0, 1}))
			d.Finish(0, true)
			Expect(d.Next()).To(BeEmpty(), "one of the batch still runs")
			Expect(d.NextUpTo(5)).To(BeEmpty())
			d.Finish(1, false)
			Expect(d.Next()).To(Equal([]int{2, 3}))
			finishAll(d, true, 2, 3)
			Expect(d.Next()).To(Equal([]int{4}))
		})

		It("applies the per-host limits inside a batch", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "a", "c"), mv(3, "a", "d"), mv(4, "e", "f")}
			d := plan.NewDispatcher(moves, plan.Limits{MaxParallel: 5, MaxPerHostOut: 2, Batch: true})
			Expect(d.Next()).To(Equal([]int{0, 1, 3}))
			finishAll(d, true, 0, 1)
			Expect(d.Next()).To(BeEmpty(), "move 4 still runs")
			d.Finish(3, true)
			Expect(d.Next()).To(Equal([]int{2}))
		})
	})

	Describe("dependencies", func() {
		It("holds a move until the moves it waits for are done", func() {
			moves := []plan.Move{mv(1, "h1", "h2"), mv(2, "h2", "h1", 1), mv(3, "h3", "h4")}
			d := plan.NewDispatcher(moves, plan.Limits{})
			Expect(d.Next()).To(Equal([]int{0, 2}))
			Expect(d.Pending(1)).To(BeTrue())
			d.Finish(2, true)
			Expect(d.Next()).To(BeEmpty(), "move 1 still runs")
			d.Finish(0, true)
			Expect(d.Next()).To(Equal([]int{1}))
		})

		It("waits for every dependency", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "c", "d"), mv(3, "e", "f", 1, 2)}
			d := plan.NewDispatcher(moves, plan.Limits{})
			Expect(d.Next()).To(Equal([]int{0, 1}))
			d.Finish(0, true)
			Expect(d.Next()).To(BeEmpty())
			d.Finish(1, true)
			Expect(d.Next()).To(Equal([]int{2}))
		})

		It("treats a dependency outside the plan as done", func() {
			d := plan.NewDispatcher([]plan.Move{mv(1, "a", "b", 42)}, plan.Limits{})
			Expect(d.Next()).To(Equal([]int{0}))
		})

		It("blocks the dependents of a failed move, and their dependents", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "b", "a", 1), mv(3, "c", "b", 2), mv(4, "d", "e")}
			d := plan.NewDispatcher(moves, plan.Limits{})
			Expect(d.Next()).To(Equal([]int{0, 3}))
			d.Finish(0, false)
			Expect(d.Next()).To(BeEmpty())
			Expect(d.Blocked()).To(Equal([]int{1, 2}))
			Expect(d.Pending(1)).To(BeFalse(), "a blocked move can never start")
			Expect(d.Idle()).To(BeFalse(), "move 4 still runs")
			d.Finish(3, true)
			Expect(d.Idle()).To(BeTrue())
			Expect(d.Next()).To(BeEmpty())
		})

		// Was a bug (fixed): Blocked checks each pending move once, in plan order, so a
		// move that waits on a move placed after it in the plan is missed
		// when that later move becomes blocked in the same pass; it is only
		// reported by the next call. Plans reordered after building
		// (disaster's largest-first order, Finish's order hook) have such
		// forward dependencies. Fix (scheduler/plan/dispatch.go, Blocked):
		// repeat the pass until no state changes, or make ready() recurse
		// into a pending dependency's own dependencies.
		It("lists a whole chain blocked by one failure in a single call, whatever the plan order", func() {
			// move 1 waits for 2, which waits for 3; 3 comes last and fails.
			moves := []plan.Move{mv(1, "a", "b", 2), mv(2, "b", "c", 3), mv(3, "c", "d")}
			d := plan.NewDispatcher(moves, plan.Limits{})
			Expect(d.Next()).To(Equal([]int{2}))
			d.Finish(2, false)
			Expect(d.Blocked()).To(Equal([]int{0, 1}))
		})

		It("is idle when the only pending moves wait on each other", func() {
			moves := []plan.Move{mv(1, "a", "b", 2), mv(2, "b", "a", 1)}
			d := plan.NewDispatcher(moves, plan.Limits{})
			Expect(d.Next()).To(BeEmpty())
			Expect(d.Idle()).To(BeTrue())
			Expect(d.Blocked()).To(BeEmpty(), "nothing failed")
		})
	})

	Describe("Cancel", func() {
		It("drops a pending move and blocks its dependents", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "c", "d"), mv(3, "e", "f", 2)}
			d := plan.NewDispatcher(moves, plan.Limits{MaxParallel: 1})
			d.Cancel(1)
			Expect(d.Pending(1)).To(BeFalse())
			Expect(d.Next()).To(Equal([]int{0}))
			d.Finish(0, true)
			Expect(d.Next()).To(BeEmpty())
			Expect(d.Blocked()).To(Equal([]int{2}))
			Expect(d.Idle()).To(BeTrue())
		})

		It("turns a blocked move into a failed one, so it is no longer listed", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "c", "d", 1)}
			d := plan.NewDispatcher(moves, plan.Limits{})
			d.Next()
			d.Finish(0, false)
			Expect(d.Blocked()).To(Equal([]int{1}))
			d.Cancel(1)
			Expect(d.Blocked()).To(BeEmpty())
		})

		It("leaves a running move alone", func() {
			d := plan.NewDispatcher([]plan.Move{mv(1, "a", "b"), mv(2, "a", "c")}, plan.Limits{MaxPerHostOut: 1})
			Expect(d.Next()).To(Equal([]int{0}))
			d.Cancel(0)
			Expect(d.Running()).To(Equal(1))
			Expect(d.Next()).To(BeEmpty(), "a still counts as busy")
			d.Finish(0, true)
			Expect(d.Next()).To(Equal([]int{1}))
		})
	})

	Describe("restoring from a journal", func() {
		It("MarkRunning counts a move against every limit without returning it", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "a", "c"), mv(3, "d", "b"), mv(4, "e", "f")}
			d := plan.NewDispatcher(moves, plan.Limits{MaxParallel: 2, MaxPerHostOut: 1, MaxPerHostIn: 1})
			d.MarkRunning(0)
			Expect(d.Running()).To(Equal(1))
			Expect(d.Pending(0)).To(BeFalse())
			Expect(d.Next()).To(Equal([]int{3}), "a is busy out, b busy in, then MaxParallel")
			d.MarkRunning(0) // twice is once
			Expect(d.Running()).To(Equal(2))
			d.Finish(0, true)
			Expect(d.Next()).To(Equal([]int{1}))
		})

		It("MarkRunning ignores a move that is not pending", func() {
			d := plan.NewDispatcher([]plan.Move{mv(1, "a", "b")}, plan.Limits{})
			d.Skip(0, true)
			d.MarkRunning(0)
			Expect(d.Running()).To(Equal(0))
			Expect(d.Idle()).To(BeTrue())
		})

		It("Requeue gives a started move back, to start again first", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "a", "c"), mv(3, "a", "d")}
			d := plan.NewDispatcher(moves, plan.Limits{MaxPerHostOut: 1})
			Expect(d.Next()).To(Equal([]int{0}))
			d.Finish(0, true)
			Expect(d.Next()).To(Equal([]int{1}))
			d.Requeue(1)
			Expect(d.Running()).To(Equal(0))
			Expect(d.Pending(1)).To(BeTrue())
			Expect(d.Next()).To(Equal([]int{1}), "in plan order, before move 3")
		})

		It("Requeue reaches back behind moves that already ended", func() {
			moves := []plan.Move{mv(1, "a", "b"), mv(2, "c", "d"), mv(3, "e", "f")}
			d := plan.NewDispatcher(moves, plan.Limits{})
			Expect(d.Next()).To(Equal([]int{0, 1, 2}))
			finishAll(d, true, 1, 2)
			Expect(d.Next()).To(BeEmpty())
			d.Requeue(0)
			Expect(d.Next()).To(Equal([]int{0}))
		})

		It("Requeue and Finish ignore moves that do not run", func() {
			d := plan.NewDispatcher([]plan.Move{mv(1, "a", "b"), mv(2, "c", "d")}, plan.Limits{})
			d.Requeue(0)
			d.Finish(1, true)
			Expect(d.Running()).To(Equal(0))
			Expect(d.Next()).To(Equal([]int{0, 1}))
			d.Finish(0, true)
			d.Finish(0, true) // twice is once
			d.Requeue(0)      // a finished move stays finished
			Expect(d.Running()).To(Equal(1))
			Expect(d.Pending(0)).To(BeFalse())
		})

		DescribeTable("Skip settles a pending move for its dependents",
			func(ok bool, wantNext []int, wantBlocked []int) {
				moves := []plan.Move{mv(1, "a", "b"), mv(2, "b", "a", 1)}
				d := plan.NewDispatcher(moves, plan.Limits{})
				d.Skip(0, ok)
				Expect(d.Pending(0)).To(BeFalse())
				got := d.Next()
				if len(wantNext) == 0 {
					Expect(got).To(BeEmpty())
				} else {
					Expect(got).To(Equal(wantNext))
				}
				Expect(d.Running()).To(Equal(len(wantNext)))
				if len(wantBlocked) == 0 {
					Expect(d.Blocked()).To(BeEmpty())
				} else {
					Expect(d.Blocked()).To(Equal(wantBlocked))
				}
			},
			Entry("done: the dependent starts", true, []int{1}, nil),
			Entry("failed: the dependent is blocked", false, nil, []int{1}),
		)

		It("Skip leaves a running move alone", func() {
			d := plan.NewDispatcher([]plan.Move{mv(1, "a", "b")}, plan.Limits{})
			d.Next()
			d.Skip(0, true)
			Expect(d.Running()).To(Equal(1))
			Expect(d.Idle()).To(BeFalse())
		})
	})

	Describe("Idle", func() {
		It("follows a plan from start to end", func() {
			d := plan.NewDispatcher([]plan.Move{mv(1, "a", "b"), mv(2, "b", "a", 1)}, plan.Limits{})
			Expect(d.Idle()).To(BeFalse(), "move 1 can start")
			Expect(d.Next()).To(Equal([]int{0}))
			Expect(d.Idle()).To(BeFalse(), "move 1 runs")
			d.Finish(0, true)
			Expect(d.Idle()).To(BeFalse(), "move 2 can start now")
			d.Next()
			d.Finish(1, true)
			Expect(d.Idle()).To(BeTrue())
		})

		It("holds for an empty plan", func() {
			d := plan.NewDispatcher(nil, plan.Limits{MaxParallel: 3})
			Expect(d.Idle()).To(BeTrue())
			Expect(d.Next()).To(BeEmpty())
			Expect(d.Blocked()).To(BeEmpty())
		})
	})
})
