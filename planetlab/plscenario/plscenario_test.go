package plscenario

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/sim"
)

func day(t *testing.T) *planetlab.Day {
	t.Helper()
	d, err := planetlab.ReadDay("../testdata/20110303.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func roundRobin(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i % planetlab.Hosts
	}
	return p
}

func TestBuild(t *testing.T) {
	d := day(t)
	sc, err := Build(d, roundRobin(len(d.VMs)), 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Hosts) != 800 || len(sc.VMs) != 1052 || len(sc.Network.Links) != 801 {
		t.Fatalf("%d hosts, %d VMs, %d links; want 800, 1052, 801", len(sc.Hosts), len(sc.VMs), len(sc.Network.Links))
	}
	if g4, g5 := sc.Hosts[0], sc.Hosts[799]; g4.CPUs != 186 || g5.CPUs != 266 || g4.Memory != 4<<30 || g4.NICSpeed != 125e6 {
		t.Errorf("G4 %d cores %d B %v B/s, G5 %d cores; want 186, 4 GiB, 125e6, 266", g4.CPUs, g4.Memory, g4.NICSpeed, g5.CPUs)
	}
	// Blocks of 263: vm0000 is 2500 MIPS / 870 MiB, vm0263 2000 / 1740,
	// vm0526 1000 / 1740, vm0789 500 / 613.
	for i, want := range map[int][2]int64{0: {125, 870}, 263: {100, 1740}, 526: {50, 1740}, 789: {25, 613}, 1051: {25, 613}} {
		v := sc.VMs[i]
		if int64(v.VCPUs) != want[0] || v.Memory != want[1]<<20 {
			t.Errorf("%s: %d vCPUs, %d B; want %d, %d MiB", v.Name, v.VCPUs, v.Memory, want[0], want[1])
		}
	}
	// vm0000's first sample is 24% of 125 cores of 20 MIPS = 600 MIPS.
	if v := sc.VMs[0]; v.Demand.Trace[0] != 30 || v.Demand.TraceInterval != 5*time.Minute || v.Host != "h000" {
		t.Errorf("vm0000: demand %v every %v on %s; want 30 cores every 5m on h000", v.Demand.Trace[0], v.Demand.TraceInterval, v.Host)
	}
	if sc.VMs[800].Host != "h000" {
		t.Errorf("vm0800 on %s, want h000", sc.VMs[800].Host)
	}
}

func TestBuildRejectsBadPlacement(t *testing.T) {
	d := day(t)
	if _, err := Build(d, roundRobin(3), 1); err == nil || !strings.Contains(err.Error(), "3 placements for 1052 VMs") {
		t.Errorf("short placement: %v", err)
	}
	p := roundRobin(len(d.VMs))
	p[5] = 800
	if _, err := Build(d, p, 1); err == nil || !strings.Contains(err.Error(), "placed on host 800") {
		t.Errorf("host out of range: %v", err)
	}
	if _, err := Build(&planetlab.Day{Name: "x"}, nil, 1); err == nil {
		t.Error("empty day: want an error")
	}
}

// TestBuildRuns runs the scenario for an hour in the simulator with no
// policy: it must be accepted as it is, and replay byte for byte.
func TestBuildRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	d := day(t)
	sc, err := Build(d, roundRobin(len(d.VMs)), 42)
	if err != nil {
		t.Fatal(err)
	}
	sc.Sim.Duration = time.Hour
	var out [2][]byte
	for i := range out {
		rep, err := sim.Run(sc, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Hosts) != 800 {
			t.Errorf("report has %d hosts, want 800", len(rep.Hosts))
		}
		if out[i], err = json.Marshal(rep); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Error("two runs of the same scenario gave different reports")
	}
}
