package plreplay

import (
	"testing"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
)

// BenchmarkDay replays the shipped day under each policy: the time and
// memory of one day (go test ./planetlab/plreplay -run '^$' -bench Day -benchmem).
func BenchmarkDay(b *testing.B) {
	day, err := planetlab.ReadDay("../testdata/20110303.tar.gz")
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range Policies {
		b.Run(p, func(b *testing.B) {
			n, err := poweraware.ParseName(p)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				pol, err := poweraware.NewPolicy(n, 1)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Run(day, pol, p, planetlab.Hosts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
