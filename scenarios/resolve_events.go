package scenarios

import (
	"cmp"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

func (r *resolver) resolveEvents() {
	var events []Event
	for i := range r.raw.Events {
		if r.raw.Events[i].decoded() {
			events = append(events, r.resolveEvent(&r.raw.Events[i])...)
		}
	}
	slices.SortStableFunc(events, func(a, b Event) int { return cmp.Compare(a.At, b.At) })
	r.sc.Events = events
}

// kindKeys returns the kind keys written in an event, in file order.
func kindKeys(e *rawEvent) []string {
	var keys []string
	for _, k := range eventKinds {
		if e.has(k.key) {
			keys = append(keys, k.key)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := e.at(a), e.at(b)
		return cmp.Or(cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Column, pb.Column))
	})
	return keys
}

func kindList() string {
	keys := make([]string, len(eventKinds))
	for i, k := range eventKinds {
		keys[i] = k.key
	}
	return oneOf(keys)
}

// resolveEvent resolves one event entry; host_crash, maintenance, link_down
// and link_up over several names become one Event each.
func (r *resolver) resolveEvent(e *rawEvent) []Event {
	keys := kindKeys(e)
	switch len(keys) {
	case 0:
		r.errf(&e.meta, "", "event has no kind; add one of %s", kindList())
	case 1:
	default:
		r.errf(&e.meta, keys[1], "event has two kinds, %s and %s; write one event per kind", keys[0], keys[1])
	}
	ev := Event{Pos: e.Pos}
	ok := len(keys) == 1
	if e.At != nil {
		ev.At = time.Duration(*e.At)
		switch {
		case ev.At < 0:
			r.errf(&e.meta, "at", "must not be negative, got %s", formatDuration(ev.At))
			ok = false
		case ev.At > r.sc.Sim.Duration:
			r.errf(&e.meta, "at", "at %s is after the end of the run (sim.duration is %s)", formatDuration(ev.At), formatDuration(r.sc.Sim.Duration))
			ok = false
		}
	} else {
		ok = false
	}
	if len(keys) != 1 {
		return nil
	}
	var out []Event
	switch keys[0] {
	case "migrate":
		ev.Kind = EventMigrate
		if m := e.Migrate; m != nil && r.migrate(m, &ev) && ok {
			out = append(out, ev)
		}
	case "host_crash", "maintenance":
		ev.Kind = EventHostCrash
		ns := e.HostCrash
		if keys[0] == "maintenance" {
			ev.Kind, ns = EventMaintenance, e.Maintenance
		}
		if ns == nil {
			return nil
		}
		for _, h := range r.eventHosts(&e.meta, keys[0], *ns) {
			ev.Host = h
			if ok {
				out = append(out, ev)
			}
		}
	case "link_down", "link_up":
		ev.Kind = EventLinkDown
		ns := e.LinkDown
		if keys[0] == "link_up" {
			ev.Kind, ns = EventLinkUp, e.LinkUp
		}
		if ns == nil {
			return nil
		}
		list, _ := r.expand(&e.meta, keys[0], *ns)
		u := r.unknownLinks(e.path(keys[0]))
		for _, n := range list {
			if _, known := r.links[n.name]; !known {
				u.add(n.pos, n.name)
				continue
			}
			if ok {
				ev.Link = n.name
				out = append(out, ev)
			}
		}
		u.flush()
	case "link_degraded":
		ev.Kind = EventLinkDegraded
		l := e.LinkDegraded
		if l == nil {
			return nil
		}
		good := true
		if _, known := r.links[l.Link]; l.good("link") && !known {
			r.unknownLinks(l.path("link")).add(l.at("link"), l.Link)
			good = false
		}
		ev.Link = l.Link
		if l.Bandwidth != nil {
			if ev.Bandwidth = float64(*l.Bandwidth); ev.Bandwidth <= 0 {
				r.errf(&l.meta, "bandwidth", "must be more than 0 (use link_down to cut a link)")
				good = false
			}
		}
		if good && ok {
			out = append(out, ev)
		}
	case "disaster_warning":
		ev.Kind = EventDisasterWarning
		d := e.DisasterWarning
		if d == nil {
			return nil
		}
		good := true
		if d.good("zone") {
			if _, known := r.zones[d.Zone]; !known {
				good = false
				if !r.zonesBroken {
					r.errf(&d.meta, "zone", "unknown zone %q%s", d.Zone, hint(d.Zone, sortedKeys(r.zones)))
				}
			}
		}
		ev.Zone = d.Zone
		if d.FailsAt != nil {
			ev.FailsAt = time.Duration(*d.FailsAt)
			if e.At != nil && ev.FailsAt < ev.At {
				r.errf(&d.meta, "fails_at", "fails_at %s is before the warning at %s (fails_at counts from the start of the run)", formatDuration(ev.FailsAt), formatDuration(ev.At))
				good = false
			}
		}
		if good && ok {
			out = append(out, ev)
		}
	case "load_spike":
		ev.Kind = EventLoadSpike
		s := e.LoadSpike
		if s == nil {
			return nil
		}
		good := true
		list, _ := r.expand(&s.meta, "vms", s.VMs)
		u := r.unknownVMs(s.path("vms"))
		for _, n := range list {
			if r.vms[n.name] == nil {
				good = false
				u.add(n.pos, n.name)
				continue
			}
			ev.VMs = append(ev.VMs, n.name)
		}
		u.flush()
		if s.Factor != nil {
			if ev.Factor = *s.Factor; !(ev.Factor > 0 && ev.Factor <= MaxFactor) {
				r.errf(&s.meta, "factor", "must be more than 0 and at most %g, got %g", MaxFactor, ev.Factor)
				good = false
			}
		}
		if s.For != nil {
			if ev.For = time.Duration(*s.For); ev.For <= 0 {
				r.errf(&s.meta, "for", "must be more than 0")
				good = false
			}
		}
		if good && ok {
			out = append(out, ev)
		}
	}
	return out
}

// migrate resolves a migrate event into ev.
func (r *resolver) migrate(m *rawMigrate, ev *Event) bool {
	ok := true
	ev.VM, ev.Host = m.VM, m.To
	if m.good("vm") && r.vms[m.VM] == nil {
		ok = false
		r.unknownVMs(m.path("vm")).add(m.at("vm"), m.VM)
	}
	if m.good("to") && r.hosts[m.To] == nil {
		ok = false
		r.unknownHosts(m.path("to")).add(m.at("to"), m.To)
	}
	o := &ev.Options
	if m.Bandwidth != nil {
		bw := float64(*m.Bandwidth)
		o.Bandwidth = &bw
	}
	if m.DowntimeLimit != nil {
		d := time.Duration(*m.DowntimeLimit)
		if d <= 0 {
			r.errf(&m.meta, "downtime_limit", "must be more than 0")
			ok = false
		}
		o.DowntimeLimit = &d
	}
	if m.MaxIterations != nil {
		n := *m.MaxIterations
		if n < 0 {
			r.errf(&m.meta, "max_iterations", "must not be negative, got %d (0 means no limit)", n)
			ok = false
		}
		o.MaxIterations = &n
	}
	if m.OnLimit != nil {
		v := cluster.OnLimit(*m.OnLimit)
		o.OnLimit = &v
	}
	if m.AutoConverge != nil {
		v := *m.AutoConverge
		o.AutoConverge = &v
	}
	return ok
}

// eventHosts resolves the host names of a host_crash or maintenance event.
func (r *resolver) eventHosts(m *meta, key string, ns names) []string {
	list, _ := r.expand(m, key, ns)
	var out []string
	u := r.unknownHosts(m.path(key))
	for _, n := range list {
		if r.hosts[n.name] == nil {
			u.add(n.pos, n.name)
			continue
		}
		out = append(out, n.name)
	}
	u.flush()
	return out
}

// unknownLinks reports unknown link names.
func (r *resolver) unknownLinks(path string) *unknowns {
	u := &unknowns{r: r, path: path, what: "link", known: func() []string { return sortedKeys(r.links) }}
	u.quiet = r.hostNamesBroken || r.linksBroken || r.zonesBroken
	if r.sc.Network.Topology == TopologyLeafSpine {
		u.suffix = " (leaf-spine links are named after hosts and racks)"
	}
	return u
}
