package planetlab

import (
	"fmt"
	"math"
	"time"
)

// Interval is the sampling step of a trace and the scheduling interval of
// the experiment (examples/power/Constants.java, SCHEDULING_INTERVAL = 300 s).
const Interval = 5 * time.Minute

// Samples is the number of utilisation values read from a trace file: one
// day of 5-minute samples (cloudsim/UtilizationModelPlanetLabInMemory.java
// reads 288 lines into a 289-slot array).
const Samples = 288

// Duration is the simulated time of one experiment
// (examples/power/Constants.java, SIMULATION_LIMIT = 24 * 60 * 60 s).
const Duration = 24 * time.Hour

// Hosts is the number of hosts in the standard experiment
// (examples/power/planetlab/PlanetLabConstants.java, NUMBER_OF_HOSTS = 800).
const Hosts = 800

// HostType is a physical machine model of the experiment.
type HostType struct {
	Name string
	// PEs is the number of cores, each of MIPSPerPE.
	PEs       int
	MIPSPerPE float64
	// RAM in MiB (CloudSim's "MB").
	RAM int
	// Bandwidth in kbit/s, CloudSim's unit (1,000,000 = 1 Gbit/s).
	Bandwidth float64
	Power     PowerModel
}

// MIPS is the host's total capacity, the denominator of its CPU utilisation
// (cloudsim/HostDynamicWorkload.java getUtilizationOfCpu divides by
// getTotalMips, the sum over its PEs).
func (h HostType) MIPS() float64 { return float64(h.PEs) * h.MIPSPerPE }

// HostTypes are examples/power/Constants.java HOST_MIPS {1860, 2660},
// HOST_PES {2, 2}, HOST_RAM {4096, 4096}, HOST_BW 1000000 and HOST_POWER
// {G4 Xeon3040, G5 Xeon3075}, in that order.
var HostTypes = [2]HostType{
	{Name: "HP ProLiant ML110 G4", PEs: 2, MIPSPerPE: 1860, RAM: 4096, Bandwidth: 1000000, Power: ML110G4},
	{Name: "HP ProLiant ML110 G5", PEs: 2, MIPSPerPE: 2660, RAM: 4096, Bandwidth: 1000000, Power: ML110G5},
}

// HostTypeOf is the type of host i (0-based): the types alternate, G4, G5,
// G4, … (examples/power/Helper.java createHostList: hostType = i % HOST_TYPES).
func HostTypeOf(i int) HostType { return HostTypes[i%len(HostTypes)] }

// VMType is a virtual machine size of the experiment; every VM has one PE.
type VMType struct {
	MIPS float64
	// RAM in MiB (CloudSim's "MB").
	RAM int
	// Bandwidth in kbit/s (100000 = 100 Mbit/s).
	Bandwidth float64
}

// VMTypes are examples/power/Constants.java VM_MIPS {2500, 2000, 1000, 500},
// VM_PES {1, 1, 1, 1}, VM_RAM {870, 1740, 1740, 613}, VM_BW 100000, in
// that order.
var VMTypes = [4]VMType{
	{MIPS: 2500, RAM: 870, Bandwidth: 100000},
	{MIPS: 2000, RAM: 1740, Bandwidth: 100000},
	{MIPS: 1000, RAM: 1740, Bandwidth: 100000},
	{MIPS: 500, RAM: 613, Bandwidth: 100000},
}

// VMTypeIndex is the type of VM i (0-based) of n: the VMs, in trace-file
// order, are cut into len(VMTypes) consecutive blocks of ceil(n/4), so the
// first quarter are 2500-MIPS VMs and the last block may be shorter
// (examples/power/Helper.java createVmList:
// vmType = i / (int) Math.ceil((double) vmsNumber / VM_TYPES)).
// It is not i % 4: which trace gets which size depends on the file order,
// see ReadDay.
func VMTypeIndex(i, n int) (int, error) {
	if n <= 0 || i < 0 || i >= n {
		return 0, fmt.Errorf("planetlab: VM %d of %d is out of range", i, n)
	}
	block := int(math.Ceil(float64(n) / float64(len(VMTypes))))
	return i / block, nil
}

// MigrationTime is how long CloudSim takes to migrate a VM of ram MiB to a
// host with bandwidth kbit/s: RAM / (bandwidth / 2), half the link being left
// to the VMs' own traffic (cloudsim/power/PowerDatacenter.java
// updateCloudletProcessing: delay = vm.getRam() / (targetHost.getBw() /
// (2 * 8000))). With a 1 Gbit/s host that is ram / 62.5 MB/s, so 870 MiB
// takes 13.92 s, 1740 MiB 27.84 s and 613 MiB 9.808 s. The time does not
// depend on the VM's load: CloudSim has no dirty pages.
func MigrationTime(ramMiB int, bandwidthKbit float64) time.Duration {
	seconds := float64(ramMiB) / (bandwidthKbit / (2 * 8000))
	return time.Duration(math.Round(seconds * float64(time.Second)))
}

// Migration penalties (cloudsim/VmSchedulerTimeSharedOverSubscription.java
// allocatePesForVm): while a VM migrates, its source host allocates it
// SourceShare of the MIPS it requests (the missing 10% is the performance
// degradation that PDM counts), and its destination host reserves
// DestinationShare of them. The source host's utilisation still counts the
// full request (cloudsim/HostDynamicWorkload.java updateVmsProcessing
// divides the allocation by 0.9 again).
const (
	SourceShare      = 0.9
	DestinationShare = 0.1
)
