// Package schedtest has builders for tests of the scheduler: each starts
// from a complete, valid object and tests change only what they are about.
package schedtest

import (
	"slices"
	"strings"

	"github.com/droverlab/drover/scheduler/cluster"
)

const (
	MiB = int64(1) << 20
	GiB = int64(1) << 30
	// Gbit is one gigabit per second in bytes per second.
	Gbit = 1e9 / 8
)

// HostWrapper builds a cluster.Host.
type HostWrapper struct{ h cluster.Host }

// MakeHost starts from a secured 32-core, 256 GiB host with 2x10 Gbit/s.
func MakeHost(name string) *HostWrapper {
	return &HostWrapper{cluster.Host{
		Name: name, Zone: "a", Rack: "r1", CPUs: 32, Memory: 256 * GiB, CPUModel: "Skylake-Server",
		NICs: 2, NICSpeed: 10 * Gbit, Security: cluster.Secured, State: cluster.HostUp,
	}}
}

func (w *HostWrapper) CPUs(n int) *HostWrapper        { w.h.CPUs = n; return w }
func (w *HostWrapper) Memory(b int64) *HostWrapper    { w.h.Memory = b; return w }
func (w *HostWrapper) Zone(z string) *HostWrapper     { w.h.Zone = z; return w }
func (w *HostWrapper) Rack(r string) *HostWrapper     { w.h.Rack = r; return w }
func (w *HostWrapper) CPUModel(m string) *HostWrapper { w.h.CPUModel = m; return w }
func (w *HostWrapper) NICs(n int, speed float64) *HostWrapper {
	w.h.NICs, w.h.NICSpeed = n, speed
	return w
}
func (w *HostWrapper) Security(s cluster.Security) *HostWrapper {
	w.h.Security = s
	return w
}
func (w *HostWrapper) State(s cluster.HostState) *HostWrapper { w.h.State = s; return w }
func (w *HostWrapper) Obj() cluster.Host                      { return w.h }

// VMWrapper builds a cluster.VM.
type VMWrapper struct{ v cluster.VM }

// MakeVM starts from a 2-vCPU, 4 GiB guest using one core, 3 GiB resident,
// 512 MiB working set, dirtying 20 MiB/s.
func MakeVM(name, host string) *VMWrapper {
	return &VMWrapper{cluster.VM{
		Name: name, Host: host, VCPUs: 2, Memory: 4 * GiB, Resident: 3 * GiB, WSS: 512 * MiB,
		DirtyRate: 20 * float64(MiB), CPU: 1, MACs: []string{cluster.MAC(len(name))},
	}}
}

func (w *VMWrapper) VCPUs(n int) *VMWrapper { w.v.VCPUs = n; return w }
func (w *VMWrapper) Memory(b int64) *VMWrapper {
	w.v.Memory = b
	w.v.Resident = min(w.v.Resident, b)
	w.v.WSS = min(w.v.WSS, w.v.Resident)
	return w
}
func (w *VMWrapper) Resident(b int64) *VMWrapper    { w.v.Resident = b; return w }
func (w *VMWrapper) WSS(b int64) *VMWrapper         { w.v.WSS = b; return w }
func (w *VMWrapper) DirtyRate(r float64) *VMWrapper { w.v.DirtyRate = r; return w }
func (w *VMWrapper) CPU(c float64) *VMWrapper       { w.v.CPU = c; return w }
func (w *VMWrapper) Group(g string) *VMWrapper      { w.v.Group = g; return w }
func (w *VMWrapper) Priority(p int) *VMWrapper      { w.v.Priority = p; return w }
func (w *VMWrapper) Obj() cluster.VM                { return w.v }

// Snapshot assembles a snapshot at time zero, sorting hosts and VMs by name
// as cluster.Snapshot requires.
func Snapshot(hosts []cluster.Host, vms []cluster.VM, groups ...cluster.Group) *cluster.Snapshot {
	s := &cluster.Snapshot{Hosts: slices.Clone(hosts), VMs: slices.Clone(vms), Groups: groups}
	slices.SortFunc(s.Hosts, func(a, b cluster.Host) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(s.VMs, func(a, b cluster.VM) int { return strings.Compare(a.Name, b.Name) })
	return s
}
