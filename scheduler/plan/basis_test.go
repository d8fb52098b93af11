package plan_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	. "github.com/droverlab/drover/scheduler/schedtest"
)

var _ = Describe("Basis, the cluster a plan was made on", func() {
	made := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	snap := func() *cluster.Snapshot {
		return Snapshot([]cluster.Host{MakeHost("h1").Obj(), MakeHost("h2").Obj()},
			[]cluster.VM{MakeVM("v1", "h1").Obj(), MakeVM("v2", "h1").Obj()})
	}
	b := plan.NewBasis(snap(), made, time.Hour, plan.Request{Policy: "evacuate", Hosts: []string{"h1"}})

	It("still stands on the same cluster before it expires, whatever is added", func() {
		s := snap()
		s.Hosts = append(s.Hosts, MakeHost("h3").Obj())
		Expect(b.Changes(s, made.Add(59*time.Minute))).To(BeEmpty())
		Expect(plan.NewBasis(snap(), made, time.Hour, plan.Request{}).Fingerprint).To(Equal(b.Fingerprint))
	})

	It("says every change a plan depends on", func() {
		s := snap()
		s.Hosts = s.Hosts[:1]                   // h2 gone
		s.Hosts[0].Security = cluster.Unsecured // h1 lost TLS
		s.VMs[0].Host = "h3"                    // v1 moved
		s.VMs = s.VMs[:1]                       // v2 gone
		Expect(b.Changes(s, made.Add(2*time.Hour))).To(Equal([]string{
			"the plan expired at 2026-12-03T11:00:00Z (made at 2026-12-03T10:00:00Z)",
			"host h1 was tls and is tcp",
			"host h2 is gone",
			"vm v1 was on h1 and is on h3",
			"vm v2 is gone",
		}))
		s2 := snap()
		s2.Hosts[1].State = cluster.HostMaintenance
		Expect(b.Changes(s2, made)).To(Equal([]string{"host h2 was up and is maintenance"}))
		Expect(plan.NewBasis(s2, made, time.Hour, plan.Request{}).Fingerprint).NotTo(Equal(b.Fingerprint))
	})

	It("tells two plans apart move by move", func() {
		p := &plan.Plan{Moves: []plan.Move{{VM: "v1", Destination: "h2"}, {VM: "v2", Destination: "h2"}}}
		q := &plan.Plan{Moves: []plan.Move{{VM: "v1", Destination: "h3"}, {VM: "v3", Destination: "h2"}}}
		Expect(plan.Diff(p, q)).To(Equal([]string{"~ v1 -> h3 (was -> h2)", "- v2 -> h2 (no longer planned)", "+ v3 -> h2 (new)"}))
	})
})
