package schedtest

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/droverlab/drover/scheduler/cluster"
)

// ClusterSpec describes a random cluster for property tests. Zero fields
// take the defaults documented on each.
type ClusterSpec struct {
	// Hosts is the number of hosts, named h00, h01, ... (default 4).
	Hosts int
	// VMs is the number of VMs, named v000, v001, ... (default 4 per host).
	VMs int
	// HostCPUs and HostMemory size every host alike, so all hosts share one
	// pool (default 16 cores, 64 GiB).
	HostCPUs   int
	HostMemory int64
	// Skew in [0, 1) piles VMs onto the first hosts: each VM tries host 0
	// with probability Skew, else the next, and so on (0: uniform).
	Skew float64
	// Zones, when set, are given to hosts round robin.
	Zones []string
}

// RandomCluster builds a valid cluster from r: every host is up, secured
// and pool-compatible with the others, and no host holds more memory or
// vCPUs than it has (so the cluster is valid under any overcommit >= 1).
// VMs that fit nowhere are dropped, so a snapshot may hold fewer than
// spec.VMs. The same r state gives the same snapshot.
func RandomCluster(r *rand.Rand, spec ClusterSpec) *cluster.Snapshot {
	if spec.Hosts <= 0 {
		spec.Hosts = 4
	}
	if spec.VMs <= 0 {
		spec.VMs = 4 * spec.Hosts
	}
	if spec.HostCPUs <= 0 {
		spec.HostCPUs = 16
	}
	if spec.HostMemory <= 0 {
		spec.HostMemory = 64 * GiB
	}
	hosts := make([]cluster.Host, spec.Hosts)
	for i := range hosts {
		w := MakeHost(fmt.Sprintf("h%02d", i)).CPUs(spec.HostCPUs).Memory(spec.HostMemory)
		if len(spec.Zones) > 0 {
			w.Zone(spec.Zones[i%len(spec.Zones)])
		}
		hosts[i] = w.Obj()
	}
	mem := make([]int64, spec.Hosts)
	vcpus := make([]int, spec.Hosts)
	var vms []cluster.VM
	for i := range spec.VMs {
		size := []int64{1, 2, 4, 8}[r.IntN(4)] * GiB
		n := []int{1, 2, 4}[r.IntN(3)]
		cpu := float64(n) * (0.1 + 0.9*r.Float64())
		first := pickHost(r, spec.Hosts, spec.Skew)
		for k := range spec.Hosts {
			h := (first + k) % spec.Hosts
			if mem[h]+size > spec.HostMemory || vcpus[h]+n > spec.HostCPUs {
				continue
			}
			mem[h] += size
			vcpus[h] += n
			vms = append(vms, MakeVM(fmt.Sprintf("v%03d", i), hosts[h].Name).Memory(size).Resident(size*3/4).
				WSS(size/16).DirtyRate(float64(r.IntN(40))*float64(MiB)).VCPUs(n).CPU(cpu).Obj())
			break
		}
	}
	return Snapshot(hosts, vms)
}

func pickHost(r *rand.Rand, n int, skew float64) int {
	if skew <= 0 {
		return r.IntN(n)
	}
	for h := range n - 1 {
		if r.Float64() < skew {
			return h
		}
	}
	return n - 1
}

// MoveVMs returns a copy of snap with each VM named in to on its new host,
// as if those migrations had finished. snap is not changed.
func MoveVMs(snap *cluster.Snapshot, to map[string]string) *cluster.Snapshot {
	out := *snap
	out.VMs = slices.Clone(snap.VMs)
	for i := range out.VMs {
		if h, ok := to[out.VMs[i].Name]; ok {
			out.VMs[i].Host = h
		}
	}
	return &out
}

// Overloaded lists, sorted, the hosts of snap holding more memory than they
// have or more vCPUs than their cores times overcommit (<= 0 counts as 1),
// each with its figures.
func Overloaded(snap *cluster.Snapshot, overcommit float64) []string {
	if overcommit <= 0 {
		overcommit = 1
	}
	st := cluster.NewState(snap)
	var out []string
	for h := range snap.Hosts {
		host := &snap.Hosts[h]
		if st.Memory[h] > host.Memory || float64(st.VCPUs[h]) > float64(host.CPUs)*overcommit+1e-9 {
			out = append(out, fmt.Sprintf("%s: memory %d/%d, vcpus %d/%g", host.Name, st.Memory[h], host.Memory,
				st.VCPUs[h], float64(host.CPUs)*overcommit))
		}
	}
	return out
}
