package plreplay

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedDays is where the five days of the reference live outside the
// repository; the shipped day is testdata's 20110303.
const sharedDays = "/work/shared/data/planetlab"

// Policies are the five runs of the reference with a detector and MMT.
var Policies = []string{"thr-mmt-0.8", "iqr-mmt-1.5", "mad-mmt-2.5", "lr-mmt-1.2", "lrr-mmt-1.2"}

// refRow is one row of cloudsim-reference.csv.
type refRow struct {
	energy, slav, slatah, pdm float64
	migrations, shutdowns     int
}

func readReference(t testing.TB) map[string]refRow {
	t.Helper()
	f, err := os.Open("../testdata/cloudsim-reference.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]refRow{}
	for _, r := range rows[1:] {
		num := func(i int) float64 {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		// day,policy,hosts,vms,energy_kwh,migrations,slav,slatah,pdm,host_shutdowns
		out[r[0]+" "+strings.ReplaceAll(r[1], "_", "-")] = refRow{
			energy: num(4), migrations: int(num(5)), slav: num(6), slatah: num(7), pdm: num(8), shutdowns: int(num(9)),
		}
	}
	return out
}

func rel(got, want float64) float64 { return got/want - 1 }

// TestReferenceTable replays every day found × the five policies and
// prints Drover's figures beside CloudSim's with the relative difference
// (go test ./planetlab/plreplay -run ReferenceTable -v). It checks the
// bands measured on the shipped day (see TestShippedDayNearReference).
func TestReferenceTable(t *testing.T) {
	if testing.Short() {
		t.Skip("25 day replays")
	}
	ref := readReference(t)
	days := []string{"../testdata/20110303.tar.gz"}
	for _, d := range []string{"20110306", "20110309", "20110322", "20110325"} {
		p := filepath.Join(sharedDays, d+".tar.gz")
		if _, err := os.Stat(p); err == nil {
			days = append(days, p)
		}
	}
	var b strings.Builder
	fmt.Fprintln(&b, "| day | policy | energy kWh (CloudSim) | Δ | migrations (CloudSim) | Δ | SLATAH % (CloudSim) | Δ | PDM % (CloudSim) | Δ | SLAV ×10⁻⁵ (CloudSim) | Δ | ESV ×10⁻³ | shutdowns (CloudSim) | Δ | mean mig. s |")
	fmt.Fprintln(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var worstE, worstM, worstS float64
	for _, d := range days {
		for _, p := range Policies {
			res := runDay(t, d, p)
			want, ok := ref[res.Day+" "+p]
			if !ok {
				t.Fatalf("no reference for %s %s", res.Day, p)
			}
			de, dm, ds := rel(res.EnergyKWh, want.energy), rel(float64(res.Migrations), float64(want.migrations)), rel(res.SLAV, want.slav)
			worstE, worstM, worstS = max(worstE, math.Abs(de)), max(worstM, math.Abs(dm)), max(worstS, math.Abs(ds))
			fmt.Fprintf(&b, "| %s | %s | %.2f (%.2f) | %+.1f%% | %d (%d) | %+.1f%% | %.2f (%.2f) | %+.1f%% | %.4f (%.4f) | %+.1f%% | %.2f (%.2f) | %+.1f%% | %.2f | %d (%d) | %+.1f%% | %.2f |\n",
				res.Day, p, res.EnergyKWh, want.energy, 100*de, res.Migrations, want.migrations, 100*dm,
				100*res.SLATAH, 100*want.slatah, 100*rel(res.SLATAH, want.slatah), 100*res.PDM, 100*want.pdm, 100*rel(res.PDM, want.pdm),
				1e5*res.SLAV, 1e5*want.slav, 100*ds, 1e3*res.ESV, res.Shutdowns, want.shutdowns, 100*rel(float64(res.Shutdowns), float64(want.shutdowns)), res.MeanMigration)
		}
	}
	t.Logf("\n%s\nworst |Δ|: energy %.1f%%, migrations %.1f%%, SLAV %.1f%%", b.String(), 100*worstE, 100*worstM, 100*worstS)
}
