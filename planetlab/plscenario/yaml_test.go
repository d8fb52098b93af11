package plscenario

import (
	"os"
	"path/filepath"
	"testing"

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
	doc, traces, err := YAML(day, place, planetlab.Hosts, "traces", 1)
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
