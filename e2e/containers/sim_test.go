package containers_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// runReport is what this spec reads of a report.json: sim and apply
// write the same kind.
type runReport struct {
	Migrations []struct {
		VM          string  `json:"vm"`
		Source      string  `json:"source"`
		Destination string  `json:"destination"`
		Outcome     string  `json:"outcome"`
		DurationMS  float64 `json:"duration_ms"`
		DowntimeMS  float64 `json:"downtime_ms"`
		Bytes       int64   `json:"bytes"`
	} `json:"migrations"`
}

func readRun(dir string) runReport {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	Expect(err).NotTo(HaveOccurred())
	var r runReport
	Expect(json.Unmarshal(b, &r)).To(Succeed())
	return r
}

// The simulator's promise, checked on real hosts: the live cluster exported
// as a scenario (drover inventory --out), the same maintenance simulated
// by drover sim, and carried out on the lab by drover plan and apply. Each
// guest must go where the simulator sent it, and take about as long as it
// said. The bound is loose (35%) because the profile was fitted on the
// namespace lab, not on containers sharing two cores with the suite; the
// figures are printed for the record (BENCHMARKS.md, "Container lab").
var _ = Describe("the simulator against the lab", Label("sim"), func() {
	It("simulates a drain of the live cluster as apply then carries it out: same moves, durations within 35%", func(ctx SpecContext) {
		gs := []guest{{name: "ct-sim1", mac: "52:54:00:ee:07:01", dirty: 2 << 20, wss: 32 << 20},
			{name: "ct-sim2", mac: "52:54:00:ee:07:02", dirty: 6 << 20, wss: 16 << 20}}
		was := bootAll("h1", gs)
		// Capped, one at a time, with the default profile: its TCG half
		// (the lab's fit) predicts these emulated guests. The working sets
		// measured as an operator's inventory does by default.
		inv := inventory("migration: {bandwidth: 24MiB/s, max_parallel: 1}\nworking_set: {windows: [1s, 4s], samples: 2}\n")
		dir := GinkgoT().TempDir()
		live := filepath.Join(dir, "live.yaml")
		out, code := droverCmd(ctx, "inventory", "--inventory", inv, "--out", live)
		Expect(code).To(BeZero(), out)
		scen, err := os.ReadFile(live)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(scen)).NotTo(ContainSubstring("\nevents:"), "the live cluster has no events of its own")
		if !lab.KVM {
			Expect(strings.Count(string(scen), "accel: tcg")).To(BeNumerically(">=", len(gs)), "each emulated guest says so")
		}
		// The same maintenance in the simulator: h1 drained at once.
		scen = append(scen, "events:\n  - {at: 0s, maintenance: h1}\n"...)
		Expect(os.WriteFile(live, scen, 0o644)).To(Succeed())
		out, code = droverCmd(ctx, "sim", live, "--out", filepath.Join(dir, "sim"), "--no-progress")
		Expect(code).To(BeZero(), out)
		sim := readRun(filepath.Join(dir, "sim"))

		plan := filepath.Join(dir, "plan.json")
		out, code = droverCmd(ctx, "plan", "--inventory", inv, "--policy", "evacuate", "--hosts", "h1", "--out", plan)
		Expect(code).To(BeZero(), out)
		out, code = droverCmd(ctx, "apply", plan, "--inventory", inv, "--yes", "--out", filepath.Join(dir, "real"))
		Expect(code).To(BeZero(), out)
		real := readRun(filepath.Join(dir, "real"))
		for _, g := range gs {
			expectIntact("h2", g.name, was[g.name])
			expectOnce(g.name, "h2")
		}

		Expect(sim.Migrations).To(HaveLen(len(gs)), "the simulator moves every guest once")
		Expect(real.Migrations).To(HaveLen(len(gs)), "apply moves every guest once")
		var table strings.Builder
		fmt.Fprintf(&table, "%-8s %12s %12s %7s %12s %12s\n", "VM", "sim ms", "real ms", "error", "sim down", "real down")
		for _, s := range sim.Migrations {
			var found bool
			for _, r := range real.Migrations {
				if r.VM != s.VM {
					continue
				}
				found = true
				Expect(s.Outcome).To(Equal("completed"), s.VM)
				Expect(r.Outcome).To(Equal("completed"), r.VM)
				Expect([]string{r.Source, r.Destination}).To(Equal([]string{s.Source, s.Destination}), "%s moved as simulated", s.VM)
				e := (s.DurationMS - r.DurationMS) / r.DurationMS
				fmt.Fprintf(&table, "%-8s %12.0f %12.0f %+6.1f%% %12.0f %12.0f\n", s.VM, s.DurationMS, r.DurationMS, 100*e, s.DowntimeMS, r.DowntimeMS)
				Expect(math.Abs(e)).To(BeNumerically("<=", 0.35), "%s: simulated %.0f ms, took %.0f ms", s.VM, s.DurationMS, r.DurationMS)
			}
			Expect(found).To(BeTrue(), "%s was simulated but not applied", s.VM)
		}
		AddReportEntry("sim against real", table.String())
	}, SpecTimeout(6*time.Minute))
})
