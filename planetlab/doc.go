// Package planetlab reproduces the set-up of Beloglazov and Buyya's PlanetLab
// dynamic-consolidation experiments (CloudSim 4.0, tag cloudsim-4.0) as data
// and pure functions: the trace-day reader, host and VM types and how they are
// assigned, the host models (their SPECpower tables and CloudSim's energy
// integration are in reports/consolidation), the migration time; the SLA
// metrics (SLATAH, PDM, SLAV, ESV) it uses are defined in reports/consolidation.
//
// Every rule cites the CloudSim 4.0 file it comes from, relative to
// modules/cloudsim/src/main/java/org/cloudbus/cloudsim (core, "cloudsim/")
// or modules/cloudsim-examples/src/main/java/org/cloudbus/cloudsim/examples
// (examples, "examples/"). Where CloudSim departs from the paper's prose
// (PDM and SLATAH are ratios of sums, not means of ratios), this package
// follows CloudSim, because the figures to compare against
// (cloudsim-reference.csv) were produced by its code.
//
// The package imports nothing from drover but reports/consolidation, the
// power tables and metric formulas the simulator's report uses too (a leaf
// that imports nothing from drover itself): it is the reference the
// simulator run is checked against, so it must not share the simulator's
// mistakes, and it shares only the formulas, each written once.
package planetlab
