package reports_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler/cluster"
)

// mig is a migration of vm from src to dst over [startMin, endMin]
// minutes of the run, with its outcome.
func mig(id int, vm, src, dst string, startMin, endMin float64, o cluster.Outcome) reports.Migration {
	return reports.Migration{ID: id, VM: vm, Source: src, Destination: dst,
		StartMS: startMin * 60_000, EndMS: endMin * 60_000, Outcome: o}
}

var _ = Describe("Ping-pong moves", func() {
	const ok, forced, aborted, rejected = cluster.OutcomeCompleted, cluster.OutcomeForced, cluster.OutcomeAborted, cluster.OutcomeRejected

	DescribeTable("count moves that take a VM back to the host it left within the hour",
		func(migs []reports.Migration, want int) {
			Expect(reports.PingPongMoves(migs, reports.PingPongWindowMS)).To(Equal(want))
			// The order of the records does not matter.
			rev := make([]reports.Migration, len(migs))
			for i, m := range migs {
				rev[len(migs)-1-i] = m
			}
			Expect(reports.PingPongMoves(rev, reports.PingPongWindowMS)).To(Equal(want))
		},
		Entry("none", nil, 0),
		Entry("there and back after 30 min", []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "v", "b", "a", 31, 32, ok)}, 1),
		Entry("back exactly an hour after the first move ended", []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "v", "b", "a", 61, 62, ok)}, 1),
		Entry("back after more than an hour", []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "v", "b", "a", 61.5, 62, ok)}, 0),
		Entry("a→b→a→b: each return undoes the move before", []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "v", "b", "a", 10, 11, forced), mig(3, "v", "a", "b", 20, 21, ok)}, 2),
		Entry("a→b→c→a is a round, not a ping-pong", []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "v", "b", "c", 10, 11, ok), mig(3, "v", "c", "a", 20, 21, ok)}, 0),
		Entry("failed moves count neither way and break no pair", []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "v", "b", "c", 5, 6, aborted), mig(3, "v", "b", "a", 6, 6, rejected),
			mig(4, "v", "b", "a", 10, 11, ok)}, 1),
		Entry("another VM's return is not this one's", []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "w", "b", "a", 10, 11, ok), mig(3, "w", "a", "b", 20, 21, ok)}, 1),
	)

	It("is in the summary", func() {
		r := &reports.Report{Migrations: []reports.Migration{
			mig(1, "v", "a", "b", 0, 1, ok), mig(2, "v", "b", "a", 31, 32, ok)}}
		r.SummarizeMigrations()
		Expect(r.Summary.PingPong).To(Equal(1))
	})
})
