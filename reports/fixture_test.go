package reports_test

import (
	"fmt"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler/cluster"
)

// full is a run with something in every part of a report: hosts in two
// zones and three racks sampled over an hour, an evacuation plan with a
// deadline, a disaster, migrations of every outcome sharing links,
// predictions with ranges, refusals and unplaced VMs.
func full() *reports.Report {
	r := &reports.Report{
		Version: reports.SchemaVersion, Kind: reports.KindSim, Scenario: "fixture", Policy: "balance", Evacuation: "planned",
		Seed: 7, DurationMS: 3600000, SampleIntervalMS: 300000,
	}
	hosts := []struct{ name, zone, rack string }{
		{"h1", "a", "r1"}, {"h2", "a", "r1"}, {"h3", "a", "r2"}, {"h4", "a", "r2"}, {"h5", "b", "r3"}, {"h6", "b", "r3"},
	}
	for j := 0; j < 12; j++ {
		r.SampleTimesMS = append(r.SampleTimesMS, float64(j)*300000)
		r.Imbalance = append(r.Imbalance, reports.Round4(0.3-0.02*float64(j)))
	}
	for i, h := range hosts {
		s := reports.HostSeries{Name: h.name, Zone: h.zone, Rack: h.rack}
		for j := 0; j < 12; j++ {
			cpu := reports.Round4(0.1 + 0.12*float64((i+j)%10))
			mem := 0.5
			if h.zone == "b" && j >= 9 {
				cpu, mem = 0, 0 // zone b failed
			}
			s.CPU = append(s.CPU, cpu)
			s.Memory = append(s.Memory, mem)
			s.VMs = append(s.VMs, 4)
		}
		r.Hosts = append(r.Hosts, s)
	}
	mig := func(id int, vm, src, dst, cause string, start, dur float64, o cluster.Outcome, tr string) reports.Migration {
		return reports.Migration{ID: id, VM: vm, Source: src, Destination: dst, Cause: cause, StartMS: start, EndMS: start + dur,
			DurationMS: dur, DowntimeMS: 40 + float64(id), Bytes: int64(id) << 30, Rounds: 3, Transport: tr, Outcome: o,
			PredictedMS: dur * (0.8 + 0.05*float64(id%5)), Links: []string{src + " up", "spine down", dst + " down"}}
	}
	r.Migrations = []reports.Migration{
		mig(1, "v1", "h1", "h3", "evacuate", 600000, 20000, cluster.OutcomeCompleted, "tls"),
		mig(2, "v2", "h1", "h4", "evacuate", 600000, 30000, cluster.OutcomeCompleted, "tls"),
		mig(3, "v3", "h1", "h4", "evacuate", 620000, 25000, cluster.OutcomeForced, "tcp"),
		mig(4, "v4", "h2", "h3", "evacuate", 605000, 40000, cluster.OutcomeAborted, "tls"),
		mig(5, "v5", "h5", "h1", "disaster", 2400000, 60000, cluster.OutcomeCompleted, "tls"),
		mig(6, "v6", "h6", "h2", "disaster", 2400000, 90000, cluster.OutcomePostCopy, "tcp"),
	}
	r.Migrations[3].Reason = "progress-timeout"
	r.Migrations = append(r.Migrations, reports.Refused(2400000e6/1e6, "v7", "h3", "disaster", "insufficient memory: needs 8 GiB, 2 GiB free"))
	r.Migrations[0].PredictedLowMS, r.Migrations[0].PredictedHighMS = 15000, 25000
	r.Plans = []reports.Plan{
		{Policy: "evacuate", AtMS: 600000, Moves: 4, Completed: 2, PredictedMakespanMS: 50000, LowerBoundMS: 30000, BoundBy: "nic h1",
			MakespanMS: 45000, DeadlineMS: 900000, MigrationIDs: []int{1, 2, 3, 4}, Bytes: 10 << 30},
		{Policy: "disaster", AtMS: 2400000, Moves: 2, Completed: 2, Unplaced: 1, PredictedMakespanMS: 80000, LowerBoundMS: 60000,
			MakespanMS: 90000, DeadlineMS: 2460000, MigrationIDs: []int{5, 6},
			UnplacedVMs: []reports.UnplacedVM{{VM: "v8", Host: "h5", Reason: "anti-affinity: shares a group with v5"}},
			Why:         []reports.ReasonCount{{Reason: "anti-affinity", VMs: 1, Example: "v8: shares a group with v5"}}},
	}
	r.Disasters = []reports.Disaster{{Zone: "b", WarnedMS: 2400000, FailsAtMS: 2700000, VMs: 3, Saved: 2, Lost: 1, Unsavable: 1,
		DeadlineMet: true, LastEndMS: 2490000}}
	r.Lost = []reports.LostVM{{VM: "v8", Host: "h5", AtMS: 2700000, Reason: "zone b failed"}}
	r.Events = []reports.EventRecord{
		{AtMS: 600000, Kind: "maintenance", Target: "h1"},
		{AtMS: 600000, Kind: "maintenance", Target: "h2"},
		{AtMS: 1800000, Kind: "link-degraded", Target: "h3", Detail: "1 Gbit/s"},
		{AtMS: 2400000, Kind: "disaster-warning", Target: "b", Detail: fmt.Sprint("fails at 45m0s")},
		{AtMS: 2700000, Kind: "zone-failure", Target: "b"},
	}
	r.SummarizeMigrations()
	r.Summary.MaxConcurrent = 4
	r.Summary.VMsLost, r.Summary.HostsCrashed = 1, 2
	r.Summary.Threshold = 0.2
	r.Summary.ImbalanceMean, r.Summary.ImbalanceMax, r.Summary.ImbalanceOver = 0.19, 0.3, 0.42
	r.Summary.OverCapacityMS = []reports.HostTime{{Host: "h3", MS: 600000}}
	r.Summary.Consolidation = &reports.Consolidation{PoweredHosts: 3, EnergyKWh: 0.9123, SLATAH: 0.05, PDM: 0.001, SLAV: 0.00005, ESV: 0.000045615, Shutdowns: 2}
	return r
}
