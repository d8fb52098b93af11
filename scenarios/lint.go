package scenarios

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
	"github.com/droverlab/drover/units"
)

// lint finds what a valid file sets up that will make the scheduler refuse
// moves later, where only report.json would say so: anti-affinity members
// that start together, guests no host can take, hosts that can never
// exchange guests. They are warnings (Scenario.Warnings): the file is
// valid, and a study may want exactly that; validate --strict makes them
// errors.
func (r *resolver) lint() {
	var warn []Error
	add := func(pos Pos, format string, args ...any) {
		warn = append(warn, Error{Pos: pos, Msg: "warning: " + fmt.Sprintf(format, args...)})
	}
	hostOf := map[string]string{}
	for _, vi := range r.vmOrder {
		hostOf[vi.vm.Name] = vi.vm.Host
	}
	for _, gi := range r.groupOrder {
		if gi.group.Kind != cluster.AntiAffinity {
			continue
		}
		on := map[string][]string{}
		for _, m := range gi.group.Members {
			if h := hostOf[m]; h != "" {
				on[h] = append(on[h], m)
			}
		}
		var crowded []string
		for _, h := range slices.Sorted(maps.Keys(on)) {
			if vs := on[h]; len(vs) > 1 {
				crowded = append(crowded, fmt.Sprintf("%s on %s", strings.Join(head(vs, 3), ", "), h))
			}
		}
		if len(crowded) > 0 {
			add(gi.pos, "anti-affinity group %s starts with members sharing a host (%s); every move of them that keeps them together is refused",
				gi.group.Name, strings.Join(head(crowded, 3), "; "))
		}
	}
	// The two largest hosts: a guest bigger than every host but its own
	// can never move.
	var first, second int64
	firstHost := ""
	for _, hi := range r.hostOrder {
		switch m := hi.host.Memory; {
		case !hi.complete:
		case m > first:
			first, second, firstHost = m, first, hi.host.Name
		case m > second:
			second = m
		}
	}
	for _, vi := range r.vmOrder {
		room := first
		if vi.vm.Host == firstHost {
			room = second
		}
		if len(r.hostOrder) > 1 && vi.vm.Memory > room {
			add(vi.pos, "vm %s needs %s, more than any other host has (%s): it can never move", vi.vm.Name,
				units.FormatSize(vi.vm.Memory), units.FormatSize(room))
		}
	}
	// Hosts of different pools never exchange guests (filter.PoolKey:
	// CPU model, memory, NIC ports and, under TLS enforcement, security).
	pools := map[string][]*hostInfo{}
	for _, hi := range r.hostOrder {
		if hi.complete {
			k := filter.PoolKey(&hi.host, r.sc.Policy.TLS)
			pools[k] = append(pools[k], hi)
		}
	}
	if len(pools) > 1 {
		keys := slices.SortedFunc(maps.Keys(pools), func(a, b string) int {
			return cmp.Or(cmp.Compare(len(pools[b]), len(pools[a])), strings.Compare(a, b))
		})
		var names []string
		for _, k := range keys {
			hs := pools[k]
			names = append(names, fmt.Sprintf("%s (%d hosts)", hs[0].host.Name, len(hs)))
		}
		_, why := cluster.Compatible(&pools[keys[0]][0].host, &pools[keys[1]][0].host)
		if why == "" {
			why = "security state differs"
		}
		add(pools[keys[1]][0].pos, "the hosts form %d pools that never exchange guests (%s: %s); migrations between pools are refused",
			len(pools), why, strings.Join(head(names, 4), ", "))
	}
	slices.SortStableFunc(warn, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Column, b.Pos.Column))
	})
	r.sc.Warnings = warn
}

func head(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("%d more", len(s)-n))
}
