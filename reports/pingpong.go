package reports

import (
	"cmp"
	"slices"
)

// PingPongWindowMS is the window of a ping-pong move: one hour of the
// run's clock, in milliseconds.
const PingPongWindowMS = 3_600_000

// PingPongMoves counts the moves that undo a VM's previous move soon
// after it. Take only the migrations that succeeded (the guest now runs on
// the destination: completed, forced or post-copy), per VM in the order
// they started (ties by id). A migration m2 of VM v is a ping-pong move
// when v's previous such migration m1 went from host A to host B and m2
// brings v back to A, starting within window of m1's end:
//
//	m2.Destination = m1.Source  and  m2.StartMS − m1.EndMS ≤ window
//
// PingPongMoves = the number of such m2. A VM moved A→B→A→B in quick
// succession counts twice (B→A and A→B each undo the move before), a
// move A→B→C→A none. Rejected, aborted and failed migrations leave the
// guest where it was and count neither as m1 nor as m2, nor break a pair.
// The count depends only on the records, not on their order in migs.
func PingPongMoves(migs []Migration, windowMS float64) int {
	ok := make([]Migration, 0, len(migs))
	for _, m := range migs {
		if m.Outcome.Succeeded() {
			ok = append(ok, m)
		}
	}
	slices.SortStableFunc(ok, func(a, b Migration) int {
		return cmp.Or(cmp.Compare(a.VM, b.VM), cmp.Compare(a.StartMS, b.StartMS), cmp.Compare(a.ID, b.ID))
	})
	n := 0
	for i := 1; i < len(ok); i++ {
		m1, m2 := ok[i-1], ok[i]
		if m1.VM == m2.VM && m2.Destination == m1.Source && m2.StartMS-m1.EndMS <= windowMS {
			n++
		}
	}
	return n
}
