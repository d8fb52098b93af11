package cluster

import "slices"

// State is a what-if view of a snapshot: moves can be tried on it and taken
// back, and it answers "what would host h hold" in constant time. Planners
// place VMs on a State, never on the Snapshot, so filters see planned moves.
type State struct {
	Snap *Snapshot
	// Place is the planned host index of each VM (index into Snap.Hosts),
	// -1 for a VM whose host is unknown; Origin is where it is now.
	Place  []int
	Origin []int
	// Per host, indexed like Snap.Hosts.
	VCPUs  []int
	CPU    []float64
	Memory []int64
	Count  []int

	// hostIx is built on first use: with the snapshot's VMHosts a
	// balancing run may never look a host up by name.
	hostIx map[string]int
	// groupOn counts, per group, the members planned on each host.
	groupOn map[string]map[int]int
	// members lists the VM indexes of each group.
	members map[string][]int
	kinds   map[string]GroupKind
}

// NewState builds the what-if view of s.
func NewState(s *Snapshot) *State { return NewStateFrom(nil, s) }

// NewStateFrom is NewState in the arrays of prev, a state its caller is done
// with (nil: none), which is not to be used again. A policy that plans every
// five minutes made two arrays of 200,000 VMs for each run, and faulting
// their fresh pages in was half the time of building its state.
func NewStateFrom(prev *State, s *Snapshot) *State {
	if prev == nil {
		prev = &State{}
	}
	st := &State{
		Snap:    s,
		Place:   zeroed(prev.Place, len(s.VMs)),
		Origin:  zeroed(prev.Origin, len(s.VMs)),
		VCPUs:   zeroed(prev.VCPUs, len(s.Hosts)),
		CPU:     zeroed(prev.CPU, len(s.Hosts)),
		Memory:  zeroed(prev.Memory, len(s.Hosts)),
		Count:   zeroed(prev.Count, len(s.Hosts)),
		groupOn: map[string]map[int]int{},
		members: map[string][]int{},
		kinds:   make(map[string]GroupKind, len(s.Groups)),
	}
	// listed holds the groups' listed members, so that a VM naming a
	// group it is already listed in counts once: asking members itself
	// cost O(group size) per VM, 20 % of building a state at 200,000 VMs.
	var listed map[string]map[int]bool
	for _, g := range s.Groups {
		st.kinds[g.Name] = g.Kind
		for _, m := range g.Members {
			if i := st.VMIndex(m); i >= 0 && !slices.Contains(st.members[g.Name], i) {
				st.members[g.Name] = append(st.members[g.Name], i)
				if listed == nil {
					listed = map[string]map[int]bool{}
				}
				if listed[g.Name] == nil {
					listed[g.Name] = map[int]bool{}
				}
				listed[g.Name][i] = true
			}
		}
	}
	// One pass over the VMs, which at 200,000 do not fit in cache: the
	// members are sorted below, so their order of arrival does not matter.
	for i := range s.VMs {
		v := &s.VMs[i]
		// Each VM is seen once here, so only a listed member can already
		// be in members.
		if g := v.Group; g != "" && !listed[g][i] {
			st.members[g] = append(st.members[g], i)
		}
		h, ok := st.hostOf(i)
		if !ok {
			st.Place[i], st.Origin[i] = -1, -1
			continue
		}
		st.Place[i], st.Origin[i] = h, h
		st.add(i, h)
	}
	for g := range st.members {
		slices.Sort(st.members[g])
	}
	return st
}

// zeroed is b made n zeros long, in place when it has room.
func zeroed[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// hostOf is the index of VM i's host, from the snapshot's hint when it
// holds (the names compare by pointer first, as the simulator's share
// their bytes), from the map otherwise.
func (st *State) hostOf(i int) (int, bool) {
	s := st.Snap
	if len(s.VMHosts) == len(s.VMs) {
		if h := int(s.VMHosts[i]); h >= 0 && h < len(s.Hosts) && s.Hosts[h].Name == s.VMs[i].Host {
			return h, true
		}
	}
	h, ok := st.index()[s.VMs[i].Host]
	return h, ok
}

func (st *State) index() map[string]int {
	if st.hostIx == nil {
		st.hostIx = make(map[string]int, len(st.Snap.Hosts))
		for i := range st.Snap.Hosts {
			st.hostIx[st.Snap.Hosts[i].Name] = i
		}
	}
	return st.hostIx
}

func (st *State) add(vm, h int) {
	v := &st.Snap.VMs[vm]
	st.VCPUs[h] += v.VCPUs
	st.CPU[h] += v.CPU
	st.Memory[h] += v.Memory
	st.Count[h]++
	for _, g := range st.groupsOf(vm) {
		m := st.groupOn[g]
		if m == nil {
			m = map[int]int{}
			st.groupOn[g] = m
		}
		m[h]++
	}
}

func (st *State) remove(vm, h int) {
	v := &st.Snap.VMs[vm]
	st.VCPUs[h] -= v.VCPUs
	st.CPU[h] -= v.CPU
	st.Memory[h] -= v.Memory
	st.Count[h]--
	for _, g := range st.groupsOf(vm) {
		st.groupOn[g][h]--
	}
}

func (st *State) groupsOf(vm int) []string {
	if g := st.Snap.VMs[vm].Group; g != "" {
		return []string{g}
	}
	return nil
}

// Source is the host a VM is on now (before any planned move), or nil.
func (st *State) Source(vm int) *Host {
	if h := st.Origin[vm]; h >= 0 {
		return &st.Snap.Hosts[h]
	}
	return nil
}

// HostIndex returns the index of the named host, or -1.
func (st *State) HostIndex(name string) int {
	if i, ok := st.index()[name]; ok {
		return i
	}
	return -1
}

// VMIndex returns the index of the named VM, or -1. VMs are sorted by
// name, so this is a binary search: a map of every VM would cost more to
// build than most planners look up.
func (st *State) VMIndex(name string) int {
	i, ok := slices.BinarySearchFunc(st.Snap.VMs, name, func(v VM, n string) int { return cmpString(v.Name, n) })
	if !ok {
		return -1
	}
	return i
}

// Move plans vm onto host dst. Moving to where it already is does nothing.
func (st *State) Move(vm, dst int) {
	src := st.Place[vm]
	if src == dst {
		return
	}
	if src >= 0 {
		st.remove(vm, src)
	}
	st.Place[vm] = dst
	if dst >= 0 {
		st.add(vm, dst)
	}
}

// GroupOn is how many members of group are planned on host h.
func (st *State) GroupOn(group string, h int) int { return st.groupOn[group][h] }

// Members lists the VM indexes of a group, sorted.
func (st *State) Members(group string) []int { return st.members[group] }

// GroupKind returns the kind of the named group, "" if none.
func (st *State) GroupKind(group string) GroupKind { return st.kinds[group] }
