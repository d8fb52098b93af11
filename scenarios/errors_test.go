package scenarios_test

import (
	"errors"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scenarios"
)

// base is a valid scenario of six lines; rows append from line 7.
const base = `name: t
zones: [{name: a, racks: [r1, r2]}, {name: b, racks: [r3]}]
host_classes: [{name: std, cpus: 16, memory: 64GiB, nics: {count: 2, speed: 10Gbit/s}}]
hosts:
  - {names: "h[1-2]", class: std, rack: r1}
  - {names: h3, class: std, rack: r3}
`

// testFile names every parsed text, so trace paths resolve under testdata.
const testFile = "testdata/t.yaml"

// parseErrors parses text and returns its errors, failing if there are none
// or if they are not a *scenarios.Errors.
func parseErrors(text string) *scenarios.Errors {
	GinkgoHelper()
	sc, err := scenarios.Parse(testFile, []byte(text))
	Expect(err).To(HaveOccurred(), "parsed without error")
	Expect(sc).To(BeNil())
	var errs *scenarios.Errors
	Expect(errors.As(err, &errs)).To(BeTrue(), "error is %T", err)
	Expect(*errs).NotTo(BeEmpty())
	return errs
}

// carets shows each error of the scenario under its source line.
func carets(text string, errs *scenarios.Errors) string {
	lines := strings.Split(text, "\n")
	var b strings.Builder
	for _, e := range *errs {
		if e.Pos.File == testFile && e.Pos.Line >= 1 && e.Pos.Line <= len(lines) {
			fmt.Fprintf(&b, "%s\n%s^ %s\n", lines[e.Pos.Line-1], strings.Repeat(" ", max(0, e.Pos.Column-1)), e.Error())
		} else {
			fmt.Fprintf(&b, "%s\n", e.Error())
		}
	}
	return b.String()
}

var _ = Describe("Parse errors", func() {
	DescribeTable("reports each class of bad input at its place",
		func(text, want string) {
			errs := parseErrors(text)
			Expect(errs.Error()).To(ContainSubstring(want), "where:\n%s", carets(text, errs))
		},
		// Syntax and structure.
		Entry("YAML syntax", base+"vms: [{names: a}\n", "testdata/t.yaml:7:6: YAML syntax error: sequence end token ']' not found"),
		Entry("YAML syntax in flow mapping without a line from yaml.v3", base+"events: [{at: 1m, host_crash: h[1-2]}]\n", "testdata/t.yaml:7:32: YAML syntax error: ',' or '}' must be specified"),
		Entry("tab indentation", base+"sim:\n\tseed: 1\n", `testdata/t.yaml:8:1: YAML syntax error: found character '\t' that cannot start any token`),
		Entry("empty file", "", "testdata/t.yaml:1:1: the file is empty"),
		Entry("root is not a mapping", "- a\n- b\n", "testdata/t.yaml:1:1: a scenario must be a mapping of keys"),
		Entry("two documents", base+"---\nname: u\n", "testdata/t.yaml:7:1: a second YAML document starts here"),
		Entry("duplicate key", base+"name: u\n", `testdata/t.yaml:7:1: duplicate key "name" (first at line 1)`),
		Entry("recursive alias", base+"policy: &p {params: *p}\n", "testdata/t.yaml:7:21: policy.params.params: alias *p refers to a value that contains it"),
		Entry("a parameter of another policy", base+"policy: {name: balance, params: {balance: {margin: 0.2}}}\n",
			"testdata/t.yaml:7:52: policy.params.balance.margin: not a parameter of balance (known: cooldown, cost_per_gib, cpu_weight, dests, memory_weight, min_gain, sources)"),
		Entry("a parameter of the wrong kind", base+"policy: {params: {disaster: {margin: ten}}}\n",
			`testdata/t.yaml:7:38: policy.params.disaster.margin: want a number, got "ten"`),
		Entry("an unknown policy's parameters", base+"policy: {params: {balanse: {cooldown: 1m}}}\n",
			`testdata/t.yaml:7:19: policy.params.balanse: unknown policy "balanse"; did you mean "balance"?`),
		Entry("flat parameters, as before they were per policy", base+"policy: {params: {cooldown: 1m}}\n",
			"testdata/t.yaml:7:29: policy.params.cooldown: expected the parameters of policy cooldown as a mapping (params: {balance: {cooldown: 10m}}), got"),

		// Unknown fields, anywhere.
		Entry("unknown top-level field", base+"vmz: []\n", `testdata/t.yaml:7:1: unknown field "vmz" in scenario; did you mean "vms"?`),
		Entry("unknown field in a host class", strings.Replace(base, "cpus: 16", "cpuz: 16", 1), `testdata/t.yaml:3:28: host_classes[0]: unknown field "cpuz" in host class; did you mean "cpus"?`),
		Entry("unknown field in an event", base+"events: [{at: 1m, host_crash: h1, force: true}]\n", `testdata/t.yaml:7:35: events[0]: unknown field "force" in event`),
		Entry("unknown field in a migrate event", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB}]\nevents: [{at: 1m, migrate: {vm: v, to: h2, speed: 1}}]\n", `testdata/t.yaml:8:44: events[0].migrate: unknown field "speed" in migrate event`),
		Entry("missing required field", strings.Replace(base, ", rack: r3", "", 1), `testdata/t.yaml:6:5: hosts[1]: missing required field "rack" in host`),
		Entry("required field without value", base+"vms: [{names: v, hosts: ~, vcpus: 1, memory: 1GiB}]\n", "testdata/t.yaml:7:25: vms[0].hosts: needs a value"),

		// Types and units.
		Entry("wrong type", base+"sim: {seed: abc}\n", `testdata/t.yaml:7:13: sim.seed: expected an integer, got "abc"`),
		Entry("mapping where a list belongs", base+"vms: {names: v}\n", "testdata/t.yaml:7:6: vms: expected a list, got a mapping"),
		Entry("bad size", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 4XB}]\n", `testdata/t.yaml:7:47: vms[0].memory: bad size "4XB": unknown unit "XB"`),
		Entry("bad rate", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB, dirty_rate: 5MiB/z}]\n", `testdata/t.yaml:7:65: vms[0].dirty_rate: bad rate "5MiB/z": unknown unit "MiB/z"`),
		Entry("bad duration", base+"sim: {duration: 5}\n", `testdata/t.yaml:7:17: sim.duration: bad duration "5": missing unit`),
		Entry("bad enum", base+"policy: {tls: maybe}\n", `testdata/t.yaml:7:15: policy.tls: unknown value "maybe" (want matching, required or off)`),
		Entry("policy name", base+"policy: {name: balanse}\n", `testdata/t.yaml:7:16: policy.name: unknown value "balanse" (want "", balance, consolidate, greedy-cv, or DETECTOR-SELECTOR-PARAMETER such as thr-mmt-0.8)`),
		Entry("a consolidation policy's name", base+"policy: {name: thr-mmt-1.5}\n", `testdata/t.yaml:7:16: policy.name: policy "thr-mmt-1.5": thr: threshold 1.5 must be in (0, 1]`),
		Entry("migration on_limit", base+"migration: {on_limit: explode}\n", `testdata/t.yaml:7:23: migration.on_limit: unknown value "explode" (want abort, force or postcopy)`),
		Entry("host security", strings.Replace(base, "rack: r3}", "rack: r3, security: tsl}", 1), `testdata/t.yaml:6:49: hosts[1].security: unknown value "tsl" (want tls, tcp or invalid)`),
		Entry("negative policy number", base+"policy: {max_moves_per_round: -1}\n", "testdata/t.yaml:7:31: policy.max_moves_per_round: must not be negative, got -1"),

		// Numbers that make no sense.
		Entry("cpus <= 0", strings.Replace(base, "rack: r3}", "rack: r3, cpus: 0}", 1), "testdata/t.yaml:6:45: hosts[1].cpus: must be at least 1, got 0"),
		Entry("host memory <= 0", strings.Replace(base, "memory: 64GiB", "memory: 0", 1), "testdata/t.yaml:3:46: host_classes[0].memory: must be more than 0"),
		Entry("vcpus <= 0", base+"vm_classes: [{name: x, vcpus: 0, memory: 1GiB}]\n", "testdata/t.yaml:7:31: vm_classes[0].vcpus: must be at least 1, got 0"),
		Entry("resident > memory", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB, resident: 2GiB}]\n", "testdata/t.yaml:7:63: vms[0].resident: resident 2GiB is more than memory 1GiB"),
		Entry("wss > resident", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 2GiB, resident: 1GiB, wss: 1.5GiB}]\n", "testdata/t.yaml:7:74: vms[0].wss: wss 1.5GiB is more than resident 1GiB"),
		Entry("demand above vcpus", base+"vms: [{names: v, hosts: h1, vcpus: 2, memory: 1GiB, cpu: 3}]\n", "testdata/t.yaml:7:58: vms[0].cpu: demand 3 cores is more than vcpus 2"),
		Entry("random walk out of bounds", base+"vms: [{names: v, hosts: h1, vcpus: 2, memory: 1GiB, cpu: {random_walk: {start: 3, step: 1, max: 2}}}]\n", "testdata/t.yaml:7:80: vms[0].cpu.random_walk.start: start 3 is outside [min 0, max 2]"),
		Entry("missing host figures", strings.Replace(base, "memory: 64GiB, ", "", 1), `testdata/t.yaml:5:5: hosts[0]: hosts h[1-2] have no memory; set it here or in host class "std"`),
		Entry("missing VM figures", base+"vms: [{names: v, hosts: h1, vcpus: 1}]\n", "testdata/t.yaml:7:7: vms[0]: VMs v have no memory; set it here or in a VM class"),

		// Ranges.
		Entry("reversed range", base+"vms: [{names: \"v[05-01]\", hosts: h1, vcpus: 1, memory: 1GiB}]\n", `testdata/t.yaml:7:15: vms[0].names: bad range "v[05-01]": start 05 is greater than end 01`),
		Entry("unclosed range", base+"vms: [{names: \"v[01-05\", hosts: h1, vcpus: 1, memory: 1GiB}]\n", `testdata/t.yaml:7:15: vms[0].names: bad range "v[01-05": missing "]"`),
		Entry("range of letters", base+"vms: [{names: \"v[a-c]\", hosts: h1, vcpus: 1, memory: 1GiB}]\n", `vms[0].names: bad range "v[a-c]": "a" is not a decimal number`),

		// Duplicate names point at the second and name the first's line.
		Entry("duplicate host", base+"  - {names: \"h[2-3]\", class: std, rack: r1}\n", `testdata/t.yaml:7:13: hosts[2].names: duplicate host "h2" (first defined at line 5), and 1 more`),
		Entry("duplicate VM", base+"vms:\n  - {names: v1, hosts: h1, vcpus: 1, memory: 1GiB}\n  - {names: [v2, v1], hosts: h1, vcpus: 1, memory: 1GiB}\n", `testdata/t.yaml:9:18: vms[1].names: duplicate VM "v1" (first defined at line 8)`),
		Entry("duplicate host class", base+"host_classes: []\n", `duplicate key "host_classes"`),
		Entry("duplicate class name", strings.Replace(base, "host_classes: [{name: std,", "host_classes: [{name: std, cpus: 1}, {name: std,", 1), `testdata/t.yaml:3:45: host_classes[1].name: duplicate host class "std" (first defined at line 3)`),
		Entry("duplicate VM class", base+"vm_classes: [{name: x}, {name: x}]\n", `testdata/t.yaml:7:32: vm_classes[1].name: duplicate VM class "x" (first defined at line 7)`),
		Entry("duplicate zone", strings.Replace(base, "{name: b,", "{name: a,", 1), `testdata/t.yaml:2:44: zones[1].name: duplicate zone "a" (first defined at line 2)`),
		Entry("duplicate rack", strings.Replace(base, "racks: [r3]", "racks: [r2, r3]", 1), `testdata/t.yaml:2:55: zones[1].racks: duplicate rack "r2" (first defined at line 2)`),
		Entry("duplicate link", base+"network:\n  topology: explicit\n  links:\n    - {name: l1, from: h1, to: sw, bandwidth: 1Gbit/s}\n    - {name: l1, from: h2, to: sw, bandwidth: 1Gbit/s}\n", `testdata/t.yaml:11:14: network.links[1].name: duplicate link "l1" (first defined at line 10)`),
		Entry("leaf-spine link names clash", strings.Replace(base, "racks: [r3]", "racks: [r3, h2]", 1), `testdata/t.yaml:2:59: zones[1].racks: rack "h2" has the name of host "h2" (line 5); leaf-spine names links after hosts and racks, so they must differ`),
		Entry("empty names", base+"vms: [{names: v, hosts: [], vcpus: 1, memory: 1GiB}]\n", "testdata/t.yaml:7:25: vms[0].hosts: needs at least one name"),
		Entry("duplicate group", base+"groups: [{name: g, kind: affinity}, {name: g, kind: affinity}]\n", `testdata/t.yaml:7:44: groups[1].name: duplicate group "g" (first defined at line 7)`),

		// Dangling references.
		Entry("unknown host class", strings.Replace(base, "class: std, rack: r3", "class: sdt, rack: r3", 1), `testdata/t.yaml:6:24: hosts[1].class: unknown host class "sdt"; did you mean "std"?`),
		Entry("unknown VM class", base+"vms: [{names: v, class: web, hosts: h1}]\n", `testdata/t.yaml:7:25: vms[0].class: unknown VM class "web"`),
		Entry("unknown zone", strings.Replace(base, "rack: r3}", "rack: r3, zone: c}", 1), `testdata/t.yaml:6:45: hosts[1].zone: unknown zone "c" (known: a, b)`),
		Entry("unknown rack", strings.Replace(base, "rack: r3}", "rack: r9}", 1), `testdata/t.yaml:6:35: hosts[1].rack: unknown rack "r9"; declare it in a zone's racks; did you mean "r1"?`),
		Entry("unknown host", base+"vms: [{names: v, hosts: [h1, h7], vcpus: 1, memory: 1GiB}]\n", `testdata/t.yaml:7:30: vms[0].hosts: unknown host "h7"`),
		Entry("unknown VM", base+"events: [{at: 1m, migrate: {vm: nope, to: h1}}]\n", `testdata/t.yaml:7:33: events[0].migrate.vm: unknown VM "nope"`),
		Entry("unknown destination", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB}]\nevents: [{at: 1m, migrate: {vm: v, to: h9}}]\n", `testdata/t.yaml:8:40: events[0].migrate.to: unknown host "h9"`),
		Entry("unknown link", base+"events: [{at: 1m, link_down: r2}]\n", `testdata/t.yaml:7:30: events[0].link_down: unknown link "r2" (leaf-spine links are named after hosts and racks)`),
		Entry("unknown zone in disaster", base+"events: [{at: 1m, disaster_warning: {zone: c, fails_at: 2m}}]\n", `testdata/t.yaml:7:44: events[0].disaster_warning.zone: unknown zone "c"`),
		Entry("unknown group", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB, group: g}]\n", `testdata/t.yaml:7:60: vms[0].group: unknown group "g"; declare it under groups`),
		Entry("unknown group member", base+"groups: [{name: g, kind: affinity, vms: [x]}]\n", `testdata/t.yaml:7:42: groups[0].vms: unknown VM "x"`),
		Entry("missing trace file", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB, cpu: {trace: nope.csv}}]\n", `testdata/t.yaml:7:66: vms[0].cpu.trace: trace file "testdata/nope.csv" does not exist`),
		Entry("bad value in a trace file", base+"vms: [{names: v, hosts: h1, vcpus: 4, memory: 1GiB, cpu: {trace: traces/bad.csv}}]\n", `testdata/traces/bad.csv:4:1: bad value "x": expected a number of cores`),
		Entry("two columns in a trace file", base+"vms: [{names: v, hosts: h1, vcpus: 4, memory: 1GiB, cpu: {trace: traces/bad.csv}}]\n", `testdata/traces/bad.csv:6:3: expected one column, got 2`),

		// Placement and topology.
		Entry("rack not in zone", strings.Replace(base, "rack: r3}", "rack: r3, zone: a}", 1), `testdata/t.yaml:6:35: hosts[1].rack: rack "r3" is not in zone "a" (it is in zone "b"; zone "a" has racks r1, r2)`),
		Entry("memory overflow", base+"vms: [{names: \"v[1-5]\", hosts: h1, vcpus: 1, memory: 16GiB}]\n", `testdata/t.yaml:7:32: vms[0].hosts: VMs placed on host "h1" need 80GiB of memory but it has 64GiB (it is full from VM "v5" on)`),
		Entry("links with leaf-spine", base+"network: {links: [{name: l, from: h1, to: h2, bandwidth: 1Gbit/s}]}\n", "testdata/t.yaml:7:18: network.links: links are only allowed with topology explicit"),
		Entry("unreachable host", base+"network:\n  topology: explicit\n  links: [{name: l1, from: h1, to: sw, bandwidth: 1Gbit/s}, {name: l2, from: h2, to: sw, bandwidth: 1Gbit/s}]\n", `testdata/t.yaml:6:13: hosts[1].names: host "h3" is unreachable from host "h1": no path of links joins them`),
		Entry("link to itself", base+"network:\n  topology: explicit\n  links: [{name: l1, from: h1, to: h1, bandwidth: 1Gbit/s}]\n", `testdata/t.yaml:9:36: network.links[0].to: link "l1" connects "h1" to itself`),
		Entry("bad MAC", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB, mac: \"52:54:00:zz:00:01\"}]\n", `testdata/t.yaml:7:58: vms[0].mac: bad MAC address "52:54:00:zz:00:01"`),
		Entry("MAC clash", base+"vms:\n  - {names: a, hosts: h1, vcpus: 1, memory: 1GiB, mac: \"52:54:00:00:00:05\"}\n  - {names: \"b[1-2]\", hosts: h1, vcpus: 1, memory: 1GiB, mac: \"52:54:00:00:00:04\"}\n", `testdata/t.yaml:9:63: vms[1].mac: VM "b2" gets MAC 52:54:00:00:00:05, already given to VM "a"`),

		// Events.
		Entry("event at negative time", base+"events: [{at: -1m, host_crash: h1}]\n", "testdata/t.yaml:7:15: events[0].at: must not be negative, got -1m"),
		Entry("event after the end", base+"events: [{at: 2h, host_crash: h1}]\n", "testdata/t.yaml:7:15: events[0].at: at 2h is after the end of the run (sim.duration is 1h)"),
		Entry("event with two kinds", base+"events: [{at: 1m, host_crash: h1, maintenance: h2}]\n", "testdata/t.yaml:7:48: events[0].maintenance: event has two kinds, host_crash and maintenance; write one event per kind"),
		Entry("event with no kind", base+"events: [{at: 1m}]\n", "testdata/t.yaml:7:10: events[0]: event has no kind; add one of migrate, host_crash"),
		Entry("event without at", base+"events: [{host_crash: h1}]\n", `testdata/t.yaml:7:10: events[0]: missing required field "at" in event`),
		Entry("disaster fails before warning", base+"events: [{at: 5m, disaster_warning: {zone: b, fails_at: 1m}}]\n", "testdata/t.yaml:7:57: events[0].disaster_warning.fails_at: fails_at 1m is before the warning at 5m"),
		Entry("load spike factor", base+"vms: [{names: v, hosts: h1, vcpus: 1, memory: 1GiB}]\nevents: [{at: 5m, load_spike: {vms: v, factor: 0, for: 1m}}]\n", "testdata/t.yaml:8:48: events[0].load_spike.factor: must be more than 0 and at most 1000, got 0"),
		Entry("many unknown hosts, counted", base+"events: [{at: 5m, maintenance: \"q[1-9]\"}]\n", `testdata/t.yaml:7:32: events[0].maintenance: and 6 more unknown hosts`),
		Entry("unknown host in maintenance", base+"events: [{at: 5m, maintenance: \"h[3-4]\"}]\n", `testdata/t.yaml:7:32: events[0].maintenance: unknown host "h4"`),
	)

	It("reports five different errors at once, sorted by position", func() {
		text := base + `vms:
  - {names: "v[1-2]", class: nope, hosts: h1}
  - {names: w, hosts: h9, vcpus: 1, memory: 1GiB}
events:
  - {at: 1m, host_crash: h1, maintenance: h1}
  - {at: 2h, link_down: h1}
policy: {tls: maybe}
`
		errs := parseErrors(text)
		Expect(errs.Error()).To(Equal(strings.Join([]string{
			`testdata/t.yaml:8:30: vms[0].class: unknown VM class "nope"`,
			`testdata/t.yaml:9:23: vms[1].hosts: unknown host "h9"; did you mean "h1"?`,
			`testdata/t.yaml:11:43: events[0].maintenance: event has two kinds, host_crash and maintenance; write one event per kind`,
			`testdata/t.yaml:12:10: events[1].at: at 2h is after the end of the run (sim.duration is 1h)`,
			`testdata/t.yaml:13:15: policy.tls: unknown value "maybe" (want matching, required or off)`,
		}, "\n")))
		Expect(*errs).To(HaveLen(5))
		Expect((*errs)[0].Pos).To(Equal(scenarios.Pos{File: testFile, Line: 8, Column: 30}))
	})

	It("reports many duplicates of one range once", func() {
		errs := parseErrors(base + "vms:\n  - {names: \"v[1-100]\", hosts: h1, vcpus: 1, memory: 1MiB}\n  - {names: \"v[1-100]\", hosts: h1, vcpus: 1, memory: 1MiB}\n")
		Expect(*errs).To(HaveLen(1))
		Expect(errs.Error()).To(HaveSuffix(`duplicate VM "v1" (first defined at line 8), and 99 more`))
	})

	It("does not pile knock-on errors on a broken definition", func() {
		// The class is unknown, so nobody knows the hosts' memory: only
		// the class is reported, not missing figures or placements.
		errs := parseErrors(strings.Replace(base, "class: std, rack: r3", "class: nope, rack: r3", 1) +
			"vms: [{names: \"v[1-9]\", hosts: h3, vcpus: 1, memory: 16GiB}]\n")
		Expect(*errs).To(HaveLen(1))
		Expect(errs.Error()).To(ContainSubstring(`unknown host class "nope"`))

		// A broken range may have defined the host a VM refers to.
		errs = parseErrors(strings.Replace(base, `"h[1-2]"`, `"h[1-2"`, 1) + "vms: [{names: v, hosts: h2, vcpus: 1, memory: 1GiB}]\n")
		Expect(*errs).To(HaveLen(1))
		Expect(errs.Error()).To(ContainSubstring(`bad range "h[1-2"`))
	})

	It("prints positions without the parts it does not know", func() {
		Expect(scenarios.Error{Pos: scenarios.Pos{File: "f.yaml", Line: 3, Column: 7}, Msg: "m"}.Error()).To(Equal("f.yaml:3:7: m"))
		Expect(scenarios.Error{Pos: scenarios.Pos{File: "f.yaml"}, Msg: "m"}.Error()).To(Equal("f.yaml: m"))
		Expect(scenarios.Error{Msg: "m"}.Error()).To(Equal("m"))
	})

	It("lets errors.As find a single Error", func() {
		_, err := scenarios.Parse(testFile, []byte(base+"vmz: 1\n"))
		var one scenarios.Error
		Expect(errors.As(err, &one)).To(BeTrue())
		Expect(one.Pos.Line).To(Equal(7))
	})
})
