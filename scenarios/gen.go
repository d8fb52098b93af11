package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"
)

// GenOptions shape a generated scenario.
type GenOptions struct {
	// Hosts and VMs to generate; Hosts must be at least 1.
	Hosts, VMs int
	// Racks defaults to Hosts/25 rounded up; Zones to 2 (at most Racks).
	Racks int
	Zones int
	// Seed drives every choice, and is the scenario's sim.seed.
	Seed uint64
	// Duration of the run, 24h by default; SampleInterval 5m by default.
	Duration       time.Duration
	SampleInterval time.Duration
}

// vmKind is a VM class of the generator's catalog.
type vmKind struct {
	name                    string
	vcpus                   int
	memory, resident, wss   int64 // MiB
	dirty                   int   // MiB/s
	weight                  int
	walkStart, walkStep     float64
	constantShare, maxShare float64 // of vcpus
}

// genCatalog holds realistic guests: memory 2–16GiB, resident 50–90%,
// working set 5–25% of memory, dirty rates 1–200MiB/s.
var genCatalog = []vmKind{
	{name: "tiny", vcpus: 1, memory: 2048, resident: 1536, wss: 256, dirty: 2, weight: 3, walkStart: 0.2, walkStep: 0.05, constantShare: 0.3, maxShare: 1},
	{name: "small", vcpus: 2, memory: 4096, resident: 3072, wss: 512, dirty: 20, weight: 5, walkStart: 0.6, walkStep: 0.1, constantShare: 0.4, maxShare: 1},
	{name: "web", vcpus: 4, memory: 8192, resident: 6144, wss: 1024, dirty: 50, weight: 5, walkStart: 1.5, walkStep: 0.3, constantShare: 0.5, maxShare: 0.9},
	{name: "cache", vcpus: 4, memory: 8192, resident: 7168, wss: 2048, dirty: 120, weight: 2, walkStart: 1, walkStep: 0.2, constantShare: 0.4, maxShare: 0.8},
	{name: "db", vcpus: 8, memory: 16384, resident: 14336, wss: 4096, dirty: 200, weight: 2, walkStart: 3, walkStep: 0.5, constantShare: 0.5, maxShare: 0.9},
	{name: "batch", vcpus: 8, memory: 16384, resident: 9216, wss: 1024, dirty: 80, weight: 1, walkStart: 4, walkStep: 1, constantShare: 0.8, maxShare: 1},
}

// genRack is one generated rack with its hosts and VM entries.
type genRack struct {
	name        string
	zone        int
	first, last int // host numbers
	class       string
	memory      int64 // MiB of each host, when above the class's
	entries     []genEntry
}

// genEntry is one vms entry: count VMs of one kind dealt from host offset.
type genEntry struct {
	kind        int
	first, last int // VM numbers
	offset      int // first host of the rotation, within the rack
	constant    bool
	demand      float64 // constant demand, or walk start
	group       string
}

// Generate writes the YAML text of a large leaf-spine scenario: Hosts hosts
// in Racks racks spread over Zones zones, VMs guests of mixed sizes placed
// round-robin within each rack so that every host's memory fits, CPU demand
// as random walks (most) or constants, and over the day a few load spikes,
// maintenance windows and one disaster warning. Ranges keep the file
// small: one hosts entry per rack and a few vms entries per rack. The same
// options give the same bytes.
func Generate(opts GenOptions) ([]byte, error) {
	if opts.Hosts < 1 {
		return nil, errors.New("scenarios: Generate needs at least one host")
	}
	if opts.VMs < 0 {
		return nil, errors.New("scenarios: Generate needs a VM count of 0 or more")
	}
	if opts.Racks == 0 {
		opts.Racks = (opts.Hosts + 24) / 25
	}
	if opts.Zones == 0 {
		opts.Zones = min(2, opts.Racks)
	}
	if opts.Duration == 0 {
		opts.Duration = 24 * time.Hour
	}
	if opts.SampleInterval == 0 {
		opts.SampleInterval = 5 * time.Minute
	}
	switch {
	case opts.Racks < 1 || opts.Racks > opts.Hosts:
		return nil, fmt.Errorf("scenarios: Generate needs 1 to %d racks, got %d", opts.Hosts, opts.Racks)
	case opts.Zones < 1 || opts.Zones > opts.Racks:
		return nil, fmt.Errorf("scenarios: Generate needs 1 to %d zones, got %d", opts.Racks, opts.Zones)
	case opts.Duration < 0 || opts.SampleInterval < 0:
		return nil, errors.New("scenarios: Generate needs positive durations")
	}
	h := fnv.New64a()
	h.Write([]byte("scenarios.Generate"))
	g := &gen{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, h.Sum64()))}
	g.hostW = max(2, len(strconv.Itoa(opts.Hosts)))
	g.vmW = max(2, len(strconv.Itoa(opts.VMs)))
	g.rackW = max(2, len(strconv.Itoa(opts.Racks)))
	g.layout()
	return g.write(), nil
}

type gen struct {
	opts              GenOptions
	rng               *rand.Rand
	hostW, vmW, rackW int
	racks             []genRack
	hostMemory        int64 // MiB of the standard classes
	largeMemory       int64
}

func (g *gen) zoneName(z int) string {
	if g.opts.Zones <= 26 {
		return string(rune('a' + z))
	}
	return fmt.Sprintf("z%0*d", len(strconv.Itoa(g.opts.Zones)), z+1)
}

func (g *gen) hostName(n int) string { return fmt.Sprintf("h%0*d", g.hostW, n) }
func (g *gen) vmName(n int) string   { return fmt.Sprintf("vm%0*d", g.vmW, n) }

// rangeOf writes prefix[first-last] with zero padding.
func rangeOf(prefix string, width, first, last int) string {
	if first == last {
		return fmt.Sprintf("%s%0*d", prefix, width, first)
	}
	return fmt.Sprintf("%s[%0*d-%0*d]", prefix, width, first, width, last)
}

// layout decides racks, hosts, VM entries and host memory.
func (g *gen) layout() {
	o := g.opts
	perHost := (o.VMs + o.Hosts - 1) / o.Hosts
	// Host memory: room for perHost average guests (about 7GiB each) with
	// a quarter spare, at least 256GiB, in 64GiB steps.
	g.hostMemory = max(256*1024, roundUp(int64(perHost)*7*1024*5/4, 64*1024))
	g.largeMemory = g.hostMemory * 2

	totalWeight := 0
	for _, k := range genCatalog {
		totalWeight += k.weight
	}
	host, vm := 1, 1
	for i := range o.Racks {
		nh := o.Hosts / o.Racks
		if i < o.Hosts%o.Racks {
			nh++
		}
		rk := genRack{
			name:  fmt.Sprintf("r%0*d", g.rackW, i+1),
			zone:  i * o.Zones / o.Racks,
			first: host, last: host + nh - 1,
			class: "std",
		}
		switch {
		case i%4 == 3:
			rk.class = "large"
		case i%8 == 5:
			rk.class = "std-tcp"
		}
		host += nh
		// VMs proportional to hosts, the remainder to the first racks.
		nv := o.VMs*(rk.last)/o.Hosts - o.VMs*(rk.first-1)/o.Hosts
		rk.entries = g.entries(&vm, nv, nh, totalWeight, rk.name)
		g.racks = append(g.racks, rk)
		g.fit(&g.racks[len(g.racks)-1], nh)
	}
}

func roundUp(v, step int64) int64 { return (v + step - 1) / step * step }

// entries splits n VMs of a rack of nh hosts into a few entries.
func (g *gen) entries(vm *int, n, nh, totalWeight int, rack string) []genEntry {
	var out []genEntry
	offset := 0
	if n >= 3 && nh >= 3 && g.rng.IntN(2) == 0 {
		// Three database replicas kept apart.
		e := genEntry{kind: 4, first: *vm, last: *vm + 2, offset: offset, group: "db-" + rack}
		e.constant, e.demand = g.demandOf(&genCatalog[4])
		out = append(out, e)
		*vm += 3
		n -= 3
		offset = (offset + 3) % nh
	}
	for n > 0 {
		count := n
		if n > 8 {
			count = max(1, n/(2+g.rng.IntN(3)))
		}
		w := g.rng.IntN(totalWeight)
		kind := 0
		for i, k := range genCatalog {
			if w < k.weight {
				kind = i
				break
			}
			w -= k.weight
		}
		e := genEntry{kind: kind, first: *vm, last: *vm + count - 1, offset: offset}
		e.constant, e.demand = g.demandOf(&genCatalog[kind])
		out = append(out, e)
		*vm += count
		n -= count
		offset = (offset + count) % nh
	}
	return out
}

// demandOf picks a constant demand or a walk start for a kind.
func (g *gen) demandOf(k *vmKind) (bool, float64) {
	if g.rng.Float64() < 0.25 {
		return true, round2(float64(k.vcpus) * k.constantShare * (0.5 + g.rng.Float64()/2))
	}
	return false, round2(k.walkStart * (0.75 + g.rng.Float64()/2))
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// fit deals the rack's entries over its hosts as the loader will and raises
// the rack's host memory if some host would overflow.
func (g *gen) fit(rk *genRack, nh int) {
	used := make([]int64, nh)
	for _, e := range rk.entries {
		for i := 0; i <= e.last-e.first; i++ {
			used[(e.offset+i)%nh] += genCatalog[e.kind].memory
		}
	}
	capacity := g.hostMemory
	if rk.class == "large" {
		capacity = g.largeMemory
	}
	peak := int64(0)
	for _, u := range used {
		peak = max(peak, u)
	}
	if peak > capacity {
		rk.memory = roundUp(peak, 64*1024)
	}
}

func (g *gen) write() []byte {
	o := g.opts
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Generated by drover (scenarios.Generate): %d hosts, %d VMs, %d racks, %d zones, seed %d.\n", o.Hosts, o.VMs, o.Racks, o.Zones, o.Seed)
	p("name: gen-%dh-%dvm-s%d\n", o.Hosts, o.VMs, o.Seed)
	p("sim: {seed: %d, duration: %s, sample_interval: %s}\n", o.Seed, formatDuration(o.Duration), formatDuration(o.SampleInterval))

	p("zones:\n")
	for z := range o.Zones {
		first, last := -1, -1
		for i, rk := range g.racks {
			if rk.zone == z {
				if first < 0 {
					first = i + 1
				}
				last = i + 1
			}
		}
		p("  - {name: %s, racks: %q}\n", g.zoneName(z), rangeOf("r", g.rackW, first, last))
	}

	p("host_classes:\n")
	p("  - {name: std, cpus: 64, memory: %dGiB, cpu_model: Icelake-Server, nics: {count: 2, speed: 25Gbit/s}, security: tls}\n", g.hostMemory/1024)
	p("  - {name: std-tcp, cpus: 64, memory: %dGiB, cpu_model: Icelake-Server, nics: {count: 2, speed: 25Gbit/s}, security: tcp}\n", g.hostMemory/1024)
	p("  - {name: large, cpus: 128, memory: %dGiB, cpu_model: SapphireRapids, nics: {count: 2, speed: 100Gbit/s}, security: tls}\n", g.largeMemory/1024)

	p("hosts:\n")
	for _, rk := range g.racks {
		mem := ""
		if rk.memory > 0 {
			mem = fmt.Sprintf(", memory: %dGiB", rk.memory/1024)
		}
		p("  - {names: %q, class: %s, rack: %s%s}\n", rangeOf("h", g.hostW, rk.first, rk.last), rk.class, rk.name, mem)
	}

	p("network: {topology: leaf-spine, oversubscription: 3}\n")

	p("vm_classes:\n")
	for _, k := range genCatalog {
		p("  - {name: %s, vcpus: %d, memory: %s, resident: %s, wss: %s, dirty_rate: %dMiB/s}\n",
			k.name, k.vcpus, mib(k.memory), mib(k.resident), mib(k.wss), k.dirty)
	}

	var groups []string
	if o.VMs > 0 {
		p("vms:\n")
	}
	for _, rk := range g.racks {
		nh := rk.last - rk.first + 1
		for _, e := range rk.entries {
			k := &genCatalog[e.kind]
			hosts := g.rotation(rk, e.offset, nh)
			cpu := ""
			if e.constant {
				cpu = strconv.FormatFloat(e.demand, 'f', -1, 64)
			} else {
				cpu = fmt.Sprintf("{random_walk: {start: %g, step: %g, max: %g}}", e.demand, k.walkStep, round2(float64(k.vcpus)*k.maxShare))
			}
			group := ""
			if e.group != "" {
				group = ", group: " + e.group
				groups = append(groups, e.group)
			}
			p("  - {names: %q, class: %s, hosts: %s, cpu: %s%s}\n", rangeOf("vm", g.vmW, e.first, e.last), k.name, hosts, cpu, group)
		}
	}
	if len(groups) > 0 {
		p("groups:\n")
		for _, gr := range groups {
			p("  - {name: %s, kind: anti-affinity}\n", gr)
		}
	}
	g.writeEvents(p)
	p("policy: {name: balance, interval: 5m, tls: matching, evacuation: planned}\n")
	p("migration: {max_parallel: %d, max_per_host_out: 2, max_per_host_in: 2}\n", max(4, o.Hosts/50))
	return b.Bytes()
}

// rotation writes the rack's hosts starting at offset, as one or two ranges.
func (g *gen) rotation(rk genRack, offset, nh int) string {
	all := rangeOf("h", g.hostW, rk.first, rk.last)
	if offset == 0 {
		return strconv.Quote(all)
	}
	tail := rangeOf("h", g.hostW, rk.first+offset, rk.last)
	head := rangeOf("h", g.hostW, rk.first, rk.first+offset-1)
	return fmt.Sprintf("[%q, %q]", tail, head)
}

func mib(v int64) string {
	if v%1024 == 0 {
		return fmt.Sprintf("%dGiB", v/1024)
	}
	return fmt.Sprintf("%dMiB", v)
}

// writeEvents spreads load spikes, maintenance and one disaster warning
// over the run.
func (g *gen) writeEvents(p func(string, ...any)) {
	o := g.opts
	d := o.Duration
	at := func(frac float64) string {
		return formatDuration((time.Duration(float64(d)*frac) / time.Minute) * time.Minute)
	}
	var evs []string
	var entries []genEntry
	for _, rk := range g.racks {
		entries = append(entries, rk.entries...)
	}
	if len(entries) > 0 {
		for i, frac := range []float64{0.15, 0.35, 0.55, 0.8} {
			e := entries[g.rng.IntN(len(entries))]
			evs = append(evs, fmt.Sprintf("  - {at: %s, load_spike: {vms: %q, factor: %g, for: %s}}", at(frac), rangeOf("vm", g.vmW, e.first, e.last),
				[]float64{1.5, 2, 2.5, 3}[i], formatDuration(max(time.Minute, min(time.Hour, d/24)))))
		}
	}
	picked := map[int]bool{}
	for _, frac := range []float64{0.25, 0.45, 0.65} {
		h := 1 + g.rng.IntN(o.Hosts)
		for picked[h] && len(picked) < o.Hosts {
			h = 1 + g.rng.IntN(o.Hosts)
		}
		picked[h] = true
		evs = append(evs, fmt.Sprintf("  - {at: %s, maintenance: %s}", at(frac), g.hostName(h)))
	}
	if o.Zones >= 2 {
		warn := (time.Duration(float64(d)*0.75) / time.Minute) * time.Minute
		fails := warn + min(30*time.Minute, d/8)
		evs = append(evs, fmt.Sprintf("  - {at: %s, disaster_warning: {zone: %s, fails_at: %s}}", formatDuration(warn), g.zoneName(o.Zones-1), formatDuration(fails)))
	}
	if len(evs) == 0 {
		return
	}
	p("events:\n")
	for _, e := range evs {
		p("%s\n", e)
	}
}
