package scheduler_test

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The dependency rule (README, "Where things live"): the decision core
// imports nothing above it, and a backend knows neither the simulator nor
// the file formats nor the reports. Checked on the package graph the Go
// tool builds (go list -deps), so an import through a third package counts
// as much as a direct one.

const module = "github.com/droverlab/drover"

// layerRules: packages under each key may not depend on any package under
// the values.
var layerRules = map[string][]string{
	"scheduler": {"sim", "backend", "scenarios", "reports", "cmd", "calibrate", "units", "profiles", "e2e", "planetlab"},
	"backend":   {"sim", "scenarios", "reports", "cmd", "calibrate", "e2e"},
	// The container lab (and its Docker client) is for tests and
	// drover-lab only: the product never carries it.
	"sim": {"e2e"}, "scenarios": {"e2e"}, "reports": {"e2e"}, "calibrate": {"e2e"}, "cmd/drover": {"e2e"},
}

// leafRules: each of these packages (itself, not the packages below it)
// may depend on nothing in the module but the listed ones. The paper's
// formulas (reports/consolidation) are shared by the CloudSim-faithful
// reference (planetlab) and the simulator's report, so neither may pull in
// the other's code through them.
var leafRules = map[string][]string{
	"reports/consolidation": nil,
	"planetlab":             {"reports/consolidation"},
}

// leafViolations lists every dependency leafRules forbid in graph.
func leafViolations(graph map[string][]string) []string {
	var out []string
	for pkg, allowed := range leafRules {
		for _, d := range graph[pkg] {
			if !slices.Contains(allowed, d) {
				out = append(out, fmt.Sprintf("%s depends on %s (it may depend on %v only)", pkg, d, allowed))
			}
		}
	}
	slices.Sort(out)
	return out
}

// under reports whether pkg (a path inside the module) is dir or below it.
func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// violations lists every package that breaks rules in graph (package ->
// everything it depends on, module paths only, trimmed of the module).
func violations(graph map[string][]string, rules map[string][]string) []string {
	var out []string
	for pkg, deps := range graph {
		for layer, banned := range rules {
			if !under(pkg, layer) {
				continue
			}
			for _, d := range deps {
				for _, b := range banned {
					if under(d, b) {
						out = append(out, fmt.Sprintf("%s depends on %s (nothing under %s/ may depend on %s/)", pkg, d, layer, b))
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// packageGraph asks the Go tool for every package of the module and all
// its (non-test) dependencies inside the module.
func packageGraph() (map[string][]string, error) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("go list: %v: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("go list: %v", err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], module) {
			continue
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/")
		var deps []string
		for _, d := range f[1:] {
			if strings.HasPrefix(d, module+"/") {
				deps = append(deps, strings.TrimPrefix(d, module+"/"))
			}
		}
		graph[pkg] = deps
	}
	return graph, nil
}

var _ = Describe("The dependency rule", func() {
	It("holds on the module's package graph", func() {
		graph, err := packageGraph()
		Expect(err).NotTo(HaveOccurred())
		Expect(graph).To(HaveKey("scheduler"), "go list saw the module")
		Expect(graph).To(HaveKey("backend/libvirt"))
		Expect(graph["sim"]).To(ContainElement("scheduler"), "Deps are transitive: sim reaches the core")
		Expect(violations(graph, layerRules)).To(BeEmpty())
		Expect(graph).To(HaveKey("reports/consolidation"))
		Expect(leafViolations(graph)).To(BeEmpty())
	})

	It("keeps the reference's leaves leaves", func() {
		Expect(leafViolations(map[string][]string{
			"planetlab":             {"reports/consolidation", "scheduler/cluster"},
			"reports/consolidation": {},
		})).To(Equal([]string{"planetlab depends on scheduler/cluster (it may depend on [reports/consolidation] only)"}))
	})

	It("would catch a violation, direct or through another package", func() {
		graph := map[string][]string{
			"scheduler/plan":  {"scheduler/cluster", "sim/network"},
			"backend/libvirt": {"units", "scenarios", "scheduler/cluster"},
			"sim":             {"scheduler", "scenarios", "reports"},
			"scheduler":       {"scheduler/cluster"},
		}
		Expect(violations(graph, layerRules)).To(Equal([]string{
			"backend/libvirt depends on scenarios (nothing under backend/ may depend on scenarios/)",
			"scheduler/plan depends on sim/network (nothing under scheduler/ may depend on sim/)",
		}))
	})
})
