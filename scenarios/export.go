package scenarios

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/droverlab/drover/reports/consolidation"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/units"
)

// ExportOptions shape a scenario written from a cluster snapshot.
type ExportOptions struct {
	// Name of the scenario; "inventory" when empty.
	Name string
	// Comment is written as leading # lines, e.g. "taken from inventory X
	// at <time>"; it may hold several lines.
	Comment string
	// Duration of the simulated run; 1h when zero.
	Duration time.Duration
	// Seed is the scenario's sim.seed; 0 means 1, the format's default.
	Seed uint64
	// Migration, when set, is written as the migration section: the
	// settings real migrations will run with, so plans predict them. Zero
	// fields are left out (the format's defaults apply), except the two
	// timeouts, which are written as they are.
	Migration *scheduler.Migration
	// TLS, when set and not matching, is written as policy.tls: the
	// enforcement real migrations run under, so plans refuse what apply
	// would.
	TLS cluster.TLSMode
}

// Values Export assumes for what a snapshot leaves unknown (zero or empty).
// Each one is marked in the file with a "# unknown: assumed ..." comment.
const (
	// ExportDefaultZone holds hosts without a zone (and whose rack names
	// none either).
	ExportDefaultZone = "default"
	// ExportDefaultNICSpeed is the speed of one NIC port, in bytes/s
	// (10Gbit/s), for hosts without one (and the bandwidth of links
	// without one). Hosts without a port count get one port.
	ExportDefaultNICSpeed = 10e9 / 8
	// ExportDefaultSecurity is the security state of hosts that were not
	// probed: plain TCP, so that no plan relies on certificates nobody
	// checked.
	ExportDefaultSecurity = cluster.Unsecured
	// ExportDefaultGroupKind is the kind of a group a VM names but the
	// snapshot does not declare.
	ExportDefaultGroupKind = cluster.AntiAffinity
)

// Export writes snap as a scenario YAML document that Load accepts: the
// operator's live cluster, ready for `drover plan` and `drover sim`.
//
// Every host and VM gets its own entry, sorted by name; hosts that share a
// Class get a host class holding the fields they all have in common. VMs
// keep their placement, sizes, MAC address, CPU demand (as a constant),
// group and priority; groups and links (an explicit network, when
// snap.Links is not empty; otherwise a non-blocking leaf-spine fabric over
// the hosts' racks) are written as they are. Hosts in maintenance get a
// maintenance event at 0s (so `drover plan --policy evacuate` drains them)
// and hosts that are down a host_crash event at 0s.
//
// Values the snapshot leaves unknown get the loader's default or an
// ExportDefault* value, and values the format cannot hold are bent to fit:
// a VM's second and later MACs (a scenario keeps one per VM), a MAC that is
// malformed or already taken (replaced by a free 52:54:00 address), CPU
// demand above vcpus, resident memory above memory, WSS above resident, and
// a host holding more VM memory than it has (its memory is raised, which
// takes it out of its pool). Every such value carries a YAML comment
// saying what was assumed.
//
// The same snapshot and options give the same bytes. Export checks its
// output with Parse before writing anything, and returns an error, without
// writing, for snapshots it cannot express: no hosts, duplicate or empty
// names, names holding [ or ] (the range syntax) or control characters,
// hosts without CPUs or memory, VMs without memory or on unknown hosts, a
// rack in two zones, or a VM in two groups. Write errors of w are returned
// as they are.
func Export(w io.Writer, snap *cluster.Snapshot, opt ExportOptions) error {
	if snap == nil {
		return fmt.Errorf("scenarios: Export: nil snapshot")
	}
	x := &exporter{opt: opt}
	if err := x.prepare(snap); err != nil {
		return fmt.Errorf("scenarios: Export: %w", err)
	}
	doc, err := x.document()
	if err != nil {
		return fmt.Errorf("scenarios: Export: %w", err)
	}
	var buf bytes.Buffer
	if err := encodeRoot(&buf, doc); err != nil {
		return fmt.Errorf("scenarios: Export: %w", err)
	}
	if _, err := Parse("exported.yaml", buf.Bytes()); err != nil {
		return fmt.Errorf("scenarios: Export wrote a scenario that does not load: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// exporter holds a sorted copy of the snapshot and what Export derived.
type exporter struct {
	opt    ExportOptions
	hosts  []cluster.Host
	vms    []cluster.VM
	groups []cluster.Group
	links  []cluster.Link
	// hostIx maps a host name to its index in hosts; vmIx a VM's.
	hostIx map[string]int
	vmIx   map[string]int
	// vmMem is the memory of the VMs on each host.
	vmMem []int64
	// zone and rack of each host as written, with the comments on them.
	zone, rack         []string
	zoneNote, rackNote []string
	rackGiven          []bool
	// sizeUnknown are the down hosts whose size was assumed.
	sizeUnknown map[string]bool
}

func (x *exporter) prepare(snap *cluster.Snapshot) error {
	x.hosts = slices.Clone(snap.Hosts)
	slices.SortStableFunc(x.hosts, func(a, b cluster.Host) int { return cmp.Compare(a.Name, b.Name) })
	x.vms = slices.Clone(snap.VMs)
	slices.SortStableFunc(x.vms, func(a, b cluster.VM) int { return cmp.Compare(a.Name, b.Name) })
	x.groups = slices.Clone(snap.Groups)
	slices.SortStableFunc(x.groups, func(a, b cluster.Group) int { return cmp.Compare(a.Name, b.Name) })
	x.links = slices.Clone(snap.Links)
	slices.SortStableFunc(x.links, func(a, b cluster.Link) int { return cmp.Compare(a.Name, b.Name) })

	if len(x.hosts) == 0 {
		return fmt.Errorf("the snapshot has no hosts")
	}
	x.hostIx = make(map[string]int, len(x.hosts))
	for i := range x.hosts {
		h := &x.hosts[i]
		if err := checkName("host", h.Name); err != nil {
			return err
		}
		if _, dup := x.hostIx[h.Name]; dup {
			return fmt.Errorf("duplicate host %q", h.Name)
		}
		x.hostIx[h.Name] = i
		if h.State == cluster.HostDown && (h.CPUs < 1 || h.Memory <= 0) {
			// A host that could not be asked: its size is unknown, and a
			// down host takes no guest, so any size will do.
			h.CPUs, h.Memory = max(h.CPUs, 1), max(h.Memory, 1<<30)
			if x.sizeUnknown == nil {
				x.sizeUnknown = map[string]bool{}
			}
			x.sizeUnknown[h.Name] = true
		}
		if h.CPUs < 1 {
			return fmt.Errorf("host %q has no CPUs", h.Name)
		}
		if h.Memory <= 0 {
			return fmt.Errorf("host %q has no memory", h.Name)
		}
	}
	x.vmIx = make(map[string]int, len(x.vms))
	x.vmMem = make([]int64, len(x.hosts))
	for i := range x.vms {
		v := &x.vms[i]
		if err := checkName("VM", v.Name); err != nil {
			return err
		}
		if _, dup := x.vmIx[v.Name]; dup {
			return fmt.Errorf("duplicate VM %q", v.Name)
		}
		x.vmIx[v.Name] = i
		if v.Memory <= 0 {
			return fmt.Errorf("VM %q has no memory", v.Name)
		}
		h, ok := x.hostIx[v.Host]
		if !ok {
			return fmt.Errorf("VM %q is on unknown host %q", v.Name, v.Host)
		}
		x.vmMem[h] += v.Memory
	}
	return x.place()
}

// checkName refuses names the file format cannot hold.
func checkName(what, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("a %s has no name", what)
	case strings.ContainsAny(name, "[]"):
		return fmt.Errorf("%s %q: a name holding [ or ] would read as a range", what, name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%s %q: a name holding control characters", what, name)
	}
	return nil
}

// place settles the zone and rack of every host. A rack names its zone when
// any host in it has one; hosts without a rack share one rack per zone.
func (x *exporter) place() error {
	n := len(x.hosts)
	x.zone, x.rack = make([]string, n), make([]string, n)
	x.zoneNote, x.rackNote = make([]string, n), make([]string, n)
	x.rackGiven = make([]bool, n)
	rackZone := map[string]string{}
	for i := range x.hosts {
		h := &x.hosts[i]
		if err := checkName("rack", h.Rack); h.Rack != "" && err != nil {
			return fmt.Errorf("host %q: %w", h.Name, err)
		}
		if h.Rack == "" || h.Zone == "" {
			continue
		}
		if z, ok := rackZone[h.Rack]; ok && z != h.Zone {
			return fmt.Errorf("rack %q is in zone %q and zone %q (host %q)", h.Rack, z, h.Zone, h.Name)
		}
		rackZone[h.Rack] = h.Zone
	}
	for i := range x.hosts {
		h := &x.hosts[i]
		x.zone[i] = h.Zone
		switch {
		case h.Zone != "":
		case h.Rack != "" && rackZone[h.Rack] != "":
			x.zone[i] = rackZone[h.Rack]
			x.zoneNote[i] = fmt.Sprintf("unknown: zone of rack %s", h.Rack)
		default:
			x.zone[i] = ExportDefaultZone
			x.zoneNote[i] = "unknown: assumed"
		}
		if h.Rack != "" {
			x.rack[i] = h.Rack
			x.rackGiven[i] = true
		}
	}
	for i := range x.hosts {
		if x.rackGiven[i] {
			rackZone[x.rack[i]] = x.zone[i]
		}
	}
	// One made-up rack per zone for hosts without one, named so that it
	// cannot clash with a real rack.
	madeUp := map[string]string{}
	for i := range x.hosts {
		if x.rackGiven[i] {
			continue
		}
		r, ok := madeUp[x.zone[i]]
		if !ok {
			r = x.zone[i] + "-rack"
			for k := 2; ; k++ {
				if _, taken := rackZone[r]; !taken {
					break
				}
				r = fmt.Sprintf("%s-rack%d", x.zone[i], k)
			}
			if err := checkName("rack", r); err != nil {
				return fmt.Errorf("host %q: %w", x.hosts[i].Name, err)
			}
			madeUp[x.zone[i]] = r
			rackZone[r] = x.zone[i]
		}
		x.rack[i] = r
		x.rackNote[i] = "unknown: assumed one rack per zone"
	}
	return nil
}

// document builds the YAML document.
func (x *exporter) document() (yMapping, error) {
	root := yMap()
	name := x.opt.Name
	if name == "" {
		name = "inventory"
	}
	root.add("name", yStr(name), "")
	var head []string
	if c := strings.TrimRight(x.opt.Comment, "\r\n"); c != "" {
		for line := range strings.SplitSeq(c, "\n") {
			head = append(head, strings.TrimRight("# "+strings.TrimRight(line, "\r"), " "))
		}
		head = append(head, "#")
	}
	head = append(head,
		"# A cluster snapshot written by drover. Values marked \"unknown\" were not",
		"# in the snapshot; the comment says what was assumed instead.")
	root.Content[0].HeadComment = strings.Join(head, "\n")

	seed, dur := x.opt.Seed, x.opt.Duration
	if seed == 0 {
		seed = 1
	}
	if dur <= 0 {
		dur = time.Hour
	}
	sim := yFlowMap()
	sim.add("seed", yUint(seed), "")
	sim.add("duration", yStr(formatDuration(dur)), "")
	root.add("sim", sim.Node, "")
	if m := x.opt.Migration; m != nil {
		root.add("migration", migrationNode(m).Node, "")
	}
	if tls := x.opt.TLS; tls != "" && tls != cluster.TLSMatching {
		pol := yMap()
		pol.add("tls", yStr(string(tls)), "as the inventory enforces it")
		root.add("policy", pol.Node, "")
	}

	root.add("zones", x.zones(), "")
	classes, hosts := x.hostEntries()
	if len(classes.Content) > 0 {
		root.add("host_classes", classes, "")
	}
	root.add("hosts", hosts, "")
	root.add("network", x.network(), "")
	vms, err := x.vmEntries()
	if err != nil {
		return yMapping{}, err
	}
	if len(vms.Content) > 0 {
		root.add("vms", vms, "")
	}
	groups, err := x.groupEntries()
	if err != nil {
		return yMapping{}, err
	}
	if len(groups.Content) > 0 {
		root.add("groups", groups, "")
	}
	if ev := x.events(); len(ev.Content) > 0 {
		root.add("events", ev, "")
	}
	return root, nil
}

// encodeBatch is how many entries of a long list are encoded at once: the
// YAML emitter keeps every event of a document, which makes one document
// of 20,000 VMs slow.
const encodeBatch = 256

// encodeRoot writes the root mapping as one encoder would, but encodes its
// long block lists in batches: each batch is a list of its own, indented
// under its key.
func encodeRoot(buf *bytes.Buffer, root yMapping) error {
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind != yaml.SequenceNode || v.Style&yaml.FlowStyle != 0 || len(v.Content) <= encodeBatch ||
			k.HeadComment != "" || k.LineComment != "" || v.LineComment != "" {
			m := yMap()
			m.Content = append(m.Content, k, v)
			if err := encode(buf, m.Node); err != nil {
				return err
			}
			continue
		}
		buf.WriteString(k.Value + ":\n")
		var part bytes.Buffer
		for lo := 0; lo < len(v.Content); lo += encodeBatch {
			part.Reset()
			seq := &yaml.Node{Kind: yaml.SequenceNode, Content: v.Content[lo:min(lo+encodeBatch, len(v.Content))]}
			if err := encode(&part, seq); err != nil {
				return err
			}
			for line := range strings.SplitAfterSeq(part.String(), "\n") {
				if line != "" {
					buf.WriteString("  " + line)
				}
			}
		}
	}
	return nil
}

func encode(buf *bytes.Buffer, n *yaml.Node) error {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	return enc.Close()
}

func (x *exporter) zones() *yaml.Node {
	racks := map[string][]string{}
	for i := range x.hosts {
		if !slices.Contains(racks[x.zone[i]], x.rack[i]) {
			racks[x.zone[i]] = append(racks[x.zone[i]], x.rack[i])
		}
	}
	seq := ySeq()
	for _, z := range sortedKeys(racks) {
		rs := racks[z]
		slices.Sort(rs)
		m := yFlowMap()
		m.add("name", yStr(z), "")
		list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, r := range rs {
			list.Content = append(list.Content, yStr(r))
		}
		m.add("racks", list, "")
		seq.Content = append(seq.Content, m.Node)
	}
	return seq
}

// hostField is one host field as written, with its comment.
type hostField struct {
	key     string
	node    *yaml.Node
	text    string // for comparing hosts of a class
	comment string
}

// hostFields gives the class-able fields of a host, in the format's order.
func (x *exporter) hostFields(i int) []hostField {
	h := &x.hosts[i]
	var out []hostField
	add := func(key string, n *yaml.Node, comment string) {
		out = append(out, hostField{key: key, node: n, text: n.Value, comment: comment})
	}
	add("cpus", yInt(h.CPUs), "")
	mem, note := h.Memory, ""
	if x.vmMem[i] > mem {
		mem = x.vmMem[i]
		note = fmt.Sprintf("live %s, raised to fit the memory of its VMs", units.ExactSize(h.Memory))
	}
	add("memory", yStr(units.ExactSize(mem)), note)
	if h.CPUModel != "" {
		add("cpu_model", yStr(h.CPUModel), "")
	}
	count, speed := h.NICs, h.NICSpeed
	var unknown []string
	if count < 1 {
		count = 1
		unknown = append(unknown, "1 port")
	}
	if !(speed > 0) || math.IsInf(speed, 0) {
		speed = ExportDefaultNICSpeed
		unknown = append(unknown, units.ExactRate(speed, true)+" per port")
	}
	nics := yFlowMap()
	nics.add("count", yInt(count), "")
	nics.add("speed", yStr(units.ExactRate(speed, true)), "")
	note = ""
	if len(unknown) > 0 {
		note = "unknown: assumed " + strings.Join(unknown, ", ")
	}
	out = append(out, hostField{key: "nics", node: nics.Node, text: fmt.Sprint(count, " ", units.ExactRate(speed, true)), comment: note})
	sec, note := h.Security, ""
	switch sec {
	case cluster.Secured, cluster.Unsecured, cluster.Invalid:
	case "":
		sec, note = ExportDefaultSecurity, "unknown (not probed): assumed plain TCP"
	default:
		sec, note = ExportDefaultSecurity, fmt.Sprintf("unknown state %q: assumed plain TCP", string(h.Security))
	}
	add("security", yStr(string(sec)), note)
	if pm, ok := h.Power.(consolidation.PowerModel); ok {
		pw := yFlowMap()
		text := pm.Name
		if pm.Name != "" {
			pw.add("model", yStr(pm.Name), "")
		} else {
			list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, w := range pm.Watts {
				list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(w, 'g', -1, 64)})
			}
			pw.add("watts", list, "")
			text = fmt.Sprint(pm.Watts)
		}
		if h.SwitchOff {
			pw.add("switch_off", &yaml.Node{Kind: yaml.ScalarNode, Value: "true"}, "")
		}
		out = append(out, hostField{key: "power", node: pw.Node, text: fmt.Sprint(text, " ", h.SwitchOff)})
	}
	return out
}

// hostEntries writes host classes (the fields all hosts of a Class share)
// and one entry per host.
func (x *exporter) hostEntries() (classes, hosts *yaml.Node) {
	fields := make([][]hostField, len(x.hosts))
	byClass := map[string][]int{}
	for i := range x.hosts {
		fields[i] = x.hostFields(i)
		if c := x.hosts[i].Class; c != "" {
			byClass[c] = append(byClass[c], i)
		}
	}
	// shared[class][key] is set when every host of the class writes key
	// alike.
	shared := map[string]map[string]bool{}
	classes = ySeq()
	for _, c := range sortedKeys(byClass) {
		members := byClass[c]
		shared[c] = map[string]bool{}
		m := yMap()
		m.add("name", yStr(c), "")
		for _, f := range fields[members[0]] {
			same := true
			for _, i := range members[1:] {
				g, ok := findField(fields[i], f.key)
				if !ok || g.text != f.text || g.comment != f.comment {
					same = false
					break
				}
			}
			if same {
				shared[c][f.key] = true
				m.add(f.key, f.node, f.comment)
			}
		}
		classes.Content = append(classes.Content, m.Node)
	}

	hosts = ySeq()
	for i := range x.hosts {
		h := &x.hosts[i]
		m := yMap()
		note := ""
		switch h.State {
		case "", cluster.HostUp:
		case cluster.HostMaintenance:
			note = "in maintenance: see the maintenance event at 0s"
		case cluster.HostDown:
			note = "down: see the host_crash event at 0s"
			if x.sizeUnknown[h.Name] {
				note = "down, not asked: its size is unknown (assumed 1 CPU, 1GiB); see the host_crash event at 0s"
			}
		default:
			note = fmt.Sprintf("unknown state %q: assumed up", string(h.State))
		}
		m.add("names", yStr(h.Name), note)
		if h.Class != "" {
			m.add("class", yStr(h.Class), "")
		}
		m.add("zone", yStr(x.zone[i]), x.zoneNote[i])
		m.add("rack", yStr(x.rack[i]), x.rackNote[i])
		for _, f := range fields[i] {
			if h.Class != "" && shared[h.Class][f.key] {
				continue
			}
			m.add(f.key, f.node, f.comment)
		}
		hosts.Content = append(hosts.Content, m.Node)
	}
	return classes, hosts
}

func findField(fs []hostField, key string) (hostField, bool) {
	for _, f := range fs {
		if f.key == key {
			return f, true
		}
	}
	return hostField{}, false
}

// network writes the snapshot's links, or a non-blocking leaf-spine fabric
// when it has none.
func (x *exporter) network() *yaml.Node {
	if len(x.links) == 0 {
		m := yMap()
		m.add("topology", yStr(TopologyLeafSpine), "unknown (no links in the snapshot): assumed")
		m.add("oversubscription", yInt(1), "unknown: assumed non-blocking")
		return m.Node
	}
	m := yMap()
	m.add("topology", yStr(TopologyExplicit), "")
	links := ySeq()
	for _, l := range x.links {
		e := yFlowMap()
		e.add("name", yStr(l.Name), "")
		e.add("from", yStr(l.A), "")
		e.add("to", yStr(l.B), "")
		bw := l.Bandwidth
		var unknown []string
		if !(bw > 0) || math.IsInf(bw, 0) {
			bw = ExportDefaultNICSpeed
			unknown = append(unknown, "bandwidth "+units.ExactRate(bw, true))
		}
		e.add("bandwidth", yStr(units.ExactRate(bw, true)), "")
		if l.Latency > 0 {
			e.add("latency", yStr(formatDuration(l.Latency)), "")
		} else {
			unknown = append(unknown, "latency 50us (network.host_latency)")
		}
		if len(unknown) > 0 {
			e.LineComment = "# unknown: assumed " + strings.Join(unknown, ", ")
		}
		links.Content = append(links.Content, e.Node)
	}
	m.add("links", links, "")
	return m.Node
}

// vmEntries writes one entry per VM.
func (x *exporter) vmEntries() (*yaml.Node, error) {
	macs, notes := x.macs()
	seq := ySeq()
	for i := range x.vms {
		v := &x.vms[i]
		m := yMap()
		note := ""
		if v.Migrating {
			note = "was migrating when the snapshot was taken"
		}
		m.add("names", yStr(v.Name), note)
		m.add("hosts", yStr(v.Host), "")
		vcpus, note := v.VCPUs, ""
		if vcpus < 1 {
			vcpus, note = 1, "unknown: assumed"
		}
		m.add("vcpus", yInt(vcpus), note)
		m.add("memory", yStr(units.ExactSize(v.Memory)), "")

		res, note := v.Resident, ""
		switch {
		case res <= 0:
			res, note = v.Memory, "unknown: assumed = memory"
		case res > v.Memory:
			note = fmt.Sprintf("measured %s, cut to memory", units.ExactSize(res))
			res = v.Memory
		}
		m.add("resident", yStr(units.ExactSize(res)), note)
		wss, note := v.WSS, ""
		switch {
		case wss <= 0:
			wss, note = res/4, "unknown: assumed resident/4"
		case wss > res:
			note = fmt.Sprintf("measured %s, cut to resident", units.ExactSize(wss))
			wss = res
		}
		m.add("wss", yStr(units.ExactSize(wss)), note)
		dirty, note := v.DirtyRate, ""
		if !(dirty > 0) || math.IsInf(dirty, 0) {
			dirty, note = 0, "unknown: assumed 0 (an idle guest; predictions are optimistic)"
		}
		m.add("dirty_rate", yStr(units.ExactRate(dirty, false)), note)
		if mv := v.Measured; mv != nil {
			// Bounds on the wrong side of a figure cut above are moved to it.
			m.add("wss_low", yStr(units.ExactSize(min(mv.WSSLow, wss))), "")
			m.add("wss_high", yStr(units.ExactSize(max(min(mv.WSSHigh, res), wss))), "")
			m.add("dirty_rate_low", yStr(units.ExactRate(min(mv.DirtyRateLow, dirty), false)), "")
			m.add("dirty_rate_high", yStr(units.ExactRate(max(mv.DirtyRateHigh, dirty), false)), "")
			m.add("measured_by", yStr(mv.Method), "80% bounds of the live estimate")
		}
		cpu, note := v.CPU, ""
		switch {
		case math.IsNaN(cpu) || cpu < 0:
			cpu, note = 0, "unknown: assumed 0"
		case cpu > float64(vcpus):
			note = fmt.Sprintf("measured %s cores, cut to vcpus", units.FormatFloat(cpu))
			cpu = float64(vcpus)
		}
		m.add("cpu", yFloat(cpu), note)
		mac := yStr(macs[i])
		mac.Style = yaml.DoubleQuotedStyle
		m.add("mac", mac, notes[i])
		if v.Group != "" {
			m.add("group", yStr(v.Group), "")
		}
		if v.Pinned != "" {
			m.add("pinned", yStr(v.Pinned), "")
		}
		if v.TCG {
			m.add("accel", yStr("tcg"), "libvirt domain type qemu")
		}
		if v.Priority != 0 {
			m.add("priority", yInt(v.Priority), "")
		}
		seq.Content = append(seq.Content, m.Node)
	}
	return seq, nil
}

// macs gives each VM one MAC: its first valid one unless another VM took it
// first, else the first free address of the loader's default sequence.
func (x *exporter) macs() (macs, notes []string) {
	macs, notes = make([]string, len(x.vms)), make([]string, len(x.vms))
	used := map[string]bool{}
	for i := range x.vms {
		v := &x.vms[i]
		if len(v.MACs) == 0 {
			notes[i] = "unknown: assumed"
			continue
		}
		m, err := parseMAC(strings.TrimSpace(v.MACs[0]))
		switch {
		case err != nil:
			notes[i] = fmt.Sprintf("unusable MAC %q: assumed another", v.MACs[0])
		case used[formatMAC(m)]:
			notes[i] = fmt.Sprintf("%s belongs to another VM: assumed another", formatMAC(m))
		default:
			macs[i] = formatMAC(m)
			used[macs[i]] = true
			if len(v.MACs) > 1 {
				notes[i] = fmt.Sprintf("also %s (a scenario keeps one MAC per VM)", strings.Join(v.MACs[1:], ", "))
			}
		}
	}
	n := 0
	for i := range x.vms {
		if macs[i] != "" {
			continue
		}
		for n = max(n, i) + 1; used[cluster.MAC(n)]; n++ {
		}
		macs[i] = cluster.MAC(n)
		used[macs[i]] = true
	}
	return macs, notes
}

// groupEntries writes the snapshot's groups and any a VM names; members
// whose VM names the group are left to the VM's group field.
func (x *exporter) groupEntries() (*yaml.Node, error) {
	type group struct {
		kind    cluster.GroupKind
		members []string
		note    string
	}
	groups := map[string]*group{}
	for _, g := range x.groups {
		if g.Name == "" {
			return nil, fmt.Errorf("a group has no name")
		}
		if _, dup := groups[g.Name]; dup {
			return nil, fmt.Errorf("duplicate group %q", g.Name)
		}
		gr := &group{kind: g.Kind}
		var gone []string
		for _, name := range g.Members {
			i, ok := x.vmIx[name]
			switch {
			case !ok:
				gone = append(gone, name)
			case x.vms[i].Group == g.Name:
			case x.vms[i].Group != "":
				return nil, fmt.Errorf("VM %q is in group %q and group %q", name, x.vms[i].Group, g.Name)
			default:
				if err := checkName("VM", name); err != nil {
					return nil, err
				}
				gr.members = append(gr.members, name)
			}
		}
		slices.Sort(gr.members)
		gr.members = slices.Compact(gr.members)
		slices.Sort(gone)
		if gone = slices.Compact(gone); len(gone) > 0 {
			gr.note = fmt.Sprintf("left out members not in the snapshot: %s", strings.Join(gone, ", "))
		}
		groups[g.Name] = gr
	}
	for i := range x.vms {
		if g := x.vms[i].Group; g != "" && groups[g] == nil {
			groups[g] = &group{}
		}
	}
	seq := ySeq()
	for _, name := range sortedKeys(groups) {
		g := groups[name]
		m := yFlowMap()
		m.add("name", yStr(name), "")
		kind, note := g.kind, g.note
		if kind != cluster.Affinity && kind != cluster.AntiAffinity {
			what := "unknown"
			if kind != "" {
				what = fmt.Sprintf("unknown kind %q", string(kind))
			}
			kind = ExportDefaultGroupKind
			note = strings.TrimPrefix(note+"; "+what+": assumed "+string(kind), "; ")
		}
		m.add("kind", yStr(string(kind)), "")
		if len(g.members) > 0 {
			list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, v := range g.members {
				list.Content = append(list.Content, yStr(v))
			}
			m.add("vms", list, "")
		}
		if note != "" {
			m.LineComment = "# " + note
		}
		seq.Content = append(seq.Content, m.Node)
	}
	return seq, nil
}

// events puts hosts in maintenance and crashes hosts that are down, at 0s.
func (x *exporter) events() *yaml.Node {
	var maint, down []string
	for i := range x.hosts {
		switch x.hosts[i].State {
		case cluster.HostMaintenance:
			maint = append(maint, x.hosts[i].Name)
		case cluster.HostDown:
			down = append(down, x.hosts[i].Name)
		}
	}
	seq := ySeq()
	add := func(kind string, hosts []string, note string) {
		if len(hosts) == 0 {
			return
		}
		m := yFlowMap()
		m.add("at", yStr("0s"), "")
		list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, h := range hosts {
			list.Content = append(list.Content, yStr(h))
		}
		m.add(kind, list, "")
		m.LineComment = "# " + note
		seq.Content = append(seq.Content, m.Node)
	}
	add("maintenance", maint, "in maintenance when the snapshot was taken")
	add("host_crash", down, "down when the snapshot was taken")
	return seq
}

// yMapping is a YAML mapping under construction.
type yMapping struct{ *yaml.Node }

func yMap() yMapping     { return yMapping{&yaml.Node{Kind: yaml.MappingNode}} }
func yFlowMap() yMapping { return yMapping{&yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}} }
func ySeq() *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode}
}

// add appends key: value, with comment (without "#") after the value.
func (m yMapping) add(key string, value *yaml.Node, comment string) {
	if comment != "" {
		value.LineComment = "# " + comment
	}
	m.Content = append(m.Content, yStr(key), value)
}

func yStr(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
func yInt(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}
func yUint(u uint64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(u, 10)}
}
func yFloat(f float64) *yaml.Node {
	s := units.FormatFloat(f)
	tag := "!!int"
	if strings.ContainsAny(s, ".eE") {
		tag = "!!float"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
}

// migrationNode is the migration section for m's non-zero settings.
func migrationNode(m *scheduler.Migration) yMapping {
	n := yFlowMap()
	if m.ProfileRef != "" {
		n.add("profile", yStr(m.ProfileRef), "")
	}
	if m.DowntimeLimit > 0 {
		n.add("downtime_limit", yStr(formatDuration(m.DowntimeLimit)), "")
	}
	if m.MaxIterations > 0 {
		n.add("max_iterations", yInt(m.MaxIterations), "")
	}
	n.add("completion_timeout_per_gib", yStr(formatDuration(m.CompletionTimeoutPerGiB)), "")
	n.add("progress_timeout", yStr(formatDuration(m.ProgressTimeout)), "")
	if m.OnLimit != "" {
		n.add("on_limit", yStr(string(m.OnLimit)), "")
	}
	if m.AutoConverge {
		n.add("auto_converge", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}, "")
	}
	for _, t := range []struct {
		key string
		v   int
	}{{"cpu_throttle_initial", m.Throttle.Initial}, {"cpu_throttle_increment", m.Throttle.Increment}, {"max_cpu_throttle", m.Throttle.Max}} {
		if t.v > 0 {
			n.add(t.key, yInt(t.v), "")
		}
	}
	if m.Throttle.Tailslow {
		n.add("cpu_throttle_tailslow", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}, "")
	}
	if m.Bandwidth > 0 {
		n.add("bandwidth", yStr(units.ExactRate(m.Bandwidth, false)), "")
	}
	for _, l := range []struct {
		key string
		v   int
	}{{"max_parallel", m.MaxParallel}, {"max_per_host_out", m.MaxPerHostOut}, {"max_per_host_in", m.MaxPerHostIn}} {
		if l.v > 0 {
			n.add(l.key, yInt(l.v), "")
		}
	}
	return n
}
