package sim_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/precopy"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/sim"
)

func TestSim(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "sim")
}

const (
	MiB = int64(1) << 20
	GiB = int64(1) << 30
	// gbit is 1 Gbit/s in bytes/s.
	gbit = 1e9 / 8
)

// world builds a scenario in code: hosts h1..hN in one rack on a leaf-spine
// network with 1 Gbit/s host links, and the given VMs.
func world(hosts int, vms ...scenarios.VM) *scenarios.Scenario {
	sc := &scenarios.Scenario{
		Name: "test",
		Sim:  scenarios.Sim{Seed: 7, Duration: time.Hour, SampleInterval: 5 * time.Minute},
		Network: scenarios.Network{
			Topology: scenarios.TopologyLeafSpine,
		},
		Migration: scheduler.Migration{
			DowntimeLimit:  300 * time.Millisecond,
			SwitchoverCost: 20 * time.Millisecond,
			OnLimit:        cluster.LimitAbort,
		},
	}
	for i := 1; i <= hosts; i++ {
		name := fmt.Sprintf("h%d", i)
		sc.Hosts = append(sc.Hosts, cluster.Host{
			Name: name, Zone: "a", Rack: "r1", CPUs: 8, Memory: 16 * GiB, CPUModel: "x",
			NICs: 1, NICSpeed: gbit, Security: cluster.Secured,
		})
		sc.Network.Links = append(sc.Network.Links, scenarios.Link{
			Name: name, A: name, B: "tor-r1", Bandwidth: gbit, Latency: 50 * time.Microsecond,
		})
	}
	sc.VMs = vms
	return sc
}

func vm(name, host string, mem int64, dirty float64) scenarios.VM {
	return scenarios.VM{
		VM: cluster.VM{
			Name: name, Host: host, VCPUs: 2, Memory: mem, Resident: mem, WSS: mem / 4, DirtyRate: dirty,
		},
		Demand: scenarios.Demand{Kind: scenarios.DemandConstant, Constant: 1},
	}
}

func migrate(at time.Duration, vmName, to string) scenarios.Event {
	return scenarios.Event{At: at, Kind: scenarios.EventMigrate, VM: vmName, Host: to}
}

func run(sc *scenarios.Scenario) *reports.Report {
	rep, err := sim.Run(sc, sim.Options{})
	Expect(err).NotTo(HaveOccurred())
	return rep
}

// runText parses a scenario from text (file names it in errors) and runs it.
func runText(file, text string, opts sim.Options) *reports.Report {
	sc, err := scenarios.Parse(file, []byte(text))
	Expect(err).NotTo(HaveOccurred())
	rep, err := sim.Run(sc, opts)
	Expect(err).NotTo(HaveOccurred())
	return rep
}

func byVM(rep *reports.Report, name string) reports.Migration {
	for _, m := range rep.Migrations {
		if m.VM == name {
			return m
		}
	}
	Fail("no migration of " + name)
	return reports.Migration{}
}

// xferMS is a migration's time for what takes ms at the full link rate:
// the stream carries the profile's goodput of it, and the profile's setup
// and finishing costs come on top.
func xferMS(ms float64) float64 {
	p := precopy.DefaultProfile()
	return ms/p.Goodput + p.SetupMS + p.FinishMS
}

var _ = Describe("a migration on an idle network", func() {
	It("sends resident memory once and switches over within the downtime limit", func() {
		sc := world(2, vm("v1", "h1", 1*GiB, 0))
		sc.Events = []scenarios.Event{migrate(time.Minute, "v1", "h2")}
		rep := run(sc)
		m := byVM(rep, "v1")
		Expect(m.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(m.Source).To(Equal("h1"))
		Expect(m.Transport).To(Equal("tls"))
		Expect(m.Bytes).To(BeNumerically(">=", GiB))
		Expect(m.Bytes).To(BeNumerically("<", GiB+GiB/100))
		// 1 GiB at the goodput of 125 MB/s, plus the profile's fixed costs.
		Expect(m.DurationMS).To(BeNumerically("~", xferMS(8590), 200))
		Expect(m.DowntimeMS).To(BeNumerically("<", 300+20+1))
		Expect(rep.Hosts[1].VMs[len(rep.Hosts[1].VMs)-1]).To(Equal(1))
		Expect(rep.Hosts[0].VMs[len(rep.Hosts[0].VMs)-1]).To(Equal(0))
	})

	It("migrates an emulated guest as the model's TCG half predicts it, slower than its KVM twin", func() {
		kvm, tcg := vm("kvm", "h1", 512*MiB, float64(12*MiB)), vm("tcg", "h1", 512*MiB, float64(12*MiB))
		for _, v := range []*scenarios.VM{&kvm, &tcg} {
			v.Resident, v.WSS = 190*MiB, 64*MiB
		}
		tcg.TCG = true
		sc := world(2, kvm, tcg)
		sc.Events = []scenarios.Event{migrate(time.Minute, "kvm", "h2"), migrate(10*time.Minute, "tcg", "h2")}
		rep := run(sc)
		a, b := byVM(rep, "kvm"), byVM(rep, "tcg")
		Expect(a.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(b.Outcome).To(Equal(cluster.OutcomeCompleted))

		// What drover predict --accel tcg gives for the same guest on the
		// same path (TLS: the hosts are secured).
		cfg := precopy.Config{DowntimeLimit: 300 * time.Millisecond, SwitchoverCost: 20 * time.Millisecond, TLS: true, Wall: true}.WithDefaults().For(true)
		rate, link := cfg.Profile.Stream(gbit, 0, true)
		cfg.LinkRate, cfg.Bound = link, cfg.Profile.Bound(0, true)
		want := precopy.Predict(plan.Workload(&tcg.VM), cfg, rate)
		Expect(b.DurationMS).To(BeNumerically("~", float64(want.TotalTime)/1e6, 0.02*float64(want.TotalTime)/1e6))
		lab := precopy.DefaultProfile().For(true)
		Expect(b.DurationMS - a.DurationMS).To(BeNumerically(">", lab.OverheadTLSMS))
	})

	It("shares a bottleneck link fairly between concurrent migrations", func() {
		sc := world(3, vm("v1", "h1", 1*GiB, 0), vm("v2", "h1", 1*GiB, 0))
		sc.Events = []scenarios.Event{migrate(time.Minute, "v1", "h2"), migrate(time.Minute, "v2", "h3")}
		rep := run(sc)
		a, b := byVM(rep, "v1"), byVM(rep, "v2")
		Expect(a.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(b.Outcome).To(Equal(cluster.OutcomeCompleted))
		// Both leave through h1's link: each gets half, so each takes twice as long.
		Expect(a.DurationMS).To(BeNumerically("~", xferMS(2*8590), 400))
		Expect(b.DurationMS).To(BeNumerically("~", a.DurationMS, 1))
		Expect(rep.Summary.MaxConcurrent).To(Equal(2))
	})

	It("speeds a migration up when a competing one ends", func() {
		sc := world(3, vm("v1", "h1", 2*GiB, 0), vm("v2", "h1", 512*MiB, 0))
		sc.Events = []scenarios.Event{migrate(time.Minute, "v1", "h2"), migrate(time.Minute, "v2", "h3")}
		rep := run(sc)
		a, b := byVM(rep, "v1"), byVM(rep, "v2")
		Expect(b.DurationMS).To(BeNumerically("~", xferMS(2*4295), 300))
		// v1 sent 512 MiB at half rate, then the remaining 1.5 GiB at full rate.
		Expect(a.DurationMS).To(BeNumerically("~", xferMS(2*4295+3*4295), 400))
		// Both started at the same instant: each is predicted at half the
		// link, whichever flow the simulator opened first.
		Expect(a.PredictedMS).To(BeNumerically("~", xferMS(8*4295), 0.02*xferMS(8*4295)))
		Expect(b.PredictedMS).To(BeNumerically("~", xferMS(2*4295), 0.02*xferMS(2*4295)))
	})

	It("rejects moves that cannot start and says why", func() {
		sc := world(2, vm("v1", "h1", 1*GiB, 0), vm("big", "h1", 15*GiB, 0), vm("v2", "h2", 2*GiB, 0))
		sc.Events = []scenarios.Event{
			migrate(time.Minute, "v1", "h1"),
			migrate(time.Minute, "big", "h2"),
			migrate(time.Minute, "nope", "h2"),
		}
		rep := run(sc)
		Expect(rep.Summary.Rejected).To(Equal(3))
		Expect(byVM(rep, "v1").Reason).To(ContainSubstring(filter.ReasonSameHost))
		Expect(byVM(rep, "big").Reason).To(ContainSubstring(filter.ReasonInsufficientMem))
		Expect(byVM(rep, "nope").Reason).To(Equal(sim.ReasonUnknownVM))
	})

	It("refuses a mixed-security migration under tls matching", func() {
		sc := world(2, vm("v1", "h1", 256*MiB, 0))
		sc.Hosts[1].Security = cluster.Unsecured
		sc.Events = []scenarios.Event{migrate(time.Minute, "v1", "h2")}
		rep := run(sc)
		m := byVM(rep, "v1")
		Expect(m.Outcome).To(Equal(cluster.OutcomeRejected))
		Expect(m.Reason).To(ContainSubstring(filter.ReasonMixedSecurity))
		Expect(rep.Summary.MixedSecurity).To(BeZero())
	})

	It("flags a mixed-security migration when enforcement is off", func() {
		sc := world(2, vm("v1", "h1", 256*MiB, 0))
		sc.Hosts[1].Security = cluster.Unsecured
		sc.Policy.TLS = "off"
		sc.Events = []scenarios.Event{migrate(time.Minute, "v1", "h2")}
		rep := run(sc)
		m := byVM(rep, "v1")
		Expect(m.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(m.Mixed).To(BeTrue())
		Expect(m.Transport).To(Equal("tcp"))
		Expect(rep.Summary.MixedSecurity).To(Equal(1))
	})
})

var _ = Describe("faults", func() {
	It("loses the VMs of a crashed host and counts them", func() {
		sc := world(2, vm("v1", "h1", 1*GiB, 0), vm("v2", "h1", 1*GiB, 0), vm("v3", "h2", 1*GiB, 0))
		sc.Events = []scenarios.Event{{At: 10 * time.Minute, Kind: scenarios.EventHostCrash, Host: "h1"}}
		rep := run(sc)
		Expect(rep.Summary.VMsLost).To(Equal(2))
		Expect(rep.Summary.HostsCrashed).To(Equal(1))
		Expect(rep.Lost[0].VM).To(Equal("v1"))
		Expect(rep.Lost[0].AtMS).To(Equal(600000.0))
		last := len(rep.SampleTimesMS) - 1
		Expect(rep.Hosts[0].VMs[last]).To(Equal(0))
		Expect(rep.Hosts[1].VMs[last]).To(Equal(1))
	})

	It("leaves the VM running on its source when the destination dies mid-migration", func() {
		sc := world(2, vm("v1", "h1", 4*GiB, 0))
		sc.Events = []scenarios.Event{
			migrate(time.Minute, "v1", "h2"),
			{At: time.Minute + 5*time.Second, Kind: scenarios.EventHostCrash, Host: "h2"},
		}
		rep := run(sc)
		m := byVM(rep, "v1")
		Expect(m.Outcome).To(Equal(cluster.OutcomeFailed))
		Expect(m.Reason).To(Equal(sim.ReasonDestCrashed))
		Expect(rep.Summary.VMsLost).To(Equal(0))
		last := len(rep.SampleTimesMS) - 1
		Expect(rep.Hosts[0].VMs[last]).To(Equal(1))
	})

	It("loses the VM when its source dies mid-migration", func() {
		sc := world(2, vm("v1", "h1", 4*GiB, 0))
		sc.Events = []scenarios.Event{
			migrate(time.Minute, "v1", "h2"),
			{At: time.Minute + 5*time.Second, Kind: scenarios.EventHostCrash, Host: "h1"},
		}
		rep := run(sc)
		Expect(byVM(rep, "v1").Reason).To(Equal(sim.ReasonSourceCrashed))
		Expect(rep.Summary.VMsLost).To(Equal(1))
	})

	It("loses a post-copy guest when the destination dies before its pages arrive", func() {
		v := vm("v1", "h1", 4*GiB, 1e9) // dirties far faster than the link
		sc := world(2, v)
		one := 1
		pc := cluster.LimitPostcopy
		e := migrate(time.Minute, "v1", "h2")
		e.Options.MaxIterations = &one
		e.Options.OnLimit = &pc
		sc.Events = []scenarios.Event{e,
			// round 1 ends after ~34 s; the post-copy tail takes ~8 s more
			{At: time.Minute + 37*time.Second, Kind: scenarios.EventHostCrash, Host: "h2"},
		}
		rep := run(sc)
		Expect(byVM(rep, "v1").Outcome).To(Equal(cluster.OutcomeFailed))
		Expect(rep.Summary.VMsLost).To(Equal(1))
		Expect(rep.Lost[0].Host).To(Equal("h2"))
	})

	It("stalls flows on a downed link and resumes them when it comes back", func() {
		sc := world(2, vm("v1", "h1", 1*GiB, 0))
		sc.Events = []scenarios.Event{
			migrate(time.Minute, "v1", "h2"),
			{At: time.Minute + 4*time.Second, Kind: scenarios.EventLinkDown, Link: "h2"},
			{At: time.Minute + 34*time.Second, Kind: scenarios.EventLinkUp, Link: "h2"},
		}
		rep := run(sc)
		m := byVM(rep, "v1")
		Expect(m.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(m.DurationMS).To(BeNumerically("~", xferMS(8590)+30000, 300))
	})

	It("aborts a stalled migration at the progress timeout, VM stays home", func() {
		sc := world(2, vm("v1", "h1", 1*GiB, 0))
		sc.Migration.ProgressTimeout = 20 * time.Second
		sc.Events = []scenarios.Event{
			migrate(time.Minute, "v1", "h2"),
			{At: time.Minute + 4*time.Second, Kind: scenarios.EventLinkDown, Link: "h1"},
		}
		rep := run(sc)
		m := byVM(rep, "v1")
		Expect(m.Outcome).To(Equal(cluster.OutcomeAborted))
		Expect(m.Reason).To(Equal("progress-timeout"))
		last := len(rep.SampleTimesMS) - 1
		Expect(rep.Hosts[0].VMs[last]).To(Equal(1))
	})

	It("slows migrations on a degraded link", func() {
		sc := world(2, vm("v1", "h1", 1*GiB, 0))
		sc.Events = []scenarios.Event{
			{At: 0, Kind: scenarios.EventLinkDegraded, Link: "h2", Bandwidth: gbit / 4},
			migrate(time.Minute, "v1", "h2"),
		}
		rep := run(sc)
		Expect(byVM(rep, "v1").DurationMS).To(BeNumerically("~", xferMS(4*8590), 500))
	})

	It("fails every host of a zone at the warned time, after saving what it can", func() {
		sc := world(3, vm("v1", "h1", 1*GiB, 0), vm("v2", "h3", 1*GiB, 0))
		sc.Hosts[2].Zone = "b"
		sc.Events = []scenarios.Event{{At: time.Minute, Kind: scenarios.EventDisasterWarning, Zone: "b", FailsAt: 20 * time.Minute}}
		rep := run(sc)
		Expect(rep.Summary.HostsCrashed).To(Equal(1))
		Expect(rep.Lost).To(BeEmpty())
		Expect(rep.Disasters).To(HaveLen(1))
		Expect(rep.Disasters[0].Saved).To(Equal(1))
		Expect(rep.Disasters[0].DeadlineMet).To(BeTrue())
		Expect(byVM(rep, "v2").Cause).To(Equal("disaster"))
	})

	It("says in advance which VMs a short warning cannot save, and loses them", func() {
		sc := world(3, vm("v1", "h1", 1*GiB, 0), vm("v2", "h3", 4*GiB, 0), vm("v3", "h3", 256*MiB, 0))
		sc.Hosts[2].Zone = "b"
		sc.Events = []scenarios.Event{{At: time.Minute, Kind: scenarios.EventDisasterWarning, Zone: "b", FailsAt: time.Minute + 10*time.Second}}
		rep := run(sc)
		Expect(rep.Lost).To(HaveLen(1))
		Expect(rep.Lost[0].VM).To(Equal("v2"))
		Expect(rep.Lost[0].AtMS).To(Equal(70000.0))
		d := rep.Disasters[0]
		Expect(d.Saved).To(Equal(1))
		Expect(d.Lost).To(Equal(1))
		Expect(d.Unsavable).To(Equal(1))
		Expect(d.DeadlineMet).To(BeTrue())
	})
})

var _ = Describe("workloads", func() {
	It("counts time over capacity exactly, through a load spike", func() {
		v := vm("v1", "h1", 1*GiB, 0)
		v.Demand.Constant = 6 // h1 has 8 cores
		sc := world(1, v)
		sc.Events = []scenarios.Event{{At: 10 * time.Minute, Kind: scenarios.EventLoadSpike, VMs: []string{"v1"}, Factor: 2, For: 7 * time.Minute}}
		rep := run(sc)
		Expect(rep.Summary.OverCapacityMS).To(Equal([]reports.HostTime{{Host: "h1", MS: 7 * 60000}}))
		Expect(rep.Hosts[0].CPU[0]).To(Equal(0.75))
		Expect(rep.Hosts[0].CPU[3]).To(Equal(1.5))
	})

	It("follows a trace, repeating it", func() {
		v := vm("v1", "h1", 1*GiB, 0)
		v.Demand = scenarios.Demand{Kind: scenarios.DemandTrace, Trace: []float64{1, 2, 4}, TraceInterval: 5 * time.Minute}
		rep := run(world(1, v))
		Expect(rep.Hosts[0].CPU[:7]).To(Equal([]float64{0.125, 0.25, 0.5, 0.125, 0.25, 0.5, 0.125}))
	})
})

var _ = Describe("determinism", func() {
	walk := func() *scenarios.Scenario {
		var vms []scenarios.VM
		for i := range 40 {
			v := vm(fmt.Sprintf("v%02d", i), fmt.Sprintf("h%d", 1+i%4), 512*MiB, float64(i)*float64(MiB))
			v.Demand = scenarios.Demand{Kind: scenarios.DemandRandomWalk, Walk: scenarios.RandomWalk{Start: 1, Step: 0.5, Min: 0, Max: 2, Interval: time.Minute}}
			vms = append(vms, v)
		}
		sc := world(4, vms...)
		for i := range 20 {
			sc.Events = append(sc.Events, migrate(time.Duration(i)*time.Minute, fmt.Sprintf("v%02d", i), fmt.Sprintf("h%d", 1+(i+1)%4)))
		}
		sc.Events = append(sc.Events, scenarios.Event{At: 30 * time.Minute, Kind: scenarios.EventHostCrash, Host: "h4"})
		return sc
	}
	encode := func(seed uint64) []byte {
		rep, err := sim.Run(walk(), sim.Options{Seed: &seed})
		Expect(err).NotTo(HaveOccurred())
		var b bytes.Buffer
		Expect(rep.WriteJSON(&b)).To(Succeed())
		return b.Bytes()
	}

	It("gives byte-identical reports for the same scenario and seed", func() {
		Expect(encode(3)).To(Equal(encode(3)))
	})

	It("gives different workloads for different seeds", func() {
		Expect(encode(3)).NotTo(Equal(encode(4)))
	})
})
