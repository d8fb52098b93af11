package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler/cluster"
)

func TestReports(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "reports")
}

func sample() *reports.Report {
	return &reports.Report{
		Version: reports.SchemaVersion, Scenario: "s", Seed: 3, DurationMS: 3600000,
		Summary: reports.Summary{
			Migrations: 2, Completed: 1, Rejected: 1, BytesMoved: 3 << 30, TotalDowntimeMS: 120, MaxDowntimeMS: 120,
			ByCause: []reports.CauseCount{{Cause: "evacuate", N: 1}}, Threshold: 0.2, ImbalanceMean: 0.1,
		},
		Migrations: []reports.Migration{{ID: 1, VM: "v1", Source: "h1", Destination: "h2", Outcome: "completed", Bytes: 3 << 30}},
		Plans:      []reports.Plan{{Policy: "evacuate", AtMS: 600000, Moves: 1, Completed: 1, MakespanMS: 9000, PredictedMakespanMS: 9000, LowerBoundMS: 8500}},
		Disasters:  []reports.Disaster{{Zone: "b", VMs: 3, Saved: 2, Lost: 1, Unsavable: 1, DeadlineMet: true}},
		Imbalance:  []float64{0.1},
	}
}

var _ = Describe("Report", func() {
	It("saves report.json and loads it back unchanged", func() {
		dir := GinkgoT().TempDir()
		r := sample()
		path, err := r.Save(filepath.Join(dir, "out"))
		Expect(err).NotTo(HaveOccurred())
		Expect(path).To(Equal(filepath.Join(dir, "out", "report.json")))
		back, err := reports.Load(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(back).To(Equal(r))
	})

	It("names the file in a load error", func() {
		dir := GinkgoT().TempDir()
		p := filepath.Join(dir, "report.json")
		Expect(os.WriteFile(p, []byte("{"), 0o644)).To(Succeed())
		_, err := reports.Load(p)
		Expect(err).To(MatchError(ContainSubstring(p)))
	})

	It("prints the lines a person reads after a run", func() {
		var b bytes.Buffer
		sample().PrintSummary(&b)
		out := b.String()
		Expect(out).To(ContainSubstring("scenario s, seed 3, 1h0m0s simulated"))
		Expect(out).To(ContainSubstring("migrations: 2 (completed 1, forced 0, postcopy 0, aborted 0, failed 0, rejected 1)"))
		Expect(out).To(ContainSubstring("moved 3.00 GiB"))
		Expect(out).To(ContainSubstring("\nmigrations by cause: evacuate 1\n"))
		Expect(out).To(ContainSubstring("plan evacuate at 10m0s: 1 moves (1 completed), makespan 9.0 s (predicted 9.0 s, lower bound 8.5 s)"))
		Expect(out).To(ContainSubstring("disaster zone b: 3 VMs, 2 saved, 1 lost (1 known unsavable in advance), deadline met"))
	})

	DescribeTable("formats sizes and rates for people",
		func(got, want string) { Expect(got).To(Equal(want)) },
		Entry("bytes", reports.FormatBytes(512), "512 B"),
		Entry("KiB", reports.FormatBytes(1536), "1.50 KiB"),
		Entry("GiB", reports.FormatBytes(5<<30), "5.00 GiB"),
		Entry("Gbit/s", reports.FormatRate(1.25e9), "10 Gbit/s"),
		Entry("Tbit/s", reports.FormatRate(1.53e11), "1.22 Tbit/s"),
		Entry("Mbit/s", reports.FormatRate(12.5e6), "100 Mbit/s"),
		Entry("kbit/s", reports.FormatRate(1000), "8 kbit/s"),
	)

	It("converts durations to milliseconds", func() {
		Expect(reports.MS(1500 * time.Microsecond)).To(Equal(1.5))
	})
})

var _ = Describe("Compare", func() {
	It("puts runs side by side, one column each", func() {
		a, b := sample(), sample()
		b.Summary.Migrations = 7
		var out bytes.Buffer
		Expect(reports.Compare(&out, "md", []string{"a", "b"}, []*reports.Report{a, b})).To(Succeed())
		Expect(out.String()).To(HavePrefix("| metric | a | b |\n| --- | --- | --- |\n"))
		Expect(out.String()).To(ContainSubstring("| migrations | 2 | 7 |"))
		Expect(out.String()).To(ContainSubstring("| evacuation makespan / lower bound (s) | 9.0 / 8.5 | 9.0 / 8.5 |"))
		Expect(out.String()).To(ContainSubstring("| disaster: saved / lost / deadline | 2 / 1 / met | 2 / 1 / met |"))

		out.Reset()
		Expect(reports.Compare(&out, "csv", []string{"a", "b"}, []*reports.Report{a, b})).To(Succeed())
		Expect(out.String()).To(ContainSubstring("migrations,2,7\n"))
		Expect(reports.Compare(&out, "html", []string{"a"}, []*reports.Report{a})).To(MatchError(ContainSubstring("unknown format")))
		Expect(reports.Compare(&out, "md", []string{"a"}, []*reports.Report{a, b})).To(HaveOccurred())
	})

	It("shows VMs finished only when a run has some", func() {
		a, b := sample(), sample()
		var out bytes.Buffer
		Expect(reports.Compare(&out, "md", []string{"a", "b"}, []*reports.Report{a, b})).To(Succeed())
		Expect(out.String()).NotTo(ContainSubstring("VMs finished"))
		b.Summary.VMsFinished = 3
		out.Reset()
		Expect(reports.Compare(&out, "md", []string{"a", "b"}, []*reports.Report{a, b})).To(Succeed())
		Expect(out.String()).To(ContainSubstring("| VMs finished (trace at 0%) | 0 | 3 |"))
	})

	It("writes migrations as CSV", func() {
		var out bytes.Buffer
		Expect(sample().WriteMigrationsCSV(&out)).To(Succeed())
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(lines[0]).To(HavePrefix("id,vm,source,destination,cause,"))
		Expect(lines[1]).To(HavePrefix("1,v1,h1,h2,,"))
	})
})

var _ = Describe("Chart", func() {
	It("draws runs into a PNG or an SVG, and refuses other formats", func() {
		r := sample()
		r.SampleTimesMS = []float64{0, 300000, 600000}
		r.Imbalance = []float64{0.5, 0.3, 0.1}
		r.Hosts = []reports.HostSeries{{Name: "h1", CPU: []float64{1.2, 0.9, 0.5}}, {Name: "h2", CPU: []float64{0.2, 0.4, 0.5}}}
		dir := GinkgoT().TempDir()
		png := filepath.Join(dir, "c.png")
		Expect(reports.Chart(png, []string{"a"}, []*reports.Report{r})).To(Succeed())
		data, err := os.ReadFile(png)
		Expect(err).NotTo(HaveOccurred())
		Expect(data[:8]).To(Equal([]byte("\x89PNG\r\n\x1a\n")))
		svg := filepath.Join(dir, "c.svg")
		Expect(reports.Chart(svg, []string{"a"}, []*reports.Report{r})).To(Succeed())
		data, err = os.ReadFile(svg)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring("<svg"))
		Expect(reports.Chart(filepath.Join(dir, "c.gif"), []string{"a"}, []*reports.Report{r})).To(MatchError(ContainSubstring("want .png")))
	})

	It("charts runs without samples, as apply writes them: their migrations in flight", func() {
		r := sample()
		r.Kind = reports.KindApply
		r.Migrations[0].StartMS, r.Migrations[0].EndMS = 1000, 9000
		svg := filepath.Join(GinkgoT().TempDir(), "apply.svg")
		Expect(reports.Chart(svg, []string{"real"}, []*reports.Report{r})).To(Succeed())
		data, err := os.ReadFile(svg)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring("Migrations in flight"))
		Expect(string(data)).NotTo(ContainSubstring("Imbalance"))
	})

	It("starts the y axis at zero when every value is zero, and labels a one-hour run every 5 minutes", func() {
		r := sample()
		r.SampleTimesMS = []float64{0, 1800000, 3600000}
		r.Imbalance = []float64{0, 0, 0}
		r.Hosts = []reports.HostSeries{{Name: "h1", CPU: []float64{0.2, 0.2, 0.2}}}
		svg := filepath.Join(GinkgoT().TempDir(), "zero.svg")
		Expect(reports.Chart(svg, []string{"a"}, []*reports.Report{r})).To(Succeed())
		data, err := os.ReadFile(svg)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).NotTo(ContainSubstring(">-1<"))
		Expect(string(data)).NotTo(ContainSubstring(">-0.5<"))
		for _, label := range []string{">0<", ">5<", ">30<", ">55<", ">60<"} {
			Expect(string(data)).To(ContainSubstring(label))
		}
	})
})

var _ = Describe("The summary says why", func() {
	It("groups the reasons of rejected moves, most frequent first, with an example", func() {
		r := &reports.Report{Scenario: "s", Migrations: []reports.Migration{
			{VM: "a", Outcome: cluster.OutcomeRejected, Reason: "pool: nic ports differ (h1 2x10Gbit, h5 2x25Gbit)"},
			{VM: "b", Outcome: cluster.OutcomeRejected, Reason: "pool: nic ports differ (h2 2x10Gbit, h6 2x25Gbit)"},
			{VM: "c", Outcome: cluster.OutcomeRejected, Reason: "insufficient memory on destination"},
			{VM: "d", Outcome: cluster.OutcomeCompleted},
		}}
		r.SummarizeMigrations()
		var b strings.Builder
		r.PrintSummary(&b)
		Expect(b.String()).To(ContainSubstring("    2 rejected: pool (e.g. a: nic ports differ (h1 2x10Gbit, h5 2x25Gbit))\n" +
			"    1 rejected: insufficient memory on destination (e.g. c: insufficient memory on destination)\n"))
	})
})
