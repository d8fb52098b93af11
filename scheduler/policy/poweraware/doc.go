// Package poweraware holds the dynamic VM consolidation policies of
// Beloglazov and Buyya (Concurrency and Computation: Practice and
// Experience, 2012) as CloudSim 4.0 (tag cloudsim-4.0) implements them, as
// pure functions over a small view of the cluster (State):
//
//   - overload detectors: static threshold (THR), inter-quartile range
//     (IQR), median absolute deviation (MAD), local regression (LR) and
//     robust local regression (LRR), each with its safety parameter;
//   - VM selectors: minimum migration time (MMT), maximum correlation (MC),
//     random selection (RS) and minimum utilisation (MU);
//   - power-aware best-fit decreasing placement (PABFD, FindHost) and the
//     whole optimisation round (Optimize): overloaded hosts, VMs to move off
//     them, their placement, then the evacuation of underloaded hosts.
//
// Each rule cites the CloudSim file it follows, relative to
// modules/cloudsim/src/main/java/org/cloudbus/cloudsim. The arithmetic is
// CloudSim's where its figures depend on it (median and quartiles as
// commons-math and CloudSim's MathUtil compute them), because the reference
// figures the replay is compared with (planetlab/testdata/cloudsim-reference.csv)
// came from that code, quirks included; each quirk kept is named where it is
// kept.
//
// The package is pure: no clock, no I/O, a seeded random source for RS.
// planetlab/plreplay runs it over a PlanetLab day as CloudSim does; Shared
// runs it as a policy of the shared core (policy.Policy), so that the
// simulator and real hosts run it through the same plan and dispatch path
// as every other policy.
package poweraware
