package filter_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/scheduler/framework"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "filter")
}

// check runs one filter for VM "v" against host "dst" of a two-host cluster.
func check(f framework.FilterPlugin, src, dst cluster.Host, vms ...cluster.VM) *framework.Status {
	snap := Snapshot([]cluster.Host{src, dst}, vms)
	st := cluster.NewState(snap)
	return f.Filter(st, st.VMIndex("v"), st.HostIndex(dst.Name))
}

var _ = Describe("constraints", func() {
	src := MakeHost("src").Obj()
	v := MakeVM("v", "src").Obj()

	DescribeTable("each filter refuses the case that would break it",
		func(f framework.FilterPlugin, dst cluster.Host, others []cluster.VM, wantCode framework.Code, wantReason string) {
			s := check(f, src, dst, append([]cluster.VM{v}, others...)...)
			Expect(s.Code()).To(Equal(wantCode), s.String())
			if wantReason != "" {
				Expect(s.Message()).To(ContainSubstring(wantReason))
			}
		},
		Entry("memory fits", filter.Capacity{Overcommit: 1}, MakeHost("dst").Obj(), nil, framework.Success, ""),
		Entry("memory never overcommitted", filter.Capacity{Overcommit: 4}, MakeHost("dst").Memory(8*GiB).Obj(),
			[]cluster.VM{MakeVM("w", "dst").Memory(6 * GiB).Obj()}, framework.Unschedulable, filter.ReasonInsufficientMem),
		Entry("vcpus within overcommit", filter.Capacity{Overcommit: 2}, MakeHost("dst").CPUs(2).Obj(),
			[]cluster.VM{MakeVM("w", "dst").VCPUs(2).Obj()}, framework.Success, ""),
		Entry("vcpus beyond overcommit", filter.Capacity{Overcommit: 1}, MakeHost("dst").CPUs(2).Obj(),
			[]cluster.VM{MakeVM("w", "dst").VCPUs(2).Obj()}, framework.Unschedulable, filter.ReasonInsufficientCPU),
		Entry("same cpu model", filter.Pool{}, MakeHost("dst").Obj(), nil, framework.Success, ""),
		Entry("cpu model differs", filter.Pool{}, MakeHost("dst").CPUModel("EPYC").Obj(), nil,
			framework.UnschedulableAndUnresolvable, cluster.ReasonCPUModel),
		Entry("memory size differs", filter.Pool{}, MakeHost("dst").Memory(128*GiB).Obj(), nil,
			framework.UnschedulableAndUnresolvable, cluster.ReasonMemorySize),
		Entry("nic ports differ", filter.Pool{}, MakeHost("dst").NICs(1, 10*Gbit).Obj(), nil,
			framework.UnschedulableAndUnresolvable, cluster.ReasonNICPorts),
		Entry("host in maintenance", filter.HostState{}, MakeHost("dst").State(cluster.HostMaintenance).Obj(), nil,
			framework.UnschedulableAndUnresolvable, filter.ReasonHostNotUsable),
		Entry("host down", filter.HostState{}, MakeHost("dst").State(cluster.HostDown).Obj(), nil,
			framework.UnschedulableAndUnresolvable, filter.ReasonHostNotUsable),
		Entry("host up", filter.HostState{}, MakeHost("dst").Obj(), nil, framework.Success, ""),
	)

	It("refuses every destination to a pinned VM, saying why", func() {
		pinned := MakeVM("p", "src").Obj()
		pinned.Pinned = "local file disk vda"
		dst := MakeHost("dst").Obj()
		st := cluster.NewState(Snapshot([]cluster.Host{src, dst}, []cluster.VM{pinned}))
		s := filter.Pinned{}.Filter(st, 0, 1)
		Expect(s.Code()).To(Equal(framework.UnschedulableAndUnresolvable))
		Expect(s.Message()).To(Equal(filter.ReasonPinned + ": local file disk vda"))
		Expect(filter.Pinned{}.Filter(cluster.NewState(Snapshot([]cluster.Host{src, dst}, []cluster.VM{v})), 0, 1)).To(BeNil())
	})

	It("refuses to move a VM onto its own host", func() {
		snap := Snapshot([]cluster.Host{src}, []cluster.VM{v})
		st := cluster.NewState(snap)
		Expect(filter.HostState{}.Filter(st, 0, 0).Message()).To(Equal(filter.ReasonSameHost))
	})

	Describe("affinity groups", func() {
		hosts := []cluster.Host{MakeHost("h1").Obj(), MakeHost("h2").Obj(), MakeHost("h3").Obj()}
		It("keeps anti-affinity members apart, also against planned moves", func() {
			vms := []cluster.VM{MakeVM("a", "h1").Group("g").Obj(), MakeVM("b", "h2").Group("g").Obj()}
			st := cluster.NewState(Snapshot(hosts, vms, cluster.Group{Name: "g", Kind: cluster.AntiAffinity}))
			a, b := st.VMIndex("a"), st.VMIndex("b")
			Expect(filter.Affinity{}.Filter(st, a, 1).Code()).To(Equal(framework.Unschedulable))
			Expect(filter.Affinity{}.Filter(st, a, 2).IsSuccess()).To(BeTrue())
			st.Move(b, 2) // b is now planned on h3
			Expect(filter.Affinity{}.Filter(st, a, 2).Message()).To(ContainSubstring(filter.ReasonAntiAffinity))
			Expect(filter.Affinity{}.Filter(st, a, 1).IsSuccess()).To(BeTrue())
		})
		It("lets affinity members move together but not apart", func() {
			vms := []cluster.VM{MakeVM("a", "h1").Group("g").Obj(), MakeVM("b", "h1").Group("g").Obj(), MakeVM("c", "h2").Obj()}
			st := cluster.NewState(Snapshot(hosts, vms, cluster.Group{Name: "g", Kind: cluster.Affinity}))
			a, b := st.VMIndex("a"), st.VMIndex("b")
			Expect(filter.Affinity{}.Filter(st, a, 1).IsSuccess()).To(BeTrue(), "b may follow")
			st.Move(a, 1)
			Expect(filter.Affinity{}.Filter(st, b, 2).Message()).To(ContainSubstring(filter.ReasonAffinity))
			Expect(filter.Affinity{}.Filter(st, b, 1).IsSuccess()).To(BeTrue())
		})
	})

	Describe("TLS enforcement", func() {
		tls := MakeHost("a").Security(cluster.Secured).Obj()
		tcp := MakeHost("b").Security(cluster.Unsecured).Obj()
		bad := MakeHost("c").Security(cluster.Invalid).Obj()
		DescribeTable("transport and refusals by mode",
			func(mode cluster.TLSMode, s, d cluster.Host, want cluster.Transport, reason string) {
				tr, st := filter.Transport(mode, &s, &d)
				Expect(tr).To(Equal(want))
				if reason == "" {
					Expect(st.IsSuccess()).To(BeTrue(), st.String())
				} else {
					Expect(st.Code()).To(Equal(framework.UnschedulableAndUnresolvable))
					Expect(st.Message()).To(HavePrefix(reason))
				}
			},
			Entry("matching: secured pair over tls", cluster.TLSMatching, tls, tls, cluster.TransportTLS, ""),
			Entry("matching: unsecured pair over tcp", cluster.TLSMatching, tcp, tcp, cluster.TransportTCP, ""),
			Entry("matching: secured to unsecured refused", cluster.TLSMatching, tls, tcp, cluster.Transport(""), filter.ReasonMixedSecurity),
			Entry("matching: unsecured to secured refused", cluster.TLSMatching, tcp, tls, cluster.Transport(""), filter.ReasonMixedSecurity),
			Entry("required: secured pair", cluster.TLSRequired, tls, tls, cluster.TransportTLS, ""),
			Entry("required: unsecured pair refused", cluster.TLSRequired, tcp, tcp, cluster.Transport(""), filter.ReasonUnsecured),
			Entry("required: mixed refused", cluster.TLSRequired, tls, tcp, cluster.Transport(""), filter.ReasonUnsecured),
			Entry("off: mixed goes over tcp", cluster.TLSOff, tls, tcp, cluster.TransportTCP, ""),
			Entry("off: invalid certificate still refused", cluster.TLSOff, tls, bad, cluster.Transport(""), filter.ReasonInvalidCert),
			Entry("matching: invalid refused", cluster.TLSMatching, bad, bad, cluster.Transport(""), filter.ReasonInvalidCert),
		)
	})

	It("names the plugin that refused in a chain", func() {
		dst := MakeHost("dst").CPUModel("EPYC").Obj()
		snap := Snapshot([]cluster.Host{src, dst}, []cluster.VM{v})
		st := cluster.NewState(snap)
		s := framework.RunFilters(filter.Default(cluster.TLSMatching, 4), st, 0, st.HostIndex("dst"))
		Expect(s.Plugin()).To(Equal(filter.PoolName))
	})
})
