package sim_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/sim"
)

// Three hosts on 1 Gbit/s NICs; h1 sends two VMs to h2 and one to h3 at
// the same instant.
const cloudSimYAML = `name: cloudsim
sim: {seed: 1, duration: 10m, sample_interval: 5m}
zones: [{name: a, racks: [r1]}]
host_classes:
  - {name: g4, cpus: 10, memory: 16GiB, nics: {speed: 1Gbit/s}, power: {model: hp-ml110-g4}}
hosts:
  - {names: "h[1-3]", class: g4, rack: r1}
vms:
  - {names: "v[1-3]", vcpus: 2, memory: 1740MiB, resident: 1000MiB, wss: 500MiB, dirty_rate: 100MiB/s, hosts: h1, cpu: 2}
events:
  - {at: 1m, migrate: {vm: v1, to: h2}}
  - {at: 1m, migrate: {vm: v2, to: h2}}
  - {at: 1m, migrate: {vm: v3, to: h3}}
`

var _ = Describe("CloudSim's migration model", func() {
	run := func(text string, completed bool) map[string]float64 {
		rep := runText("cloudsim.yaml", text, sim.Options{})
		out := map[string]float64{}
		for _, m := range rep.Migrations {
			if completed {
				Expect(string(m.Outcome)).To(Equal("completed"), m.VM)
			}
			out[m.VM] = m.DurationMS
		}
		return out
	}

	It("takes memory / (bandwidth / 2) for every migration, whatever the guest and the others do", func() {
		// 1740 MiB at the 62.5 MiB/s cap: 27.84 s, CloudSim's figure.
		d := run(cloudSimYAML+"migration: {model: cloudsim, bandwidth: 62.5MiB/s}\n", true)
		Expect(d).To(HaveLen(3))
		for vm, ms := range d {
			Expect(ms).To(BeNumerically("~", 27840, 1), vm)
		}
		// No cap: half the destination's 1 Gbit/s, 62.5e6 B/s.
		d = run(cloudSimYAML+"migration: {model: cloudsim}\n", true)
		Expect(d["v1"]).To(BeNumerically("~", 1740*(1<<20)/62.5e6*1000, 1))
	})

	It("is not what pre-copy does with the same settings", func() {
		d := run(cloudSimYAML+"migration: {bandwidth: 62.5MiB/s}\n", false)
		// Three streams share h1's NIC, and a guest dirtying 100 MiB/s
		// never converges at 62.5 MiB/s: it runs until a timeout aborts it.
		Expect(d["v1"]).To(BeNumerically(">", 27840))
	})

	It("adds 10% of a migrating VM's demand to the destination while it runs, and keeps it whole on the source", func() {
		// v1 (2 cores) migrates from 4m to 4m27.84s; v3 (8 GiB, 2 cores) from
		// 4m50s for 131 s, over the 5m sample.
		text := strings.Replace(cloudSimYAML, "  - {at: 1m, migrate: {vm: v3, to: h3}}\n", "", 1)
		text = strings.ReplaceAll(text, "at: 1m", "at: 4m")
		text = strings.Replace(text, "events:\n", "  - {names: v4, vcpus: 2, memory: 8GiB, hosts: h3, cpu: 2}\nevents:\n  - {at: 4m50s, migrate: {vm: v4, to: h1}}\n", 1)
		rep := runText("cloudsim.yaml", text+"migration: {model: cloudsim, bandwidth: 62.5MiB/s}\n", sim.Options{})
		Expect(rep.SampleTimesMS[1]).To(Equal(300000.0))
		cpu := func(h int) float64 { return rep.Hosts[h].CPU[1] }
		// At 5m: h1 holds v3 (2) and gets 0.2 of v4's; h2 holds v1 and v2
		// (4); h3 holds v4, all 2 of it (CloudSim's source utilisation
		// divides the 90% it allocates by 0.9 again).
		Expect([]float64{cpu(0), cpu(1), cpu(2)}).To(Equal([]float64{0.22, 0.4, 0.2}))
		Expect(rep.Hosts[0].CPU[2]).To(Equal(0.4), "at 10m, v4 on h1 with its whole demand")
	})

	It("counts the destination as violating and active while a VM migrates in, as CloudSim's SLATAH", func() {
		rep := runText("cloudsim.yaml", cloudSimYAML+"migration: {model: cloudsim, bandwidth: 62.5MiB/s}\n", sim.Options{})
		// h1 is active until its VMs have left (87.84 s), never violating;
		// h2 and h3 are active from 60 s, when their VMs start to arrive,
		// to 600 s, and violating for the 27.84 s the VMs migrate in
		// (CloudSim's destination counts the whole request against the
		// 10% it allocates): SLATAH = 2 · 27.84 / (87.84 + 2 · 540).
		Expect(rep.Summary.Consolidation.SLATAH).To(BeNumerically("~", 2*27.84/(87.84+2*540), 1e-9))
		// PDM: each of the three VMs (2 cores) loses 10% for 27.84 s, of
		// 3 · 2 cores · 600 s requested.
		Expect(rep.Summary.Consolidation.PDM).To(BeNumerically("~", 3*0.1*2*27.84/3600, 1e-12))
	})

	It("runs CloudSim's second migration of a VM placed twice in one round beside its move", func() {
		// scheduler/policy/poweraware TestSharedKeepsADoubleMoveAsVia works
		// this round by hand: c is placed h1 → h2, then moved on to h3 as
		// h2 is emptied; x leaves h2 for h4. CloudSim starts both of c's
		// migrations at once; the plan moves c once and names h2 in Via.
		text := `name: double
sim: {seed: 1, duration: 9m, sample_interval: 5m}
zones: [{name: a, racks: [r1]}]
host_classes:
  - {name: g4, cpus: 10, memory: 64GiB, nics: {speed: 1Gbit/s}, power: {model: hp-ml110-g4, switch_off: true}}
hosts:
  - {names: "h[1-4]", class: g4, rack: r1}
vms:
  - {names: a, vcpus: 6, memory: 4GiB, hosts: h1, cpu: 6}
  - {names: c, vcpus: 3, memory: 1GiB, hosts: h1, cpu: 3}
  - {names: x, vcpus: 2, memory: 2GiB, hosts: h2, cpu: 2}
  - {names: y, vcpus: 5, memory: 2GiB, hosts: h3, cpu: 5}
  - {names: w, vcpus: 5, memory: 2GiB, hosts: h4, cpu: 5}
policy: {name: thr-mmt-0.8, interval: 5m, cpu_overcommit: 4}
`
		run := func(model string) *reports.Report {
			return runText("double.yaml", text+"migration: {model: "+model+", bandwidth: 62.5MiB/s}\n", sim.Options{})
		}
		rep := run("cloudsim")
		var moves []string
		for _, m := range rep.Migrations {
			moves = append(moves, fmt.Sprintf("%d %s:%s->%s %s %.3f", m.ID, m.VM, m.Source, m.Destination, m.Outcome, m.DurationMS))
		}
		// 1 GiB and 2 GiB at 62.5 MiB/s: 16.384 s and 32.768 s.
		Expect(moves).To(Equal([]string{
			"0 c:h1->h2 completed 16384.000",
			"1 c:h1->h3 completed 16384.000",
			"2 x:h2->h4 completed 32768.000",
		}))
		Expect(rep.Summary.Migrations).To(Equal(3))
		Expect(rep.Plans).To(HaveLen(1))
		Expect(rep.Plans[0].Moves).To(Equal(2))
		// Violating while a VM migrates in: h2 (c's second migration)
		// and h3 16.384 s each, h4 32.768 s; active: h1, h3, h4 for the
		// 540 s, h2 until x has left.
		c := rep.Summary.Consolidation
		Expect(c.SLATAH).To(BeNumerically("~", (2*16.384+32.768)/(3*540+332.768), 1e-9))
		Expect(c.Shutdowns).To(Equal(1), "h2")
		// Under pre-copy the same plan moves c once.
		Expect(run("precopy").Summary.Migrations).To(Equal(2))
	})

	It("charges PDM what an over-capacity source denies a migrating VM beyond its 10%", func() {
		// h1 holds 12 cores on 10 while v1 (6) migrates out for 27.84 s:
		// CloudSim scales every share by 10/12, and v1 gets 90% of its
		// scaled share, so it is denied 0.6 + 0.9 · 6 · (1 − 10/12) = 1.5
		// cores, of the 12 · 600 core-seconds the VMs ask for.
		text := `name: over
sim: {seed: 1, duration: 10m, sample_interval: 5m}
zones: [{name: a, racks: [r1]}]
host_classes:
  - {name: g4, cpus: 10, memory: 16GiB, nics: {speed: 1Gbit/s}, power: {model: hp-ml110-g4}}
hosts:
  - {names: "h[1-2]", class: g4, rack: r1}
vms:
  - {names: "v[1-2]", vcpus: 6, memory: 1740MiB, hosts: h1, cpu: 6}
events:
  - {at: 1m, migrate: {vm: v1, to: h2}}
migration: {model: cloudsim, bandwidth: 62.5MiB/s}
`
		rep := runText("over.yaml", text, sim.Options{})
		Expect(rep.Summary.Consolidation.PDM).To(BeNumerically("~", 1.5*27.84/(12*600), 1e-9))
	})

	It("refuses an unknown model at its place", func() {
		_, err := scenarios.Parse("cloudsim.yaml", []byte(cloudSimYAML+"migration: {model: fixed}\n"))
		Expect(err).To(MatchError(ContainSubstring(`cloudsim.yaml:14:20: migration.model: unknown value "fixed"`)))
	})
})

// v1's trace is 0 at 10m but not at 15m, then 0 at 20m and 25m: CloudSim's
// update 0.1 s after 20m reads 0 MIPS, so v1 ends at 20m, not at 10m. h1
// is over capacity from 15m to 20m (12 cores on 10).
const finishYAML = `name: finish
sim: {seed: 1, duration: 30m, sample_interval: 5m}
zones: [{name: a, racks: [r1]}]
host_classes:
  - {name: g4, cpus: 10, memory: 16GiB, nics: {speed: 1Gbit/s}, power: {model: hp-ml110-g4, switch_off: true}}
hosts:
  - {names: "h[1-2]", class: g4, rack: r1}
vms:
  - {names: v1, vcpus: 20, memory: 1GiB, hosts: h1, cpu: {trace: v1.csv, interval: 5m}}
  - {names: v2, vcpus: 2, memory: 1GiB, hosts: h2, cpu: 1}
`

var _ = Describe("CloudSim's finished VMs", func() {
	run := func(model string) *reports.Report {
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "v1.csv"), []byte("2\n1\n0\n12\n0\n0\n"), 0o644)).To(Succeed())
		file := filepath.Join(dir, "finish.yaml")
		Expect(os.WriteFile(file, []byte(finishYAML+"migration: {model: "+model+"}\n"), 0o644)).To(Succeed())
		sc, err := scenarios.Load(file)
		Expect(err).NotTo(HaveOccurred())
		rep, err := sim.Run(sc, sim.Options{})
		Expect(err).NotTo(HaveOccurred())
		return rep
	}

	It("ends a VM whose trace is 0% at a sample and the next, and stops charging it", func() {
		rep := run("cloudsim")
		Expect(rep.Summary.VMsFinished).To(Equal(1))
		var ends []reports.EventRecord
		for _, e := range rep.Events {
			if e.Kind == "vm-finished" {
				ends = append(ends, e)
			}
		}
		Expect(ends).To(HaveLen(1))
		Expect(ends[0].Target).To(Equal("v1"))
		Expect(ends[0].AtMS).To(Equal(1_200_000.0), "at 20m; at 10m the next sample is 12")
		Expect(rep.Hosts[0].VMs[3]).To(Equal(1), "15m")
		Expect(rep.Hosts[0].VMs[5]).To(Equal(0), "25m")
		c := rep.Summary.Consolidation
		// Nothing is charged before CloudSim's first update at 5m. Each
		// sample is read as CloudSim's update 0.1 s later reads it,
		// 1/3000 of the way to the next: h1 then holds 1 − 1/3000,
		// 12/3000 (not 0: the host stays on) and 12 − 12/3000 cores on
		// 10 for 300 s each, 86 + 3.4 W a core below 1 core and 117 W
		// over capacity, then is off; h2 holds 1 core, 89.4 W, for 1500 s.
		p := func(cores float64) float64 { return 86 + 3.4*cores }
		Expect(c.EnergyKWh).To(Equal(reports.Round4((300*(p(1-1.0/3000)+p(12.0/3000)+117) + 1500*89.4) / 3.6e6)))
		Expect(c.Shutdowns).To(Equal(1))
		// 300 s over capacity of h1's 900 s and h2's 1500 s active.
		Expect(c.SLATAH).To(BeNumerically("~", 300.0/2400, 1e-12))
	})

	It("keeps every VM to the end under pre-copy", func() {
		rep := run("precopy")
		Expect(rep.Summary.VMsFinished).To(BeZero())
		Expect(rep.Hosts[0].VMs[5]).To(Equal(1))
		c := rep.Summary.Consolidation
		Expect(c.EnergyKWh).To(Equal(reports.Round4((300*(92.6+89.4+86+117+86+86) + 1800*89.4) / 3.6e6)))
		Expect(c.SLATAH).To(BeNumerically("~", 300.0/3600, 1e-12))
	})

	It("gives the same report twice", func() {
		a, err := json.Marshal(run("cloudsim"))
		Expect(err).NotTo(HaveOccurred())
		b, err := json.Marshal(run("cloudsim"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(a)).To(Equal(string(b)))
	})
})
