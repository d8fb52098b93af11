package plreplay

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDays is where the five days of the reference live outside the
// repository; the shipped day is testdata's 20110303.
const sharedDays = "/work/shared/data/planetlab"

// Policies are the five runs of the reference with a detector and MMT.
var Policies = []string{"thr-mmt-0.8", "iqr-mmt-1.5", "mad-mmt-2.5", "lr-mmt-1.2", "lrr-mmt-1.2"}

func readReference(t testing.TB) map[string]Reference {
	t.Helper()
	f, err := os.Open("../testdata/cloudsim-reference.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := ReadReference(f)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// dayFiles are the shipped day and those of the five shared days found.
func dayFiles() []string {
	days := []string{"../testdata/20110303.tar.gz"}
	for _, d := range []string{"20110306", "20110309", "20110322", "20110325"} {
		p := filepath.Join(sharedDays, d+".tar.gz")
		if _, err := os.Stat(p); err == nil {
			days = append(days, p)
		}
	}
	return days
}

func rel(got, want float64) float64 { return got/want - 1 }

// TestReferenceTable replays every day found × the five policies and
// prints Drover's figures beside CloudSim's with the relative difference
// (PLANETLAB_TABLE=1 go test ./planetlab/plreplay -run ReferenceTable -v),
// the table of planetlab/README.md; PLANETLAB_MIGRATION=precopy times the
// migrations with the pre-copy model instead.
func TestReferenceTable(t *testing.T) {
	tableWanted(t)
	ref := readReference(t)
	days := dayFiles()
	var b strings.Builder
	fmt.Fprintln(&b, "| day | policy | energy kWh (CloudSim) | Δ | migrations (CloudSim) | Δ | SLATAH % (CloudSim) | Δ | PDM % (CloudSim) | Δ | SLAV ×10⁻⁵ (CloudSim) | Δ | ESV ×10⁻³ | shutdowns (CloudSim) | Δ | mean mig. s |")
	fmt.Fprintln(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var worstE, worstM, worstS float64
	for _, d := range days {
		for _, p := range Policies {
			res := runDayModel(t, d, p, os.Getenv("PLANETLAB_MIGRATION"))
			want, ok := ref[res.Day+" "+p]
			if !ok {
				t.Fatalf("no reference for %s %s", res.Day, p)
			}
			de, dm, ds := rel(res.EnergyKWh, want.EnergyKWh), rel(float64(res.Migrations), float64(want.Migrations)), rel(res.SLAV, want.SLAV)
			worstE, worstM, worstS = max(worstE, math.Abs(de)), max(worstM, math.Abs(dm)), max(worstS, math.Abs(ds))
			fmt.Fprintf(&b, "| %s | %s | %.2f (%.2f) | %+.1f%% | %d (%d) | %+.1f%% | %.2f (%.2f) | %+.1f%% | %.4f (%.4f) | %+.1f%% | %.2f (%.2f) | %+.1f%% | %.2f | %d (%d) | %+.1f%% | %.2f |\n",
				res.Day, p, res.EnergyKWh, want.EnergyKWh, 100*de, res.Migrations, want.Migrations, 100*dm,
				100*res.SLATAH, 100*want.SLATAH, 100*rel(res.SLATAH, want.SLATAH), 100*res.PDM, 100*want.PDM, 100*rel(res.PDM, want.PDM),
				1e5*res.SLAV, 1e5*want.SLAV, 100*ds, 1e3*res.ESV, res.Shutdowns, want.Shutdowns, 100*rel(float64(res.Shutdowns), float64(want.Shutdowns)), res.MeanMigration)
		}
	}
	t.Logf("\n%s\nworst |Δ|: energy %.1f%%, migrations %.1f%%, SLAV %.1f%%", b.String(), 100*worstE, 100*worstM, 100*worstS)
}
