package cluster_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
)

func TestCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "cluster")
}

const GiB = int64(1) << 30

func host(name string) cluster.Host {
	return cluster.Host{Name: name, CPUs: 16, Memory: 64 * GiB, CPUModel: "x", NICs: 2, NICSpeed: 1.25e9, Security: cluster.Secured}
}

var _ = Describe("pool compatibility", func() {
	DescribeTable("hosts join a pool only if CPU model, memory and NIC ports match",
		func(change func(*cluster.Host), ok bool, reason string) {
			a, b := host("a"), host("b")
			change(&b)
			got, why := cluster.Compatible(&a, &b)
			Expect(got).To(Equal(ok))
			Expect(why).To(Equal(reason))
		},
		Entry("identical", func(*cluster.Host) {}, true, ""),
		Entry("cpu model", func(h *cluster.Host) { h.CPUModel = "y" }, false, cluster.ReasonCPUModel),
		Entry("memory", func(h *cluster.Host) { h.Memory *= 2 }, false, cluster.ReasonMemorySize),
		Entry("nic count", func(h *cluster.Host) { h.NICs = 4 }, false, cluster.ReasonNICPorts),
		Entry("nic speed", func(h *cluster.Host) { h.NICSpeed = 3.125e9 }, false, cluster.ReasonNICPorts),
		Entry("security state is not a pool property", func(h *cluster.Host) { h.Security = cluster.Unsecured }, true, ""),
	)
})

var _ = Describe("StreamCap", func() {
	It("is one NIC port, the slower end's, or the configured cap if lower", func() {
		a, b := host("a"), host("b")
		b.NICSpeed = 1e9
		Expect(cluster.StreamCap(&a, &b, 0)).To(Equal(1e9))
		Expect(cluster.StreamCap(&a, &b, 5e8)).To(Equal(5e8))
		Expect(cluster.StreamCap(&a, &b, 2e9)).To(Equal(1e9))
	})
})

var _ = Describe("State", func() {
	snap := &cluster.Snapshot{
		Hosts: []cluster.Host{host("h1"), host("h2")},
		VMs: []cluster.VM{
			{Name: "a", Host: "h1", VCPUs: 2, Memory: 4 * GiB, CPU: 1, Group: "g"},
			{Name: "b", Host: "h1", VCPUs: 4, Memory: 8 * GiB, CPU: 2, Group: "g"},
			{Name: "c", Host: "nowhere", VCPUs: 1, Memory: GiB},
		},
		Groups: []cluster.Group{{Name: "g", Kind: cluster.AntiAffinity}},
	}
	It("sums what each host holds and follows planned moves both ways", func() {
		st := cluster.NewState(snap)
		Expect(st.Memory).To(Equal([]int64{12 * GiB, 0}))
		Expect(st.VCPUs).To(Equal([]int{6, 0}))
		Expect(st.Place).To(Equal([]int{0, 0, -1}))
		Expect(st.GroupOn("g", 0)).To(Equal(2))
		st.Move(st.VMIndex("b"), 1)
		Expect(st.Memory).To(Equal([]int64{4 * GiB, 8 * GiB}))
		Expect(st.CPU).To(Equal([]float64{1, 2}))
		Expect(st.GroupOn("g", 1)).To(Equal(1))
		Expect(st.Source(st.VMIndex("b")).Name).To(Equal("h1"), "the origin stays where the VM is now")
		st.Move(st.VMIndex("b"), 0)
		Expect(st.Memory).To(Equal([]int64{12 * GiB, 0}))
		Expect(st.Members("g")).To(Equal([]int{0, 1}))
		Expect(st.GroupKind("g")).To(Equal(cluster.AntiAffinity))
		Expect(st.VMIndex("zz")).To(Equal(-1))
		Expect(st.HostIndex("h2")).To(Equal(1))
	})

	It("is the same built in the arrays of a state done with, larger or smaller", func() {
		big := &cluster.Snapshot{Hosts: []cluster.Host{host("x1"), host("x2"), host("x3")}, VMs: []cluster.VM{
			{Name: "p", Host: "x3", VCPUs: 8, Memory: GiB, CPU: 3},
			{Name: "q", Host: "x2", VCPUs: 8, Memory: GiB, CPU: 3},
			{Name: "r", Host: "x1", VCPUs: 8, Memory: GiB, CPU: 3},
			{Name: "s", Host: "x3", VCPUs: 8, Memory: GiB, CPU: 3},
		}}
		small := &cluster.Snapshot{Hosts: []cluster.Host{host("h1")}}
		moved := cluster.NewState(big)
		moved.Move(0, 1)
		for _, prev := range []*cluster.State{moved, cluster.NewState(small)} {
			st := cluster.NewStateFrom(prev, snap)
			Expect(st).To(Equal(cluster.NewState(snap)))
			st.Move(st.VMIndex("b"), 1)
			Expect(st.Memory).To(Equal([]int64{4 * GiB, 8 * GiB}))
		}
	})

	It("finds hosts and VMs of a snapshot by name", func() {
		Expect(snap.Host("h2").Name).To(Equal("h2"))
		Expect(snap.Host("h3")).To(BeNil())
		Expect(snap.VM("b").Memory).To(Equal(8 * GiB))
		Expect(snap.VM("d")).To(BeNil())
	})

	It("derives distinct, valid MAC addresses", func() {
		Expect(cluster.MAC(1)).To(Equal("52:54:00:00:00:01"))
		Expect(cluster.MAC(0x10203)).To(Equal("52:54:00:01:02:03"))
	})

	It("counts the usable states", func() {
		h := host("h")
		Expect(h.Usable()).To(BeTrue())
		h.State = cluster.HostMaintenance
		Expect(h.Usable()).To(BeFalse())
		Expect(cluster.MigrationDone{Outcome: cluster.OutcomePostCopy}.Succeeded()).To(BeTrue())
		Expect(cluster.MigrationDone{Outcome: cluster.OutcomeAborted}.Succeeded()).To(BeFalse())
	})
})
