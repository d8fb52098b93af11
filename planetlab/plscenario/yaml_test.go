package plscenario

import (
	"os"
	"path/filepath"
	"testing"

	"math"
	"strings"
	"time"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/scenarios"
)

// The written scenario loads, with every host and VM, the VM sizes of the
// block rule and the traces in cores.
func TestYAMLLoads(t *testing.T) {
	day, err := planetlab.ReadDay("../testdata/20110303.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	place := make([]int, len(day.VMs))
	for i := range place {
		place[i] = 1 + 2*(i%400) // G5s take every size
	}
	sc := load(t, day, place, Options{})
	if len(sc.Hosts) != planetlab.Hosts || len(sc.VMs) != len(day.VMs) {
		t.Fatalf("%d hosts, %d VMs; want %d, %d", len(sc.Hosts), len(sc.VMs), planetlab.Hosts, len(day.VMs))
	}
	if sc.Hosts[0].CPUs != 186 || sc.Hosts[1].CPUs != 266 {
		t.Errorf("host CPUs %d, %d; want 186, 266", sc.Hosts[0].CPUs, sc.Hosts[1].CPUs)
	}
	first, last := sc.VMs[0], sc.VMs[len(sc.VMs)-1]
	if first.VCPUs != 125 || last.VCPUs != 25 || first.Host != "h001" {
		t.Errorf("first VM %d vCPUs on %s, last %d; want 125 on h001, 25", first.VCPUs, first.Host, last.VCPUs)
	}
	want := float64(day.VMs[0].Percent[0]) * 125 / 100
	if len(first.Demand.Trace) == 0 || first.Demand.Trace[0] != want {
		t.Errorf("first VM's trace starts %v, want %v", first.Demand.Trace[:1], want)
	}
}

// load writes day's scenario with opts and its traces to a temporary folder
// and loads it as drover sim would.
func load(t *testing.T, day *planetlab.Day, place []int, opts Options) *scenarios.Scenario {
	t.Helper()
	doc, traces, err := YAML(day, place, planetlab.Hosts, "traces", 1, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range traces {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// With Options.CloudSim the scenario is CloudSim's experiment: its
// migration model, 86100 s, and no host that memory or vCPUs could close
// to a VM of the day, while the default keeps Drover's rules.
func TestYAMLCloudSim(t *testing.T) {
	day, err := planetlab.ReadDay("../testdata/20110303.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	place := make([]int, len(day.VMs))
	for i := range place {
		place[i] = 1 + 2*(i%400)
	}
	cs := load(t, day, place, Options{CloudSim: true})
	if cs.Sim.MigrationModel != scenarios.MigrationCloudSim {
		t.Errorf("migration model %q, want %q", cs.Sim.MigrationModel, scenarios.MigrationCloudSim)
	}
	if cs.Sim.Duration != time.Duration(math.Floor(planetlab.AccountedSeconds))*time.Second {
		t.Errorf("duration %v, want CloudSim's accounted %v s", cs.Sim.Duration, planetlab.AccountedSeconds)
	}
	var mem int64
	var vcpus int
	for _, v := range cs.VMs {
		mem += v.Memory
		vcpus += v.VCPUs
	}
	for _, h := range cs.Hosts {
		if h.Memory < mem || float64(h.CPUs)*cs.Policy.CPUOvercommit < float64(vcpus) {
			t.Fatalf("host %s: %d bytes, %d cores × %g; the day's VMs need %d bytes, %d vCPUs on one host",
				h.Name, h.Memory, h.CPUs, cs.Policy.CPUOvercommit, mem, vcpus)
		}
		if h.Power == nil || !h.SwitchOff {
			t.Fatalf("host %s: no power model or no switch-off", h.Name)
		}
	}
	def := load(t, day, place, Options{})
	if def.Sim.MigrationModel == scenarios.MigrationCloudSim || def.Sim.Duration != planetlab.Duration || def.Hosts[0].Memory != 4096<<20 {
		t.Errorf("default: model %q, %v, host memory %d; want pre-copy, %v, 4 GiB", def.Sim.MigrationModel, def.Sim.Duration, def.Hosts[0].Memory, planetlab.Duration)
	}
	doc, _, err := YAML(day, place, planetlab.Hosts, "traces", 1, Options{CloudSim: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "--cloudsim") {
		t.Error("the header does not say the file was written with --cloudsim")
	}
}
