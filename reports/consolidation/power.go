package consolidation

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// PowerModel is a SPECpower table: a host's draw in watts at 0%, 10%, …,
// 100% CPU utilisation, linear between the steps
// (cloudsim/power/models/PowerModelSpecPower.java). Name is how a scenario
// names it ("" for a table written out).
type PowerModel struct {
	Name  string
	Watts [11]float64
}

// ML110G4 is the HP ProLiant ML110 G4 (Intel Xeon 3040, 2 × 1860 MHz)
// (cloudsim/power/models/PowerModelSpecPowerHpProLiantMl110G4Xeon3040.java).
var ML110G4 = PowerModel{
	Name:  "hp-ml110-g4",
	Watts: [11]float64{86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117},
}

// ML110G5 is the HP ProLiant ML110 G5 (Intel Xeon 3075, 2 × 2660 MHz)
// (cloudsim/power/models/PowerModelSpecPowerHpProLiantMl110G5Xeon3075.java).
var ML110G5 = PowerModel{
	Name:  "hp-ml110-g5",
	Watts: [11]float64{93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135},
}

// NamedPowerModels are the tables a scenario may name.
var NamedPowerModels = []PowerModel{ML110G4, ML110G5}

// PowerModelNamed returns the named table.
func PowerModelNamed(name string) (PowerModel, error) {
	i := slices.IndexFunc(NamedPowerModels, func(m PowerModel) bool { return m.Name == name })
	if i < 0 {
		names := make([]string, len(NamedPowerModels))
		for j, m := range NamedPowerModels {
			names[j] = m.Name
		}
		return PowerModel{}, fmt.Errorf("unknown power model %q (want %s, or watts: [11 values, idle to 100%%])", name, strings.Join(names, " or "))
	}
	return NamedPowerModels[i], nil
}

// Power is the draw in watts at utilisation u in [0, 1], linear between the
// table's 10% steps. The arithmetic is CloudSim's, step for step
// (cloudsim/power/models/PowerModelSpecPower.java getPower), so that results
// match it to the last bit: exact steps are detected with u % 0.1 == 0 as in
// Java, and otherwise
//
//	P(u) = P(⌊10u⌋) + (P(⌈10u⌉) − P(⌊10u⌋)) / 10 · (u − ⌊10u⌋/10) · 100.
//
// A host that is switched off draws nothing, but Power does not know that:
// the caller applies its switch-off rule (FrameEnergy has CloudSim's).
func (m PowerModel) Power(u float64) (float64, error) {
	if !(u >= 0 && u <= 1) {
		return 0, fmt.Errorf("consolidation: utilisation %v is outside [0, 1]", u)
	}
	if math.Mod(u, 0.1) == 0 {
		return m.Watts[int(u*10)], nil
	}
	u1 := int(math.Floor(u * 10))
	u2 := int(math.Ceil(u * 10))
	p1, p2 := m.Watts[u1], m.Watts[u2]
	delta := (p2 - p1) / 10
	return p1 + delta*(u-float64(u1)/10)*100, nil
}

// FrameEnergy is the energy in joules (watt-seconds) of one host over a frame
// of seconds in which its utilisation went from from to to. It is the
// trapezoid of the power at both ends, except that a host idle (utilisation
// 0) at the start of the frame counts as switched off and costs nothing
// (cloudsim/power/PowerHost.java getEnergyLinearInterpolation, called per
// host and per frame by cloudsim/power/PowerDatacenter.java
// updateCloudetProcessingWithoutSchedulingFutureEventsForce with the previous
// and current utilisation). Note the asymmetry CloudSim has: a host switched
// on during a frame costs nothing for it, and a host emptied during a frame
// costs the trapezoid down to its idle power.
//
//	E = (P(from) + (P(to) − P(from)) / 2) · seconds, or 0 when from = 0.
func (m PowerModel) FrameEnergy(from, to, seconds float64) (float64, error) {
	if from == 0 {
		return 0, nil
	}
	pf, err := m.Power(from)
	if err != nil {
		return 0, err
	}
	pt, err := m.Power(to)
	if err != nil {
		return 0, err
	}
	return (pf + (pt-pf)/2) * seconds, nil
}

// JoulesPerKWh converts watt-seconds to kWh (CloudSim's
// examples/power/Helper.java printResults: energy = datacenter.getPower() /
// (3600 * 1000)).
const JoulesPerKWh = 3600 * 1000

// Energy integrates one host's utilisation samples, taken every seconds, in
// kWh: the sum of FrameEnergy over consecutive samples,
//
//	E = Σ_i FrameEnergy(u[i−1], u[i], seconds) / JoulesPerKWh.
func (m PowerModel) Energy(utilization []float64, seconds float64) (float64, error) {
	var joules float64
	for i := 1; i < len(utilization); i++ {
		e, err := m.FrameEnergy(utilization[i-1], utilization[i], seconds)
		if err != nil {
			return 0, fmt.Errorf("sample %d: %w", i, err)
		}
		joules += e
	}
	return joules / JoulesPerKWh, nil
}
