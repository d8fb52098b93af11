package poweraware

import "testing"

func TestSelectors(t *testing.T) {
	st := build([]Host{host(0.9), host(0)}, []VM{
		vm(0, 500, 1740), vm(0, 100, 870), vm(0, 300, 613), vm(0, 100, 613),
	})
	tests := []struct {
		name string
		s    Selector
		want int
	}{
		{"mmt: least RAM, first of ties", MMT{}, 2},
		{"mu: least requested, first of ties", MU{}, 1},
	}
	for _, tt := range tests {
		if got, ok := tt.s.Select(st, 0); !ok || got != tt.want {
			t.Errorf("%s: %d, %v; want %d", tt.name, got, ok, tt.want)
		}
	}
	for _, s := range []Selector{MMT{}, MU{}, MC{}, NewRS(1)} {
		if v, ok := s.Select(st, 1); ok {
			t.Errorf("%s on an empty host picked %d", s.Name(), v)
		}
	}
}

func TestRandomSelectionIsSeeded(t *testing.T) {
	st := build([]Host{host(0.9)}, []VM{vm(0, 1, 1), vm(0, 1, 1), vm(0, 1, 1), vm(0, 1, 1)})
	a, b := NewRS(7), NewRS(7)
	seen := map[int]bool{}
	for range 50 {
		x, _ := a.Select(st, 0)
		y, _ := b.Select(st, 0)
		if x != y {
			t.Fatalf("same seed, %d then %d", x, y)
		}
		seen[x] = true
	}
	if len(seen) != 4 {
		t.Errorf("50 draws reached %d of 4 VMs", len(seen))
	}
}

func TestMaximumCorrelation(t *testing.T) {
	// VMs 1 and 2 move together (2 = 2·1 + noise of 0.01 in one point);
	// VM 0 does not: regressed on the others, 1 and 2 fit far better.
	noise := []float64{0.3, 0.1, 0.4, 0.1, 0.5, 0.9}
	a := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	b := []float64{0.2, 0.4, 0.6, 0.8, 1.0, 1.21}
	st := build([]Host{host(1)}, []VM{vm(0, 1, 1740, noise...), vm(0, 1, 870, a...), vm(0, 1, 613, b...)})
	r2, ok := correlations(st, st.Hosts[0].VMs)
	if !ok {
		t.Fatal("no correlations")
	}
	if !(r2[1] > 0.99 && r2[2] > 0.99 && r2[0] < r2[1]) {
		t.Errorf("R² %v", r2)
	}
	if v, _ := (MC{}).Select(st, 0); v == 0 {
		t.Errorf("MC picked the uncorrelated VM (R² %v)", r2)
	}
	// Three VMs need three observations (intercept + two regressors):
	// with two, CloudSim's regression throws and MMT decides (VM 2, 613 MiB).
	short := build([]Host{host(1)}, []VM{vm(0, 1, 1740, 0.1, 0.2), vm(0, 1, 870, 0.3, 0.1), vm(0, 1, 613, 0.2, 0.2)})
	if v, _ := (MC{}).Select(short, 0); v != 2 {
		t.Errorf("MC fallback picked %d, want 2", v)
	}
}

func TestNewSelector(t *testing.T) {
	for _, n := range []string{"mmt", "mc", "rs", "mu"} {
		if s, err := NewSelector(n, 1); err != nil || s.Name() != n {
			t.Errorf("NewSelector(%q) = %v, %v", n, s, err)
		}
	}
	if _, err := NewSelector("max", 1); err == nil {
		t.Error("NewSelector(max) accepted")
	}
}
