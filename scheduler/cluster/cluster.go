// Package cluster is the domain model shared by the simulator, the scheduler and
// the real backends: hosts, VMs, links and the rules that decide whether two
// hosts may exchange VMs. It holds data only; it never does I/O.
package cluster

import (
	"fmt"
	"slices"
	"time"
)

// Security is a host's security state as TLS enforcement sees it.
type Security string

const (
	// Secured hosts accept qemu+tls:// and QEMU native TLS with the cluster CA.
	Secured Security = "tls"
	// Unsecured hosts offer plain qemu+tcp:// only.
	Unsecured Security = "tcp"
	// Invalid hosts present a certificate that fails verification (expired,
	// foreign CA, wrong SAN); no migration may touch them.
	Invalid Security = "invalid"
)

// Transport is how a migration stream travels.
type Transport string

const (
	TransportTLS Transport = "tls"
	TransportTCP Transport = "tcp"
)

// Host is one hypervisor. Sizes are bytes, rates bytes per second.
type Host struct {
	Name     string
	Class    string
	Zone     string
	Rack     string
	CPUs     int
	Memory   int64
	CPUModel string
	// NICs is the number of ports used for migration traffic; NICSpeed is the
	// speed of one port in bytes/s. Both take part in pool compatibility.
	NICs     int
	NICSpeed float64
	Security Security
	// State is up ("" counts as up), maintenance or down.
	State HostState
	// Power is the host's draw in watts by CPU utilisation in [0, 1] (a
	// SPECpower table, reports/consolidation.PowerModel, in practice);
	// nil when unknown, and then no energy is counted and power-aware
	// policies treat every host alike. It is an interface so that the
	// domain model carries the curve without defining it.
	Power PowerCurve
	// SwitchOff says the host is switched off, drawing nothing, while it
	// holds no VM (CloudSim's rule); otherwise an empty host draws its
	// idle power.
	SwitchOff bool
}

// PowerCurve is a host's power draw: watts at CPU utilisation u in [0, 1],
// an error outside it.
type PowerCurve interface {
	Power(u float64) (float64, error)
}

// HostState is whether a host may take part in migrations.
type HostState string

const (
	HostUp          HostState = "up"
	HostMaintenance HostState = "maintenance"
	HostDown        HostState = "down"
)

// Usable reports whether the host may receive VMs.
func (h *Host) Usable() bool { return h.State == "" || h.State == HostUp }

// NICBandwidth is the aggregate migration bandwidth of the host in bytes/s.
func (h *Host) NICBandwidth() float64 { return float64(h.NICs) * h.NICSpeed }

// VM is one guest. Sizes are bytes, rates bytes per second.
type VM struct {
	Name   string
	Host   string
	VCPUs  int
	Memory int64
	// Resident is memory that holds non-zero pages; the rest migrates as
	// zero-page markers.
	Resident int64
	// WSS is the writable working set: the most a guest can dirty between two
	// pre-copy rounds.
	WSS       int64
	DirtyRate float64
	// Measured says how WSS and DirtyRate were obtained on a live host and
	// how sure they are; nil when they were declared (a scenario file) and
	// are taken as exact.
	Measured *Measured
	// CPU is the current demand in cores (may exceed VCPUs only by error).
	CPU      float64
	MACs     []string
	Group    string
	Priority int
	// TCG says QEMU emulates the guest (libvirt's domain type qemu) rather
	// than running it with hardware virtualization: the migration model
	// predicts it with its profile's TCG half.
	TCG bool
	// Pinned says why the VM cannot be live-migrated at all (a local disk
	// without shared storage or block migration); empty when it can.
	Pinned string
	// Migrating is set while a migration of the VM is under way.
	Migrating bool
}

// Measured is a live estimate of a VM's working set and dirty rate, with
// the bounds its samples allow (an 80% interval): plans predict at the
// figures and widen their interval by the bounds.
type Measured struct {
	// Method names how: for example "page-sampling 1s×3 4s×2" or
	// "rss-bound" when the samples could not bound the working set.
	Method                      string
	WSSLow, WSSHigh             int64
	DirtyRateLow, DirtyRateHigh float64
}

// GroupKind tells whether members of a group must share or avoid hosts.
type GroupKind string

const (
	Affinity     GroupKind = "affinity"
	AntiAffinity GroupKind = "anti-affinity"
)

// Group is an affinity or anti-affinity group of VMs.
type Group struct {
	Name    string
	Kind    GroupKind
	Members []string
}

// Compatible reports whether two hosts may belong to one migration pool: same
// CPU model, memory size and NIC ports, as XCP demands of a pool. The reason is
// a constant string suitable for --explain.
func Compatible(a, b *Host) (bool, string) {
	switch {
	case a.CPUModel != b.CPUModel:
		return false, ReasonCPUModel
	case a.Memory != b.Memory:
		return false, ReasonMemorySize
	case a.NICs != b.NICs || a.NICSpeed != b.NICSpeed:
		return false, ReasonNICPorts
	}
	return true, ""
}

// Reasons a host pair is refused; kept constant so tests and --explain match.
const (
	ReasonCPUModel   = "cpu model differs"
	ReasonMemorySize = "memory size differs"
	ReasonNICPorts   = "nic ports differ"
)

// Snapshot is an immutable view of a cluster at one instant. Hosts and VMs are
// sorted by name; callers must not modify them.
type Snapshot struct {
	At    time.Duration
	Hosts []Host
	VMs   []VM
	// Groups are affinity rules in force.
	Groups []Group
	// Links is the migration network, when known. Without it, planners
	// assume each host's NICs meet in one non-blocking switch.
	Links []Link
	// VMHosts, when as long as VMs, is a hint from whoever built the
	// snapshot: the index in Hosts of each VM's host, -1 for none. It
	// spares NewState a lookup by name per VM, most of building a State
	// at 200,000 VMs, 288 times a simulated day. NewState checks each
	// index against the VM's Host, so a copy whose VMs or Hosts changed
	// without it stays right, only slower.
	VMHosts []int32
}

// Link is a full-duplex network link between two nodes (hosts or switches).
type Link struct {
	Name      string
	A, B      string
	Bandwidth float64
	Latency   time.Duration
}

// Host returns the host called name, or nil.
func (s *Snapshot) Host(name string) *Host {
	i, ok := slices.BinarySearchFunc(s.Hosts, name, func(h Host, n string) int { return cmpString(h.Name, n) })
	if !ok {
		return nil
	}
	return &s.Hosts[i]
}

// VM returns the VM called name, or nil.
func (s *Snapshot) VM(name string) *VM {
	i, ok := slices.BinarySearchFunc(s.VMs, name, func(v VM, n string) int { return cmpString(v.Name, n) })
	if !ok {
		return nil
	}
	return &s.VMs[i]
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MAC returns a locally administered MAC address derived from n, for VMs that
// do not name one. QEMU's 52:54:00 prefix keeps them recognisable.
func MAC(n int) string {
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", (n>>16)&0xff, (n>>8)&0xff, n&0xff)
}

// StreamCap is the most one migration between src and dst can get, in
// bytes/s, before any configured cap: QEMU sends pre-copy over one TCP
// connection, and a bond hashes one connection onto one port, so a single
// migration rides one NIC port however many the host has.
func StreamCap(src, dst *Host, configured float64) float64 {
	c := min(src.NICSpeed, dst.NICSpeed)
	if configured > 0 && (c <= 0 || configured < c) {
		c = configured
	}
	return c
}
