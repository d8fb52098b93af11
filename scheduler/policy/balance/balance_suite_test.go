package balance_test

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

func TestBalance(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "balance")
}

// input plans over snap with TLS matching and 4x vCPU overcommit.
func input(snap *cluster.Snapshot) *policy.Input {
	return &policy.Input{Snap: snap, Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{}.WithDefaults(),
	}}
}

// spread is a cluster of default hosts (32 cores, 256 GiB) h1, h2, ...
// holding counts[i] VMs of 16 GiB using 3 cores each.
func spread(counts ...int) *cluster.Snapshot {
	var hosts []cluster.Host
	var vms []cluster.VM
	for h, k := range counts {
		name := fmt.Sprintf("h%d", h+1)
		hosts = append(hosts, MakeHost(name).Obj())
		for i := range k {
			vms = append(vms, MakeVM(fmt.Sprintf("v%d-%d", h+1, i), name).Memory(16*GiB).CPU(3).VCPUs(4).Obj())
		}
	}
	return Snapshot(hosts, vms)
}

// hot is spread(n, 1, 1, 1): four hosts, h1 holding n VMs.
func hot(n int) *cluster.Snapshot { return spread(n, 1, 1, 1) }

// apply returns snap with the plan's moves done.
func apply(snap *cluster.Snapshot, moves []plan.Move) *cluster.Snapshot {
	to := map[string]string{}
	for _, m := range moves {
		to[m.VM] = m.Destination
	}
	return MoveVMs(snap, to)
}

// imbalance is the measure the balancer uses, with default weights.
func imbalance(snap *cluster.Snapshot, tls cluster.TLSMode) float64 {
	return policy.Imbalance(cluster.NewState(snap), policy.DefaultWeights, tls)
}

// memImbalance is greedy-cv's default measure: memory alone.
func memImbalance(snap *cluster.Snapshot) float64 {
	return policy.Imbalance(cluster.NewState(snap), policy.Weights{Memory: 1}, cluster.TLSMatching)
}

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}
