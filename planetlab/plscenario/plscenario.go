// Package plscenario builds a Drover scenario, in memory, from one PlanetLab
// day and the CloudSim set-up of package planetlab. It is apart from
// planetlab so that the reference rules there import nothing from drover.
//
// The scenario format has no MIPS, so the build is an approximation (YAML
// with Options.CloudSim comes nearest); each departure from CloudSim is
// written at the field that makes it, and the list is in doc comments of
// Build.
package plscenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/droverlab/drover/planetlab"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

// MIPSPerCore is the unit the scenario counts CPU in. Drover's hosts have a
// whole number of cores and no core speed, so one "core" stands for 20
// MIPS: the greatest common divisor of the host capacities (3720, 5320) and
// VM sizes (2500, 2000, 1000, 500), which makes every capacity exact: a G4
// host has 186 cores, a G5 266, and the VMs 125, 100, 50 and 25 vCPUs.
const MIPSPerCore = 20

// Names of the hosts, zone and rack.
const (
	Zone = "a"
	Rack = "r1"
	// CPUModel is the same for both host types: CloudSim migrates between
	// G4 and G5 freely, and cluster.Compatible keeps hosts of different CPU
	// models in different pools. The host's Class names its real model.
	CPUModel = "planetlab"
)

const mib = int64(1) << 20

// HostName is the name of host i; VMName of VM i of the day. Both sort in
// index order, as scenarios.Scenario keeps hosts and VMs sorted by name.
func HostName(i int) string { return fmt.Sprintf("h%03d", i) }
func VMName(i int) string   { return fmt.Sprintf("vm%04d", i) }

// Build returns the scenario of day: planetlab.Hosts hosts, one VM per trace
// (VM i is day.VMs[i], its size from planetlab.VMTypeIndex), VM i starting
// on host place[i]. The initial placement is the caller's, because in
// CloudSim it is the allocation policy's (PowerVmAllocationPolicyMigrationAbstract
// findHostForVm), which depends on the policy under test.
//
// Departures from CloudSim that the scenario format imposes:
//   - CPU demand is piecewise constant: the sim holds trace value k for the
//     whole k-th interval, where CloudSim interpolates linearly between
//     samples (planetlab.VM.Utilization). Both agree at the 5-minute updates.
//   - A VM whose trace reaches 0% is not removed: no scenario event ends a
//     VM, and the simulator ends one (as CloudSim does) only under
//     migration.model cloudsim (sim/cloudsim.go), which YAML's
//     Options.CloudSim writes.
//   - Migration time is the pre-copy model's, not RAM / (bandwidth / 2):
//     the dirty rate is 0, the working set 0 and each migration is capped at
//     half the 1 Gbit/s NIC (Migration.Bandwidth), but the default profile
//     adds set-up and switch-over time, and concurrent migrations share the
//     host links where CloudSim's do not slow each other.
//   - Drover's capacity filter reserves vCPUs (sum of VCPUs ≤ CPUs ×
//     overcommit), where CloudSim admits a VM when its current requested
//     MIPS fit (VmSchedulerTimeSharedOverSubscription): at overcommit 1 a
//     G4 host takes one 2500-MIPS VM. A policy reproducing CloudSim needs a
//     demand-based filter or a large overcommit.
//   - Hosts have their SPECpower tables and switch off when empty, so a
//     run reports energy, SLATAH, PDM and SLAV (reports/consolidation's
//     formulas), but nothing slows a migrating VM by CloudSim's 10% (PDM
//     charges it all the same) and a host's power follows its demand,
//     capped at capacity, held constant between trace samples.
func Build(day *planetlab.Day, place []int, seed uint64) (*scenarios.Scenario, error) {
	if len(day.VMs) == 0 {
		return nil, fmt.Errorf("plscenario: day %q has no VMs", day.Name)
	}
	if len(place) != len(day.VMs) {
		return nil, fmt.Errorf("plscenario: %d placements for %d VMs", len(place), len(day.VMs))
	}
	sc := &scenarios.Scenario{
		Name: NamePrefix + day.Name,
		Sim: scenarios.Sim{
			Seed:           seed,
			Duration:       planetlab.Duration,
			SampleInterval: planetlab.Interval,
		},
		Zones: []scenarios.Zone{{Name: Zone, Racks: []string{Rack}}},
		Network: scenarios.Network{
			Topology:         scenarios.TopologyLeafSpine,
			Oversubscription: 1,
			HostLatency:      50 * time.Microsecond,
			SpineLatency:     100 * time.Microsecond,
		},
		// The loader's defaults (scenarios/resolve.go resolveMigration),
		// with CloudSim's half-NIC migration bandwidth: 1,000,000 kbit/s /
		// (2 · 8000) = 62.5 "MB"/s, CloudSim's MB being the unit of VM RAM,
		// so 62.5 MiB/s here (planetlab.MigrationTime).
		Migration: scheduler.Migration{
			Profile:                 precopy.DefaultProfile(),
			DowntimeLimit:           300 * time.Millisecond,
			CompletionTimeoutPerGiB: 150 * time.Second,
			ProgressTimeout:         150 * time.Second,
			OnLimit:                 cluster.LimitAbort,
			Bandwidth:               62.5 * float64(mib),
		},
	}
	var rackBW float64
	for i := range planetlab.Hosts {
		t := planetlab.HostTypeOf(i)
		h := cluster.Host{
			Name:     HostName(i),
			Class:    t.Name,
			Zone:     Zone,
			Rack:     Rack,
			CPUs:     int(t.MIPS()) / MIPSPerCore,
			Memory:   int64(t.RAM) * mib,
			CPUModel: CPUModel,
			NICs:     1,
			NICSpeed: t.Bandwidth * 1000 / 8,
			Security: cluster.Secured,
			// CloudSim's PowerHost: its SPECpower table, off when empty.
			Power:     t.Power,
			SwitchOff: true,
		}
		sc.Hosts = append(sc.Hosts, h)
		sc.Network.Links = append(sc.Network.Links, scenarios.Link{
			Name: h.Name, A: h.Name, B: "tor-" + Rack, Bandwidth: h.NICBandwidth(), Latency: sc.Network.HostLatency,
		})
		rackBW += h.NICBandwidth()
	}
	sc.Network.Links = append(sc.Network.Links, scenarios.Link{
		Name: Rack, A: "tor-" + Rack, B: "spine", Bandwidth: rackBW, Latency: sc.Network.SpineLatency,
	})
	for i := range day.VMs {
		if place[i] < 0 || place[i] >= planetlab.Hosts {
			return nil, fmt.Errorf("plscenario: VM %d (%s) placed on host %d, want 0-%d", i, day.VMs[i].Name, place[i], planetlab.Hosts-1)
		}
		ti, err := planetlab.VMTypeIndex(i, len(day.VMs))
		if err != nil {
			return nil, err
		}
		t := planetlab.VMTypes[ti]
		cores := int(t.MIPS) / MIPSPerCore
		trace := make([]float64, planetlab.Samples)
		for k, p := range day.VMs[i].Percent {
			// Percent of the VM's MIPS, in cores of MIPSPerCore.
			trace[k] = float64(p) * float64(cores) / 100
		}
		mem := int64(t.RAM) * mib
		sc.VMs = append(sc.VMs, scenarios.VM{
			VM: cluster.VM{
				Name:     VMName(i),
				Host:     HostName(place[i]),
				VCPUs:    cores,
				Memory:   mem,
				Resident: mem,
				// CloudSim has no dirty pages: a migration copies the RAM once.
				WSS:       0,
				DirtyRate: 0,
			},
			Demand: scenarios.Demand{
				Kind:          scenarios.DemandTrace,
				Trace:         trace,
				TraceInterval: planetlab.Interval,
			},
		})
	}
	return sc, nil
}

// NamePrefix begins the name of a day's scenario, the day's name follows:
// the key of CloudSim's figures for it (cloudsim-reference.csv).
const NamePrefix = "planetlab-"

// DayOf is the day a scenario built here is of, from its name.
func DayOf(scenario string) (string, bool) {
	day, ok := strings.CutPrefix(scenario, NamePrefix)
	return day, ok && day != ""
}
