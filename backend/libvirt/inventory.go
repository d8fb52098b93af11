package libvirt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Inventory is what a connected host holds.
type Inventory struct {
	// Host has Name (the name given to Dial), CPUs, Memory (bytes) and
	// CPUModel (the host CPU model in the capabilities XML, e.g.
	// "Skylake-Client-IBRS"; the architecture when libvirt names no
	// model). Class, Zone, Rack, NICs, NICSpeed come from drover's
	// configuration, Security from pki.Probe, State from the operator:
	// the inventory leaves them empty.
	Host cluster.Host
	// UUID is the host UUID libvirt reports (host_uuid).
	UUID string
	// SecurityReason says why Host.Security is what it is (Backend only).
	SecurityReason string
	// VMs are the running domains, by name.
	VMs []VM
}

// VM is one running domain.
type VM struct {
	// VM has Name, Host, VCPUs, Memory (current, bytes) and MACs. Resident,
	// WSS, DirtyRate and CPU are filled by the Backend from stats; Group and
	// Priority from drover's configuration.
	cluster.VM
	UUID string
	// State is libvirt's domain state ("running", "paused", ...) and,
	// after a colon, its reason when it is not the usual one
	// ("paused: migration").
	State string
	// InFlight is set for a migration's incoming copy whose definition
	// could not be read (libvirt holds it until the migration ends): it
	// has no MACs or disks.
	InFlight bool
	// Stats is the sample the Backend's figures come from (zero from
	// Inventory alone).
	Stats DomainStats
	// Persistent is whether the domain is defined (survives a shutdown),
	// rather than transient.
	Persistent bool
	Disks      []Disk
	// Movable is false when a disk is local (not on shared storage) and
	// block migration is not configured; Reason says which disk.
	Movable bool
	Reason  string
}

// Disk is one disk device of a domain.
type Disk struct {
	// Target is the guest's device name (vda, hdc).
	Target string
	// Device is disk, cdrom, floppy or lun.
	Device string
	// Type is the source type: file, block, network, volume, dir, nvme.
	Type string
	// Source is the file or device path, the network protocol/name, or
	// pool/volume.
	Source string
	// Shared is whether the destination sees the same storage: network
	// disks, <shareable/> disks, and paths under
	// InventoryOptions.SharedPaths.
	Shared bool
	// Empty is a removable drive without medium; it does not pin the VM.
	Empty bool
}

// InventoryOptions says what the host's domains may rely on.
type InventoryOptions struct {
	// SharedPaths are directories on storage every host sees (NFS,
	// cluster file systems): file and block disks under them are shared.
	SharedPaths []string
	// BlockMigration means local disks are copied during migration, so
	// they do not make a VM non-movable.
	BlockMigration bool
}

// Inventory reads the host's size and CPU model and its running domains.
// A domain that vanishes while it is read is left out. Errors wrap
// cluster.ErrHostUnreachable when the host stops answering (or ctx ends).
func (c *Conn) Inventory(ctx context.Context, opt InventoryOptions) (*Inventory, error) {
	type nodeInfo struct {
		memKiB uint64
		cpus   int32
	}
	ni, err := call(ctx, c, func() (nodeInfo, error) {
		_, mem, cpus, _, _, _, _, _, err := c.l.NodeGetInfo()
		return nodeInfo{mem, cpus}, err
	})
	if err != nil {
		return nil, fmt.Errorf("node info: %w", err)
	}
	capsXML, err := call(ctx, c, c.l.ConnectGetCapabilities)
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	caps, err := parseCapabilities(capsXML)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	inv := &Inventory{
		Host: cluster.Host{
			Name:     c.name,
			CPUs:     int(ni.cpus),
			Memory:   int64(ni.memKiB) * 1024,
			CPUModel: cpuModel(caps),
		},
		UUID: caps.Host.UUID,
	}

	doms, err := call(ctx, c, func() ([]golibvirt.Domain, error) {
		d, _, err := c.l.ConnectListAllDomains(1, golibvirt.ConnectListDomainsActive)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	for _, d := range doms {
		vm, err := c.domain(ctx, d, opt)
		if errorsIsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", d.Name, err)
		}
		inv.VMs = append(inv.VMs, *vm)
	}
	sort.Slice(inv.VMs, func(i, j int) bool { return inv.VMs[i].Name < inv.VMs[j].Name })
	return inv, nil
}

func errorsIsNotFound(err error) bool { return errors.Is(err, cluster.ErrNotFound) }

// domainPatience bounds the questions about one domain. A domain in the
// middle of a migration's job (above all the incoming copy on a
// destination) can keep every question waiting until the migration ends;
// it is then listed bare, as in flight, and the host's other domains are
// read as usual instead of the whole snapshot failing.
const domainPatience = 3 * time.Second

func (c *Conn) domain(ctx context.Context, d golibvirt.Domain, opt InventoryOptions) (*VM, error) {
	dctx, cancel := context.WithTimeout(ctx, domainPatience)
	defer cancel()
	// busy: this domain made us wait, not the host (ctx is still alive).
	busy := func(err error) bool { return err != nil && ctx.Err() == nil && dctx.Err() != nil }
	type stateReason struct{ state, reason int32 }
	st, err := call(dctx, c, func() (stateReason, error) {
		s, r, err := c.l.DomainGetState(d, 0)
		return stateReason{s, r}, err
	})
	state := stateMigrating
	if err == nil {
		state = domainState(golibvirt.DomainState(st.state), st.reason)
	}
	type info struct {
		memKiB uint64
		vcpus  uint16
	}
	var in info
	var pers int32
	var desc string
	if err == nil {
		in, err = call(dctx, c, func() (info, error) {
			_, _, mem, vcpus, _, err := c.l.DomainGetInfo(d)
			return info{mem, vcpus}, err
		})
	}
	if err == nil {
		pers, err = call(dctx, c, func() (int32, error) { return c.l.DomainIsPersistent(d) })
	}
	if err == nil {
		desc, err = call(dctx, c, func() (string, error) { return c.l.DomainGetXMLDesc(d, 0) })
	}
	inFlight := false
	switch {
	case busy(err):
		inFlight, desc = true, "<domain><name>"+d.Name+"</name></domain>"
		c.opts.Logger.Debug("libvirt: domain busy, listed as in flight", "host", c.name, "vm", d.Name, "state", state, "err", err)
	case err != nil:
		return nil, err
	}
	dx, err := parseDomain(desc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	vm := &VM{
		VM: cluster.VM{
			Name:   d.Name,
			Host:   c.name,
			VCPUs:  int(in.vcpus),
			Memory: int64(in.memKiB) * 1024,
		},
		UUID:       dx.UUID,
		Persistent: pers == 1,
		Movable:    true,
		State:      state,
		InFlight:   inFlight,
	}
	vm.Migrating = inFlight
	// Domain type qemu is TCG; kvm (and a listing in flight, which has no
	// type) is taken as hardware virtualization.
	vm.TCG = dx.Type == "qemu"
	vm.MACs = macs(dx)
	for _, x := range dx.Devices.Disks {
		disk := diskOf(x, opt.SharedPaths)
		vm.Disks = append(vm.Disks, disk)
		if vm.Movable && !disk.Shared && !disk.Empty && !opt.BlockMigration {
			vm.Movable = false
			vm.Reason = fmt.Sprintf("local %s disk %s (%s) without shared storage", disk.Type, disk.Target, disk.Source)
			vm.Pinned = vm.Reason
		}
	}
	return vm, nil
}

func parseCapabilities(s string) (*libvirtxml.Caps, error) {
	var c libvirtxml.Caps
	if err := c.Unmarshal(s); err != nil {
		return nil, fmt.Errorf("capabilities XML: %w", err)
	}
	return &c, nil
}

// cpuModel is the host CPU model, or the architecture when libvirt names
// no model (TCG hosts, some ARM hosts).
func cpuModel(c *libvirtxml.Caps) string {
	if c.Host.CPU == nil {
		return ""
	}
	if c.Host.CPU.Model != "" {
		return c.Host.CPU.Model
	}
	return c.Host.CPU.Arch
}

func parseDomain(s string) (*libvirtxml.Domain, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(s); err != nil {
		return nil, fmt.Errorf("domain XML: %w", err)
	}
	if d.Devices == nil {
		d.Devices = &libvirtxml.DomainDeviceList{}
	}
	return &d, nil
}

// macs are the domain's interface MAC addresses, lower case, in device
// order.
func macs(d *libvirtxml.Domain) []string {
	var out []string
	for _, i := range d.Devices.Interfaces {
		if i.MAC != nil && i.MAC.Address != "" {
			out = append(out, strings.ToLower(i.MAC.Address))
		}
	}
	return out
}

func diskOf(x libvirtxml.DomainDisk, sharedPaths []string) Disk {
	d := Disk{Device: x.Device}
	if x.Target != nil {
		d.Target = x.Target.Dev
	}
	if d.Device == "" {
		d.Device = "disk"
	}
	var path string
	if s := x.Source; s != nil {
		switch {
		case s.File != nil:
			d.Type, path = "file", s.File.File
		case s.Block != nil:
			d.Type, path = "block", s.Block.Dev
		case s.Dir != nil:
			d.Type, path = "dir", s.Dir.Dir
		case s.Network != nil:
			d.Type, d.Source = "network", s.Network.Protocol+":"+s.Network.Name
		case s.Volume != nil:
			d.Type, d.Source = "volume", s.Volume.Pool+"/"+s.Volume.Volume
		case s.NVME != nil:
			d.Type = "nvme"
		}
	}
	if d.Type == "" {
		d.Type = "file"
	}
	if path != "" {
		d.Source = path
	}
	switch {
	case d.Source == "" && (d.Device == "cdrom" || d.Device == "floppy"):
		d.Empty = true
	case d.Type == "network", x.Shareable != nil:
		d.Shared = true
	case path != "" && underAny(path, sharedPaths):
		d.Shared = true
	}
	return d
}

func underAny(p string, dirs []string) bool {
	p = filepath.Clean(p)
	for _, d := range dirs {
		d = filepath.Clean(d)
		if rel, err := filepath.Rel(d, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && rel != "." {
			return true
		}
	}
	return false
}

const (
	stateRunning   = "running"
	stateMigrating = "paused: migration"
)

// domainState names a libvirt state, with the reasons that matter to
// migration.
func domainState(s golibvirt.DomainState, reason int32) string {
	switch s {
	case golibvirt.DomainRunning:
		return stateRunning
	case golibvirt.DomainPaused:
		switch golibvirt.DomainPausedReason(reason) {
		case golibvirt.DomainPausedMigration:
			return stateMigrating
		case golibvirt.DomainPausedPostcopy:
			return "paused: postcopy"
		case golibvirt.DomainPausedPostcopyFailed:
			return "paused: postcopy failed"
		}
		return "paused"
	case golibvirt.DomainBlocked:
		return "blocked"
	case golibvirt.DomainShutdown:
		return "shutting down"
	case golibvirt.DomainShutoff:
		return "shut off"
	case golibvirt.DomainCrashed:
		return "crashed"
	case golibvirt.DomainPmsuspended:
		return "suspended"
	}
	return "unknown"
}
