package scheduler_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/scheduler/policy/evacuate"
	"github.com/droverlab/drover/scheduler/schedtest"
)

// mixedWorld has secured a1, a2, unsecured b1, b2 and c1 with an invalid
// certificate; va sits on a1, vb on b1, vc on c1.
func mixedWorld(vmsPerHost int) *cluster.Snapshot {
	host := func(n string, s cluster.Security) cluster.Host { return schedtest.MakeHost(n).Security(s).Obj() }
	return world([]cluster.Host{
		host("a1", cluster.Secured), host("a2", cluster.Secured),
		host("b1", cluster.Unsecured), host("b2", cluster.Unsecured),
		host("c1", cluster.Invalid),
	}, vmsOn("a1", "va", vmsPerHost), vmsOn("b1", "vb", vmsPerHost), vmsOn("c1", "vc", vmsPerHost))
}

func tlsConfig(mode cluster.TLSMode) scheduler.Config {
	cfg := config()
	cfg.TLS = mode
	return cfg
}

// expectTransports checks every start against the transport its pair
// needs under mode, and that the pair was allowed at all.
func expectTransports(h *schedtest.Harness, mode cluster.TLSMode) {
	GinkgoHelper()
	snap := h.Snapshot()
	for _, s := range h.Started() {
		want, st := filter.Transport(mode, snap.Host(s.Source), snap.Host(s.Destination))
		Expect(st.IsSuccess()).To(BeTrue(), "move %d %s -> %s: %s", s.ID, s.Source, s.Destination, st)
		Expect(s.Transport).To(Equal(want), "move %d %s -> %s", s.ID, s.Source, s.Destination)
	}
}

var _ = Describe("Core TLS enforcement", func() {
	DescribeTable("an operator's migration request",
		func(mode cluster.TLSMode, vm, dst string, want cluster.Transport, reason string) {
			h := schedtest.NewHarness(tlsConfig(mode), mixedWorld(1))
			ok(h.Step(cluster.MigrationRequested{VM: vm, Host: dst}))
			if reason != "" {
				Expect(h.Started()).To(BeEmpty())
				Expect(h.Journal()).To(HaveLen(1))
				r := h.Journal()[0]
				Expect(r.Kind).To(Equal(scheduler.RecRefuse))
				Expect(r.VM).To(Equal(vm))
				Expect(r.Destination).To(Equal(dst))
				Expect(r.Outcome).To(Equal(cluster.OutcomeRejected))
				Expect(r.Reason).To(ContainSubstring(reason))
				Expect(h.Core.Idle()).To(BeTrue())
				return
			}
			Expect(schedtest.RecordsOf(h.Journal(), scheduler.RecRefuse)).To(BeEmpty())
			Expect(h.Started()).To(HaveLen(1))
			s := h.Started()[0]
			Expect(s.VM).To(Equal(vm))
			Expect(s.Destination).To(Equal(dst))
			Expect(s.Cause).To(Equal("request"))
			Expect(s.Transport).To(Equal(want))
			expectTransports(h, mode)
			expectContract(h)
		},
		Entry("matching: tls to tcp is refused as mixed", cluster.TLSMatching, "va1", "b1", cluster.Transport(""), filter.ReasonMixedSecurity),
		Entry("matching: tcp to tls is refused as mixed", cluster.TLSMatching, "vb1", "a2", cluster.Transport(""), filter.ReasonMixedSecurity),
		Entry("matching: tls to tls goes over tls", cluster.TLSMatching, "va1", "a2", cluster.TransportTLS, ""),
		Entry("matching: tcp to tcp goes over tcp", cluster.TLSMatching, "vb1", "b2", cluster.TransportTCP, ""),
		Entry("off: tls to tcp goes over tcp", cluster.TLSOff, "va1", "b1", cluster.TransportTCP, ""),
		Entry("off: tcp to tls goes over tcp", cluster.TLSOff, "vb1", "a2", cluster.TransportTCP, ""),
		Entry("off: tls to tls still goes over tls", cluster.TLSOff, "va1", "a2", cluster.TransportTLS, ""),
		Entry("required: tcp to tcp is refused", cluster.TLSRequired, "vb1", "b2", cluster.Transport(""), filter.ReasonUnsecured),
		Entry("required: tls to tcp is refused", cluster.TLSRequired, "va1", "b1", cluster.Transport(""), filter.ReasonUnsecured),
		Entry("required: tls to tls goes over tls", cluster.TLSRequired, "va1", "a2", cluster.TransportTLS, ""),
		Entry("an invalid certificate is refused under matching", cluster.TLSMatching, "va1", "c1", cluster.Transport(""), filter.ReasonInvalidCert),
		Entry("an invalid certificate is refused even under off", cluster.TLSOff, "vc1", "a2", cluster.Transport(""), filter.ReasonInvalidCert),
		Entry("an unknown VM is refused", cluster.TLSMatching, "nope", "a2", cluster.Transport(""), "unknown vm"),
		Entry("an unknown host is refused", cluster.TLSMatching, "va1", "nope", cluster.Transport(""), "unknown destination host"),
	)

	It("refuses a request for a VM that is already moving", func() {
		h := schedtest.NewHarness(tlsConfig(cluster.TLSMatching), mixedWorld(1))
		ok(h.Step(cluster.MigrationRequested{VM: "va1", Host: "a2"}))
		m := h.Mark()
		ok(h.Step(cluster.MigrationRequested{VM: "va1", Host: "a2"}))
		Expect(h.JournalSince(m)).To(ConsistOf(SatisfyAll(HaveField("Kind", scheduler.RecRefuse),
			HaveField("Reason", "vm is already migrating"))))
		Expect(h.Started()).To(HaveLen(1))
	})

	It("passes a request's bandwidth and downtime with its start", func() {
		h := schedtest.NewHarness(tlsConfig(cluster.TLSMatching), mixedWorld(1))
		opts := cluster.MigrationOptions{Bandwidth: 1e8, DowntimeLimit: 5e8, AutoConverge: true}
		ok(h.Step(cluster.MigrationRequested{VM: "va1", Host: "a2", Options: opts}))
		Expect(startOf(h, "va1").Options).To(Equal(opts))
	})

	DescribeTable("an evacuation of a mixed cluster",
		func(mode cluster.TLSMode, wantMoved []string) {
			cfg := tlsConfig(mode)
			e, err := evacuate.New(evacuate.Args{})
			Expect(err).NotTo(HaveOccurred())
			cfg.Evacuate = e
			h := schedtest.NewHarness(cfg, mixedWorld(3))
			ok(h.Step(cluster.MaintenanceRequested{Hosts: []string{"a1", "b1"}}))
			for len(h.Running()) > 0 {
				ok(h.Complete(h.Running()[0]))
			}
			expectTransports(h, mode)
			var moved []string
			for _, s := range h.Started() {
				moved = append(moved, s.VM)
			}
			Expect(moved).To(ConsistOf(wantMoved))
			expectContract(h)
		},
		Entry("matching moves each host's guests within its own security state", cluster.TLSMatching,
			[]string{"va1", "va2", "va3", "vb1", "vb2", "vb3"}),
		Entry("required leaves the unsecured host's guests where they are", cluster.TLSRequired,
			[]string{"va1", "va2", "va3"}),
		Entry("off moves everything", cluster.TLSOff,
			[]string{"va1", "va2", "va3", "vb1", "vb2", "vb3"}),
	)
})
