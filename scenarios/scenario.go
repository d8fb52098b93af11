// Package scenarios reads scenario files: a data center (zones, racks, hosts,
// network, VMs and their workloads), timed events, and policy and migration
// settings. Loading resolves names, ranges and units, so the simulator gets
// plain values and every mistake is reported as file:line:col.
package scenarios

import (
	"time"

	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
)

// Scenario is a loaded, validated scenario. Sizes are bytes, rates bytes/s,
// times are offsets from the start of the run.
type Scenario struct {
	Name string
	// File is the path the scenario was read from ("" when built in code).
	File string
	// Sim holds simulator-only knobs, kept apart from cluster and policy.
	Sim Sim
	// Zones in file order.
	Zones []Zone
	// Hosts sorted by name.
	Hosts []cluster.Host
	// VMs sorted by name, each with its initial host.
	VMs     []VM
	Groups  []cluster.Group
	Network Network
	// Events sorted by At, ties kept in file order.
	Events    []Event
	Policy    scheduler.Policy
	Migration scheduler.Migration
	// Warnings are what a valid file sets up that the scheduler will refuse
	// later (anti-affinity members sharing a host, a guest no host can
	// take, pools that never exchange guests), as "file:line:col: warning:".
	Warnings []Error
}

// Sim holds knobs that exist only in simulation.
type Sim struct {
	Seed           uint64
	Duration       time.Duration
	SampleInterval time.Duration
	// MigrationModel is how the simulator carries out migrations:
	// MigrationPrecopy ("" too) or MigrationCloudSim. It is read from
	// migration.model, but only the simulator has a choice: real hosts
	// migrate as they do.
	MigrationModel string
}

// Migration models of the simulator (Sim.MigrationModel).
const (
	MigrationPrecopy  = "precopy"
	MigrationCloudSim = "cloudsim"
)

// Zone is a failure zone and its racks, in file order. A rack belongs to one
// zone.
type Zone struct {
	Name  string
	Racks []string
}

// VM is a guest with its CPU demand model.
type VM struct {
	cluster.VM
	Demand Demand
}

// DemandKind selects how a VM's CPU demand evolves.
type DemandKind string

const (
	DemandConstant   DemandKind = "constant"
	DemandTrace      DemandKind = "trace"
	DemandRandomWalk DemandKind = "random-walk"
)

// Demand is a VM's CPU demand in cores over time.
type Demand struct {
	Kind DemandKind
	// Constant demand in cores.
	Constant float64
	// Trace values, one per TraceInterval, repeated when the run outlasts it.
	Trace         []float64
	TraceInterval time.Duration
	// Walk is a seeded random walk: each Interval the demand moves by a uniform
	// step in [-Step, +Step], clamped to [Min, Max].
	Walk RandomWalk
}

// RandomWalk parameters, in cores; see Demand.Walk.
type RandomWalk struct {
	Start, Step, Min, Max float64
	Interval              time.Duration
}

// Topology names.
const (
	TopologyLeafSpine = "leaf-spine"
	TopologyExplicit  = "explicit"
)

// Network describes the migration network.
//
// leaf-spine: each host has a link "<host>" to its rack's top-of-rack switch
// with the host's NIC bandwidth; each rack has a link "<rack>" to the spine whose
// bandwidth is the sum of its hosts' NIC bandwidth divided by Oversubscription.
// explicit: Links name their endpoints (hosts or switches) and routes follow the
// fewest hops, ties broken by lowest latency and then by name.
// Every link is full duplex: each direction has the full bandwidth.
type Network struct {
	Topology         string
	Oversubscription float64
	// HostLatency is the one-way latency of a host-to-ToR link; SpineLatency of
	// a rack-to-spine link (leaf-spine only).
	HostLatency  time.Duration
	SpineLatency time.Duration
	// Links is the full list of links, generated for leaf-spine.
	Links []Link
}

// Link is a full-duplex link between A and B (hosts or switches); Bandwidth
// is bytes/s in each direction and Latency one way.
type Link struct {
	Name      string
	A, B      string
	Bandwidth float64
	Latency   time.Duration
}

// EventKind names a timed event.
type EventKind string

const (
	EventMigrate         EventKind = "migrate"
	EventHostCrash       EventKind = "host-crash"
	EventLinkDown        EventKind = "link-down"
	EventLinkUp          EventKind = "link-up"
	EventLinkDegraded    EventKind = "link-degraded"
	EventMaintenance     EventKind = "maintenance"
	EventDisasterWarning EventKind = "disaster-warning"
	EventLoadSpike       EventKind = "load-spike"
)

// Event is one timed event. Only the fields of its Kind are set.
type Event struct {
	At   time.Duration
	Kind EventKind
	// Pos is where the event was written, for messages about it.
	Pos Pos

	VM   string // migrate
	Host string // migrate (destination), host-crash, maintenance
	Link string // link-down, link-up, link-degraded
	Zone string // disaster-warning
	// Bandwidth is the degraded bandwidth (link-degraded).
	Bandwidth float64
	// FailsAt is when the warned zone fails (disaster-warning); the simulator
	// crashes every host of the zone then.
	FailsAt time.Duration
	// VMs, Factor and For describe a load spike: demand of VMs is multiplied by
	// Factor for For.
	VMs    []string
	Factor float64
	For    time.Duration
	// Options override Migration for this migration (migrate).
	Options MigrationOverrides
}

// Pos is a place in a scenario file (or a trace file it names). Line and
// Column start at 1; 0 means unknown.
type Pos struct {
	File         string
	Line, Column int
}

// MigrationOverrides are per-migration options; nil leaves the default.
type MigrationOverrides struct {
	DowntimeLimit *time.Duration
	MaxIterations *int
	OnLimit       *cluster.OnLimit
	AutoConverge  *bool
	Bandwidth     *float64
}
