package disaster_test

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/precopy"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

func TestDisaster(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "disaster")
}

// now is when the plans are made: an hour into the run, so predictions
// (relative to the plan) and deadlines (absolute) differ.
const now = time.Hour

// zones has hosts a1, a2 in zone "a" with perHost VMs each (4 GiB, 3 GiB
// resident; VM i of host h has priority prio(h, i)), and b1, b2, b3 in
// zone "b" holding one VM each.
func zones(perHost int, prio func(h, i int) int) *cluster.Snapshot {
	var hosts []cluster.Host
	var vms []cluster.VM
	for h, name := range []string{"a1", "a2"} {
		hosts = append(hosts, MakeHost(name).Zone("a").Obj())
		for i := range perHost {
			vms = append(vms, MakeVM(fmt.Sprintf("%s-%02d", name, i), name).Priority(prio(h, i)).Obj())
		}
	}
	for _, name := range []string{"b1", "b2", "b3"} {
		hosts = append(hosts, MakeHost(name).Zone("b").Obj())
		vms = append(vms, MakeVM("stay-"+name, name).Obj())
	}
	return Snapshot(hosts, vms)
}

func noPrio(int, int) int { return 0 }

// input warns zone "a" to fail deadline after now.
func input(snap *cluster.Snapshot, deadline time.Duration) *policy.Input {
	return &policy.Input{Snap: snap, Now: now, Zone: "a", Deadline: now + deadline, Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{}.WithDefaults(),
	}}
}

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}
