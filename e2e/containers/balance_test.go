package containers_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var imbalanceRE = regexp.MustCompile(`(?m)^imbalance ([0-9.]+) -> ([0-9.]+)$`)

// imbalance is the cluster's imbalance as drover plan --policy balance
// measures it on the live hosts (CV of CPU and memory per pool).
func imbalance(ctx SpecContext, inv string) float64 {
	GinkgoHelper()
	out, code := droverCmd(ctx, "plan", "--inventory", inv, "--policy", "balance")
	Expect(code).To(BeZero(), out)
	m := imbalanceRE.FindStringSubmatch(out)
	Expect(m).NotTo(BeNil(), out)
	v, err := strconv.ParseFloat(m[1], 64)
	Expect(err).NotTo(HaveOccurred())
	return v
}

var _ = Describe("load balancing on container hosts", Label("balance"), func() {
	It("brings guests that burn CPU unevenly, all on one host, under the imbalance threshold with drover run", func(ctx SpecContext) {
		gs := []guest{
			{name: "ct-bal1", mac: "52:54:00:ee:07:01", dirty: 1 << 20, cpu: 0.4},
			{name: "ct-bal2", mac: "52:54:00:ee:07:02", dirty: 1 << 20, cpu: 0.3},
			{name: "ct-bal3", mac: "52:54:00:ee:07:03", dirty: 1 << 20, cpu: 0.2},
			{name: "ct-bal4", mac: "52:54:00:ee:07:04", dirty: 1 << 20, cpu: 0.1},
		}
		was := bootAll("h1", gs)
		const threshold = 0.2 // balance's default
		inv := inventory("")
		before := imbalance(ctx, inv)
		Expect(before).To(BeNumerically(">", threshold), "the guests must start unbalanced")
		out, code := droverCmd(ctx, "run", "--inventory", inv, "--policy", "balance", "--interval", "8s", "--for", "40s",
			"--journal", filepath.Join(GinkgoT().TempDir(), "run.journal.jsonl"))
		Expect(code).To(BeZero(), out)
		after := imbalance(ctx, inv)
		GinkgoWriter.Printf("imbalance %.3f -> %.3f\n", before, after)
		Expect(after).To(BeNumerically("<=", threshold))
		for _, g := range gs {
			on := where(g.name)
			Expect(on).To(HaveLen(1), "%s must run exactly once", g.name)
			expectIntact(on[0], g.name, was[g.name])
		}
	}, SpecTimeout(6*time.Minute))
})
