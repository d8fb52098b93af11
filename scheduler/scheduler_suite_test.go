package scheduler_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/scheduler/schedtest"
)

// The Core's tests live in an external package: schedtest imports
// scheduler, so package scheduler itself could not import the harness.

func TestScheduler(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "scheduler")
}

// config is the Core's configuration the specs start from: TLS matching,
// model defaults, no executor limits, no policies.
func config() scheduler.Config {
	// A setup time, as real migrations have: drains then overlap one
	// extra migration per host to hide it.
	return scheduler.Config{Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{SetupTime: 500 * time.Millisecond}.WithDefaults(),
	}}
}

// scripted is a policy whose plans the spec writes. It records every input
// it was given.
type scripted struct {
	name  string
	plans func(n int, in *policy.Input) *plan.Plan
	calls []*policy.Input
}

var _ policy.Policy = (*scripted)(nil)

func (s *scripted) Name() string { return s.name }

func (s *scripted) Plan(in *policy.Input) (*plan.Plan, error) {
	s.calls = append(s.calls, in)
	p := s.plans(len(s.calls), in)
	p.Policy, p.At = s.name, in.Now
	return p, nil
}

// fixed returns a policy that plans moves under limits every time it runs.
func fixed(name string, limits plan.Limits, moves ...plan.Move) *scripted {
	return &scripted{name: name, plans: func(int, *policy.Input) *plan.Plan {
		ms := slices.Clone(moves)
		for i := range ms {
			ms[i].After = slices.Clone(ms[i].After)
		}
		return &plan.Plan{Limits: limits, Moves: ms}
	}}
}

// mv is a planned move over TLS (the default hosts are secured).
func mv(id int, vm, src, dst string, after ...int) plan.Move {
	return plan.Move{ID: id, VM: vm, Source: src, Destination: dst, Transport: cluster.TransportTLS, After: after}
}

// hostsNamed builds default hosts.
func hostsNamed(names ...string) []cluster.Host {
	out := make([]cluster.Host, len(names))
	for i, n := range names {
		out[i] = schedtest.MakeHost(n).Obj()
	}
	return out
}

// vmsOn builds n default VMs called prefix1..prefixN on host.
func vmsOn(host, prefix string, n int) []cluster.VM {
	out := make([]cluster.VM, n)
	for i := range out {
		out[i] = schedtest.MakeVM(fmt.Sprintf("%s%d", prefix, i+1), host).Obj()
	}
	return out
}

func world(hosts []cluster.Host, vmss ...[]cluster.VM) *cluster.Snapshot {
	return schedtest.Snapshot(hosts, slices.Concat(vmss...))
}

// ok fails the spec on an error, at the caller's line.
func ok(err error) {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
}

func startedIDs(ss []cluster.StartMigration) []int {
	out := make([]int, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func recordIDs(rs []scheduler.Record) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// startOf returns the last StartMigration of vm, failing if none.
func startOf(h *schedtest.Harness, vm string) cluster.StartMigration {
	GinkgoHelper()
	var out *cluster.StartMigration
	for _, s := range h.Started() {
		if s.VM == vm {
			out = &s
		}
	}
	Expect(out).NotTo(BeNil(), "no StartMigration of %s", vm)
	return *out
}

// expectContract checks what every run must satisfy: the harness saw no
// violation, and every StartMigration came after its "start" record in the
// same Ready.
func expectContract(h *schedtest.Harness) {
	GinkgoHelper()
	Expect(h.Violations()).To(BeEmpty())
	for i, rd := range h.Readies() {
		for _, c := range rd.Commands {
			s, isStart := c.(cluster.StartMigration)
			if !isStart {
				continue
			}
			Expect(rd.Journal).To(ContainElement(SatisfyAll(
				HaveField("Kind", scheduler.RecStart), HaveField("ID", s.ID))),
				"Ready %d starts move %d without journalling it", i, s.ID)
		}
	}
	// In the trace, the record precedes the command.
	seen := map[int]bool{}
	for _, e := range h.Trace() {
		if e.Record != nil && e.Record.Kind == scheduler.RecStart {
			seen[e.Record.ID] = true
		}
		if s, isStart := e.Command.(cluster.StartMigration); isStart {
			Expect(seen).To(HaveKey(s.ID), "move %d commanded before it was journalled", s.ID)
		}
	}
}

// roundTrip writes records as JSON and reads them back, as a journal file.
func roundTrip(records []scheduler.Record) []scheduler.Record {
	GinkgoHelper()
	b, err := json.Marshal(records)
	Expect(err).NotTo(HaveOccurred())
	var out []scheduler.Record
	Expect(json.Unmarshal(b, &out)).To(Succeed())
	return out
}
