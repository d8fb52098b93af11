package scenarios

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/droverlab/drover/profiles"
	"github.com/droverlab/drover/reports/consolidation"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/policy/poweraware"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/scheduler/registry"
	"github.com/droverlab/drover/units"
)

// The resolver turns the raw file into a Scenario: it expands ranges, looks
// up classes and references, applies defaults and checks what the decoder
// cannot. It keeps going after a problem and avoids knock-on errors: a host
// whose class is unknown is not also missing its memory, and a reference to
// a name that a broken range might have defined is not reported.

// maxTotalNames caps the names all ranges of a file may expand to.
const maxTotalNames = 2_000_000

type resolver struct {
	file string
	dir  string
	errs *Errors
	raw  *rawFile
	sc   *Scenario

	zones       map[string]Pos
	zoneRacks   map[string][]string
	rackZone    map[string]string
	rackPos     map[string]Pos
	rackPath    map[string]string
	hostClasses map[string]*rawHostClass
	hosts       map[string]*hostInfo
	hostOrder   []*hostInfo
	vmClasses   map[string]*rawVMClass
	vms         map[string]*vmInfo
	vmOrder     []*vmInfo
	groups      map[string]*groupInfo
	groupOrder  []*groupInfo
	links       map[string]Pos
	traces      map[string]*traceData
	// powerChecked marks the power mappings already reported on.
	powerChecked map[*rawPower]bool

	// Set when a names field failed, so references to its names may be
	// missing for that reason only.
	hostNamesBroken, vmNamesBroken, zonesBroken bool
	classesBroken, vmClassesBroken, linksBroken bool
	groupsBroken                                bool
	expanded                                    int
	tooMany                                     bool
}

// hostInfo is a host being resolved.
type hostInfo struct {
	host cluster.Host
	pos  Pos
	path string
	// complete is false when the host's definition had an error; checks
	// that need its figures skip it.
	complete bool
	used     int64
	over     *overflow
}

// overflow records where a host's memory first ran out.
type overflow struct {
	pos  Pos
	path string
	vm   string
}

// nameAt is one expanded name with where its pattern was written.
type nameAt struct {
	name string
	pos  Pos
}

func resolve(file string, raw *rawFile, errs *Errors) *Scenario {
	r := &resolver{
		file:        file,
		dir:         filepath.Dir(file),
		errs:        errs,
		raw:         raw,
		sc:          &Scenario{Name: raw.Name, File: file},
		zones:       map[string]Pos{},
		zoneRacks:   map[string][]string{},
		rackZone:    map[string]string{},
		rackPos:     map[string]Pos{},
		rackPath:    map[string]string{},
		hostClasses: map[string]*rawHostClass{},
		hosts:       map[string]*hostInfo{},
		vmClasses:   map[string]*rawVMClass{},
		vms:         map[string]*vmInfo{},
		groups:      map[string]*groupInfo{},
		links:       map[string]Pos{},
		traces:      map[string]*traceData{},
	}
	if raw.good("name") && strings.TrimSpace(raw.Name) == "" {
		r.errf(&raw.meta, "name", "must not be empty")
	}
	r.resolveSim()
	r.resolveZones()
	r.resolveHostClasses()
	r.resolveHosts()
	r.resolveNetwork()
	r.resolveGroups()
	r.resolveVMClasses()
	r.resolveVMs()
	r.resolveMembers()
	r.resolveEvents()
	r.resolvePolicy()
	r.resolveMigration()
	r.finishHosts()
	r.finishVMs()
	if len(*r.errs) == 0 {
		r.lint()
	}
	return r.sc
}

// errf records a problem with key of the mapping m (key "" for m itself).
func (r *resolver) errf(m *meta, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p := m.path(key); p != "" {
		msg = p + ": " + msg
	}
	*r.errs = append(*r.errs, Error{Pos: m.at(key), Msg: msg})
}

// errAt records a problem at pos, prefixed with path.
func (r *resolver) errAt(pos Pos, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	*r.errs = append(*r.errs, Error{Pos: pos, Msg: msg})
}

// expand expands the names of key in m. ok is false when a pattern failed.
func (r *resolver) expand(m *meta, key string, ns names) (out []nameAt, ok bool) {
	ok = true
	if len(ns) == 0 && m.good(key) {
		r.errf(m, key, "needs at least one name")
		return nil, false
	}
	for _, it := range ns {
		if r.tooMany {
			return out, false
		}
		list, err := ExpandNames(it.Text)
		if err != nil {
			r.errAt(it.Pos, m.path(key), "%v", err)
			ok = false
			continue
		}
		if r.expanded += len(list); r.expanded > maxTotalNames {
			r.errAt(it.Pos, m.path(key), "the scenario expands to more than %d names; stopped expanding", maxTotalNames)
			r.tooMany = true
			return out, false
		}
		for _, n := range list {
			out = append(out, nameAt{name: n, pos: it.Pos})
		}
	}
	return out, ok
}

// dups reports duplicates within one names field compactly: the first one
// with its earlier definition, and how many more there are.
type dups struct {
	r     *resolver
	what  string
	path  string
	pos   Pos
	first string
	line  int
	more  int
}

func (d *dups) add(name string, pos Pos, firstLine int) {
	if d.first == "" {
		d.first, d.pos, d.line = name, pos, firstLine
		return
	}
	d.more++
}

func (d *dups) flush() {
	if d.first == "" {
		return
	}
	more := ""
	if d.more > 0 {
		more = fmt.Sprintf(", and %d more", d.more)
	}
	d.r.errAt(d.pos, d.path, "duplicate %s %q (first defined at line %d)%s", d.what, d.first, d.line, more)
	d.first, d.more = "", 0
}

// unknowns reports the unknown names of one names field: the first few
// each at its place, the rest as a count, so h[1-100000] with a typo gives
// four lines, not 100000.
type unknowns struct {
	r      *resolver
	path   string
	what   string // "host"
	suffix string // added to each message
	known  func() []string
	quiet  bool // a broken range may have defined the names
	n      int
	last   Pos
}

const maxUnknown = 3

func (u *unknowns) add(pos Pos, name string) {
	if u.quiet {
		return
	}
	u.n++
	if u.n > maxUnknown {
		u.last = pos
		return
	}
	var known []string
	if u.known != nil {
		known = u.known()
	}
	u.r.errAt(pos, u.path, "unknown %s %q%s%s", u.what, name, u.suffix, hint(name, known))
}

func (u *unknowns) flush() {
	if u.n > maxUnknown {
		u.r.errAt(u.last, u.path, "and %d more unknown %ss", u.n-maxUnknown, u.what)
	}
}

// hint suggests a known name close to a misspelt one, or lists a few.
func hint(name string, known []string) string {
	if len(known) == 0 || len(known) > 2000 {
		return ""
	}
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestD && d < len(k) {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if len(known) <= 6 {
		return " (known: " + strings.Join(known, ", ") + ")"
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// formatDuration writes 1h30m rather than 1h30m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (r *resolver) resolveSim() {
	s := Sim{Seed: 1, Duration: time.Hour, SampleInterval: 5 * time.Minute}
	if raw := r.raw.Sim; raw != nil {
		if raw.Seed != nil {
			s.Seed = *raw.Seed
		}
		if raw.Duration != nil {
			switch s.Duration = time.Duration(*raw.Duration); {
			case s.Duration <= 0:
				r.errf(&raw.meta, "duration", "must be more than 0, got %s", formatDuration(s.Duration))
				s.Duration = time.Hour
			case s.Duration > MaxDuration:
				r.errf(&raw.meta, "duration", "must be at most %s (a year), got %s", formatDuration(MaxDuration), formatDuration(s.Duration))
				s.Duration = time.Hour
			}
		}
		if raw.SampleInterval != nil {
			if s.SampleInterval = time.Duration(*raw.SampleInterval); !r.atLeast(&raw.meta, "sample_interval", s.SampleInterval, MinInterval) {
				s.SampleInterval = 5 * time.Minute
			}
		}
	}
	r.sc.Sim = s
	r.checkBudget()
}

func (r *resolver) resolveZones() {
	if r.raw.good("zones") && len(r.raw.Zones) == 0 {
		r.errf(&r.raw.meta, "zones", "needs at least one zone")
	}
	for i := range r.raw.Zones {
		z := &r.raw.Zones[i]
		if !z.decoded() {
			r.zonesBroken = true
			continue
		}
		if z.good("name") {
			if strings.TrimSpace(z.Name) == "" {
				r.errf(&z.meta, "name", "must not be empty")
			} else if first, dup := r.zones[z.Name]; dup {
				r.errf(&z.meta, "name", "duplicate zone %q (first defined at line %d)", z.Name, first.Line)
			} else {
				r.zones[z.Name] = z.at("name")
			}
		}
		racks, ok := r.expand(&z.meta, "racks", z.Racks)
		if !ok {
			r.zonesBroken = true
		}
		zone := Zone{Name: z.Name}
		d := dups{r: r, what: "rack", path: z.path("racks")}
		for _, rk := range racks {
			if first, dup := r.rackPos[rk.name]; dup {
				d.add(rk.name, rk.pos, first.Line)
				continue
			}
			r.rackPos[rk.name] = rk.pos
			r.rackPath[rk.name] = z.path("racks")
			r.rackZone[rk.name] = z.Name
			zone.Racks = append(zone.Racks, rk.name)
		}
		d.flush()
		r.zoneRacks[z.Name] = zone.Racks
		r.sc.Zones = append(r.sc.Zones, zone)
	}
}

// hostLayer is one place host fields come from: a host entry or its class.
type hostLayer struct {
	m *meta
	f *hostFields
}

// pickField returns the first layer that sets a field, and that layer.
func pickField[L any, T any](layers []L, get func(L) *T) (*T, int) {
	for i, l := range layers {
		if v := get(l); v != nil {
			return v, i
		}
	}
	return nil, -1
}

// checkHostFields checks the values a host class or entry writes.
func (r *resolver) checkHostFields(m *meta, f *hostFields) bool {
	ok := true
	if f.CPUs != nil && *f.CPUs <= 0 {
		r.errf(m, "cpus", "must be at least 1, got %d", *f.CPUs)
		ok = false
	}
	if f.Memory != nil && *f.Memory <= 0 {
		r.errf(m, "memory", "must be more than 0")
		ok = false
	}
	if n := f.NICs; n != nil {
		if n.Count != nil && *n.Count <= 0 {
			r.errf(&n.meta, "count", "must be at least 1, got %d", *n.Count)
			ok = false
		}
		if n.Speed != nil && *n.Speed <= 0 {
			r.errf(&n.meta, "speed", "must be more than 0")
			ok = false
		}
	}
	if p := f.Power; p != nil && p.decoded() {
		if _, err := r.powerModel(p); err != nil {
			ok = false
		}
	}
	return ok
}

// powerModel is the table a power mapping gives, reporting its problems
// (once: a class's mapping is checked for each entry that uses it, so the
// report is made the first time only).
func (r *resolver) powerModel(p *rawPower) (consolidation.PowerModel, error) {
	report := !r.powerChecked[p]
	if r.powerChecked == nil {
		r.powerChecked = map[*rawPower]bool{}
	}
	r.powerChecked[p] = true
	errf := func(key, format string, args ...any) error {
		if report {
			r.errf(&p.meta, key, format, args...)
		}
		return fmt.Errorf(format, args...)
	}
	switch {
	case p.Bad["model"] || p.Bad["watts"]:
		return consolidation.PowerModel{}, fmt.Errorf("bad power") // the decoder said why
	case p.Model != nil && p.Watts != nil:
		return consolidation.PowerModel{}, errf("watts", "give model or watts, not both")
	case p.Model != nil:
		m, err := consolidation.PowerModelNamed(*p.Model)
		if err != nil {
			return m, errf("model", "%v", err)
		}
		return m, nil
	case p.Watts != nil:
		if len(p.Watts) != 11 {
			return consolidation.PowerModel{}, errf("watts", "want 11 values (0%%, 10%%, ..., 100%% utilisation), got %d", len(p.Watts))
		}
		var m consolidation.PowerModel
		for i, w := range p.Watts {
			if !(w >= 0) {
				return m, errf("watts", "value %d (%v W at %d%%) must be 0 or more", i+1, w, 10*i)
			}
			m.Watts[i] = w
		}
		return m, nil
	}
	return consolidation.PowerModel{}, errf("", "needs model (%s) or watts (11 values)", "hp-ml110-g4, hp-ml110-g5")
}

func (r *resolver) resolveHostClasses() {
	first := map[string]Pos{}
	for i := range r.raw.HostClasses {
		c := &r.raw.HostClasses[i]
		if !c.decoded() {
			r.classesBroken = true
			continue
		}
		r.checkHostFields(&c.meta, &c.hostFields)
		if !c.good("name") {
			r.classesBroken = true
			continue
		}
		if strings.TrimSpace(c.Name) == "" {
			r.errf(&c.meta, "name", "must not be empty")
			continue
		}
		if p, dup := first[c.Name]; dup {
			r.errf(&c.meta, "name", "duplicate host class %q (first defined at line %d)", c.Name, p.Line)
			continue
		}
		first[c.Name] = c.at("name")
		r.hostClasses[c.Name] = c
	}
}

func (r *resolver) resolveHosts() {
	if r.raw.good("hosts") && len(r.raw.Hosts) == 0 {
		r.errf(&r.raw.meta, "hosts", "needs at least one host")
	}
	for i := range r.raw.Hosts {
		e := &r.raw.Hosts[i]
		if !e.decoded() {
			r.hostNamesBroken = true
			continue
		}
		complete := r.checkHostFields(&e.meta, &e.hostFields)
		layers := []hostLayer{{&e.meta, &e.hostFields}}
		h := cluster.Host{Security: cluster.Secured, NICs: 1}
		if e.Class != nil {
			h.Class = *e.Class
			if c := r.hostClasses[*e.Class]; c != nil {
				complete = complete && r.checkHostFields(&c.meta, &c.hostFields)
				layers = append(layers, hostLayer{&c.meta, &c.hostFields})
			} else {
				complete = false
				if !r.classesBroken {
					r.errf(&e.meta, "class", "unknown host class %q%s", *e.Class, hint(*e.Class, sortedKeys(r.hostClasses)))
				}
			}
		}
		classKnown := !e.Bad["class"] && (e.Class == nil || r.hostClasses[*e.Class] != nil)
		if !r.resolvePlace(e, &h) {
			complete = false
		}
		if !r.mergeHost(e, layers, &h, classKnown) {
			complete = false
		}

		list, ok := r.expand(&e.meta, "names", e.Names)
		if !ok {
			r.hostNamesBroken = true
		}
		d := dups{r: r, what: "host", path: e.path("names")}
		for _, n := range list {
			if first, dup := r.hosts[n.name]; dup {
				d.add(n.name, n.pos, first.pos.Line)
				continue
			}
			hi := &hostInfo{host: h, pos: n.pos, path: e.path("names"), complete: complete}
			hi.host.Name = n.name
			r.hosts[n.name] = hi
			r.hostOrder = append(r.hostOrder, hi)
		}
		d.flush()
	}
}

// resolvePlace sets the zone and rack of a host entry.
func (r *resolver) resolvePlace(e *rawHost, h *cluster.Host) bool {
	ok := true
	if e.good("rack") && e.Rack != "" {
		h.Rack = e.Rack
		if z, found := r.rackZone[e.Rack]; found {
			h.Zone = z
		} else {
			ok = false
			if !r.zonesBroken {
				r.errf(&e.meta, "rack", "unknown rack %q; declare it in a zone's racks%s", e.Rack, hint(e.Rack, sortedKeys(r.rackZone)))
			}
		}
	} else if e.good("rack") {
		r.errf(&e.meta, "rack", "must not be empty")
		ok = false
	}
	if e.Zone == nil {
		return ok
	}
	switch _, known := r.zones[*e.Zone]; {
	case !known:
		if !r.zonesBroken {
			r.errf(&e.meta, "zone", "unknown zone %q%s", *e.Zone, hint(*e.Zone, sortedKeys(r.zones)))
		}
		return false
	case h.Zone != "" && h.Zone != *e.Zone:
		r.errf(&e.meta, "rack", "rack %q is not in zone %q (it is in zone %q; zone %q has racks %s)",
			e.Rack, *e.Zone, h.Zone, *e.Zone, listOrNone(r.zoneRacks[*e.Zone]))
		return false
	}
	h.Zone = *e.Zone
	return ok
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 8 {
		return strings.Join(s[:8], ", ") + ", ..."
	}
	return strings.Join(s, ", ")
}

// written reports whether any layer wrote key, even with a bad value.
func written[L any](layers []L, m func(L) *meta, key string) bool {
	for _, l := range layers {
		if mm := m(l); mm != nil && mm.has(key) {
			return true
		}
	}
	return false
}

// mergeHost fills h from the layers (entry first, then class) and reports
// what is missing, unless the class is unknown (then nobody knows).
func (r *resolver) mergeHost(e *rawHost, layers []hostLayer, h *cluster.Host, classKnown bool) bool {
	var missing []string
	ok := true
	need := func(key string) {
		ok = false
		if !written(layers, func(l hostLayer) *meta { return l.m }, key) {
			missing = append(missing, key)
		}
	}
	if v, _ := pickField(layers, func(l hostLayer) *int { return l.f.CPUs }); v != nil {
		h.CPUs = *v
	} else {
		need("cpus")
	}
	if v, _ := pickField(layers, func(l hostLayer) *size { return l.f.Memory }); v != nil {
		h.Memory = int64(*v)
	} else {
		need("memory")
	}
	if v, _ := pickField(layers, func(l hostLayer) *string { return l.f.CPUModel }); v != nil {
		h.CPUModel = *v
	}
	if v, _ := pickField(layers, func(l hostLayer) *string { return l.f.Security }); v != nil {
		h.Security = cluster.Security(*v)
	}
	if p, _ := pickField(layers, func(l hostLayer) *rawPower { return l.f.Power }); p != nil && p.decoded() {
		if m, err := r.powerModel(p); err == nil {
			h.Power = m
			h.SwitchOff = p.SwitchOff != nil && *p.SwitchOff
		} else {
			ok = false
		}
	}
	if v, _ := pickField(layers, func(l hostLayer) *int {
		if l.f.NICs == nil {
			return nil
		}
		return l.f.NICs.Count
	}); v != nil {
		h.NICs = *v
	}
	if v, _ := pickField(layers, func(l hostLayer) *rate {
		if l.f.NICs == nil {
			return nil
		}
		return l.f.NICs.Speed
	}); v != nil {
		h.NICSpeed = float64(*v)
	} else {
		ok = false
		if !written(layers, func(l hostLayer) *meta {
			if l.f.NICs == nil {
				return nil
			}
			return &l.f.NICs.meta
		}, "speed") {
			missing = append(missing, "nics.speed")
		}
	}
	if len(missing) > 0 && classKnown {
		where := "here or in a host class"
		if h.Class != "" {
			where = fmt.Sprintf("here or in host class %q", h.Class)
		}
		r.errf(&e.meta, "", "hosts %s have no %s; set %s %s", namesText(e.Names), strings.Join(missing, ", "), plural(len(missing), "it", "them"), where)
	}
	return ok
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// namesText writes a names field back as written, for messages.
func namesText(ns names) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.Text
	}
	return strings.Join(parts, ", ")
}

// finishHosts sorts the hosts and reports memory overflows found while
// placing VMs.
func (r *resolver) finishHosts() {
	hosts := make([]cluster.Host, 0, len(r.hostOrder))
	for _, hi := range r.hostOrder {
		hosts = append(hosts, hi.host)
		if o := hi.over; o != nil {
			r.errAt(o.pos, o.path, "VMs placed on host %q need %s of memory but it has %s (it is full from VM %q on)",
				hi.host.Name, units.FormatSize(hi.used), units.FormatSize(hi.host.Memory), o.vm)
		}
	}
	slices.SortFunc(hosts, func(a, b cluster.Host) int { return cmp.Compare(a.Name, b.Name) })
	r.sc.Hosts = hosts
}

func (r *resolver) resolveNetwork() {
	n := Network{
		Topology:         TopologyLeafSpine,
		Oversubscription: 1,
		HostLatency:      50 * time.Microsecond,
		SpineLatency:     100 * time.Microsecond,
	}
	raw := r.raw.Network
	if raw == nil {
		raw = &rawNetwork{meta: meta{Pos: Pos{File: r.file, Line: 1, Column: 1}, Path: "network"}}
	}
	if raw.Topology != nil {
		n.Topology = *raw.Topology
	}
	if raw.Oversubscription != nil {
		if n.Oversubscription = *raw.Oversubscription; n.Oversubscription <= 0 {
			r.errf(&raw.meta, "oversubscription", "must be more than 0, got %g", n.Oversubscription)
			n.Oversubscription = 1
		}
	}
	if raw.HostLatency != nil {
		if n.HostLatency = time.Duration(*raw.HostLatency); n.HostLatency < 0 {
			r.errf(&raw.meta, "host_latency", "must not be negative")
		}
	}
	if raw.SpineLatency != nil {
		if n.SpineLatency = time.Duration(*raw.SpineLatency); n.SpineLatency < 0 {
			r.errf(&raw.meta, "spine_latency", "must not be negative")
		}
	}
	switch n.Topology {
	case TopologyLeafSpine:
		if len(raw.Links) > 0 {
			r.errf(&raw.meta, "links", "links are only allowed with topology explicit (leaf-spine generates them)")
		}
		n.Links = r.leafSpine(&n)
	case TopologyExplicit:
		n.Links = r.explicitLinks(raw, &n)
		r.checkConnected(n.Links)
	}
	for _, l := range n.Links {
		r.links[l.Name] = Pos{}
	}
	r.sc.Network = n
}

// leafSpine generates a link per host to its rack's ToR switch and a link per
// rack from its ToR to the spine.
func (r *resolver) leafSpine(n *Network) []Link {
	hosts := slices.Clone(r.hostOrder)
	slices.SortFunc(hosts, func(a, b *hostInfo) int { return cmp.Compare(a.host.Name, b.host.Name) })
	rackBW := map[string]float64{}
	var links []Link
	for _, hi := range hosts {
		h := &hi.host
		if _, isRack := r.rackPos[h.Name]; isRack {
			r.errAt(r.rackPos[h.Name], r.rackPath[h.Name], "rack %q has the name of host %q (line %d); leaf-spine names links after hosts and racks, so they must differ", h.Name, h.Name, hi.pos.Line)
		}
		if _, isTor := r.rackPos[strings.TrimPrefix(h.Name, "tor-")]; h.Name == "spine" || (strings.HasPrefix(h.Name, "tor-") && isTor) {
			r.errAt(hi.pos, hi.path, "host name %q is taken by a leaf-spine switch", h.Name)
		}
		if h.Rack == "" {
			continue
		}
		bw := h.NICBandwidth()
		rackBW[h.Rack] += bw
		links = append(links, Link{Name: h.Name, A: h.Name, B: "tor-" + h.Rack, Bandwidth: bw, Latency: n.HostLatency})
	}
	for _, z := range r.sc.Zones {
		for _, rack := range z.Racks {
			if bw, used := rackBW[rack]; used {
				links = append(links, Link{Name: rack, A: "tor-" + rack, B: "spine", Bandwidth: bw / n.Oversubscription, Latency: n.SpineLatency})
			}
		}
	}
	return links
}

func (r *resolver) explicitLinks(raw *rawNetwork, n *Network) []Link {
	var links []Link
	first := map[string]Pos{}
	for i := range raw.Links {
		l := &raw.Links[i]
		if !l.decoded() {
			r.linksBroken = true
			continue
		}
		ok := true
		for _, key := range []string{"name", "from", "to"} {
			if !l.good(key) {
				ok = false
			}
		}
		if l.good("name") {
			if strings.TrimSpace(l.Name) == "" {
				r.errf(&l.meta, "name", "must not be empty")
				ok = false
			} else if p, dup := first[l.Name]; dup {
				r.errf(&l.meta, "name", "duplicate link %q (first defined at line %d)", l.Name, p.Line)
				ok = false
			} else {
				first[l.Name] = l.at("name")
			}
		} else {
			r.linksBroken = true
		}
		for _, end := range []struct{ key, v string }{{"from", l.From}, {"to", l.To}} {
			if l.good(end.key) && strings.TrimSpace(end.v) == "" {
				r.errf(&l.meta, end.key, "must not be empty")
				ok = false
			}
		}
		if ok && l.From == l.To {
			r.errf(&l.meta, "to", "link %q connects %q to itself", l.Name, l.From)
			ok = false
		}
		link := Link{Name: l.Name, A: l.From, B: l.To, Latency: n.HostLatency}
		if l.Bandwidth != nil {
			if link.Bandwidth = float64(*l.Bandwidth); link.Bandwidth <= 0 {
				r.errf(&l.meta, "bandwidth", "must be more than 0")
			}
		}
		if l.Latency != nil {
			if link.Latency = time.Duration(*l.Latency); link.Latency < 0 {
				r.errf(&l.meta, "latency", "must not be negative")
			}
		}
		if ok {
			links = append(links, link)
		}
	}
	return links
}

// checkConnected reports every host that no path of links joins to the
// largest group of connected hosts.
func (r *resolver) checkConnected(links []Link) {
	if r.linksBroken || len(r.hostOrder) < 2 {
		return
	}
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		root := find(p)
		parent[x] = root
		return root
	}
	for _, l := range links {
		a, b := find(l.A), find(l.B)
		if a != b {
			parent[a] = b
		}
	}
	hosts := slices.Clone(r.hostOrder)
	slices.SortFunc(hosts, func(a, b *hostInfo) int { return cmp.Compare(a.host.Name, b.host.Name) })
	count := map[string]int{}
	firstHost := map[string]string{}
	for _, hi := range hosts {
		root := find(hi.host.Name)
		count[root]++
		if _, ok := firstHost[root]; !ok {
			firstHost[root] = hi.host.Name
		}
	}
	main := ""
	for _, hi := range hosts {
		root := find(hi.host.Name)
		if main == "" || count[root] > count[main] {
			main = root
		}
	}
	for _, hi := range hosts {
		if find(hi.host.Name) != main {
			r.errAt(hi.pos, hi.path, "host %q is unreachable from host %q: no path of links joins them", hi.host.Name, firstHost[main])
		}
	}
}

// periodicPolicies are the registry's policies that run periodically; the
// paper's consolidation policies (poweraware names) do too.
var periodicPolicies = []string{"", "balance", "consolidate", "greedy-cv"}

// checkPeriodic reports a policy.name that names no periodic policy.
func (r *resolver) checkPeriodic(m *meta, name string) {
	if slices.Contains(periodicPolicies, name) {
		return
	}
	_, err := poweraware.ParseName(name)
	switch {
	case err == nil:
	case poweraware.LooksLikeName(name):
		r.errf(m, "name", "%s", strings.TrimPrefix(err.Error(), "poweraware: "))
	default:
		r.errf(m, "name", "unknown value %q (want \"\", balance, consolidate, greedy-cv, or DETECTOR-SELECTOR-PARAMETER such as thr-mmt-0.8)", name)
	}
}

func (r *resolver) resolvePolicy() {
	p := scheduler.Policy{
		Interval:         5 * time.Minute,
		TLS:              cluster.TLSMatching,
		Evacuation:       "planned",
		CPUOvercommit:    4,
		Threshold:        0.2,
		Hysteresis:       0.8,
		MaxMovesPerRound: 10,
	}
	raw := r.raw.Policy
	if raw == nil {
		r.sc.Policy = p
		return
	}
	if raw.Name != nil {
		p.Name = *raw.Name
		r.checkPeriodic(&raw.meta, p.Name)
	}
	if raw.Interval != nil {
		p.Interval = time.Duration(*raw.Interval)
		r.atLeast(&raw.meta, "interval", p.Interval, MinInterval)
	}
	if raw.TLS != nil {
		p.TLS = cluster.TLSMode(*raw.TLS)
	}
	if raw.Evacuation != nil {
		p.Evacuation = *raw.Evacuation
	}
	if raw.CPUOvercommit != nil {
		if p.CPUOvercommit = *raw.CPUOvercommit; p.CPUOvercommit <= 0 {
			r.errf(&raw.meta, "cpu_overcommit", "must be more than 0, got %g", p.CPUOvercommit)
		}
	}
	if raw.Threshold != nil {
		if p.Threshold = *raw.Threshold; p.Threshold < 0 {
			r.errf(&raw.meta, "threshold", "must not be negative, got %g", p.Threshold)
		}
	}
	if raw.Hysteresis != nil {
		if p.Hysteresis = *raw.Hysteresis; p.Hysteresis <= 0 || p.Hysteresis > 1 {
			r.errf(&raw.meta, "hysteresis", "must be more than 0 and at most 1, got %g", p.Hysteresis)
		}
	}
	if raw.MaxMovesPerRound != nil {
		if p.MaxMovesPerRound = *raw.MaxMovesPerRound; p.MaxMovesPerRound < 0 {
			r.errf(&raw.meta, "max_moves_per_round", "must not be negative, got %d", p.MaxMovesPerRound)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(raw.Params)) {
		ps := raw.Params[name]
		path := raw.meta.path("params") + "." + name
		if _, ok := registry.Lookup(name); !ok {
			for _, at := range ps {
				r.errAt(at.Name, path, "unknown policy %q%s", name, hint(name, registry.Names))
				break
			}
			if len(ps) == 0 {
				r.errf(&raw.meta, "params", "unknown policy %q%s", name, hint(name, registry.Names))
			}
			continue
		}
		vals := map[string]string{}
		for _, key := range slices.Sorted(maps.Keys(ps)) {
			at := ps[key]
			if e := registry.CheckParam(name, key, at.Value); e != nil {
				r.errAt(at.Pos, path+"."+key, "%s", e.Msg)
				continue
			}
			vals[key] = at.Value
		}
		if p.Params == nil {
			p.Params = map[string]map[string]string{}
		}
		p.Params[name] = vals
	}
	r.sc.Policy = p
}

func (r *resolver) resolveMigration() {
	m := scheduler.Migration{
		DowntimeLimit: 300 * time.Millisecond,
		// SwitchoverCost and SetupTime stay 0: the calibration profile's.
		CompletionTimeoutPerGiB: 150 * time.Second,
		ProgressTimeout:         150 * time.Second,
		OnLimit:                 cluster.LimitAbort,
	}
	m.Profile = precopy.DefaultProfile()
	raw := r.raw.Migration
	if raw == nil {
		r.sc.Migration = m
		return
	}
	if raw.Model != nil {
		r.sc.Sim.MigrationModel = *raw.Model
	}
	if raw.Profile != nil {
		p, ref, err := profiles.ResolveProfile(*raw.Profile, r.dir)
		if err != nil {
			r.errf(&raw.meta, "profile", "%v", err)
		}
		m.Profile, m.ProfileRef = p, ref
	}
	durs := []struct {
		key  string
		src  *duration
		dst  *time.Duration
		zero bool // 0 allowed
	}{
		{"downtime_limit", raw.DowntimeLimit, &m.DowntimeLimit, false},
		{"switchover_cost", raw.SwitchoverCost, &m.SwitchoverCost, true},
		{"setup_time", raw.SetupTime, &m.SetupTime, true},
		{"completion_timeout_per_gib", raw.CompletionTimeoutPerGiB, &m.CompletionTimeoutPerGiB, true},
		{"progress_timeout", raw.ProgressTimeout, &m.ProgressTimeout, true},
	}
	for _, d := range durs {
		if d.src == nil {
			continue
		}
		*d.dst = time.Duration(*d.src)
		switch {
		case *d.dst < 0:
			r.errf(&raw.meta, d.key, "must not be negative, got %s", formatDuration(*d.dst))
		case *d.dst == 0 && !d.zero:
			r.errf(&raw.meta, d.key, "must be more than 0")
		}
	}
	ints := []struct {
		key string
		src *int
		dst *int
	}{
		{"max_iterations", raw.MaxIterations, &m.MaxIterations},
		{"max_parallel", raw.MaxParallel, &m.MaxParallel},
		{"max_per_host_out", raw.MaxPerHostOut, &m.MaxPerHostOut},
		{"max_per_host_in", raw.MaxPerHostIn, &m.MaxPerHostIn},
	}
	for _, i := range ints {
		if i.src == nil {
			continue
		}
		if *i.dst = *i.src; *i.dst < 0 {
			r.errf(&raw.meta, i.key, "must not be negative, got %d (0 means no limit)", *i.dst)
		}
	}
	if raw.OnLimit != nil {
		m.OnLimit = cluster.OnLimit(*raw.OnLimit)
	}
	if raw.AutoConverge != nil {
		m.AutoConverge = *raw.AutoConverge
	}
	for _, t := range []struct {
		key string
		src *int
		dst *int
	}{
		{"cpu_throttle_initial", raw.CPUThrottleInitial, &m.Throttle.Initial},
		{"cpu_throttle_increment", raw.CPUThrottleIncrement, &m.Throttle.Increment},
		{"max_cpu_throttle", raw.MaxCPUThrottle, &m.Throttle.Max},
	} {
		if t.src == nil {
			continue
		}
		if *t.dst = *t.src; *t.dst < 1 || *t.dst > 99 {
			r.errf(&raw.meta, t.key, "must be 1..99 (percent, as QEMU's), got %d", *t.dst)
		}
	}
	if raw.CPUThrottleTailslow != nil {
		m.Throttle.Tailslow = *raw.CPUThrottleTailslow
	}
	if raw.Bandwidth != nil {
		m.Bandwidth = float64(*raw.Bandwidth)
	}
	r.sc.Migration = m
}
