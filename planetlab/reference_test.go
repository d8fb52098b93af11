package planetlab

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/droverlab/drover/reports/consolidation"
)

// TestSLAVMatchesReference checks SLAV against every row CloudSim printed:
// slav = slatah × pdm, each printed to 10 decimals, so they agree to the
// rounding of the three figures.
// Both sets of CloudSim's figures: as published (35 rows) and CloudSim
// run again with the files in byte order (30: no npa, which no order
// changes; planetlab/cloudsim).
func TestSLAVMatchesReference(t *testing.T) {
	for file, n := range map[string]int{"cloudsim-reference.csv": 35, "cloudsim-reference-byteorder.csv": 30} {
		rows := readCSV(t, file)
		checkSLAV(t, file, rows)
		if len(rows)-1 != n {
			t.Errorf("%s: %d rows, want %d", file, len(rows)-1, n)
		}
	}
}

func readCSV(t *testing.T, file string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func checkSLAV(t *testing.T, file string, rows [][]string) {
	t.Helper()
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	num := func(r []string, name string) float64 {
		v, err := strconv.ParseFloat(r[col[name]], 64)
		if err != nil {
			t.Fatalf("%v: %s: %v", r, name, err)
		}
		return v
	}
	for _, r := range rows[1:] {
		slatah, pdm, slav := num(r, "slatah"), num(r, "pdm"), num(r, "slav")
		// |Δ(a·b)| ≤ |a|·Δb + |b|·Δa, plus slav's own rounding.
		tol := 0.5e-10*(slatah+pdm) + 0.5e-10
		if got := consolidation.SLAV(slatah, pdm); math.Abs(got-slav) > tol {
			t.Errorf("%s: %s %s: SLAV(%v, %v) = %.12f, CloudSim printed %v", file, r[0], r[1], slatah, pdm, got, slav)
		}
	}
}

// TestNonPowerAwareEnergyMatchesReference: (400 · 117 + 400 · 135) W ·
// 86100.1 s = 8,678,890,080 J = 2410.8028 kWh, CloudSim's npa row on every
// day.
func TestNonPowerAwareEnergyMatchesReference(t *testing.T) {
	got := NonPowerAwareEnergy(Hosts, AccountedSeconds)
	if math.Abs(got-2410.80280) > 5e-6 {
		t.Errorf("NPA energy = %.5f kWh, CloudSim printed 2410.80280", got)
	}
	// Charging the whole day would not match.
	if whole := NonPowerAwareEnergy(Hosts, Duration.Seconds()); math.Abs(whole-2419.2) > 1e-9 {
		t.Errorf("NPA energy over 24 h = %v, want 2419.2", whole)
	}
}
