package plreplay

import (
	"fmt"
	"math"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
	"github.com/droverlab/drover/scheduler/precopy"
)

// MigrationModel is how long a migration takes, in seconds: a VM of ramMiB
// and mips at CPU utilisation u (0–1) when it starts, to a host of
// bandwidthKbit. Only the duration changes between models: the policies
// still estimate CloudSim's RAM / (BW / 2) (LR's look-ahead), and the 10%
// CPU penalty applies for the whole migration.
type MigrationModel interface {
	Name() string
	Seconds(ramMiB, mips, u, bandwidthKbit float64) float64
}

// CloudSimMigration is CloudSim's model: RAM / (BW / 2), whatever the load
// (power/PowerDatacenter.java updateCloudletProcessing).
type CloudSimMigration struct{}

func (CloudSimMigration) Name() string { return "cloudsim" }

func (CloudSimMigration) Seconds(ramMiB, _, _, bandwidthKbit float64) float64 {
	return poweraware.MigrationTime(ramMiB, bandwidthKbit)
}

// PreCopyMigration is Drover's calibrated pre-copy model
// (scheduler/precopy.Predict, the default profile, QEMU's 300 ms downtime
// limit, auto-converge, at most 30 rounds and then a forced switch-over, so
// that every migration ends as CloudSim's do) at CloudSim's bandwidth, half
// the NIC. CloudSim has no memory model, so the guest is derived from the
// trace by this rule:
//
//   - every page is resident (no zero pages) and the writable working set is
//     a quarter of the RAM (the scenario format's default, resident / 4);
//   - the dirty rate is proportional to CPU use: u × MaxDirtyRate × mips /
//     2500, so the largest VM at 100% dirties MaxDirtyRate and an idle VM
//     nothing, u being the utilisation when the migration starts, rounded
//     to the trace's whole percent.
type PreCopyMigration struct {
	// MaxDirtyRate in bytes/s (default 100 MiB/s, 1.6 × CloudSim's 62.5
	// MiB/s migration bandwidth: a busy large VM needs several rounds).
	MaxDirtyRate float64
	// memo keeps each prediction: the same sizes and utilisations recur
	// thousands of times a day, and a prediction steps every round.
	memo map[[4]float64]float64
}

func (*PreCopyMigration) Name() string { return "precopy" }

func (m *PreCopyMigration) Seconds(ramMiB, mips, u, bandwidthKbit float64) float64 {
	// The trace's own resolution: updates fall 0.1 s after a sample, so u
	// is a whole percent plus a sliver of the next step, which would make
	// every prediction different for no effect.
	u = math.Round(u*100) / 100
	key := [4]float64{ramMiB, mips, u, bandwidthKbit}
	if d, ok := m.memo[key]; ok {
		return d
	}
	if m.memo == nil {
		m.memo = map[[4]float64]float64{}
	}
	d := m.predict(ramMiB, mips, u, bandwidthKbit)
	m.memo[key] = d
	return d
}

func (m *PreCopyMigration) predict(ramMiB, mips, u, bandwidthKbit float64) float64 {
	maxDirty := m.MaxDirtyRate
	if maxDirty == 0 {
		maxDirty = 100 << 20
	}
	mem := int64(ramMiB) << 20
	w := precopy.Workload{Memory: mem, Resident: mem, WSS: mem / 4, DirtyRate: u * maxDirty * mips / 2500}
	cfg := precopy.Config{MaxIterations: 30, OnLimit: cluster.LimitForce, AutoConverge: true}
	// CloudSim's half NIC, in its "MB" taken as MiB as the RAM is.
	bw := bandwidthKbit / (2 * 8000) * (1 << 20)
	return precopy.Predict(w, cfg, bw).TotalTime.Seconds()
}

// NewMigrationModel is the model called name: cloudsim or precopy.
func NewMigrationModel(name string) (MigrationModel, error) {
	switch name {
	case "cloudsim", "":
		return CloudSimMigration{}, nil
	case "precopy":
		return &PreCopyMigration{}, nil
	}
	return nil, fmt.Errorf("plreplay: migration model %q: want cloudsim or precopy", name)
}
