package scenarios_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports/consolidation"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

const GiB = 1 << 30

// readmeExample returns the first yaml block of README.md.
func readmeExample() []byte {
	GinkgoHelper()
	data, err := os.ReadFile("README.md")
	Expect(err).NotTo(HaveOccurred())
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(data)
	Expect(m).NotTo(BeNil(), "README.md has no yaml block")
	return m[1]
}

func vmByName(sc *scenarios.Scenario, name string) scenarios.VM {
	GinkgoHelper()
	i := slices.IndexFunc(sc.VMs, func(v scenarios.VM) bool { return v.Name == name })
	Expect(i).To(BeNumerically(">=", 0), "no VM %q", name)
	return sc.VMs[i]
}

func linkByName(sc *scenarios.Scenario, name string) scenarios.Link {
	GinkgoHelper()
	i := slices.IndexFunc(sc.Network.Links, func(l scenarios.Link) bool { return l.Name == name })
	Expect(i).To(BeNumerically(">=", 0), "no link %q", name)
	return sc.Network.Links[i]
}

var _ = Describe("Parse", func() {
	Describe("the README example", func() {
		var sc *scenarios.Scenario
		BeforeEach(func() {
			var err error
			sc, err = scenarios.Parse("README.md", readmeExample())
			Expect(err).NotTo(HaveOccurred())
		})

		It("reads the simulator settings and zones", func() {
			Expect(sc.Name).To(Equal("full"))
			Expect(sc.File).To(Equal("README.md"))
			Expect(sc.Sim).To(Equal(scenarios.Sim{Seed: 42, Duration: 2 * time.Hour, SampleInterval: 5 * time.Minute, MigrationModel: scenarios.MigrationPrecopy}))
			Expect(sc.Zones).To(Equal([]scenarios.Zone{{Name: "a", Racks: []string{"r1", "r2"}}, {Name: "b", Racks: []string{"r3", "r4"}}}))
		})

		It("expands host ranges, applies classes and overrides", func() {
			Expect(sc.Hosts).To(HaveLen(6))
			Expect(sc.Hosts[0]).To(Equal(cluster.Host{
				Name: "h01", Class: "std", Zone: "a", Rack: "r1", CPUs: 32, Memory: 256 * GiB,
				CPUModel: "Skylake-Server", NICs: 2, NICSpeed: 10e9 / 8, Security: cluster.Secured,
				Power: consolidation.ML110G4, SwitchOff: true,
			}))
			h05 := sc.Hosts[4]
			Expect(h05.Power).To(Equal(consolidation.ML110G4), "the class's power model")
			Expect(h05.Name).To(Equal("h05"))
			Expect(h05.Zone).To(Equal("b"))
			Expect(h05.Security).To(Equal(cluster.Unsecured))
			Expect(h05.NICs).To(Equal(2), "count from the class, speed overridden")
			Expect(h05.NICSpeed).To(Equal(25e9 / 8))
		})

		It("generates leaf-spine links", func() {
			Expect(sc.Network.Topology).To(Equal(scenarios.TopologyLeafSpine))
			Expect(sc.Network.Oversubscription).To(Equal(3.0))
			Expect(sc.Network.Links).To(HaveLen(6 + 2))
			Expect(linkByName(sc, "h01")).To(Equal(scenarios.Link{Name: "h01", A: "h01", B: "tor-r1", Bandwidth: 2 * 10e9 / 8, Latency: 50 * time.Microsecond}))
			Expect(linkByName(sc, "h06")).To(Equal(scenarios.Link{Name: "h06", A: "h06", B: "tor-r3", Bandwidth: 2 * 25e9 / 8, Latency: 50 * time.Microsecond}))
			Expect(linkByName(sc, "r1")).To(Equal(scenarios.Link{Name: "r1", A: "tor-r1", B: "spine", Bandwidth: 4 * 2 * 10e9 / 8 / 3, Latency: 100 * time.Microsecond}))
			Expect(linkByName(sc, "r3").Bandwidth).To(BeNumerically("~", 2*2*25e9/8/3, 1e-3))
		})

		It("expands VM ranges, sorts VMs and deals them round-robin in name order", func() {
			Expect(sc.VMs).To(HaveLen(40 + 1 + 3))
			Expect(slices.IsSortedFunc(sc.VMs, func(a, b scenarios.VM) int { return cmpStr(a.Name, b.Name) })).To(BeTrue())
			for name, host := range map[string]string{"web001": "h01", "web002": "h02", "web004": "h04", "web005": "h01", "web040": "h04", "batch1": "h05", "batch2": "h06", "batch3": "h05", "db1": "h05"} {
				Expect(vmByName(sc, name).Host).To(Equal(host), name)
			}
		})

		It("converts units and applies VM defaults", func() {
			web := vmByName(sc, "web001")
			Expect(web.VCPUs).To(Equal(4))
			Expect(web.Memory).To(Equal(int64(8 * GiB)))
			Expect(web.Resident).To(Equal(int64(6 * GiB)))
			Expect(web.WSS).To(Equal(int64(1 * GiB)))
			Expect(web.DirtyRate).To(Equal(50.0 * (1 << 20)))
			Expect(web.Priority).To(Equal(10))
			Expect(web.Group).To(Equal("web-aa"))
			Expect(web.Demand).To(Equal(scenarios.Demand{Kind: scenarios.DemandConstant, Constant: 2}))
			Expect(web.CPU).To(Equal(2.0))

			batch := vmByName(sc, "batch2")
			Expect(batch.Resident).To(Equal(batch.Memory), "resident defaults to memory")
			Expect(batch.WSS).To(Equal(batch.Memory/4), "wss defaults to resident/4")
			Expect(batch.DirtyRate).To(BeZero())
			Expect(batch.Priority).To(BeZero())
			Expect(batch.Demand.Kind).To(Equal(scenarios.DemandRandomWalk))
			Expect(batch.Demand.Walk).To(Equal(scenarios.RandomWalk{Start: 1, Step: 0.2, Min: 0, Max: 2, Interval: 5 * time.Minute}))

			db := vmByName(sc, "db1")
			Expect(db.DirtyRate).To(Equal(20000.0 * 4096))
			Expect(db.Demand.Kind).To(Equal(scenarios.DemandTrace))
			Expect(db.Demand.TraceInterval).To(Equal(5 * time.Minute))
			Expect(db.Demand.Trace).To(HaveLen(12))
			Expect(db.Demand.Trace[:3]).To(Equal([]float64{1.2, 1.4, 2.1}))
			Expect(db.CPU).To(Equal(1.2))
		})

		It("increments a base MAC per VM and defaults the others", func() {
			Expect(vmByName(sc, "web001").MACs).To(Equal([]string{"52:54:00:10:00:01"}))
			Expect(vmByName(sc, "web040").MACs).To(Equal([]string{"52:54:00:10:00:28"}))
			// batch1 is the first VM by name.
			Expect(vmByName(sc, "batch1").MACs).To(Equal([]string{cluster.MAC(1)}))
			Expect(vmByName(sc, "db1").MACs).To(Equal([]string{cluster.MAC(4)}))
		})

		It("fills groups from VM fields and vms lists", func() {
			Expect(sc.Groups).To(HaveLen(2))
			Expect(sc.Groups[0].Name).To(Equal("web-aa"))
			Expect(sc.Groups[0].Kind).To(Equal(cluster.AntiAffinity))
			Expect(sc.Groups[0].Members).To(HaveLen(40))
			Expect(sc.Groups[1]).To(Equal(cluster.Group{Name: "batch", Kind: cluster.Affinity, Members: []string{"batch1", "batch2", "batch3"}}))
			Expect(vmByName(sc, "batch3").Group).To(Equal("batch"))
		})

		It("resolves events in time order", func() {
			Expect(sc.Events).To(HaveLen(8))
			kinds := make([]scenarios.EventKind, len(sc.Events))
			for i, e := range sc.Events {
				kinds[i] = e.Kind
			}
			Expect(kinds).To(Equal([]scenarios.EventKind{
				scenarios.EventMigrate, scenarios.EventHostCrash, scenarios.EventLinkDown, scenarios.EventLinkUp,
				scenarios.EventLinkDegraded, scenarios.EventMaintenance, scenarios.EventDisasterWarning, scenarios.EventLoadSpike,
			}))
			m := sc.Events[0]
			Expect(m.At).To(Equal(10 * time.Minute))
			Expect(m.VM).To(Equal("web001"))
			Expect(m.Host).To(Equal("h02"))
			Expect(m.Pos.Line).To(BeNumerically(">", 1))
			Expect(*m.Options.Bandwidth).To(Equal(1e9 / 8))
			Expect(*m.Options.DowntimeLimit).To(Equal(300 * time.Millisecond))
			Expect(*m.Options.MaxIterations).To(Equal(30))
			Expect(*m.Options.OnLimit).To(Equal(cluster.LimitAbort))
			Expect(*m.Options.AutoConverge).To(BeTrue())
			Expect(sc.Events[4].Link).To(Equal("h02"))
			Expect(sc.Events[4].Bandwidth).To(Equal(1e9 / 8))
			Expect(sc.Events[6].Zone).To(Equal("b"))
			Expect(sc.Events[6].FailsAt).To(Equal(90 * time.Minute))
			spike := sc.Events[7]
			Expect(spike.VMs).To(HaveLen(10))
			Expect(spike.Factor).To(Equal(2.0))
			Expect(spike.For).To(Equal(10 * time.Minute))
		})

		It("reads policy and migration settings", func() {
			Expect(sc.Policy).To(Equal(scheduler.Policy{
				Name: "balance", Interval: 5 * time.Minute, TLS: "matching", Evacuation: "planned",
				CPUOvercommit: 4, Threshold: 0.2, Hysteresis: 0.8, MaxMovesPerRound: 10,
				Params: map[string]map[string]string{"balance": {"cooldown": "10m"}, "disaster": {"margin": "0.2"}},
			}))
			Expect(sc.Migration).To(Equal(scheduler.Migration{
				Profile: precopy.DefaultProfile(), ProfileRef: "qemu10-tcg",
				DowntimeLimit: 300 * time.Millisecond, SwitchoverCost: 20 * time.Millisecond, SetupTime: 500 * time.Millisecond,
				MaxIterations: 30, CompletionTimeoutPerGiB: 150 * time.Second, ProgressTimeout: 150 * time.Second,
				OnLimit: cluster.LimitAbort, MaxParallel: 5, MaxPerHostOut: 2, MaxPerHostIn: 2,
				Throttle: precopy.Throttle{Initial: 20, Increment: 10, Max: 99},
			}))
		})
	})

	It("applies every default to a minimal file", func() {
		sc, err := scenarios.Parse(testFile, []byte(base))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Sim).To(Equal(scenarios.Sim{Seed: 1, Duration: time.Hour, SampleInterval: 5 * time.Minute}))
		Expect(sc.Policy).To(Equal(scheduler.Policy{
			Interval: 5 * time.Minute, TLS: "matching", Evacuation: "planned",
			CPUOvercommit: 4, Threshold: 0.2, Hysteresis: 0.8, MaxMovesPerRound: 10,
		}))
		Expect(sc.Migration).To(Equal(scheduler.Migration{
			Profile:                 precopy.DefaultProfile(),
			DowntimeLimit:           300 * time.Millisecond,
			CompletionTimeoutPerGiB: 150 * time.Second, ProgressTimeout: 150 * time.Second, OnLimit: cluster.LimitAbort,
		}))
		Expect(sc.Network.Topology).To(Equal(scenarios.TopologyLeafSpine))
		Expect(sc.Network.Oversubscription).To(Equal(1.0))
		Expect(sc.Network.HostLatency).To(Equal(50 * time.Microsecond))
		Expect(sc.Network.SpineLatency).To(Equal(100 * time.Microsecond))
		Expect(sc.Hosts[2]).To(Equal(cluster.Host{Name: "h3", Class: "std", Zone: "b", Rack: "r3", CPUs: 16, Memory: 64 * GiB, NICs: 2, NICSpeed: 10e9 / 8, Security: cluster.Secured}))
		Expect(sc.VMs).To(BeEmpty())
		Expect(sc.Events).To(BeEmpty())
	})

	It("takes explicit links as written", func() {
		sc, err := scenarios.Parse(testFile, []byte(base+`network:
  topology: explicit
  host_latency: 20us
  links:
    - {name: l1, from: h1, to: sw, bandwidth: 25Gbit/s}
    - {name: l2, from: h2, to: sw, bandwidth: 25Gbit/s, latency: 1ms}
    - {name: l3, from: h3, to: h1, bandwidth: 100MB/s}
`))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Network.Links).To(Equal([]scenarios.Link{
			{Name: "l1", A: "h1", B: "sw", Bandwidth: 25e9 / 8, Latency: 20 * time.Microsecond},
			{Name: "l2", A: "h2", B: "sw", Bandwidth: 25e9 / 8, Latency: time.Millisecond},
			{Name: "l3", A: "h3", B: "h1", Bandwidth: 100e6, Latency: 20 * time.Microsecond},
		}))
	})

	It("supports anchors, aliases and merge keys", func() {
		sc, err := scenarios.Parse(testFile, []byte(base+`vm_classes:
  - &small {name: small, vcpus: 2, memory: 4GiB, dirty_rate: 10MiB/s}
  - {<<: *small, name: big, memory: 8GiB}
vms:
  - {names: a, class: big, hosts: &first h1}
  - {names: b, class: small, hosts: *first}
`))
		Expect(err).NotTo(HaveOccurred())
		a := vmByName(sc, "a")
		Expect(a.Memory).To(Equal(int64(8 * GiB)))
		Expect(a.VCPUs).To(Equal(2))
		Expect(a.DirtyRate).To(Equal(10.0 * (1 << 20)))
		Expect(vmByName(sc, "b").Host).To(Equal("h1"))
	})

	It("reads whitespace-separated traces and several values per line", func() {
		sc, err := scenarios.Parse(testFile, []byte(base+"vms: [{names: v, hosts: h1, vcpus: 8, memory: 1GiB, cpu: {trace: traces/ok.txt}}]\n"))
		Expect(err).NotTo(HaveOccurred())
		v := vmByName(sc, "v")
		Expect(v.Demand.Trace).To(Equal([]float64{1, 2, 3, 4, 2.5}))
		Expect(v.Demand.TraceInterval).To(Equal(5*time.Minute), "defaults to sim.sample_interval")
	})

	It("makes one event per host or link of a range", func() {
		sc, err := scenarios.Parse(testFile, []byte(base+"events:\n  - {at: 9m, link_down: [h1, r1]}\n  - {at: 5m, maintenance: \"h[1-2]\"}\n"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Events).To(HaveLen(4))
		Expect(sc.Events[0].Host).To(Equal("h1"))
		Expect(sc.Events[1].Host).To(Equal("h2"))
		Expect(sc.Events[2].Link).To(Equal("h1"))
		Expect(sc.Events[3].Link).To(Equal("r1"))
		Expect(sc.Events[3].Kind).To(Equal(scenarios.EventLinkDown))
	})

	It("accepts a migration to the VM's own host and security invalid hosts", func() {
		text := base + "  - {names: bad, class: std, rack: r2, security: invalid}\nvms: [{names: v, hosts: bad, vcpus: 64, memory: 1GiB}]\nevents: [{at: 1m, migrate: {vm: v, to: bad}}]\n"
		sc, err := scenarios.Parse(testFile, []byte(text))
		Expect(err).NotTo(HaveOccurred())
		Expect(vmByName(sc, "v").VCPUs).To(Equal(64), "vCPUs may exceed host CPUs")
	})

	It("returns the read error of a missing file", func() {
		_, err := scenarios.Load("testdata/does-not-exist.yaml")
		Expect(errors.Is(err, fs.ErrNotExist)).To(BeTrue())
	})
})

var _ = Describe("bundled examples", func() {
	files, _ := filepath.Glob("examples/*.yaml")

	It("has the bundled scenarios", func() {
		Expect(files).To(ConsistOf("examples/small.yaml", "examples/rack-disaster.yaml", "examples/tls-mixed.yaml",
			"examples/maintenance.yaml", "examples/imbalanced.yaml"))
	})

	for _, f := range files {
		It("loads "+f+" cleanly", func() {
			sc, err := scenarios.Load(f)
			Expect(err).NotTo(HaveOccurred())
			Expect(sc.Hosts).NotTo(BeEmpty())
			Expect(sc.VMs).NotTo(BeEmpty())
			used := map[string]int64{}
			for _, v := range sc.VMs {
				used[v.Host] += v.Memory
				Expect(v.Resident).To(BeNumerically("<=", v.Memory))
				Expect(v.WSS).To(BeNumerically("<=", v.Resident))
			}
			for _, h := range sc.Hosts {
				Expect(used[h.Name]).To(BeNumerically("<=", h.Memory), h.Name)
			}
		})
	}

	It("small.yaml is the demo cluster", func() {
		sc, err := scenarios.Load("examples/small.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Hosts).To(HaveLen(4))
		Expect(sc.VMs).To(HaveLen(16))
		Expect(sc.Sim.Duration).To(Equal(time.Hour))
		Expect(sc.Policy.Name).To(BeEmpty())
		var kinds []scenarios.EventKind
		for _, e := range sc.Events {
			kinds = append(kinds, e.Kind)
		}
		Expect(kinds).To(ContainElements(scenarios.EventMigrate, scenarios.EventLinkDegraded, scenarios.EventHostCrash))
		Expect(vmByName(sc, "db1").Demand.Kind).To(Equal(scenarios.DemandTrace))
	})

	It("rack-disaster.yaml warns zone b twenty seconds ahead", func() {
		sc, err := scenarios.Load("examples/rack-disaster.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Hosts).To(HaveLen(32))
		Expect(sc.VMs).To(HaveLen(438))
		Expect(sc.Events).To(HaveLen(1))
		Expect(sc.Events[0].Zone).To(Equal("b"))
		Expect(sc.Events[0].FailsAt - sc.Events[0].At).To(Equal(20 * time.Second))
		Expect(sc.Policy.TLS).To(Equal(cluster.TLSMatching))
	})
})

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var _ = Describe("migration.profile", func() {
	It("takes a built-in name or a profile file next to the scenario, and names a bad one with its position", func() {
		dir := GinkgoT().TempDir()
		prof := precopy.DefaultProfile()
		prof.Name, prof.SetupMS = "mine", 900
		b, err := prof.Encode()
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(dir, "mine.json"), b, 0o644)).To(Succeed())

		sc, err := scenarios.Parse(filepath.Join(dir, "s.yaml"), []byte(base+"migration:\n  profile: mine.json\n"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Migration.Profile).To(Equal(prof))
		Expect(sc.Migration.ProfileRef).To(Equal(filepath.Join(dir, "mine.json")))

		sc, err = scenarios.Parse(filepath.Join(dir, "s.yaml"), []byte(base+"migration:\n  profile: qemu10-tcg\n"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Migration.Profile).To(Equal(precopy.DefaultProfile()))
		Expect(sc.Migration.ProfileRef).To(Equal("qemu10-tcg"))

		_, err = scenarios.Parse(filepath.Join(dir, "s.yaml"), []byte(base+"migration:\n  profile: nope.json\n"))
		Expect(err).To(MatchError(MatchRegexp(`s\.yaml:\d+:\d+: .*profile "nope.json" is neither a built-in profile`)))
	})
})

var _ = Describe("auto-converge's throttle", func() {
	It("takes QEMU's parameters and refuses what QEMU refuses, at the key's position", func() {
		sc, err := scenarios.Parse(testFile, []byte(base+"migration:\n  auto_converge: true\n  cpu_throttle_initial: 35\n  cpu_throttle_tailslow: true\n"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Migration.Throttle).To(Equal(precopy.Throttle{Initial: 35, Tailslow: true}))
		_, err = scenarios.Parse(testFile, []byte(base+"migration:\n  max_cpu_throttle: 100\n"))
		Expect(err).To(MatchError(MatchRegexp(`:\d+:\d+: .*max_cpu_throttle.*must be 1\.\.99`)))
	})
})

var _ = Describe("a VM's accel", func() {
	It("takes kvm by default, tcg from a class or the entry, and names anything else at its position", func() {
		text := base + `vm_classes: [{name: emu, vcpus: 1, memory: 1GiB, accel: tcg}]
vms:
  - {names: v1, class: emu, hosts: [h1]}
  - {names: v2, class: emu, accel: kvm, hosts: [h1]}
  - {names: v3, vcpus: 1, memory: 1GiB, hosts: [h1]}
`
		sc, err := scenarios.Parse(testFile, []byte(text))
		Expect(err).NotTo(HaveOccurred())
		tcg := map[string]bool{}
		for _, v := range sc.VMs {
			tcg[v.Name] = v.TCG
		}
		Expect(tcg).To(Equal(map[string]bool{"v1": true, "v2": false, "v3": false}))

		_, err = scenarios.Parse(testFile, []byte(base+"vms:\n  - {names: v1, vcpus: 1, memory: 1GiB, accel: hvf, hosts: [h1]}\n"))
		Expect(err).To(MatchError(MatchRegexp(`t\.yaml:8:\d+: vms\[0\]\.accel: unknown value "hvf" \(want kvm or tcg\)`)))
	})
})
