package place_test

import (
	"fmt"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

func TestPlace(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "place")
}

// five is hosts h0..h4 (default size) with VM "v" on h0; change alters
// host i before it is built.
func five(change func(i int, w *HostWrapper), more ...cluster.VM) *cluster.State {
	var hosts []cluster.Host
	for i := range 5 {
		w := MakeHost(fmt.Sprintf("h%d", i))
		if change != nil {
			change(i, w)
		}
		hosts = append(hosts, w.Obj())
	}
	return cluster.NewState(Snapshot(hosts, append([]cluster.VM{MakeVM("v", "h0").Obj()}, more...)))
}

// fill is a VM that takes all but 2 GiB of a default host's memory.
func fill(name, host string) cluster.VM {
	return MakeVM(name, host).Memory(254 * GiB).Obj()
}
