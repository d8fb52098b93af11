// Package consolidation defines, once, the figures of Beloglazov and
// Buyya's dynamic-consolidation benchmark (Concurrency and Computation:
// Practice and Experience, 2012) as CloudSim 4.0 computes them: host power
// from a SPECpower table, energy, SLATAH, PDM, SLAV, ESV, host shutdowns
// and migration statistics. Each function's comment gives its formula and
// the CloudSim file it follows, relative to
// modules/cloudsim/src/main/java/org/cloudbus/cloudsim ("cloudsim/") or
// modules/cloudsim-examples/src/main/java/org/cloudbus/cloudsim/examples
// ("examples/").
//
// It imports nothing from drover, so that planetlab (the CloudSim-faithful
// reference) and the simulator's report (package sim, reports) share the
// formulas and nothing else.
package consolidation
