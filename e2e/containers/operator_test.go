package containers_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The operator's contract with drover apply, as a person at a terminal or a
// pipeline meets it: a dry run that moves nothing, --yes off a terminal, an
// expired plan refused, Ctrl-C mid-migration, a journal that one run at a
// time may use, and the report of the run.
var _ = Describe("the operator's path with drover apply", Label("operator"), func() {
	It("dry-runs, refuses what it must, stops on SIGINT with every guest where it was, then resumes to the end", func(ctx SpecContext) {
		gs := []guest{{name: "ct-op1", mac: "52:54:00:ee:08:01", dirty: 2 << 20}, {name: "ct-op2", mac: "52:54:00:ee:08:02", dirty: 2 << 20}}
		was := bootAll("h1", gs)
		// 16 MiB/s, one at a time: a move lasts about ten seconds, long
		// enough to be interrupted.
		inv := inventory("migration: {bandwidth: 16MiB/s, max_parallel: 1}\n")
		dir := GinkgoT().TempDir()
		plan := filepath.Join(dir, "plan.json")
		out, code := droverCmd(ctx, "plan", "--inventory", inv, "--policy", "evacuate", "--hosts", "h1", "--out", plan)
		Expect(code).To(BeZero(), out)
		Expect(out).To(ContainSubstring("evacuate: 2 moves"))

		By("a dry run checks the plan on the live cluster and moves nothing")
		out, code = droverCmd(ctx, "apply", plan, "--inventory", inv, "--dry-run")
		Expect(code).To(BeZero(), out)
		Expect(out).To(ContainSubstring("2 of 2 moves would run"))
		Expect(plan + ".journal.jsonl").NotTo(BeAnExistingFile())
		for _, g := range gs {
			expectOnce(g.name, "h1")
		}

		By("off a terminal, apply wants --yes (exit 2); an expired plan is refused (exit 4) and --replan plans again")
		out, code = droverCmd(ctx, "apply", plan, "--inventory", inv) // stdin is not a terminal under go test
		Expect(code).To(Equal(2), out)
		Expect(out).To(ContainSubstring("--yes"))
		stale := filepath.Join(dir, "stale.json")
		out, code = droverCmd(ctx, "plan", "--inventory", inv, "--policy", "evacuate", "--hosts", "h1", "--expires", "1s", "--out", stale)
		Expect(code).To(BeZero(), out)
		time.Sleep(1500 * time.Millisecond)
		out, code = droverCmd(ctx, "apply", stale, "--inventory", inv, "--yes")
		Expect(code).To(Equal(4), out)
		Expect(out).To(ContainSubstring("the plan expired"))
		out, code = droverCmd(ctx, "apply", stale, "--inventory", inv, "--replan", "--dry-run")
		Expect(code).To(BeZero(), out)
		Expect(out).To(MatchRegexp(`(?m)^planned again`))
		Expect(out).To(ContainSubstring("2 of 2 moves would run"))

		By("SIGINT while the first move copies: exit 130, the move aborted, every guest where it was")
		cmd, buf := droverStart(ctx, "apply", plan, "--inventory", inv, "--yes")
		Eventually(buf.String).WithTimeout(2 * time.Minute).Should(MatchRegexp(`(?m)^round`))
		Expect(cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
		err := cmd.Wait()
		GinkgoWriter.Printf("interrupted apply:\n%s", buf.String())
		var ee *exec.ExitError
		Expect(err).To(BeAssignableToTypeOf(ee))
		Expect(err.(*exec.ExitError).ExitCode()).To(Equal(130))
		Expect(buf.String()).To(MatchRegexp(`(?m)^aborted`))
		for _, g := range gs {
			Eventually(func() []string { return where(g.name) }).WithTimeout(30*time.Second).Should(Equal([]string{"h1"}),
				"%s must run exactly once, on h1, after the interrupt", g.name)
			expectIntact("h1", g.name, was[g.name])
		}

		By("the resumed run holds the journal: a second apply on it is refused (exit 4)")
		run := filepath.Join(dir, "run")
		cmd, buf = droverStart(ctx, "apply", plan, "--inventory", inv, "--resume", "--yes", "--out", run, "--format", "html")
		Eventually(buf.String).WithTimeout(2 * time.Minute).Should(MatchRegexp(`(?m)^start`))
		out, code = droverCmd(ctx, "apply", plan, "--inventory", inv, "--resume", "--yes")
		Expect(code).To(Equal(4), out)
		Expect(out).To(ContainSubstring("in use by another run"))
		Expect(cmd.Wait()).To(Succeed(), buf.String())
		GinkgoWriter.Printf("resumed apply:\n%s", buf.String())
		Expect(buf.String()).NotTo(MatchRegexp(`(?m)^refused`))

		By("every guest on h2 once, memory intact; the run's report compares predicted with measured")
		for _, g := range gs {
			expectIntact("h2", g.name, was[g.name])
			expectOnce(g.name, "h2")
		}
		report, err := os.ReadFile(filepath.Join(run, "report.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(report)).To(ContainSubstring(`"outcome": "completed"`))
		html, err := os.ReadFile(filepath.Join(run, "report.html"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(html)).To(ContainSubstring("<title>Predicted against measured</title>"))
	}, SpecTimeout(8*time.Minute))
})
