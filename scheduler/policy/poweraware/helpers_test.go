package poweraware

import "fmt"

// table is a power model linear between 11 points, as SPECpower tables are.
type table [11]float64

func (p table) Power(u float64) (float64, error) {
	if u < 0 || u > 1 {
		return 0, fmt.Errorf("utilisation %v", u)
	}
	i := int(u * 10)
	if i == 10 {
		return p[10], nil
	}
	return p[i] + (p[i+1]-p[i])*(u*10-float64(i)), nil
}

// convex draws a lot to switch on and more per step as load grows.
var convex = table{50, 90, 95, 100, 106, 113, 121, 130, 140, 151, 163}

// host of 1000 MIPS on one 1000-MIPS core, 1 Gbit/s.
func host(util float64) Host {
	return Host{MIPS: 1000, PEMIPS: 1000, Bandwidth: 1e6, Power: convex, Utilization: util}
}

// vm requesting req MIPS of 1000, with RAM and newest-first history.
func vm(h int, req, ram float64, hist ...float64) VM {
	return VM{MIPS: 1000, RAM: ram, Requested: req, Reserved: req, History: hist, Host: h}
}

// build puts the VMs on their hosts in order.
func build(hosts []Host, vms []VM) *State {
	st := &State{Hosts: hosts, VMs: vms}
	for i, v := range vms {
		st.Hosts[v.Host].VMs = append(st.Hosts[v.Host].VMs, i)
	}
	return st
}
