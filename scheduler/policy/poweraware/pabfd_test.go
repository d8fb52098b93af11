package poweraware

import (
	"slices"
	"strings"
	"testing"
)

// The worked example of Optimize, THR 0.8 with MMT, 1000-MIPS hosts and the
// convex power table:
//
//	A (0.9): a1 500 MIPS 1000 MiB, a2 400 MIPS 500 MiB  → overloaded
//	B (0.3): b1 300
//	C (0.1): c1 100
//	D (0):   empty, switched off
//
// MMT takes a2 (least RAM) off A, which then holds 0.5 and stops. PABFD for
// a2: B 0.3→0.7 costs 130 − 100 = 30 W, C 0.1→0.5 costs 113 − 90 = 23 W,
// D 0→0.4 costs 106 − 50 = 56 W: C. Then the underloaded hosts: C has the
// lowest utilisation at the update (0.1) and, CloudSim's quirk, is not
// excluded for having just taken a2; its list is a2, c1: a2 goes to B
// (0.7 ≤ 0.8), then c1 to B (0.8, not above 0.8). B took VMs, A is
// overloaded, D is off: nothing is left to empty.
func TestOptimizeWorkedExample(t *testing.T) {
	st := build([]Host{host(0.9), host(0.3), host(0.1), host(0)}, []VM{
		vm(0, 500, 1000), vm(0, 400, 500), vm(1, 300, 870), vm(2, 100, 870),
	})
	p := &Policy{Detector: THR{0.8}, Selector: MMT{}}
	got := p.Optimize(st)
	want := []Move{{VM: 1, From: 0, To: 2}, {VM: 1, From: 0, To: 1}, {VM: 3, From: 2, To: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("moves %v, want %v", got, want)
	}
	// The caller's state is untouched (CloudSim's saveAllocation/restoreAllocation).
	if !slices.Equal(st.Hosts[0].VMs, []int{0, 1}) || !slices.Equal(st.Hosts[1].VMs, []int{2}) || !slices.Equal(st.Hosts[2].VMs, []int{3}) {
		t.Errorf("state changed: %v %v %v", st.Hosts[0].VMs, st.Hosts[1].VMs, st.Hosts[2].VMs)
	}
}

// An underloaded host is emptied only when all its VMs fit elsewhere.
func TestOptimizeAllOrNothing(t *testing.T) {
	// B (0.6) takes at most 0.2 more; C (0.3) has two VMs of 0.15: the first
	// fits on B, the second would take B to 0.9 and A is excluded as
	// switched off, so neither moves. Then B itself (0.6) is the next
	// candidate: its 0.6 VM fits on nothing but C, which is already emptied
	// (excluded), so nothing moves at all.
	st := build([]Host{host(0), host(0.6), host(0.3)}, []VM{vm(1, 600, 870), vm(2, 150, 870), vm(2, 150, 870)})
	p := &Policy{Detector: THR{0.8}, Selector: MMT{}}
	if got := p.Optimize(st); len(got) != 0 {
		t.Errorf("moves %v, want none", got)
	}
	// With B at 0.5 both fit: C is emptied onto B.
	st = build([]Host{host(0), host(0.5), host(0.3)}, []VM{vm(1, 500, 870), vm(2, 150, 870), vm(2, 150, 870)})
	want := []Move{{VM: 1, From: 2, To: 1}, {VM: 2, From: 2, To: 1}}
	if got := p.Optimize(st); !slices.Equal(got, want) {
		t.Errorf("moves %v, want %v", got, want)
	}
}

// PABFD skips hosts a VM does not suit (a core too small, too little free
// MIPS) and hosts it would overload, and otherwise takes the least rise in
// power.
func TestFindHost(t *testing.T) {
	small := host(0.1)
	small.PEMIPS = 500
	st := build([]Host{small, host(0.75), host(0.5), host(0.2), host(0)}, []VM{
		vm(0, 100, 1), vm(1, 750, 1), vm(2, 500, 1), vm(3, 200, 1), vm(0, 600, 1),
	})
	// The 600-MIPS VM (index 4, planned from host 0) does not suit host 0
	// (500-MIPS core), passes 0.8 on hosts 1 and 2 (0.75+0.6, 0.5+0.6),
	// so host 3 (0.2→0.8: 130 − 95 = 35 W) and host 4 (0→0.6: 121 − 50 = 71 W) remain.
	st.Hosts[0].VMs = []int{0}
	p := &Policy{Detector: THR{0.8}, Selector: MMT{}}
	if h := p.FindHost(st, 4, nil); h != 3 {
		t.Errorf("FindHost = %d, want 3", h)
	}
	if h := p.FindHost(st, 4, []bool{false, false, false, true, false}); h != 4 {
		t.Errorf("FindHost excluding 3 = %d, want 4", h)
	}
}

func TestParseName(t *testing.T) {
	for _, s := range []string{"thr-mmt-0.8", "iqr-mmt-1.5", "mad-mmt-2.5", "lr-mmt-1.2", "lrr-mmt-1.2", "thr_mc_0.9", "mad-rs-2", "lr-mu-1.2"} {
		n, err := ParseName(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if _, err := NewPolicy(n, 1); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"thr-mmt", "want DETECTOR-SELECTOR-PARAMETER"},
		{"foo-bar-x", `unknown detector "foo"`},
		{"foo-bar-x", `unknown VM selector "bar"`},
		{"foo-bar-x", `parameter "x" is not a number`},
		{"thr-mmt-1.2", "threshold 1.2 must be in (0, 1]"},
	} {
		_, err := ParseName(c.in)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseName(%q) = %v, want it to say %q", c.in, err, c.msg)
		}
	}
	if n, _ := ParseName("iqr_mmt_1.5"); n.String() != "iqr-mmt-1.5" {
		t.Errorf("String = %q", n.String())
	}
}
