package scenarios

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/units"
)

// vmInfo is a VM being resolved.
type vmInfo struct {
	vm   VM
	pos  Pos
	path string
	// mac is set when the entry gave a base MAC; macPath/macPos say where.
	mac     uint64
	hasMAC  bool
	macPath string
	macPos  Pos
}

// groupInfo is a declared group.
type groupInfo struct {
	group   cluster.Group
	pos     Pos
	members map[string]bool
}

// vmLayer is one place VM fields come from: a VM entry or its class.
type vmLayer struct {
	m *meta
	f *vmFields
}

func (r *resolver) resolveVMClasses() {
	first := map[string]Pos{}
	for i := range r.raw.VMClasses {
		c := &r.raw.VMClasses[i]
		if !c.decoded() {
			r.vmClassesBroken = true
			continue
		}
		r.checkVMFields(&c.meta, &c.vmFields)
		// Check the class alone too, so unused classes are checked and
		// entries that use a bad class report the same (merged) error.
		r.mergeVM([]vmLayer{{&c.meta, &c.vmFields}}, nil, false)
		if !c.good("name") {
			r.vmClassesBroken = true
			continue
		}
		if strings.TrimSpace(c.Name) == "" {
			r.errf(&c.meta, "name", "must not be empty")
			continue
		}
		if p, dup := first[c.Name]; dup {
			r.errf(&c.meta, "name", "duplicate VM class %q (first defined at line %d)", c.Name, p.Line)
			continue
		}
		first[c.Name] = c.at("name")
		r.vmClasses[c.Name] = c
	}
}

// checkVMFields checks the values a VM class or entry writes.
func (r *resolver) checkVMFields(m *meta, f *vmFields) bool {
	ok := true
	if f.VCPUs != nil && *f.VCPUs <= 0 {
		r.errf(m, "vcpus", "must be at least 1, got %d", *f.VCPUs)
		ok = false
	}
	if f.Memory != nil && *f.Memory <= 0 {
		r.errf(m, "memory", "must be more than 0")
		ok = false
	}
	if f.Resident != nil && *f.Resident <= 0 {
		r.errf(m, "resident", "must be more than 0")
		ok = false
	}
	return ok
}

// mergeVM merges the layers (entry first, then class) into a VM. Missing
// fields are reported only for an entry whose class is known; with a nil
// entry it only checks a class.
func (r *resolver) mergeVM(layers []vmLayer, entry *rawVM, classKnown bool) (VM, bool) {
	var vm VM
	ok := true
	vcpus, _ := pickField(layers, func(l vmLayer) *int { return l.f.VCPUs })
	memory, mi := pickField(layers, func(l vmLayer) *size { return l.f.Memory })
	if entry != nil && (vcpus == nil || memory == nil) {
		ok = false
		var missing []string
		isWritten := func(key string) bool { return written(layers, func(l vmLayer) *meta { return l.m }, key) }
		if vcpus == nil && !isWritten("vcpus") {
			missing = append(missing, "vcpus")
		}
		if memory == nil && !isWritten("memory") {
			missing = append(missing, "memory")
		}
		where := "here or in a VM class"
		if entry.Class != nil {
			where = fmt.Sprintf("here or in VM class %q", *entry.Class)
		}
		if len(missing) > 0 && classKnown {
			r.errf(&entry.meta, "", "VMs %s have no %s; set %s %s", namesText(entry.Names), strings.Join(missing, ", "), plural(len(missing), "it", "them"), where)
		}
	}
	if vcpus != nil {
		vm.VCPUs = *vcpus
	}
	if memory != nil {
		vm.Memory = int64(*memory)
	}
	resident, ri := pickField(layers, func(l vmLayer) *size { return l.f.Resident })
	vm.Resident = vm.Memory
	if resident != nil {
		vm.Resident = int64(*resident)
		if memory != nil && vm.Resident > vm.Memory {
			at := min(ri, mi)
			key := "resident"
			if at == mi && mi != ri {
				key = "memory"
			}
			r.errf(layers[at].m, key, "resident %s is more than memory %s", units.FormatSize(vm.Resident), units.FormatSize(vm.Memory))
			ok = false
		}
	}
	wss, wi := pickField(layers, func(l vmLayer) *size { return l.f.WSS })
	vm.WSS = vm.Resident / 4
	if wss != nil {
		vm.WSS = int64(*wss)
		if (resident != nil || memory != nil) && vm.WSS > vm.Resident {
			// Blame the most specific of wss and what resident came from.
			src := ri
			if resident == nil {
				src = mi
			}
			at, key := wi, "wss"
			if src < wi {
				at, key = src, "resident"
				if resident == nil {
					key = "memory"
				}
			}
			r.errf(layers[at].m, key, "wss %s is more than resident %s", units.FormatSize(vm.WSS), units.FormatSize(vm.Resident))
			ok = false
		}
	}
	if v, _ := pickField(layers, func(l vmLayer) *rate { return l.f.DirtyRate }); v != nil {
		vm.DirtyRate = float64(*v)
	}
	ok = r.measured(layers, &vm.VM) && ok
	if v, _ := pickField(layers, func(l vmLayer) *int { return l.f.Priority }); v != nil {
		vm.Priority = *v
	}
	if v, _ := pickField(layers, func(l vmLayer) *string { return l.f.Pinned }); v != nil {
		vm.Pinned = *v
	}
	// The schema's enum has refused anything but kvm and tcg.
	if v, _ := pickField(layers, func(l vmLayer) *string { return l.f.Accel }); v != nil {
		vm.TCG = *v == "tcg"
	}
	vm.Demand = Demand{Kind: DemandConstant}
	if c, ci := pickField(layers, func(l vmLayer) *cpuSpec { return l.f.CPU }); c != nil {
		limit := 0
		if vcpus != nil && *vcpus > 0 {
			limit = *vcpus
		}
		d, dok := r.demand(layers[ci].m, c, limit)
		vm.Demand = d
		ok = ok && dok
	}
	switch vm.Demand.Kind {
	case DemandConstant:
		vm.CPU = vm.Demand.Constant
	case DemandRandomWalk:
		vm.CPU = vm.Demand.Walk.Start
	case DemandTrace:
		if len(vm.Demand.Trace) > 0 {
			vm.CPU = vm.Demand.Trace[0]
		}
	}
	return vm, ok
}

// demand resolves a cpu field of m. vcpus, when above 0, caps the demand.
func (r *resolver) demand(m *meta, c *cpuSpec, vcpus int) (Demand, bool) {
	path := m.path("cpu")
	exceeds := func(peak float64, what string) bool {
		if vcpus > 0 && peak > float64(vcpus) {
			r.errAt(c.Pos, path, "%s %g cores is more than vcpus %d", what, peak, vcpus)
			return true
		}
		return false
	}
	if c.Constant != nil {
		v := *c.Constant
		if v < 0 {
			r.errAt(c.Pos, path, "must not be negative, got %g", v)
			return Demand{Kind: DemandConstant}, false
		}
		return Demand{Kind: DemandConstant, Constant: v}, !exceeds(v, "demand")
	}
	mod := c.Model
	if mod == nil {
		return Demand{Kind: DemandConstant}, false
	}
	hasTrace, hasWalk := mod.has("trace"), mod.has("random_walk")
	switch {
	case hasTrace && hasWalk:
		r.errf(&mod.meta, "random_walk", "cpu takes either trace or random_walk, not both")
		return Demand{Kind: DemandConstant}, false
	case !hasTrace && !hasWalk:
		r.errf(&mod.meta, "", "cpu needs trace or random_walk (or a plain number of cores)")
		return Demand{Kind: DemandConstant}, false
	}
	if hasWalk && mod.has("interval") {
		r.errf(&mod.meta, "interval", "interval goes inside random_walk")
	}
	if hasTrace {
		d := Demand{Kind: DemandTrace, TraceInterval: r.sc.Sim.SampleInterval}
		if mod.Interval != nil {
			if d.TraceInterval = time.Duration(*mod.Interval); !r.atLeast(&mod.meta, "interval", d.TraceInterval, MinInterval) {
				return d, false
			}
		}
		if mod.Trace == nil {
			return d, false
		}
		t := r.loadTrace(&mod.meta, *mod.Trace)
		if t == nil {
			return d, false
		}
		d.Trace = t.values
		return d, !exceeds(t.peak, "trace "+strconv.Quote(*mod.Trace)+" peaks at")
	}
	w := mod.RandomWalk
	if w == nil {
		return Demand{Kind: DemandConstant}, false
	}
	d := Demand{Kind: DemandRandomWalk}
	d.Walk.Interval = r.sc.Sim.SampleInterval
	d.Walk.Max = float64(vcpus)
	ok := true
	if w.Start != nil {
		d.Walk.Start = *w.Start
	}
	if w.Step != nil {
		if d.Walk.Step = *w.Step; d.Walk.Step < 0 {
			r.errf(&w.meta, "step", "must not be negative, got %g", d.Walk.Step)
			ok = false
		}
	}
	if w.Min != nil {
		if d.Walk.Min = *w.Min; d.Walk.Min < 0 {
			r.errf(&w.meta, "min", "must not be negative, got %g", d.Walk.Min)
			ok = false
		}
	}
	if w.Max != nil {
		d.Walk.Max = *w.Max
		ok = ok && !exceeds(d.Walk.Max, "random_walk.max")
	} else if vcpus <= 0 {
		// A class without vcpus: the entry that uses it knows the cap.
		d.Walk.Max = max(d.Walk.Start, d.Walk.Min)
	}
	if w.Interval != nil {
		if d.Walk.Interval = time.Duration(*w.Interval); !r.atLeast(&w.meta, "interval", d.Walk.Interval, MinInterval) {
			ok = false
		}
	}
	if ok && d.Walk.Min > d.Walk.Max {
		r.errf(&w.meta, "min", "min %g is more than max %g", d.Walk.Min, d.Walk.Max)
		ok = false
	}
	if ok && w.Start != nil && (d.Walk.Start < d.Walk.Min || d.Walk.Start > d.Walk.Max) {
		r.errf(&w.meta, "start", "start %g is outside [min %g, max %g]", d.Walk.Start, d.Walk.Min, d.Walk.Max)
		ok = false
	}
	return d, ok
}

func (r *resolver) resolveVMs() {
	for i := range r.raw.VMs {
		e := &r.raw.VMs[i]
		if !e.decoded() {
			r.vmNamesBroken = true
			continue
		}
		complete := r.checkVMFields(&e.meta, &e.vmFields)
		layers := []vmLayer{{&e.meta, &e.vmFields}}
		if e.Class != nil {
			if c := r.vmClasses[*e.Class]; c != nil {
				complete = complete && r.checkVMFields(&c.meta, &c.vmFields)
				layers = append(layers, vmLayer{&c.meta, &c.vmFields})
			} else {
				complete = false
				if !r.vmClassesBroken {
					r.errf(&e.meta, "class", "unknown VM class %q%s", *e.Class, hint(*e.Class, sortedKeys(r.vmClasses)))
				}
			}
		}
		vm, ok := r.mergeVM(layers, e, !e.Bad["class"] && (e.Class == nil || r.vmClasses[*e.Class] != nil))
		complete = complete && ok
		if e.Group != nil {
			vm.Group = *e.Group
			if r.groups[*e.Group] == nil && !r.groupsBroken {
				r.errf(&e.meta, "group", "unknown group %q; declare it under groups%s", *e.Group, hint(*e.Group, sortedKeys(r.groups)))
			}
		}

		var base uint64
		hasMAC := false
		if e.MAC != nil {
			if m, err := parseMAC(*e.MAC); err != nil {
				r.errf(&e.meta, "mac", "%v", err)
			} else {
				base, hasMAC = m, true
			}
		}

		hosts := r.placementHosts(e)
		list, ok := r.expand(&e.meta, "names", e.Names)
		if !ok {
			r.vmNamesBroken = true
		}
		slices.SortStableFunc(list, func(a, b nameAt) int { return cmp.Compare(a.name, b.name) })
		if hasMAC && base+uint64(len(list)) > 1<<48 {
			r.errf(&e.meta, "mac", "base MAC %s plus %d VMs runs past ff:ff:ff:ff:ff:ff", *e.MAC, len(list))
			hasMAC = false
		}
		d := dups{r: r, what: "VM", path: e.path("names")}
		k := 0
		for _, n := range list {
			if first, dup := r.vms[n.name]; dup {
				d.add(n.name, n.pos, first.pos.Line)
				continue
			}
			vi := &vmInfo{vm: vm, pos: n.pos, path: e.path("names")}
			vi.vm.Name = n.name
			if hasMAC {
				vi.mac, vi.hasMAC, vi.macPath, vi.macPos = base+uint64(k), true, e.path("mac"), e.at("mac")
			}
			if len(hosts) > 0 {
				h := hosts[k%len(hosts)]
				vi.vm.Host = h.host.Name
				if complete && h.complete {
					r.place(e, h, vi.vm.Name, vm.Memory)
				}
			}
			k++
			r.vms[n.name] = vi
			r.vmOrder = append(r.vmOrder, vi)
		}
		d.flush()
	}
}

// placementHosts resolves the hosts field of a VM entry.
func (r *resolver) placementHosts(e *rawVM) []*hostInfo {
	list, ok := r.expand(&e.meta, "hosts", e.Hosts)
	if !ok {
		return nil
	}
	var out []*hostInfo
	u := r.unknownHosts(e.path("hosts"))
	for _, n := range list {
		h := r.hosts[n.name]
		if h == nil {
			ok = false
			u.add(n.pos, n.name)
			continue
		}
		out = append(out, h)
	}
	u.flush()
	if !ok {
		return nil
	}
	return out
}

// unknownHosts and unknownVMs report dangling references, unless a broken
// range may have defined the name.
func (r *resolver) unknownHosts(path string) *unknowns {
	u := &unknowns{r: r, path: path, what: "host", known: func() []string { return hostNames(r.hostOrder) }}
	u.quiet = r.hostNamesBroken
	return u
}

func (r *resolver) unknownVMs(path string) *unknowns {
	u := &unknowns{r: r, path: path, what: "VM", known: r.vmNamesForHint}
	u.quiet = r.vmNamesBroken
	return u
}

func hostNames(hs []*hostInfo) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.host.Name
	}
	return out
}

// place accounts a VM's memory on its host and notes the first overflow.
func (r *resolver) place(e *rawVM, h *hostInfo, vm string, mem int64) {
	if mem > math.MaxInt64-h.used {
		h.used = math.MaxInt64
	} else {
		h.used += mem
	}
	if h.used > h.host.Memory && h.over == nil {
		h.over = &overflow{pos: e.at("hosts"), path: e.path("hosts"), vm: vm}
	}
}

// parseMAC reads "52:54:00:10:00:01" as a 48-bit number.
func parseMAC(s string) (uint64, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return 0, fmt.Errorf("bad MAC address %q: want six hex bytes such as 52:54:00:10:00:01", s)
	}
	var v uint64
	for _, p := range parts {
		b, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 {
			return 0, fmt.Errorf("bad MAC address %q: want six hex bytes such as 52:54:00:10:00:01", s)
		}
		v = v<<8 | b
	}
	if v&(1<<40) != 0 {
		return 0, fmt.Errorf("MAC address %q is a multicast address (lowest bit of the first byte set)", s)
	}
	return v, nil
}

func formatMAC(v uint64) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// finishVMs sorts the VMs, gives MACs and reports MAC clashes.
func (r *resolver) finishVMs() {
	slices.SortFunc(r.vmOrder, func(a, b *vmInfo) int { return cmp.Compare(a.vm.Name, b.vm.Name) })
	owner := make(map[string]*vmInfo, len(r.vmOrder))
	// Explicit MACs first: they are the user's choice; defaults fill in.
	for _, vi := range r.vmOrder {
		if !vi.hasMAC {
			continue
		}
		mac := formatMAC(vi.mac)
		if o, dup := owner[mac]; dup {
			r.errAt(vi.macPos, vi.macPath, "VM %q gets MAC %s, already given to VM %q", vi.vm.Name, mac, o.vm.Name)
			continue
		}
		owner[mac] = vi
		vi.vm.MACs = []string{mac}
	}
	vms := make([]VM, len(r.vmOrder))
	for i, vi := range r.vmOrder {
		if !vi.hasMAC {
			mac := cluster.MAC(i + 1)
			if o, dup := owner[mac]; dup {
				r.errAt(o.macPos, o.macPath, "VM %q gets MAC %s, which is the default MAC of VM %q; choose another base", o.vm.Name, mac, vi.vm.Name)
			}
			vi.vm.MACs = []string{mac}
		}
		vms[i] = vi.vm
	}
	r.sc.VMs = vms
}

func (r *resolver) resolveGroups() {
	for i := range r.raw.Groups {
		g := &r.raw.Groups[i]
		if !g.decoded() || !g.good("name") {
			r.groupsBroken = true
			continue
		}
		if strings.TrimSpace(g.Name) == "" {
			r.errf(&g.meta, "name", "must not be empty")
			continue
		}
		if first, dup := r.groups[g.Name]; dup {
			r.errf(&g.meta, "name", "duplicate group %q (first defined at line %d)", g.Name, first.pos.Line)
			continue
		}
		gi := &groupInfo{group: cluster.Group{Name: g.Name, Kind: cluster.GroupKind(g.Kind)}, pos: g.at("name"), members: map[string]bool{}}
		r.groups[g.Name] = gi
		r.groupOrder = append(r.groupOrder, gi)
	}
}

// resolveMembers fills groups from the VMs' group fields and the groups'
// vms lists.
func (r *resolver) resolveMembers() {
	for _, vi := range r.vmOrder {
		if g := r.groups[vi.vm.Group]; g != nil {
			g.members[vi.vm.Name] = true
		}
	}
	for i := range r.raw.Groups {
		g := &r.raw.Groups[i]
		gi := r.groups[g.Name]
		if g.VMs == nil || gi == nil || gi.pos != g.at("name") {
			continue
		}
		list, _ := r.expand(&g.meta, "vms", *g.VMs)
		u := r.unknownVMs(g.path("vms"))
		for _, n := range list {
			vi := r.vms[n.name]
			switch {
			case vi == nil:
				u.add(n.pos, n.name)
			case vi.vm.Group != "" && vi.vm.Group != g.Name:
				r.errAt(n.pos, g.path("vms"), "VM %q is already in group %q (a VM belongs to one group)", n.name, vi.vm.Group)
			default:
				vi.vm.Group = g.Name
				gi.members[n.name] = true
			}
		}
		u.flush()
	}
	for _, gi := range r.groupOrder {
		gi.group.Members = sortedKeys(gi.members)
		r.sc.Groups = append(r.sc.Groups, gi.group)
	}
}

func (r *resolver) vmNamesForHint() []string {
	if len(r.vmOrder) > 2000 {
		return nil
	}
	out := make([]string, len(r.vmOrder))
	for i, v := range r.vmOrder {
		out[i] = v.vm.Name
	}
	return out
}

// measured sets vm.Measured from the bounds keys, when any is given: each
// bound defaults to the figure itself and must not lie on its wrong side.
func (r *resolver) measured(layers []vmLayer, vm *cluster.VM) bool {
	wl, wli := pickField(layers, func(l vmLayer) *size { return l.f.WSSLow })
	wh, whi := pickField(layers, func(l vmLayer) *size { return l.f.WSSHigh })
	dl, dli := pickField(layers, func(l vmLayer) *rate { return l.f.DirtyRateLow })
	dh, dhi := pickField(layers, func(l vmLayer) *rate { return l.f.DirtyRateHigh })
	by, _ := pickField(layers, func(l vmLayer) *string { return l.f.MeasuredBy })
	if wl == nil && wh == nil && dl == nil && dh == nil && by == nil {
		return true
	}
	m := &cluster.Measured{Method: "declared", WSSLow: vm.WSS, WSSHigh: vm.WSS, DirtyRateLow: vm.DirtyRate, DirtyRateHigh: vm.DirtyRate}
	if by != nil {
		m.Method = *by
	}
	ok := true
	if wl != nil {
		if m.WSSLow = int64(*wl); m.WSSLow > vm.WSS {
			r.errf(layers[wli].m, "wss_low", "%s is more than wss %s", units.FormatSize(m.WSSLow), units.FormatSize(vm.WSS))
			ok = false
		}
	}
	if wh != nil {
		if m.WSSHigh = int64(*wh); m.WSSHigh < vm.WSS {
			r.errf(layers[whi].m, "wss_high", "%s is less than wss %s", units.FormatSize(m.WSSHigh), units.FormatSize(vm.WSS))
			ok = false
		}
	}
	if dl != nil {
		if m.DirtyRateLow = float64(*dl); m.DirtyRateLow > vm.DirtyRate {
			r.errf(layers[dli].m, "dirty_rate_low", "%s is more than dirty_rate %s", units.FormatRate(m.DirtyRateLow), units.FormatRate(vm.DirtyRate))
			ok = false
		}
	}
	if dh != nil {
		if m.DirtyRateHigh = float64(*dh); m.DirtyRateHigh < vm.DirtyRate {
			r.errf(layers[dhi].m, "dirty_rate_high", "%s is less than dirty_rate %s", units.FormatRate(m.DirtyRateHigh), units.FormatRate(vm.DirtyRate))
			ok = false
		}
	}
	vm.Measured = m
	return ok
}
