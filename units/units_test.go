package units_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/units"
)

var _ = Describe("ParseSize", func() {
	DescribeTable("valid sizes",
		func(in string, want int64) {
			got, err := units.ParseSize(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("bytes", "4096", int64(4096)),
		Entry("B", "512B", int64(512)),
		Entry("KB", "2KB", int64(2000)),
		Entry("kB", "2kB", int64(2000)),
		Entry("MB", "3MB", int64(3e6)),
		Entry("GB", "1.5GB", int64(1.5e9)),
		Entry("TB", "2TB", int64(2e12)),
		Entry("KiB", "4KiB", int64(4096)),
		Entry("MiB", "256MiB", int64(256<<20)),
		Entry("GiB", "4GiB", int64(4<<30)),
		Entry("fraction of GiB", "1.5GiB", int64(3<<29)),
		Entry("TiB", "1TiB", int64(1<<40)),
		Entry("space before unit", "8 GiB", int64(8<<30)),
		Entry("underscores", "1_000", int64(1000)),
		Entry("zero", "0", int64(0)),
	)
	DescribeTable("invalid sizes",
		func(in, want string) {
			_, err := units.ParseSize(in)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("empty", "", "empty value"),
		Entry("negative", "-1GiB", "must not be negative"),
		Entry("unknown unit", "4Gb", `unknown unit "Gb"`),
		Entry("lower-case unit", "4gib", `unknown unit "gib"`),
		Entry("no number", "GiB", "must start with a number"),
		Entry("fraction of a byte", "1.5", "bytes must be a whole number"),
		Entry("overflow", "9000000TiB", "too large"),
		Entry("int64 overflow", "99999999999999999999", "too large"),
	)
})

var _ = Describe("ParseRate", func() {
	DescribeTable("valid rates",
		func(in string, want float64) {
			got, err := units.ParseRate(in, 4096)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(BeNumerically("~", want, 1e-9))
		},
		Entry("Gbit/s", "10Gbit/s", 10e9/8),
		Entry("Mbit/s", "100Mbit/s", 100e6/8),
		Entry("Kbit/s", "800Kbit/s", 100e3),
		Entry("bit/s", "8bit/s", 1.0),
		Entry("Gbps", "1Gbps", 1e9/8),
		Entry("Mbps", "8Mbps", 1e6),
		Entry("MiB/s", "200MiB/s", 200.0*(1<<20)),
		Entry("GiB/s", "1GiB/s", float64(1<<30)),
		Entry("MB/s", "50MB/s", 50e6),
		Entry("KB/s", "1KB/s", 1e3),
		Entry("B/s", "42B/s", 42.0),
		Entry("pages/s", "1000pages/s", 1000.0*4096),
		Entry("page/s", "1page/s", 4096.0),
		Entry("plain bytes/s", "1000", 1000.0),
		Entry("fraction", "2.5Gbit/s", 2.5e9/8),
		Entry("zero", "0", 0.0),
	)
	DescribeTable("invalid rates",
		func(in, want string) {
			_, err := units.ParseRate(in, 4096)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("unknown unit", "10Gb/s", `unknown unit "Gb/s"`),
		Entry("size without time", "10MiB", `unknown unit "MiB"`),
		Entry("negative", "-5MB/s", "must not be negative"),
		Entry("empty", " ", "empty value"),
	)
	It("needs a page size for pages/s", func() {
		_, err := units.ParseRate("10pages/s", 0)
		Expect(err).To(MatchError(ContainSubstring("no page size")))
	})
})

var _ = Describe("ExpandNames", func() {
	DescribeTable("valid patterns",
		func(in string, want []string) {
			Expect(scenarios.ExpandNames(in)).To(Equal(want))
		},
		Entry("plain name", "h01", []string{"h01"}),
		Entry("zero padded", "h[01-04]", []string{"h01", "h02", "h03", "h04"}),
		Entry("width of the first number", "h[8-11]", []string{"h8", "h9", "h10", "h11"}),
		Entry("wide", "web[001-003]", []string{"web001", "web002", "web003"}),
		Entry("suffix", "h[1-2]-a", []string{"h1-a", "h2-a"}),
		Entry("single number", "h[7]", []string{"h7"}),
		Entry("list", "h[1,3,5-6]", []string{"h1", "h3", "h5", "h6"}),
		Entry("two groups, leftmost slowest", "r[1-2]h[1-2]", []string{"r1h1", "r1h2", "r2h1", "r2h2"}),
	)
	DescribeTable("invalid patterns",
		func(in, want string) {
			_, err := scenarios.ExpandNames(in)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("reversed", "h[05-01]", "start 05 is greater than end 01"),
		Entry("unclosed", "h[01-04", `missing "]"`),
		Entry("stray ]", "h01]", `unexpected "]"`),
		Entry("nested", "h[1[2]]", `missing "]"`),
		Entry("letters", "h[a-b]", `"a" is not a decimal number`),
		Entry("empty group", "h[]", "empty []"),
		Entry("open end", "h[1-]", "missing number"),
		Entry("empty", "", "empty name"),
		Entry("too many", "h[0-99999999]", "expands to more than 1000000 names"),
		Entry("too many by product", "a[0-9999]b[0-9999]", "expands to more than 1000000 names"),
	)
})

var _ = Describe("FormatSize and FormatRate", func() {
	It("writes short units", func() {
		Expect(units.FormatSize(8 << 30)).To(Equal("8GiB"))
		Expect(units.FormatSize(3 << 29)).To(Equal("1.5GiB"))
		Expect(units.FormatSize(1000)).To(Equal("1000B"))
		Expect(units.FormatRate(50 << 20)).To(Equal("50MiB/s"))
	})
})
