package sim_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/registry"
	"github.com/droverlab/drover/sim"
)

// benchDay simulates a generated day of hosts and vms with 5-minute
// samples: workloads, a balancer every 5 minutes, maintenance, load spikes
// and a zone disaster. Loading is outside the timer.
func benchDay(b *testing.B, hosts, vms int) {
	data, err := scenarios.Generate(scenarios.GenOptions{Hosts: hosts, VMs: vms, Seed: 1, Duration: 24 * time.Hour, SampleInterval: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := scenarios.Parse("gen.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var events uint64
	var migrations int
	for i := 0; i < b.N; i++ {
		rep, err := sim.Run(sc, sim.Options{})
		if err != nil {
			b.Fatal(err)
		}
		events = rep.Summary.Events
		migrations = rep.Summary.Migrations
	}
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(migrations), "migrations")
}

func BenchmarkDay100(b *testing.B)   { benchDay(b, 100, 2000) }
func BenchmarkDay1000(b *testing.B)  { benchDay(b, 1000, 20000) }
func BenchmarkDay10000(b *testing.B) { benchDay(b, 10000, 200000) }

// benchBalancePlan times one balancing plan on a generated cluster at its
// start (loading and the snapshot are outside the timer).
func benchBalancePlan(b *testing.B, hosts, vms int) {
	data, err := scenarios.Generate(scenarios.GenOptions{Hosts: hosts, VMs: vms, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := scenarios.Parse("gen.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := scheduler.NewConfig(sc.Policy, sc.Migration)
	if err != nil {
		b.Fatal(err)
	}
	snap, err := sim.SnapshotAt(sc, 0, sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	pol, err := registry.New("balance", registry.Settings{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var moves int
	for i := 0; i < b.N; i++ {
		p, err := pol.Plan(&policy.Input{Snap: snap, Settings: cfg.Settings})
		if err != nil {
			b.Fatal(err)
		}
		moves = len(p.Moves)
	}
	b.ReportMetric(float64(moves), "moves")
}

func BenchmarkBalancePlan1000(b *testing.B)  { benchBalancePlan(b, 1000, 20000) }
func BenchmarkBalancePlan10000(b *testing.B) { benchBalancePlan(b, 10000, 200000) }

// BenchmarkHTMLDay1000 times report.html of the generated 1,000-host day
// (simulated once, outside the timer): heat map of every host, Gantt,
// links, predictions and every refusal on one page.
func BenchmarkHTMLDay1000(b *testing.B) {
	data, err := scenarios.Generate(scenarios.GenOptions{Hosts: 1000, VMs: 20000, Seed: 1, Duration: 24 * time.Hour, SampleInterval: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := scenarios.Parse("gen.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	rep, err := sim.Run(sc, sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if err := rep.WriteHTML(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB")
	b.ReportMetric(float64(len(rep.Hosts)), "hosts")
	b.ReportMetric(float64(len(rep.Migrations)), "migrations")
}
