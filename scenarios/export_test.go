package scenarios_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports/consolidation"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/sim"
)

const (
	exGiB  = int64(1) << 30
	exMiB  = int64(1) << 20
	gbit   = 1e9 / 8
	mibSec = float64(1 << 20)
)

// liveSnapshot is a cluster as an inventory sees it: two zones, a secured
// and an unsecured pool, a host in maintenance, groups of both kinds.
func liveSnapshot() *cluster.Snapshot {
	std := func(name, zone, rack string) cluster.Host {
		return cluster.Host{Name: name, Class: "std", Zone: zone, Rack: rack, CPUs: 32, Memory: 256 * exGiB,
			CPUModel: "Skylake-Server", NICs: 2, NICSpeed: 10 * gbit, Security: cluster.Secured, State: cluster.HostUp}
	}
	a1, a2, b1 := std("a1", "a", "r1"), std("a2", "a", "r2"), std("b1", "b", "r3")
	a2.State = cluster.HostMaintenance
	b1.Security, b1.NICSpeed = cluster.Unsecured, 25*gbit
	b2 := cluster.Host{Name: "b2", Zone: "b", Rack: "r3", CPUs: 16, Memory: 64*exGiB + 512*exMiB, CPUModel: "Icelake-Server",
		NICs: 1, NICSpeed: 1 * gbit, Security: cluster.Unsecured, State: cluster.HostUp}
	return &cluster.Snapshot{
		Hosts: []cluster.Host{a1, a2, b1, b2},
		VMs: []cluster.VM{
			{Name: "batch1", Host: "b2", VCPUs: 2, Memory: 4 * exGiB, Resident: 123456789, WSS: 4096, DirtyRate: 1234.5,
				CPU: 1.25, MACs: []string{"52:54:00:bb:00:01"}, Group: "batch", TCG: true},
			{Name: "batch2", Host: "b2", VCPUs: 2, Memory: 3*exGiB + 512*exMiB, Resident: 3 * exGiB, WSS: 768 * exMiB,
				DirtyRate: 2 * mibSec, CPU: 0.5, MACs: []string{"52:54:00:BB:00:02"}, Group: "batch"},
			{Name: "db1", Host: "a2", VCPUs: 8, Memory: 16 * exGiB, Resident: 12 * exGiB, WSS: 2 * exGiB,
				DirtyRate: 20000 * 4096, CPU: 3.5, MACs: []string{"52:54:00:aa:10:01"}, Priority: 10,
				Pinned: "local file disk vda (/var/lib/libvirt/images/db1.qcow2) without shared storage"},
			{Name: "web1", Host: "a1", VCPUs: 4, Memory: 8 * exGiB, Resident: 6 * exGiB, WSS: exGiB,
				DirtyRate: 50 * mibSec, CPU: 2, MACs: []string{"52:54:00:aa:00:01"}, Group: "web", Priority: 5,
				Measured: &cluster.Measured{Method: "page-sampling 1s×8 4s×2", WSSLow: 768 * exMiB, WSSHigh: 1536 * exMiB,
					DirtyRateLow: 40 * mibSec, DirtyRateHigh: 60 * mibSec}},
			{Name: "web2", Host: "b1", VCPUs: 4, Memory: 8 * exGiB, Resident: 6 * exGiB, WSS: exGiB,
				DirtyRate: 50 * mibSec, CPU: 4, MACs: []string{"52:54:00:aa:00:02"}, Group: "web", Priority: 5},
		},
		Groups: []cluster.Group{
			{Name: "batch", Kind: cluster.Affinity, Members: []string{"batch1", "batch2"}},
			{Name: "web", Kind: cluster.AntiAffinity, Members: []string{"web1", "web2"}},
		},
	}
}

func export(snap *cluster.Snapshot, opt scenarios.ExportOptions) []byte {
	GinkgoHelper()
	var b bytes.Buffer
	Expect(scenarios.Export(&b, snap, opt)).To(Succeed())
	return b.Bytes()
}

func exportLoad(snap *cluster.Snapshot) (*scenarios.Scenario, string) {
	GinkgoHelper()
	data := export(snap, scenarios.ExportOptions{Name: "live", Comment: "taken from inventory lab.yaml at 2026-01-02T03:04:05Z"})
	sc, err := scenarios.Parse("live.yaml", data)
	Expect(err).NotTo(HaveOccurred(), string(data))
	return sc, string(data)
}

// lineOf returns the line of text that holds s.
func lineOf(text, s string) string {
	GinkgoHelper()
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	Fail("no line holds " + s + " in:\n" + text)
	return ""
}

var _ = Describe("Export", func() {
	It("writes a scenario the simulator turns back into the same cluster", func() {
		in := liveSnapshot()
		sc, text := exportLoad(in)
		Expect(text).To(HavePrefix("# taken from inventory lab.yaml at 2026-01-02T03:04:05Z\n"))
		Expect(sc.Name).To(Equal("live"))
		Expect(sc.Sim.Duration).To(Equal(time.Hour))
		Expect(sc.Sim.Seed).To(Equal(uint64(1)))

		snap, err := sim.SnapshotAt(sc, 0, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		want := liveSnapshot()
		// The simulator starts every host up; maintenance is an event at 0s,
		// which is where `drover plan --policy evacuate` finds the hosts to
		// drain.
		for i := range want.Hosts {
			want.Hosts[i].State = cluster.HostUp
		}
		for i := range want.VMs {
			want.VMs[i].MACs[0] = strings.ToLower(want.VMs[i].MACs[0])
		}
		Expect(snap.Hosts).To(Equal(want.Hosts))
		Expect(snap.VMs).To(Equal(want.VMs))
		Expect(snap.Groups).To(Equal(want.Groups))
		Expect(sc.Events).To(HaveLen(1))
		Expect(sc.Events[0]).To(beEventAtStart(scenarios.EventMaintenance, "a2"))

		Expect(sc.Network.Topology).To(Equal(scenarios.TopologyLeafSpine))
		Expect(sc.Network.Oversubscription).To(Equal(1.0))
		Expect(lineOf(text, "dirty_rate: 50MiB/s")).NotTo(ContainSubstring("#"))
		Expect(text).To(ContainSubstring("speed: 10Gbit/s"))
		Expect(text).To(ContainSubstring("speed: 25Gbit/s"))
		Expect(text).To(ContainSubstring("memory: 64.5GiB"))
		Expect(text).To(ContainSubstring("resident: 123456789B"))
		Expect(text).To(ContainSubstring("dirty_rate: 1234.5B/s"))
		Expect(text).To(ContainSubstring("dirty_rate: 78.125MiB/s"))
		Expect(lineOf(text, "names: a2")).To(ContainSubstring("# in maintenance"))
		Expect(lineOf(text, "measured_by:")).To(ContainSubstring("page-sampling 1s×8 4s×2"))
	})

	It("refuses measured bounds on the wrong side of their figure, at the key", func() {
		in := liveSnapshot()
		in.VMs[3].Measured.WSSHigh = 512 * exMiB
		text := string(export(in, scenarios.ExportOptions{}))
		text = strings.Replace(text, "wss_high: 1GiB", "wss_high: 512MiB", 1)
		_, err := scenarios.Parse("live.yaml", []byte(text))
		Expect(err).To(MatchError(MatchRegexp(`live\.yaml:\d+:\d+: .*wss_high: 512MiB is less than wss 1GiB`)))
	})

	DescribeTable("turns the bundled scenarios' clusters into scenarios of the same clusters",
		func(name string) {
			orig, err := scenarios.Load(filepath.Join("examples", name))
			Expect(err).NotTo(HaveOccurred())
			want, err := sim.SnapshotAt(orig, 0, sim.Options{})
			Expect(err).NotTo(HaveOccurred())
			sc, _ := exportLoad(want)
			got, err := sim.SnapshotAt(sc, 0, sim.Options{})
			Expect(err).NotTo(HaveOccurred())
			Expect(got.Hosts).To(Equal(want.Hosts))
			Expect(got.VMs).To(Equal(want.VMs))
			Expect(got.Groups).To(Equal(want.Groups))
			Expect(got.Links).To(ConsistOf(want.Links), "the file lists links by name")
		},
		Entry(nil, "small.yaml"),
		Entry(nil, "rack-disaster.yaml"),
		Entry(nil, "tls-mixed.yaml"),
		Entry(nil, "maintenance.yaml"),
		Entry(nil, "imbalanced.yaml"),
	)

	It("puts what all hosts of a class share in the class, and the rest per host", func() {
		_, text := exportLoad(liveSnapshot())
		classes := text[strings.Index(text, "host_classes:"):strings.Index(text, "\nhosts:")]
		Expect(classes).To(ContainSubstring("cpus: 32"))
		Expect(classes).To(ContainSubstring("cpu_model: Skylake-Server"))
		Expect(classes).NotTo(ContainSubstring("nics:"), "b1 has faster NICs")
		Expect(classes).NotTo(ContainSubstring("security:"), "b1 is unsecured")
	})

	It("keeps an explicit network of links", func() {
		in := liveSnapshot()
		in.Links = []cluster.Link{
			{Name: "up-b", A: "tor-b", B: "spine", Bandwidth: 100 * gbit, Latency: 100 * time.Microsecond},
			{Name: "a1", A: "a1", B: "tor-a", Bandwidth: 20 * gbit, Latency: 50 * time.Microsecond},
			{Name: "a2", A: "a2", B: "tor-a", Bandwidth: 20 * gbit, Latency: 50 * time.Microsecond},
			{Name: "b1", A: "b1", B: "tor-b", Bandwidth: 50 * gbit, Latency: 50 * time.Microsecond},
			{Name: "b2", A: "b2", B: "tor-b", Bandwidth: 1 * gbit}, // latency unknown
			{Name: "up-a", A: "tor-a", B: "spine", Bandwidth: 40 * gbit, Latency: 1500 * time.Microsecond},
		}
		sc, text := exportLoad(in)
		Expect(sc.Network.Topology).To(Equal(scenarios.TopologyExplicit))
		snap, err := sim.SnapshotAt(sc, 0, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		want := slices.Clone(in.Links)
		slices.SortFunc(want, func(a, b cluster.Link) int { return strings.Compare(a.Name, b.Name) })
		want[3].Latency = 50 * time.Microsecond // b2: network.host_latency
		Expect(snap.Links).To(Equal(want))
		Expect(lineOf(text, "name: b2, from: b2")).To(ContainSubstring("# unknown: assumed latency 50us"))
		Expect(text).To(ContainSubstring("latency: 1.5ms"))
	})

	It("fills unknown fields with documented defaults, each marked in a comment", func() {
		snap := &cluster.Snapshot{
			Hosts: []cluster.Host{
				{Name: "h1", CPUs: 8, Memory: 32 * exGiB},
				{Name: "h2", CPUs: 8, Memory: 32 * exGiB, Rack: "r9", NICs: 4},
				{Name: "h3", CPUs: 8, Memory: 32 * exGiB, Zone: "z", Rack: "r9"},
				{Name: "h4", CPUs: 8, Memory: 32 * exGiB, Rack: "r8"},
				{Name: "h5", CPUs: 8, Memory: 32 * exGiB, Rack: "r8"},
			},
			VMs: []cluster.VM{
				{Name: "v1", Host: "h1", Memory: 2 * exGiB},
				{Name: "v2", Host: "h2", VCPUs: 2, Memory: 6 * exGiB, MACs: []string{cluster.MAC(1)}},
			},
		}
		sc, text := exportLoad(snap)

		Expect(lineOf(text, "zone: default")).To(HaveSuffix("# unknown: assumed"))
		Expect(strings.Count(text, "zone: default # unknown: assumed\n")).To(Equal(3), "h1, h4 and h5")
		Expect(lineOf(text, "rack: default-rack")).To(HaveSuffix("# unknown: assumed one rack per zone"))
		Expect(lineOf(text, "zone: z # unknown")).To(HaveSuffix("# unknown: zone of rack r9"))
		Expect(lineOf(text, "nics: {count: 1")).To(HaveSuffix("# unknown: assumed 1 port, 10Gbit/s per port"))
		Expect(lineOf(text, "nics: {count: 4")).To(HaveSuffix("# unknown: assumed 10Gbit/s per port"))
		Expect(lineOf(text, "security: tcp")).To(HaveSuffix("# unknown (not probed): assumed plain TCP"))
		Expect(lineOf(text, "vcpus: 1")).To(HaveSuffix("# unknown: assumed"))
		Expect(lineOf(text, "resident: 2GiB")).To(HaveSuffix("# unknown: assumed = memory"))
		Expect(lineOf(text, "wss: 512MiB")).To(HaveSuffix("# unknown: assumed resident/4"))
		Expect(lineOf(text, "dirty_rate: 0MiB/s")).To(ContainSubstring("# unknown: assumed 0"))
		Expect(lineOf(text, "topology: leaf-spine")).To(ContainSubstring("# unknown"))
		Expect(lineOf(text, `mac: "52:54:00:00:00:02"`)).To(HaveSuffix("# unknown: assumed"),
			"v1 would get 52:54:00:00:00:01 by default, but v2 has it")

		h := func(name string) cluster.Host {
			i := slices.IndexFunc(sc.Hosts, func(h cluster.Host) bool { return h.Name == name })
			return sc.Hosts[i]
		}
		Expect(h("h1").Zone).To(Equal(scenarios.ExportDefaultZone))
		Expect(h("h1").Rack).To(Equal("default-rack"))
		Expect(h("h1").NICs).To(Equal(1))
		Expect(h("h1").NICSpeed).To(Equal(scenarios.ExportDefaultNICSpeed))
		Expect(h("h1").Security).To(Equal(scenarios.ExportDefaultSecurity))
		Expect(h("h2").Zone).To(Equal("z"), "the rack names the zone")
		Expect(h("h2").NICs).To(Equal(4))
		Expect(h("h5").Zone).To(Equal(scenarios.ExportDefaultZone))
		Expect(h("h5").Rack).To(Equal("r8"))
		v1 := sc.VMs[0].VM
		Expect(v1.VCPUs).To(Equal(1))
		Expect(v1.Resident).To(Equal(2 * exGiB))
		Expect(v1.WSS).To(Equal(exGiB / 2))
		Expect(v1.DirtyRate).To(BeZero())
		Expect(v1.MACs).To(Equal([]string{"52:54:00:00:00:02"}))
		Expect(sc.VMs[1].MACs).To(Equal([]string{cluster.MAC(1)}))
	})

	It("bends what the format cannot hold and says so", func() {
		snap := &cluster.Snapshot{
			Hosts: []cluster.Host{
				{Name: "h1", Zone: "a", Rack: "r1", CPUs: 4, Memory: 8 * exGiB, NICs: 1, NICSpeed: gbit, Security: "weird", State: cluster.HostDown},
				{Name: "h2", Zone: "a", Rack: "r1", CPUs: 4, Memory: 8 * exGiB, NICs: 1, NICSpeed: gbit, Security: cluster.Invalid},
			},
			VMs: []cluster.VM{
				{Name: "big1", Host: "h2", VCPUs: 2, Memory: 6 * exGiB, Resident: 7 * exGiB, WSS: 8 * exGiB, CPU: 3.5,
					MACs: []string{"52:54:00:00:00:10", "52:54:00:00:00:11"}, Group: "g", Migrating: true},
				{Name: "big2", Host: "h2", VCPUs: 2, Memory: 6 * exGiB, CPU: -1, MACs: []string{"52:54:00:00:00:10"}, Group: "loose"},
				{Name: "c", Host: "h1", VCPUs: 1, Memory: exGiB, MACs: []string{"not-a-mac"}},
			},
			Groups: []cluster.Group{{Name: "g", Kind: "", Members: []string{"big1", "gone"}}},
		}
		sc, text := exportLoad(snap)
		Expect(lineOf(text, "memory: 12GiB")).To(HaveSuffix("# live 8GiB, raised to fit the memory of its VMs"))
		Expect(lineOf(text, "resident: 6GiB")).To(HaveSuffix("# measured 7GiB, cut to memory"))
		Expect(lineOf(text, "wss: 6GiB")).To(HaveSuffix("# measured 8GiB, cut to resident"))
		Expect(lineOf(text, "cpu: 2 ")).To(HaveSuffix("# measured 3.5 cores, cut to vcpus"))
		Expect(lineOf(text, "cpu: 0 ")).To(HaveSuffix("# unknown: assumed 0"))
		Expect(lineOf(text, `mac: "52:54:00:00:00:10"`)).To(HaveSuffix("# also 52:54:00:00:00:11 (a scenario keeps one MAC per VM)"))
		Expect(lineOf(text, `mac: "52:54:00:00:00:02"`)).To(HaveSuffix("# 52:54:00:00:00:10 belongs to another VM: assumed another"))
		Expect(lineOf(text, `mac: "52:54:00:00:00:03"`)).To(HaveSuffix(`# unusable MAC "not-a-mac": assumed another`))
		Expect(lineOf(text, "names: big1")).To(HaveSuffix("# was migrating when the snapshot was taken"))
		Expect(lineOf(text, "names: h1")).To(HaveSuffix("# down: see the host_crash event at 0s"))
		Expect(lineOf(text, `security: tcp`)).To(HaveSuffix(`# unknown state "weird": assumed plain TCP`))
		Expect(lineOf(text, "name: g,")).To(HaveSuffix("# left out members not in the snapshot: gone; unknown: assumed anti-affinity"))
		Expect(lineOf(text, "name: loose,")).To(HaveSuffix("# unknown: assumed anti-affinity"))
		Expect(sc.Events).To(HaveLen(1))
		Expect(sc.Events[0]).To(beEventAtStart(scenarios.EventHostCrash, "h1"))
		Expect(sc.Hosts[1].Security).To(Equal(cluster.Invalid))
	})

	It("gives the same bytes for the same cluster, whatever the order of the snapshot", func() {
		opt := scenarios.ExportOptions{Name: "x", Comment: "two\nlines", Duration: 90 * time.Minute, Seed: 7}
		first := export(liveSnapshot(), opt)
		Expect(export(liveSnapshot(), opt)).To(Equal(first))
		shuffled := liveSnapshot()
		slices.Reverse(shuffled.Hosts)
		slices.Reverse(shuffled.VMs)
		slices.Reverse(shuffled.Groups)
		slices.Reverse(shuffled.Groups[0].Members)
		Expect(string(export(shuffled, opt))).To(Equal(string(first)))
		Expect(string(first)).To(HavePrefix("# two\n# lines\n#\n"))
		Expect(string(first)).To(ContainSubstring("sim: {seed: 7, duration: 1h30m}"))
	})

	DescribeTable("refuses, writing nothing, snapshots it cannot express",
		func(change func(*cluster.Snapshot), msg string) {
			snap := liveSnapshot()
			change(snap)
			var b bytes.Buffer
			err := scenarios.Export(&b, snap, scenarios.ExportOptions{})
			Expect(err).To(MatchError(ContainSubstring(msg)))
			Expect(b.Len()).To(BeZero())
		},
		Entry("duplicate host", func(s *cluster.Snapshot) { s.Hosts[1].Name = "a1" }, `duplicate host "a1"`),
		Entry("VM on an unknown host", func(s *cluster.Snapshot) { s.VMs[0].Host = "zz" }, `VM "batch1" is on unknown host "zz"`),
		Entry("range syntax in a name", func(s *cluster.Snapshot) { s.VMs[0].Name = "vm[1]" }, "would read as a range"),
		Entry("control character in a name", func(s *cluster.Snapshot) { s.Hosts[3].Rack = "r\n3" }, "control characters"),
		Entry("host without memory", func(s *cluster.Snapshot) { s.Hosts[0].Memory = 0 }, `host "a1" has no memory`),
		Entry("VM without memory", func(s *cluster.Snapshot) { s.VMs[0].Memory = 0 }, `VM "batch1" has no memory`),
		Entry("rack in two zones", func(s *cluster.Snapshot) { s.Hosts[2].Rack = "r1" }, `rack "r1" is in zone "a" and zone "b"`),
		Entry("VM in two groups", func(s *cluster.Snapshot) { s.Groups[1].Members = append(s.Groups[1].Members, "batch1") },
			`VM "batch1" is in group "batch" and group "web"`),
		Entry("no hosts", func(s *cluster.Snapshot) { s.Hosts, s.VMs = nil, nil }, "no hosts"),
	)

	It("writes the migration settings real migrations will run with", func() {
		m := &scheduler.Migration{DowntimeLimit: 200 * time.Millisecond, CompletionTimeoutPerGiB: time.Minute,
			ProgressTimeout: 0, OnLimit: "force", AutoConverge: true, Bandwidth: 4 << 20, MaxParallel: 2, MaxPerHostOut: 1, MaxPerHostIn: 1}
		sc, err := scenarios.Parse("live.yaml", export(liveSnapshot(), scenarios.ExportOptions{Migration: m}))
		Expect(err).NotTo(HaveOccurred())
		got := sc.Migration
		Expect(got.DowntimeLimit).To(Equal(m.DowntimeLimit))
		Expect(got.CompletionTimeoutPerGiB).To(Equal(time.Minute))
		Expect(got.ProgressTimeout).To(BeZero(), "a timeout of 0 (none) is written, not left to the default")
		Expect(got.OnLimit).To(Equal(cluster.OnLimit("force")))
		Expect(got.AutoConverge).To(BeTrue())
		Expect(got.Bandwidth).To(Equal(float64(4 << 20)))
		Expect([]int{got.MaxParallel, got.MaxPerHostOut, got.MaxPerHostIn}).To(Equal([]int{2, 1, 1}))
	})

	It("returns the writer's error", func() {
		err := scenarios.Export(failWriter{}, liveSnapshot(), scenarios.ExportOptions{})
		Expect(err).To(MatchError(errFull))
	})
})

var errFull = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFull }

// beEventAtStart matches an event of kind on host at 0s.
func beEventAtStart(kind scenarios.EventKind, host string) OmegaMatcher {
	return And(
		WithTransform(func(e scenarios.Event) scenarios.EventKind { return e.Kind }, Equal(kind)),
		WithTransform(func(e scenarios.Event) string { return e.Host }, Equal(host)),
		WithTransform(func(e scenarios.Event) time.Duration { return e.At }, BeZero()),
	)
}

var _ = Describe("Export of power models", func() {
	It("writes named and written-out tables and the switch-off rule back", func() {
		snap := liveSnapshot()
		snap.Hosts[0].Power, snap.Hosts[0].SwitchOff = consolidation.ML110G4, true
		own := consolidation.PowerModel{Watts: [11]float64{50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150.5}}
		snap.Hosts[1].Power = own
		sc, text := exportLoad(snap)
		Expect(sc.Hosts[0].Power).To(Equal(consolidation.ML110G4), text)
		Expect(sc.Hosts[0].SwitchOff).To(BeTrue())
		Expect(sc.Hosts[1].Power).To(Equal(own), text)
		Expect(sc.Hosts[1].SwitchOff).To(BeFalse())
		Expect(sc.Hosts[2].Power).To(BeNil())
	})
})
