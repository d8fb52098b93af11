package planetlab

import (
	"math"
	"testing"
	"time"
)

func TestHostTypeOfAlternates(t *testing.T) {
	for i, want := range map[int]string{0: "HP ProLiant ML110 G4", 1: "HP ProLiant ML110 G5", 2: "HP ProLiant ML110 G4", 799: "HP ProLiant ML110 G5"} {
		if got := HostTypeOf(i).Name; got != want {
			t.Errorf("HostTypeOf(%d) = %s, want %s", i, got, want)
		}
	}
	// 400 × 2 × 1860 + 400 × 2 × 2660 MIPS.
	var total float64
	for i := range Hosts {
		total += HostTypeOf(i).MIPS()
	}
	if total != 3616000 {
		t.Errorf("total capacity = %v MIPS, want 3616000", total)
	}
}

func TestVMTypeIndexIsByBlock(t *testing.T) {
	tests := []struct {
		name string
		i, n int
		want int
	}{
		// 1052 VMs: blocks of ceil(1052/4) = 263.
		{"first", 0, 1052, 0},
		{"end of first block", 262, 1052, 0},
		{"start of second block", 263, 1052, 1},
		{"last", 1051, 1052, 3},
		// 898 VMs: blocks of ceil(224.5) = 225, the last one 223 long.
		{"898 block 1", 224, 898, 0},
		{"898 block 2", 225, 898, 1},
		{"898 block 4", 675, 898, 3},
		// 5 VMs: blocks of 2, so type 3 is never used.
		{"tiny last", 4, 5, 2},
		{"single", 0, 1, 0},
	}
	for _, tt := range tests {
		got, err := VMTypeIndex(tt.i, tt.n)
		if err != nil || got != tt.want {
			t.Errorf("%s: VMTypeIndex(%d, %d) = %d, %v; want %d", tt.name, tt.i, tt.n, got, err, tt.want)
		}
	}
	for _, bad := range [][2]int{{0, 0}, {5, 5}, {-1, 5}} {
		if _, err := VMTypeIndex(bad[0], bad[1]); err == nil {
			t.Errorf("VMTypeIndex(%d, %d): want an error", bad[0], bad[1])
		}
	}
}

func TestMigrationTime(t *testing.T) {
	// RAM / (1,000,000 kbit/s / 16,000) = RAM / 62.5 s.
	for ram, want := range map[int]time.Duration{
		870:  13920 * time.Millisecond,
		1740: 27840 * time.Millisecond,
		613:  9808 * time.Millisecond,
		1024: 16384 * time.Millisecond, // CloudSim's own note: "around 16 seconds for 1024 MB"
	} {
		if got := MigrationTime(ram, HostTypes[0].Bandwidth); got != want {
			t.Errorf("MigrationTime(%d MiB) = %v, want %v", ram, got, want)
		}
	}
}

func TestPowerTables(t *testing.T) {
	tests := []struct {
		name  string
		model PowerModel
		u     float64
		want  float64
	}{
		{"G4 idle", ML110G4, 0, 86},
		{"G4 full", ML110G4, 1, 117},
		{"G4 step 50%", ML110G4, 0.5, 102},
		{"G4 step 30%", ML110G4, 0.3, 96},
		// 92.6 + (96 − 92.6)/10 · 5 = 94.3
		{"G4 25%", ML110G4, 0.25, 94.3},
		{"G5 idle", ML110G5, 0, 93.7},
		{"G5 full", ML110G5, 1, 135},
		// 93.7 + (97 − 93.7)/10 · 5 = 95.35
		{"G5 5%", ML110G5, 0.05, 95.35},
		// 133 + (135 − 133)/10 · 5 = 134
		{"G5 95%", ML110G5, 0.95, 134},
		// 116 + (121 − 116)/10 · 2 = 117
		{"G5 52%", ML110G5, 0.52, 117},
	}
	for _, tt := range tests {
		got, err := tt.model.Power(tt.u)
		if err != nil || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: Power(%v) = %v, %v; want %v", tt.name, tt.u, got, err, tt.want)
		}
	}
	for _, u := range []float64{-0.01, 1.0001, math.NaN(), math.Inf(1)} {
		if _, err := ML110G4.Power(u); err == nil {
			t.Errorf("Power(%v): want an error", u)
		}
	}
}

func TestUtilizationClampsSmallOvershoot(t *testing.T) {
	for _, tt := range []struct{ used, total, want float64 }{
		{1860, 3720, 0.5},
		{3740, 3720, 1},             // 0.5% over: CloudSim rounds to 1
		{3800, 3720, 3800.0 / 3720}, // 2% over: left for Power to reject
	} {
		if got := Utilization(tt.used, tt.total); got != tt.want {
			t.Errorf("Utilization(%v, %v) = %v, want %v", tt.used, tt.total, got, tt.want)
		}
	}
}

func TestFrameEnergy(t *testing.T) {
	tests := []struct {
		name     string
		from, to float64
		want     float64
	}{
		{"off at start costs nothing", 0, 1, 0},
		// (102 + 117) / 2 · 300
		{"rising", 0.5, 1, 32850},
		// (117 + 86) / 2 · 300: emptied, down to idle power
		{"emptied", 1, 0, 30450},
		{"steady full", 1, 1, 35100},
	}
	for _, tt := range tests {
		got, err := ML110G4.FrameEnergy(tt.from, tt.to, 300)
		if err != nil || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: FrameEnergy(%v, %v, 300) = %v, %v; want %v", tt.name, tt.from, tt.to, got, err, tt.want)
		}
	}
	if _, err := ML110G4.FrameEnergy(0.5, 2, 300); err == nil {
		t.Error("FrameEnergy to 200%: want an error")
	}
}

func TestEnergy(t *testing.T) {
	// G4 frames 0→0.5 (off: 0 J), 0.5→1 (32850 J), 1→0 (30450 J):
	// 63300 J = 0.0175833… kWh.
	got, err := ML110G4.Energy([]float64{0, 0.5, 1, 0}, 300)
	if err != nil || math.Abs(got-63300.0/3.6e6) > 1e-12 {
		t.Errorf("Energy = %v, %v; want %v", got, err, 63300.0/3.6e6)
	}
	// A G5 at 100% for a day: 135 W · 86400 s = 3.24 kWh.
	full := make([]float64, Samples+1)
	for i := range full {
		full[i] = 1
	}
	got, err = ML110G5.Energy(full, Interval.Seconds())
	if err != nil || math.Abs(got-3.24) > 1e-9 {
		t.Errorf("Energy of a full G5 day = %v, %v; want 3.24", got, err)
	}
	if _, err := ML110G5.Energy([]float64{0.5, -1}, 300); err == nil {
		t.Error("Energy with a negative sample: want an error")
	}
}
