package scenarios_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scenarios"
)

// Hostile input: every file here ends at once with an error at its place,
// however much work or memory it would ask for if it were read.
var _ = Describe("Bounds", func() {
	one := func(text string) string {
		GinkgoHelper()
		errs := parseErrors(text)
		return errs.Error()
	}

	DescribeTable("refuses what would make a run unbounded, naming the key and the bound",
		func(row, want string) {
			Expect(one(base + row)).To(ContainSubstring(want))
		},
		Entry("a policy interval of 1ns", "policy: {name: balance, interval: 1ns}\n",
			"testdata/t.yaml:7:35: policy.interval: must be at least 1s, got 1ns"),
		Entry("a sample interval of 1ns", "sim: {sample_interval: 1ns}\n",
			"testdata/t.yaml:7:24: sim.sample_interval: must be at least 1s, got 1ns"),
		Entry("a million hours", "sim: {duration: 1000000h}\n",
			"testdata/t.yaml:7:17: sim.duration: must be at most 8784h (a year), got 1000000h"),
		Entry("more samples than kept", "sim: {duration: 8000h, sample_interval: 1s}\n",
			"sim.sample_interval: 8000h / 1s is 28800000 samples; at most 1000000 are kept"),
		Entry("a random walk every nanosecond", "vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB, cpu: {random_walk: {start: 1, step: 0.1, interval: 1ns}}}]\n",
			"random_walk.interval: must be at least 1s, got 1ns"),
		Entry("a spike of 1e308", "vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB}]\nevents: [{at: 5m, load_spike: {vms: v, factor: 1e308, for: 1m}}]\n",
			"events[0].load_spike.factor: must be more than 0 and at most 1000, got 1e+308"),
	)

	It("refuses deep nesting before the YAML parser sees it, at the place it gets too deep", func() {
		for _, deep := range []string{
			strings.Repeat("[", 100_000),
			"x: " + strings.Repeat("{a: ", 70),
			"x:\n" + strings.Repeat("- ", 100) + "1\n",
		} {
			Expect(one(base + deep)).To(MatchRegexp(`testdata/t\.yaml:[78]:\d+: collections nest more than 64 levels deep here`))
		}
	})

	It("does not count brackets in quotes, comments or block scalars", func() {
		text := base + "name2: \"" + strings.Repeat("[", 200) + "\" # " + strings.Repeat("{", 200) + "\n" +
			"note: |\n  " + strings.Repeat("[", 200) + "\n  more\n"
		Expect(one(text)).NotTo(ContainSubstring("nest"))
	})

	It("refuses a file over the size bound without reading it whole", func() {
		big := base + "# " + strings.Repeat("x", scenarios.MaxFileBytes) + "\n"
		Expect(one(big)).To(ContainSubstring(fmt.Sprintf("the file has more than %d bytes", scenarios.MaxFileBytes)))
	})

	It("says the first 50 problems, then how many more", func() {
		var b strings.Builder
		b.WriteString(base)
		for i := range 1000 {
			fmt.Fprintf(&b, "junk%d: 1\n", i)
		}
		errs := parseErrors(b.String())
		Expect(*errs).To(HaveLen(scenarios.MaxErrors + 1))
		Expect((*errs)[scenarios.MaxErrors].Msg).To(Equal("and 950 more problems"))
	})

	It("validates a 1 MB hostile file quickly", func() {
		// How quickly is BenchmarkHostile's (make bench); this only checks
		// that it ends, with an error.
		_, err := scenarios.Parse(testFile, hostile())
		Expect(err).To(HaveOccurred())
	})

	It("accepts the bounds themselves", func() {
		sc, err := scenarios.Parse(testFile, []byte(base+"sim: {duration: 8784h, sample_interval: 1h}\npolicy: {interval: 1s}\n"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Sim.Duration).To(Equal(366 * 24 * time.Hour))
	})
})

// hostile is a 1 MB file of the worst cheap shapes: junk keys (an error
// each) and aliases.
func hostile() []byte {
	var b strings.Builder
	b.WriteString(base)
	for b.Len() < 1<<20 {
		fmt.Fprintf(&b, "k%d: &a%d [1, 2, 3]\n", b.Len(), b.Len())
	}
	return []byte(b.String())
}

var _ = Describe("Warnings", func() {
	warnings := func(text string) []string {
		GinkgoHelper()
		sc, err := scenarios.Parse(testFile, []byte(text))
		Expect(err).NotTo(HaveOccurred())
		var out []string
		for _, w := range sc.Warnings {
			out = append(out, w.Error())
		}
		return out
	}
	It("says where a valid file sets up refusals for later", func() {
		Expect(warnings(base + "  - {names: h4, class: std, rack: r3, memory: 128GiB}\n" +
			"vms: [{names: \"v[1-2]\", hosts: h1, vcpus: 1, memory: 1GiB, group: g}, {names: big, hosts: h4, vcpus: 1, memory: 80GiB}]\n" +
			"groups: [{name: g, kind: anti-affinity}]\n")).To(ContainElements(
			"testdata/t.yaml:8:79: warning: vm big needs 80GiB, more than any other host has (64GiB): it can never move",
			"testdata/t.yaml:9:17: warning: anti-affinity group g starts with members sharing a host (v1, v2 on h1); every move of them that keeps them together is refused",
		))
	})
	It("says when hosts can never exchange guests, and why", func() {
		Expect(warnings(base + "  - {names: h9, class: std, rack: r3, nics: {count: 2, speed: 25Gbit/s}}\n")).To(ConsistOf(
			ContainSubstring("warning: the hosts form 2 pools that never exchange guests (nic ports differ: h1 (3 hosts), h9 (1 hosts))")))
	})
	It("has nothing to say of a cluster that can balance", func() {
		Expect(warnings(base + "vms: [{names: \"v[1-2]\", hosts: \"h[1-2]\", vcpus: 1, memory: 1GiB}]\n")).To(BeEmpty())
	})
})
