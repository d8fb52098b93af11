package planetlab

import (
	"math"
	"testing"
)

// dvfs replays CloudSim's "dvfs" run (PowerVmAllocationPolicySimple, no
// migrations; examples/power/RunnerAbstract.java) of a day from the rules of
// this package, as a check that they compose into CloudSim's figures:
//   - placement: first fit over hosts in order at each VM's full MIPS, RAM and
//     bandwidth (cloudsim/power/PowerVmAllocationPolicyAbstract.java
//     findHostForVm; cloudsim/Host.java isSuitableForVm: a PE must hold the
//     VM's MIPS, and cloudsim/Vm.java requests full MIPS while instantiating);
//   - updates at 300.1 s, 600.1 s, …, 86100.1 s (see AccountedSeconds;
//     cloudsim/power/PowerVm.java updateVmProcessing tests
//     (currentTime - 0.1) % schedulingInterval == 0), each
//     VM requesting Utilization(t) × its MIPS, a host capped at its capacity;
//   - a VM requesting 0 at an update is removed for good;
//   - energy per host and frame from FrameEnergy; the frame before the first
//     update costs nothing, every host's previous utilisation being 0.
func dvfs(t *testing.T, day *Day) (kwh float64, shutdowns int) {
	t.Helper()
	n := len(day.VMs)
	type host struct {
		free, ram, bw float64
		vms           []int
	}
	hosts := make([]host, Hosts)
	for i := range hosts {
		ht := HostTypeOf(i)
		hosts[i] = host{free: ht.MIPS(), ram: float64(ht.RAM), bw: ht.Bandwidth}
	}
	vmType := make([]VMType, n)
	for v := range n {
		ti, err := VMTypeIndex(v, n)
		if err != nil {
			t.Fatal(err)
		}
		vt := VMTypes[ti]
		vmType[v] = vt
		placed := false
		for i := range hosts {
			h := &hosts[i]
			if HostTypeOf(i).MIPSPerPE >= vt.MIPS && h.free >= vt.MIPS && h.ram >= float64(vt.RAM) && h.bw >= vt.Bandwidth {
				h.free -= vt.MIPS
				h.ram -= float64(vt.RAM)
				h.bw -= vt.Bandwidth
				h.vms = append(h.vms, v)
				placed = true
				break
			}
		}
		if !placed {
			t.Fatalf("VM %d fits no host", v)
		}
	}
	empty := 0
	for i := range hosts {
		if len(hosts[i].vms) == 0 {
			empty++
		}
	}
	t.Logf("%d hosts get no VM", empty) // 386 on 20110303
	alive := make([]bool, n)
	for v := range alive {
		alive[v] = true
	}
	prevU := make([]float64, Hosts) // 0: nothing charged before the first update
	active := make([]bool, Hosts)
	for i := range active {
		active[i] = true // getTimesBeforeHostShutdown starts every host active
	}
	var joules float64
	prevT := 0.0
	for k := 1; k <= 287; k++ {
		now := 300*float64(k) + 0.1
		u := make([]float64, Hosts)
		var finished []int
		for i := range hosts {
			var used float64
			for _, v := range hosts[i].vms {
				if !alive[v] {
					continue
				}
				req := day.VMs[v].Utilization(now) * vmType[v].MIPS
				used += req
				if req == 0 {
					finished = append(finished, v)
				}
			}
			u[i] = Utilization(math.Min(used, HostTypeOf(i).MIPS()), HostTypeOf(i).MIPS())
			e, err := HostTypeOf(i).Power.FrameEnergy(prevU[i], u[i], now-prevT)
			if err != nil {
				t.Fatal(err)
			}
			joules += e
			if a := u[i] > 0; active[i] && !a {
				shutdowns++
				active[i] = a
			} else {
				active[i] = a
			}
		}
		for _, v := range finished {
			alive[v] = false
		}
		prevU, prevT = u, now
	}
	return joules / JoulesPerKWh, shutdowns
}

// TestDVFSNearReference compares the replay with CloudSim's dvfs row of the
// shipped day (cloudsim-reference.csv, 20110303: 764.95824 kWh, 473 host
// shutdowns). It does NOT match yet: the replay gives 802.75449 kWh and 455
// shutdowns. Over the five days it is always 1–5% above CloudSim's energy
// and 0–20 shutdowns below (20110306: 625.53 vs 618.28 kWh, 544 = 544),
// which says CloudSim ends some VMs earlier than "0 MIPS requested at an
// update" predicts under byte-ordered files; the file order CloudSim saw
// (File.listFiles, see ReadDay) and the exact update times are the suspects.
// Until that is found the test only guards against gross errors (a wrong
// table, charging switched-off hosts, a wrong placement rule), with a 6%
// band; tighten it when the gap is closed.
func TestDVFSNearReference(t *testing.T) {
	day, err := ReadDay(testDay)
	if err != nil {
		t.Fatal(err)
	}
	kwh, shutdowns := dvfs(t, day)
	t.Logf("dvfs 20110303: %.5f kWh, %d shutdowns (CloudSim: 764.95824, 473)", kwh, shutdowns)
	if math.Abs(kwh/764.95824-1) > 0.06 || math.Abs(float64(shutdowns)/473-1) > 0.06 {
		t.Errorf("dvfs 20110303: %.5f kWh, %d shutdowns; CloudSim printed 764.95824, 473", kwh, shutdowns)
	}
}
