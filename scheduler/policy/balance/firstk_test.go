package balance

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// firstK stands in for a full sort in choose, so it must give the sort's
// prefix exactly, with tied and NaN loads too.
func TestFirstKIsSortPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := r.IntN(60)
		load := make([]float64, n)
		xs := make([]int, n)
		for i := range load {
			load[i] = float64(r.IntN(5)) / 4
			if r.IntN(20) == 0 {
				load[i] = math.NaN()
			}
			xs[i] = i
		}
		r.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		c := func(x, y int) int { return cmp.Or(cmp.Compare(load[y], load[x]), cmp.Compare(x, y)) }
		sorted := slices.SortedFunc(slices.Values(xs), c)
		for _, k := range []int{0, 1, 3, 8, 100} {
			want := sorted[:min(k, n)]
			if got := firstK(xs, k, c); !slices.Equal(got, want) {
				t.Fatalf("trial %d, k=%d: got %v, want %v", trial, k, got, want)
			}
		}
	}
}
