package consolidate_test

import (
	"fmt"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/precopy"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

func TestConsolidate(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "consolidate")
}

// vmSpec is n VMs of mem GiB using cpu cores each.
type vmSpec struct {
	n   int
	mem int64
	cpu float64
}

// hosts builds default hosts (32 cores, 256 GiB) h1, h2, ... holding the
// VMs given per host, named <host>-<letter>.
func hosts(per ...[]vmSpec) *cluster.Snapshot {
	var hs []cluster.Host
	var vms []cluster.VM
	for i, specs := range per {
		name := fmt.Sprintf("h%d", i+1)
		hs = append(hs, MakeHost(name).Obj())
		k := 0
		for _, s := range specs {
			for range s.n {
				vms = append(vms, MakeVM(fmt.Sprintf("%s-%c", name, 'a'+k), name).Memory(s.mem*GiB).CPU(s.cpu).Obj())
				k++
			}
		}
	}
	return Snapshot(hs, vms)
}

func input(snap *cluster.Snapshot) *policy.Input {
	return &policy.Input{Snap: snap, Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{}.WithDefaults(),
	}}
}

// after is snap with the plan's moves done.
func after(snap *cluster.Snapshot, p *plan.Plan) *cluster.Snapshot {
	to := map[string]string{}
	for _, m := range p.Moves {
		to[m.VM] = m.Destination
	}
	return MoveVMs(snap, to)
}

// sources lists the hosts the plan takes VMs from, and destinations those
// it brings VMs to, each counted.
func sources(p *plan.Plan) map[string]int {
	out := map[string]int{}
	for _, m := range p.Moves {
		out[m.Source]++
	}
	return out
}

func destinations(p *plan.Plan) map[string]int {
	out := map[string]int{}
	for _, m := range p.Moves {
		out[m.Destination]++
	}
	return out
}

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}
