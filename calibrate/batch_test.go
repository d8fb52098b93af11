package calibrate_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/droverlab/drover/calibrate"
	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/precopy"
	. "github.com/droverlab/drover/scheduler/schedtest"
	"github.com/droverlab/drover/sim"
)

const mib = 1 << 20

// bare is a profile whose only costs are the setup, the bytes and the
// path's queue, so that a batch's figures can be worked out by hand.
func bare() precopy.Profile {
	p := precopy.DefaultProfile()
	p.SetupMS, p.Goodput, p.GoodputTLS = 100, 1, 0
	p.SyncMS, p.SwitchoverMS, p.FinishMS, p.FinalRate = 0, 0, 0, 0
	p.ZeroPageUS, p.ZeroPageBytes, p.PageHeaderBytes = 0, 0, 0
	p.StreamRate, p.StreamRateTLS, p.DirtyFactor, p.OverheadMS, p.OverheadTLSMS = 0, 0, 0, 0, 0
	p.QueueBytes = 1 * mib
	return p
}

// idle is a guest of size MiB, all of it non-zero, writing nothing.
func idle(id string, size int64) calibrate.Point {
	return calibrate.Point{ID: id, Conc: 2, Link: 24 * mib,
		Workload: precopy.Workload{Memory: size * mib, Resident: size * mib}}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// Two guests (64 and 128 MiB) start together on a 24 MiB/s link with no
// cap: bound by the link, each keeps a 1 MiB queue in it.
//
// Both send at 12 MiB/s. The small one's 64 MiB take 64/12 s after the
// 100 ms setup; QEMU switches over at the first window end (every 100 ms)
// where less than the threshold (300 ms at the 12 MiB/s measured, 3.6
// MiB) is unsent: after 51 windows of 1.2 MiB, 2.8 MiB. The final copy
// still shares the link (233.3 ms), then the queue drains at 12 MiB/s
// (83.3 ms): 316.7 ms down, done at 0.1 + 64/12 + 1/12 s = 5516.7 ms.
//
// The large one has sent 65 MiB by then and gets the whole link: the
// window then under way (ending at 5600 ms) measured 2.2 MiB (0.2 at 12,
// 2.0 at 24), a threshold of 6.6 MiB, and every later one 2.4 MiB (7.2
// MiB): 61 MiB unsent at 5600 ms falls under 7.2 after 23 more windows,
// 5.8 MiB to copy at 24 MiB/s (241.7 ms) and a queue that drains in 41.7
// ms at the whole link: 283.3 ms down, done at 5516.7 + 63/24 s + 41.7 ms
// = 8183.3 ms. The last to finish is down the shortest: alone at a fixed
// share of the link, each would be predicted as if the other never left.
func TestBatchLastGetsTheLink(t *testing.T) {
	pts := []calibrate.Point{idle("small-1", 64), idle("large-2", 128)}
	got := calibrate.PredictBatch(pts, bare())
	for i, want := range []struct{ total, down float64 }{{5516.7, 316.7}, {8183.3, 283.3}} {
		r := got[i]
		if r.Outcome != cluster.OutcomeCompleted || math.Abs(ms(r.TotalTime)-want.total) > 1 || math.Abs(ms(r.Downtime)-want.down) > 1 {
			t.Errorf("%s: %v in %.1f ms, %.1f ms down; want completed in %.1f ms, %.1f ms down",
				pts[i].ID, r.Outcome, ms(r.TotalTime), ms(r.Downtime), want.total, want.down)
		}
	}
	// Each alone at half the link, as before batches were stepped
	// together: the large one's tail and queue at 12 MiB/s too.
	alone := calibrate.Predict(pts[1], bare())
	if alone.TotalTime <= got[1].TotalTime || alone.Downtime <= got[1].Downtime {
		t.Errorf("alone at a fixed share the large one takes %v (%v down), with its batch %v (%v down)",
			alone.TotalTime, alone.Downtime, got[1].TotalTime, got[1].Downtime)
	}
}

// A batch's prediction is the batch's, whatever order its members are
// listed in.
func TestBatchOrderDoesNotMatter(t *testing.T) {
	prof := precopy.DefaultProfile()
	prof.QueueBytes = 1.5 * mib
	mk := func(id string, dirty float64, wss int64) calibrate.Point {
		p := idle(id, 256)
		p.Conc, p.Workload.Resident, p.Workload.WSS, p.Workload.DirtyRate = 3, 130*mib, wss*mib, dirty
		return p
	}
	pts := []calibrate.Point{mk("a", 4*mib, 64), mk("b", 6*mib, 64), mk("c", 2*mib, 32)}
	want := map[string]precopy.Result{}
	for i, r := range calibrate.PredictBatch(pts, prof) {
		want[pts[i].ID] = r
	}
	for _, order := range [][]int{{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		var perm []calibrate.Point
		for _, i := range order {
			perm = append(perm, pts[i])
		}
		for i, r := range calibrate.PredictBatch(perm, prof) {
			w := want[perm[i].ID]
			if r.TotalTime != w.TotalTime || r.Downtime != w.Downtime || r.TransferredBytes != w.TransferredBytes || r.Iterations != w.Iterations {
				t.Errorf("order %v: %s took %v (%v down, %d bytes, %d iterations), listed first %v (%v, %d, %d)", order, perm[i].ID,
					r.TotalTime, r.Downtime, r.TransferredBytes, r.Iterations, w.TotalTime, w.Downtime, w.TransferredBytes, w.Iterations)
			}
		}
	}
}

// calibrate predicts a batch as a plan times the same moves on a link
// between two hosts: both run on plan.Streams.
func TestBatchAsPlanTimesIt(t *testing.T) {
	prof := precopy.DefaultProfile()
	prof.QueueBytes, prof.OverheadMS = 1.5*mib, 0 // calibrate predicts libvirt's job, plans the wall clock
	pts := []calibrate.Point{idle("a", 256), idle("b", 256), idle("c", 512)}
	var vms []cluster.VM
	for i, dirty := range []float64{4 * mib, 6 * mib, 2 * mib} {
		p := &pts[i]
		p.Conc, p.Workload.Resident, p.Workload.WSS, p.Workload.DirtyRate = 3, 120*mib, 64*mib, dirty
		vms = append(vms, MakeVM(p.ID, "h1").Memory(p.Workload.Memory).Resident(p.Workload.Resident).WSS(p.Workload.WSS).DirtyRate(dirty).Obj())
	}
	snap := Snapshot([]cluster.Host{MakeHost("h1").Obj(), MakeHost("h2").Obj()}, vms)
	snap.Links = []cluster.Link{{Name: "shaped", A: "h1", B: "h2", Bandwidth: 24 * mib}}
	timer, err := plan.NewTimer(snap, precopy.Config{Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{}
	for i, v := range vms {
		p.Moves = append(p.Moves, plan.Move{ID: i + 1, VM: v.Name, Source: "h1", Destination: "h2", Transport: cluster.TransportTCP})
	}
	if err := timer.Schedule(p); err != nil {
		t.Fatal(err)
	}
	for i, r := range calibrate.PredictBatch(pts, prof) {
		m := p.Moves[i].Predicted
		if d := m.End - m.Start; d != r.TotalTime || m.Downtime != r.Downtime || m.Bytes != r.TransferredBytes {
			t.Errorf("%s: plan %v (%v down, %d bytes), calibrate %v (%v, %d)", pts[i].ID, d, m.Downtime, m.Bytes, r.TotalTime, r.Downtime, r.TransferredBytes)
		}
	}
}

// Read finds a grid's batches: Conc consecutive rows of one configuration
// on a shaped link.
func TestReadFindsBatches(t *testing.T) {
	f, err := os.Open("../e2e/lab/calib/conc-htb/measurements.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pts, err := calibrate.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pts {
		var ids []string
		for _, q := range p.Batch {
			ids = append(ids, strings.TrimPrefix(q.ID, "m256-w64-"))
		}
		if len(p.Batch) > 0 && p.Batch[p.Member].ID != p.ID {
			t.Errorf("%s is member %d of a batch that has %s there", p.ID, p.Member, p.Batch[p.Member].ID)
		}
		got = append(got, strings.Join(ids, "+"))
	}
	want := []string{"", "d4-c0-2+d4-c0-3", "d4-c0-2+d4-c0-3", "d4-c0-4+d4-c0-5+d4-c0-6", "d4-c0-4+d4-c0-5+d4-c0-6", "d4-c0-4+d4-c0-5+d4-c0-6",
		"d6-c0-7+d6-c0-8", "d6-c0-7+d6-c0-8", "d6-c0-9+d6-c0-10+d6-c0-11", "d6-c0-9+d6-c0-10+d6-c0-11", "d6-c0-9+d6-c0-10+d6-c0-11"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("batches\n got %q\nwant %q", got, want)
	}
}

// A batch's downtimes matched in rank order: right as a set counts as
// right, whichever member the prediction gave the short one.
func TestRankedDowntime(t *testing.T) {
	batch := []calibrate.Point{idle("a", 1), idle("b", 1), idle("c", 1)}
	row := func(m int, pred, real float64) calibrate.Row {
		p := batch[m]
		p.Batch, p.Member, p.DowntimeMS = batch, m, real
		return calibrate.Row{Point: p, Predicted: precopy.Result{Downtime: time.Duration(pred * 1e6)}}
	}
	lone := calibrate.Row{Point: calibrate.Point{DowntimeMS: 50}, Predicted: precopy.Result{Downtime: 60 * time.Millisecond}}
	rows := []calibrate.Row{row(0, 310, 500), row(1, 505, 510), row(2, 520, 300), lone}
	if med, worst := calibrate.RankedDowntime(rows); med != 10 || worst != 10 {
		t.Fatalf("ranked downtime error median %v max %v, want 10 and 10", med, worst)
	}
}

// The simulator steps a batch started together on a link as calibrate
// predicts it: predict and sim give the same figures for the same
// migrations.
func TestBatchAsTheSimulatorRunsIt(t *testing.T) {
	prof := precopy.DefaultProfile()
	prof.QueueBytes, prof.OverheadMS = 1.5*mib, 0 // calibrate predicts libvirt's job, the simulator the wall clock
	sc := &scenarios.Scenario{
		Name:      "batch",
		Sim:       scenarios.Sim{Seed: 1, Duration: time.Hour, SampleInterval: 5 * time.Minute},
		Network:   scenarios.Network{Topology: scenarios.TopologyExplicit, Links: []scenarios.Link{{Name: "shaped", A: "h1", B: "h2", Bandwidth: 24 * mib}}},
		Migration: scheduler.Migration{Profile: prof, OnLimit: cluster.LimitAbort},
	}
	for _, h := range []string{"h1", "h2"} {
		sc.Hosts = append(sc.Hosts, cluster.Host{Name: h, Zone: "a", Rack: "r1", CPUs: 8, Memory: 16 << 30, CPUModel: "x",
			NICs: 1, NICSpeed: 125e6, Security: cluster.Unsecured})
	}
	var pts []calibrate.Point
	for i, dirty := range []float64{4 * mib, 6 * mib, 2 * mib} {
		p := idle(fmt.Sprint("v", i), 256)
		p.Conc, p.Workload.Resident, p.Workload.WSS, p.Workload.DirtyRate = 3, 120*mib, 64*mib, dirty
		pts = append(pts, p)
		w := p.Workload
		sc.VMs = append(sc.VMs, scenarios.VM{VM: cluster.VM{Name: p.ID, Host: "h1", VCPUs: 1, Memory: w.Memory, Resident: w.Resident, WSS: w.WSS, DirtyRate: w.DirtyRate},
			Demand: scenarios.Demand{Kind: scenarios.DemandConstant, Constant: 0.1}})
		sc.Events = append(sc.Events, scenarios.Event{At: time.Minute, Kind: scenarios.EventMigrate, VM: p.ID, Host: "h2"})
	}
	rep, err := sim.Run(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range calibrate.PredictBatch(pts, prof) {
		var m *reports.Migration
		for j := range rep.Migrations {
			if rep.Migrations[j].VM == pts[i].ID {
				m = &rep.Migrations[j]
			}
		}
		if m == nil || m.Outcome != r.Outcome || math.Abs(m.DurationMS-ms(r.TotalTime)) > 1e-6 || math.Abs(m.DowntimeMS-ms(r.Downtime)) > 1e-6 || m.Bytes != r.TransferredBytes {
			t.Errorf("%s: simulated %+v; calibrate %v in %.3f ms, %.3f ms down, %d bytes", pts[i].ID, m, r.Outcome, ms(r.TotalTime), ms(r.Downtime), r.TransferredBytes)
		}
	}
}

// Twins finish together: neither ever has the link to itself, so both
// are predicted as each would be alone at half of it.
func TestBatchTwins(t *testing.T) {
	twin := idle("twin", 128)
	got := calibrate.PredictBatch([]calibrate.Point{twin, twin}, bare())
	alone := calibrate.Predict(twin, bare())
	for i, r := range got {
		if r.TotalTime != alone.TotalTime || r.Downtime != alone.Downtime || r.TransferredBytes != alone.TransferredBytes {
			t.Errorf("twin %d: %v (%v down, %d bytes), alone at half the link %v (%v, %d)", i,
				r.TotalTime, r.Downtime, r.TransferredBytes, alone.TotalTime, alone.Downtime, alone.TransferredBytes)
		}
	}
}
