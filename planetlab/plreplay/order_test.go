package plreplay

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/droverlab/drover/planetlab"
)

// TestReferenceWithinOrders: the replay's gap to CloudSim is of the size
// the file order makes. CloudSim numbered the VMs in File.listFiles order,
// which the reference does not record, and VM sizes go by block of that
// order (planetlab.VMTypeIndex). Over six seeded orders of the shipped
// day's files, THR-MMT 0.8's energy, migrations and SLAV spread around
// CloudSim's figures, which fall inside the spread; LR-MMT 1.2's energy
// does, its migrations and SLAV do not.
func TestReferenceWithinOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("twelve day replays")
	}
	day, err := planetlab.ReadDay("../testdata/20110303.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if e, m, s := withinOrders(t, day, "thr-mmt-0.8"); !e || !m || !s {
		t.Errorf("thr-mmt-0.8: CloudSim's figures outside the spread of six file orders (energy %v, migrations %v, SLAV %v inside)", e, m, s)
	}
	// LR: energy inside, but CloudSim's migrations and SLAV lie 2–6% below
	// every shuffled order (README, "Where the gaps come from").
	if e, _, _ := withinOrders(t, day, "lr-mmt-1.2"); !e {
		t.Errorf("lr-mmt-1.2: CloudSim's energy outside the spread of six file orders")
	}
}

// withinOrders replays six seeded orders of day under policy and reports
// whether CloudSim's energy, migrations and SLAV lie within their spread.
func withinOrders(t *testing.T, day *planetlab.Day, policy string) (energy, migrations, slav bool) {
	want := readReference(t)[day.Name+" "+policy]
	lowE, highE := math.Inf(1), math.Inf(-1)
	lowM, highM := math.MaxInt, math.MinInt
	lowS, highS := math.Inf(1), math.Inf(-1)
	for seed := range 6 {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		shuffled := planetlab.Day{Name: day.Name, VMs: slices.Clone(day.VMs)}
		r.Shuffle(len(shuffled.VMs), func(i, j int) { shuffled.VMs[i], shuffled.VMs[j] = shuffled.VMs[j], shuffled.VMs[i] })
		res := runPolicy(t, &shuffled, policy, planetlab.Hosts)
		lowE, highE = min(lowE, res.EnergyKWh), max(highE, res.EnergyKWh)
		lowM, highM = min(lowM, res.Migrations), max(highM, res.Migrations)
		lowS, highS = min(lowS, res.SLAV), max(highS, res.SLAV)
	}
	t.Logf("%s, six orders: %.2f–%.2f kWh (CloudSim %.2f), %d–%d migrations (%d), SLAV %.3g–%.3g (%.3g)",
		policy, lowE, highE, want.EnergyKWh, lowM, highM, want.Migrations, lowS, highS, want.SLAV)
	return lowE <= want.EnergyKWh && want.EnergyKWh <= highE, lowM <= want.Migrations && want.Migrations <= highM, lowS <= want.SLAV && want.SLAV <= highS
}

// TestOrderSpreads logs, for every day found and the four distinct
// policies (LRR = LR), the spread of six seeded file orders beside
// CloudSim's figures (PLANETLAB_ORDERS=1; 120 day replays, minutes). Its
// findings are in planetlab/README.md, "Where the gaps come from".
func TestOrderSpreads(t *testing.T) {
	if os.Getenv("PLANETLAB_ORDERS") == "" {
		t.Skip("set PLANETLAB_ORDERS=1 for the spreads of six file orders on every day")
	}
	for _, d := range dayFiles() {
		day, err := planetlab.ReadDay(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range Policies[:4] {
			withinOrders(t, day, p)
		}
	}
}
