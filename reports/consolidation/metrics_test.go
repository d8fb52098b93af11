package consolidation

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestHostTimeAndSLATAH(t *testing.T) {
	h := HostTimeOf([]HostState{
		{Time: 0, Allocated: 100, Requested: 100, Active: true},  // 0–300: active
		{Time: 300, Allocated: 90, Requested: 100, Active: true}, // 300–600: active, violating
		{Time: 600, Active: false},                               // 600–900: off
		{Time: 900, Allocated: 50, Requested: 50, Active: true},  // 900–1200: active
		{Time: 1200, Allocated: 10, Requested: 20, Active: true}, // last entry: no interval
	})
	if h != (HostTime{Active: 900, Violation: 300}) {
		t.Fatalf("HostTimeOf = %+v, want {Active:900 Violation:300}", h)
	}
	// (300 + 0) / (900 + 100)
	got, err := SLATAH([]HostTime{h, {Active: 100}})
	if err != nil || !near(got, 0.3) {
		t.Errorf("SLATAH = %v, %v; want 0.3", got, err)
	}
	if _, err := SLATAH([]HostTime{{}}); err == nil {
		t.Error("SLATAH with no active time: want an error")
	}
}

func TestVMDemandAndPDM(t *testing.T) {
	v := VMDemandOf([]VMState{
		{Time: 0, Allocated: 900, Requested: 1000, InMigration: true}, // 100 MIPS lost to migration for 300 s
		{Time: 300, Allocated: 1000, Requested: 1000},
		{Time: 600, Allocated: 500, Requested: 1000}, // overloaded, not migrating: not PDM
		{Time: 900, Allocated: 0, Requested: 0},
	})
	if v != (VMDemand{Requested: 900000, UnderMigration: 30000}) {
		t.Fatalf("VMDemandOf = %+v, want {Requested:900000 UnderMigration:30000}", v)
	}
	// 30000 / (900000 + 100000)
	got, err := PDM([]VMDemand{v, {Requested: 100000}})
	if err != nil || !near(got, 0.03) {
		t.Errorf("PDM = %v, %v; want 0.03", got, err)
	}
	if _, err := PDM(nil); err == nil {
		t.Error("PDM of nothing: want an error")
	}
}

func TestSLAVAndESV(t *testing.T) {
	if got := SLAV(0.3, 0.03); !near(got, 0.009) {
		t.Errorf("SLAV = %v, want 0.009", got)
	}
	if got := ESV(200, 0.009); !near(got, 1.8) {
		t.Errorf("ESV = %v, want 1.8", got)
	}
	// cloudsim-reference.csv, 20110303 thr_mmt_0.8: slav = slatah × pdm to
	// the 10 digits CloudSim prints.
	if got := SLAV(0.0499680520, 0.0007139069); math.Abs(got-0.0000356725) > 5e-11 {
		t.Errorf("SLAV of the reference row = %.10f, want 0.0000356725", got)
	}
}

func TestShutdowns(t *testing.T) {
	states := func(active ...bool) []HostState {
		var h []HostState
		for i, a := range active {
			h = append(h, HostState{Time: float64(300 * i), Active: a})
		}
		return h
	}
	for _, tt := range []struct {
		name    string
		history []HostState
		want    int
	}{
		{"never on counts once: history starts active", states(false, false), 1},
		{"on, off, on, off", states(true, false, false, true, false), 2},
		{"always on", states(true, true), 0},
		{"empty", nil, 0},
	} {
		if got := Shutdowns(tt.history); got != tt.want {
			t.Errorf("%s: Shutdowns = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestMigrationStats(t *testing.T) {
	s, err := MigrationStatsOf([]float64{13.92, 27.84, 9.808})
	if err != nil || s.Count != 3 || !near(s.Mean, 51.568/3) || s.Max != 27.84 {
		t.Errorf("MigrationStatsOf = %+v, %v; want 3, %v, 27.84", s, err, 51.568/3)
	}
	if s, err := MigrationStatsOf(nil); err != nil || s != (MigrationStats{}) {
		t.Errorf("MigrationStatsOf(nil) = %+v, %v", s, err)
	}
	if _, err := MigrationStatsOf([]float64{1, math.NaN()}); err == nil {
		t.Error("NaN duration: want an error")
	}
}
