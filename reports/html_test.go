package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
)

// golden compares got with testdata/name; UPDATE_GOLDEN=1 rewrites it.
func golden(name string, got []byte) {
	GinkgoHelper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		Expect(os.MkdirAll("testdata", 0o755)).To(Succeed())
		Expect(os.WriteFile(path, got, 0o644)).To(Succeed())
	}
	want, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "UPDATE_GOLDEN=1 go test ./reports/ writes it")
	Expect(string(got)).To(Equal(string(want)), "UPDATE_GOLDEN=1 go test ./reports/ rewrites "+path)
}

var _ = Describe("Golden files", func() {
	It("writes report.json, migrations CSV and the Markdown table as committed", func() {
		var b bytes.Buffer
		Expect(full().WriteJSON(&b)).To(Succeed())
		golden("full.report.json", b.Bytes())
		b.Reset()
		Expect(full().WriteMigrationsCSV(&b)).To(Succeed())
		golden("full.migrations.csv", b.Bytes())
		b.Reset()
		Expect(reports.Compare(&b, "md", []string{"fixture"}, []*reports.Report{full()})).To(Succeed())
		golden("full.report.md", b.Bytes())
	})
})

var _ = Describe("report.html", func() {
	var page string
	BeforeEach(func() {
		var b bytes.Buffer
		Expect(full().WriteHTML(&b)).To(Succeed())
		page = b.String()
	})

	It("is byte-identical for the same report", func() {
		var again bytes.Buffer
		Expect(full().WriteHTML(&again)).To(Succeed())
		Expect(again.String()).To(Equal(page))
	})

	It("needs nothing from the network", func() {
		Expect(page).NotTo(MatchRegexp(`(src|href)="(https?:)?//`))
		Expect(page).NotTo(ContainSubstring("<script"))
		Expect(page).NotTo(ContainSubstring("<link"))
	})

	It("draws every chart as inline SVG, with tooltips", func() {
		for _, id := range []string{"heatmap", "imbalance", "gantt", "gantt-plan", "evacuation", "links", "predicted"} {
			sec := regexp.MustCompile(`(?s)<section id="` + id + `">.*?</section>`).FindString(page)
			Expect(sec).NotTo(BeEmpty(), id)
			Expect(sec).To(ContainSubstring(`<svg class="chart"`), id)
			Expect(sec).NotTo(ContainSubstring(`class="missing"`), id)
		}
		Expect(page).NotTo(ContainSubstring("<?xml"))
		Expect(page).To(ContainSubstring(`<title>v1: h1 → h3, completed, tls (evacuate)`))
		Expect(page).To(ContainSubstring(`<title>0:10:00 maintenance h1</title>`))
		Expect(page).To(ContainSubstring(`<title>0:45:00 zone-failure b</title>`))
		Expect(page).To(ContainSubstring(`<title>a/r1: 2 hosts (h1 … h2)</title>`))
		Expect(page).To(ContainSubstring(`<title>h5 (b/r3): CPU `))
	})

	It("sums the run up and says which deadlines held", func() {
		sum := regexp.MustCompile(`(?s)<section id="summary".*?</section>`).FindString(page)
		for _, want := range []string{"balance, evacuation planned", "seed 7", "3 completed", "1 forced", "1 post-copy",
			"1 aborted", "1 rejected", "21.00 GiB", "261 ms", "worst one 46 ms", ">1</div>",
			"✔ met</span> evacuate plan at 0:10:00", "✘ MISSED</span> disaster plan at 0:40:00",
			"✔ met</span> zone b fails at 0:45:00: 2 of 3 VMs saved, 1 lost"} {
			Expect(sum).To(ContainSubstring(want))
		}
	})

	It("lists every refusal and unplaced VM with its reason", func() {
		Expect(page).To(ContainSubstring("<td>v7</td><td> → h3</td><td>disaster</td><td class=\"bad\">rejected</td><td>insufficient memory: needs 8 GiB, 2 GiB free</td>"))
		Expect(page).To(ContainSubstring("<td>v4</td><td>h2 → h3</td><td>evacuate</td><td class=\"bad\">aborted</td><td>progress-timeout</td>"))
		Expect(page).To(ContainSubstring("<td>disaster at 0:40:00</td><td>v8</td><td>h5</td><td>anti-affinity: shares a group with v5</td>"))
	})

	It("compares predictions with measurements", func() {
		e := full().Errors()
		Expect(e.N).To(Equal(5))
		Expect(e.Ranged).To(Equal(1))
		Expect(e.InRange).To(Equal(1))
		Expect(page).To(ContainSubstring("1 of 1</td>"))
	})

	It("says why a chart is missing for a run that cannot have it", func() {
		r := sample()
		var b bytes.Buffer
		Expect(r.WriteHTML(&b)).To(Succeed())
		Expect(b.String()).To(ContainSubstring("This run sampled no host utilisation"))
		Expect(strings.Count(b.String(), `<svg class="chart"`)).To(BeNumerically("<", 6))
	})

	It("is written beside report.json", func() {
		dir := GinkgoT().TempDir()
		path, err := full().SaveHTML(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(path).To(Equal(filepath.Join(dir, "report.html")))
		data, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(Equal(page))
	})
})
