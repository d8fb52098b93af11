package poweraware_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
	"github.com/droverlab/drover/scheduler/precopy"
)

// g4 is the HP ML110 G4's SPECpower table, linear between its steps.
type g4 struct{}

func (g4) Power(u float64) (float64, error) {
	w := [11]float64{86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117}
	if u < 0 || u > 1 {
		return 0, fmt.Errorf("utilisation %v", u)
	}
	i := int(u * 10)
	if i == 10 {
		return w[10], nil
	}
	return w[i] + (w[i+1]-w[i])*(u*10-float64(i)), nil
}

const gib = int64(1) << 30

// threeHosts: h1 at 90% (overloaded under THR 0.8) with a (4 cores, 4
// GiB), b (3 of 4 cores, 2 GiB) and c (2 cores, 1 GiB); h2 at 50% with d;
// h3 at 10% with e.
func threeHosts() *cluster.Snapshot {
	var hosts []cluster.Host
	for _, n := range []string{"h1", "h2", "h3"} {
		hosts = append(hosts, cluster.Host{Name: n, Zone: "a", Rack: "r1", CPUs: 10, Memory: 64 * gib, CPUModel: "x",
			NICs: 1, NICSpeed: 1e9 / 8, Security: cluster.Secured, State: cluster.HostUp, Power: g4{}})
	}
	vm := func(name, host string, vcpus int, cpu float64, mem int64) cluster.VM {
		return cluster.VM{Name: name, Host: host, VCPUs: vcpus, CPU: cpu, Memory: mem, Resident: mem}
	}
	return &cluster.Snapshot{Hosts: hosts, VMs: []cluster.VM{
		vm("a", "h1", 4, 4, 4*gib), vm("b", "h1", 4, 3, 2*gib), vm("c", "h1", 2, 2, gib),
		vm("d", "h2", 5, 5, 2*gib), vm("e", "h3", 2, 1, gib),
	}}
}

func input(snap *cluster.Snapshot, now time.Duration) *policy.Input {
	return &policy.Input{Snap: snap, Now: now, Settings: policy.Settings{
		TLS: cluster.TLSMatching, Overcommit: 4, Migration: precopy.Config{}.WithDefaults(),
	}}
}

func moves(p *plan.Plan) []string {
	var out []string
	for _, m := range p.Moves {
		out = append(out, fmt.Sprintf("%s:%s->%s %v (%s)", m.VM, m.Source, m.Destination, m.After, m.Reason))
	}
	return out
}

// TestSharedPlansOverloadThenUnderload works thr-mmt-0.8 by hand:
//   - h1 is at 9/10 = 0.9 > 0.8: MMT takes its VM of least RAM, c (1 GiB);
//     h1 is then at 0.7, no longer overloaded.
//   - PABFD places c (2 cores) where power rises least: h2 0.5 → 0.7 is
//     102 → 108 W (+6), h3 0.1 → 0.3 is 89.4 → 96 W (+6.6): h2.
//   - The least utilised host left, h3 (0.1), is emptied: e (1 core) fits
//     only h2 (h1 is overloaded), reaching 8/10 = 0.8, not above THR's 0.8.
func TestSharedPlansOverloadThenUnderload(t *testing.T) {
	pol, err := poweraware.NewShared("thr-mmt-0.8", 1)
	if err != nil {
		t.Fatal(err)
	}
	if pol.Name() != "thr-mmt-0.8" {
		t.Errorf("Name() = %q", pol.Name())
	}
	p, err := pol.Plan(input(threeHosts(), 5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"c:h1->h2 [] (overloaded host h1 (thr))",
		"e:h3->h2 [] (underloaded host h3 evacuated)",
	}
	if got := moves(p); !reflect.DeepEqual(got, want) {
		t.Errorf("moves\n got %q\nwant %q", got, want)
	}
	if p.Policy != "thr-mmt-0.8" || p.At != 5*time.Minute {
		t.Errorf("plan %s at %s", p.Policy, p.At)
	}
}

// fourHosts: h1 at 90% with a (6 cores, 4 GiB) and c (3 cores, 1 GiB); h2
// at 20% with x (2 cores, 2 GiB); h3 and h4 at 50% with y and w.
func fourHosts() *cluster.Snapshot {
	snap := threeHosts()
	snap.Hosts = append(snap.Hosts, snap.Hosts[2])
	snap.Hosts[3].Name = "h4"
	vm := func(name, host string, cpu float64, mem int64) cluster.VM {
		return cluster.VM{Name: name, Host: host, VCPUs: int(cpu), CPU: cpu, Memory: mem, Resident: mem}
	}
	snap.VMs = []cluster.VM{vm("a", "h1", 6, 4*gib), vm("c", "h1", 3, gib), vm("x", "h2", 2, 2*gib),
		vm("y", "h3", 5, 2*gib), vm("w", "h4", 5, 2*gib)}
	return snap
}

// TestSharedKeepsADoubleMoveAsVia works CloudSim's double move by hand
// under thr-mmt-0.8:
//   - h1 (0.9) is overloaded; MMT takes c (least RAM), leaving 0.6.
//   - PABFD places c on h2: 0.2 → 0.5 is 92.6 → 102 W (+9.4), where h3
//     and h4 would rise 0.5 → 0.8, 102 → 112 W (+10).
//   - The least utilised host, h2 (0.2 at the update), is emptied with c
//     now on it: c (3) to h3 (+10, the first of the tie, 0.8 is not above
//     0.8), then x (2) to h4 (0.7: +6; h3 would be overloaded).
//
// c is planned h1 → h2 and then h2 → h3 in one round. The plan moves it
// once, h1 → h3, naming h2 in Via, so that CloudSim's model can run the
// migration to h2 it also starts; x leaves h2 as planned.
func TestSharedKeepsADoubleMoveAsVia(t *testing.T) {
	pol, _ := poweraware.NewShared("thr-mmt-0.8", 1)
	p, err := pol.Plan(input(fourHosts(), 5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"c:h1->h3 [] (underloaded host h2 evacuated)",
		"x:h2->h4 [] (underloaded host h2 evacuated)",
	}
	if got := moves(p); !reflect.DeepEqual(got, want) {
		t.Fatalf("moves\n got %q\nwant %q", got, want)
	}
	if !reflect.DeepEqual(p.Moves[0].Via, []string{"h2"}) || p.Moves[1].Via != nil {
		t.Errorf("via %q and %q, want [h2] and none", p.Moves[0].Via, p.Moves[1].Via)
	}
}

// TestSharedLeavesABalancedClusterAlone: nothing overloaded and no host
// that can be emptied (h1's VMs fit nowhere else) gives an empty plan.
func TestSharedLeavesABalancedClusterAlone(t *testing.T) {
	snap := threeHosts()
	snap.Hosts = snap.Hosts[:1]
	snap.VMs = []cluster.VM{snap.VMs[0]}
	pol, _ := poweraware.NewShared("thr-mmt-0.8", 1)
	p, err := pol.Plan(input(snap, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Moves) != 0 {
		t.Errorf("moves %q, want none", moves(p))
	}
}

// TestSharedSkipsHostsAndVMsOutOfPlay: a host in maintenance takes nothing,
// and a pinned VM is never moved.
func TestSharedSkipsHostsAndVMsOutOfPlay(t *testing.T) {
	snap := threeHosts()
	snap.Hosts[1].State = cluster.HostMaintenance // h2
	snap.VMs = snap.VMs[:3]                       // no d, e
	snap.VMs[2].Pinned = "local disk"             // c
	pol, _ := poweraware.NewShared("thr-mmt-0.8", 1)
	p, err := pol.Plan(input(snap, 0))
	if err != nil {
		t.Fatal(err)
	}
	// h1's detector sees a and b only (7/10): not overloaded; h3 is empty
	// and switched off; so nothing moves.
	if len(p.Moves) != 0 {
		t.Errorf("moves %q, want none", moves(p))
	}
}

// TestSharedKeepsHistoriesPerVM: the adaptive detectors need history; IQR
// with fewer than 12 values falls back to THR 0.7 (CloudSim's fallback),
// so on the first call h2 at 0.5 and h1 at 0.9 behave as under THR; what
// matters here is that the history grows once per instant, not per call.
func TestSharedKeepsHistoriesPerVM(t *testing.T) {
	pol, _ := poweraware.NewShared("iqr-mmt-1.5", 1)
	for i, now := range []time.Duration{0, 0, 5 * time.Minute} {
		if _, err := pol.Plan(input(threeHosts(), now)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := pol.History("a"); len(got) != 2 || got[0] != 1 || got[1] != 1 {
		t.Errorf("history of a = %v, want [1 1] (two instants)", got)
	}
	if got := pol.History("e"); len(got) != 2 || got[0] != 0.5 {
		t.Errorf("history of e = %v, want [0.5 0.5]", got)
	}
}

// TestSharedIsDeterministic: the same input gives the same plan, also for
// the random selector once its seed is fixed.
func TestSharedIsDeterministic(t *testing.T) {
	for _, name := range []string{"thr-rs-0.8", "thr-mmt-0.8", "mad-mc-2.5"} {
		var first []string
		for range 3 {
			pol, _ := poweraware.NewShared(name, poweraware.SeedOf(name))
			p, err := pol.Plan(input(threeHosts(), 0))
			if err != nil {
				t.Fatal(err)
			}
			if got := moves(p); first == nil {
				first = got
			} else if !reflect.DeepEqual(got, first) {
				t.Errorf("%s: %q then %q", name, first, got)
			}
		}
	}
}

// TestSharedRespectsMemory: with h2 holding 4 GiB (d has 2), c (1 GiB)
// still fits it, but with 2.5 GiB it does not: PABFD falls back to h3,
// and then h3, having taken a VM, is not emptied; e stays.
func TestSharedRespectsMemory(t *testing.T) {
	snap := threeHosts()
	snap.Hosts[1].Memory = 2*gib + gib/2
	pol, _ := poweraware.NewShared("thr-mmt-0.8", 1)
	p, err := pol.Plan(input(snap, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c:h1->h3 [] (overloaded host h1 (thr))"}
	if got := moves(p); !reflect.DeepEqual(got, want) {
		t.Errorf("moves\n got %q\nwant %q", got, want)
	}
}
