package plreplay

import (
	"testing"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
)

// BenchmarkDayPreCopy is BenchmarkDay's THR-MMT 0.8 under the pre-copy model.
func BenchmarkDayPreCopy(b *testing.B) {
	day, err := planetlab.ReadDay("../testdata/20110303.tar.gz")
	if err != nil {
		b.Fatal(err)
	}
	n, _ := poweraware.ParseName("thr-mmt-0.8")
	for b.Loop() {
		pol, _ := poweraware.NewPolicy(n, 1)
		if _, err := RunModel(day, pol, "thr-mmt-0.8", planetlab.Hosts, &PreCopyMigration{}); err != nil {
			b.Fatal(err)
		}
	}
}
