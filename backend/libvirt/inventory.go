package libvirt

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/droverlab/drover/backend"
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
	// VMs are the running domains, by name.
	VMs []VM
}

// VM is one running domain.
type VM struct {
	// VM has Name, Host, VCPUs, Memory (current, bytes) and MACs. Resident,
	// WSS, DirtyRate and CPU come from stats (not done yet); Group and
	// Priority from drover's configuration.
	cluster.VM
	UUID string
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
// backend.ErrHostUnreachable when the host stops answering (or ctx ends).
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
			CPUModel: caps.cpuModel(),
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

func errorsIsNotFound(err error) bool { return errors.Is(err, backend.ErrNotFound) }

func (c *Conn) domain(ctx context.Context, d golibvirt.Domain, opt InventoryOptions) (*VM, error) {
	type info struct {
		memKiB uint64
		vcpus  uint16
	}
	in, err := call(ctx, c, func() (info, error) {
		_, _, mem, vcpus, _, err := c.l.DomainGetInfo(d)
		return info{mem, vcpus}, err
	})
	if err != nil {
		return nil, err
	}
	desc, err := call(ctx, c, func() (string, error) { return c.l.DomainGetXMLDesc(d, 0) })
	if err != nil {
		return nil, err
	}
	pers, err := call(ctx, c, func() (int32, error) { return c.l.DomainIsPersistent(d) })
	if err != nil {
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
	}
	for _, i := range dx.Devices.Interfaces {
		if i.MAC.Address != "" {
			vm.MACs = append(vm.MACs, strings.ToLower(i.MAC.Address))
		}
	}
	for _, x := range dx.Devices.Disks {
		disk := x.disk(opt.SharedPaths)
		vm.Disks = append(vm.Disks, disk)
		if vm.Movable && !disk.Shared && !disk.Empty && !opt.BlockMigration {
			vm.Movable = false
			vm.Reason = fmt.Sprintf("local %s disk %s (%s) without shared storage", disk.Type, disk.Target, disk.Source)
		}
	}
	return vm, nil
}

// capabilitiesXML is the part of libvirt's capabilities XML drover reads.
// (libvirt.org/go/libvirtxml could not be fetched here: its module proxy
// answer is 403 and libvirt.org is not reachable. These few fields follow
// its Caps types.)
type capabilitiesXML struct {
	XMLName xml.Name `xml:"capabilities"`
	Host    struct {
		UUID string `xml:"uuid"`
		CPU  struct {
			Arch   string `xml:"arch"`
			Model  string `xml:"model"`
			Vendor string `xml:"vendor"`
		} `xml:"cpu"`
	} `xml:"host"`
}

func parseCapabilities(s string) (*capabilitiesXML, error) {
	var c capabilitiesXML
	if err := xml.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("capabilities XML: %w", err)
	}
	return &c, nil
}

func (c *capabilitiesXML) cpuModel() string {
	if c.Host.CPU.Model != "" {
		return c.Host.CPU.Model
	}
	return c.Host.CPU.Arch
}

// domainXML is the part of a domain's XML the inventory reads.
type domainXML struct {
	XMLName xml.Name `xml:"domain"`
	UUID    string   `xml:"uuid"`
	Devices struct {
		Disks      []diskXML `xml:"disk"`
		Interfaces []struct {
			MAC struct {
				Address string `xml:"address,attr"`
			} `xml:"mac"`
		} `xml:"interface"`
	} `xml:"devices"`
}

type diskXML struct {
	Type   string `xml:"type,attr"`
	Device string `xml:"device,attr"`
	Source *struct {
		File     string `xml:"file,attr"`
		Dev      string `xml:"dev,attr"`
		Dir      string `xml:"dir,attr"`
		Protocol string `xml:"protocol,attr"`
		Name     string `xml:"name,attr"`
		Pool     string `xml:"pool,attr"`
		Volume   string `xml:"volume,attr"`
	} `xml:"source"`
	Target struct {
		Dev string `xml:"dev,attr"`
	} `xml:"target"`
	Shareable *struct{} `xml:"shareable"`
}

func parseDomain(s string) (*domainXML, error) {
	var d domainXML
	if err := xml.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("domain XML: %w", err)
	}
	return &d, nil
}

func (x diskXML) disk(sharedPaths []string) Disk {
	d := Disk{Target: x.Target.Dev, Device: x.Device, Type: x.Type}
	if d.Device == "" {
		d.Device = "disk"
	}
	if d.Type == "" {
		d.Type = "file"
	}
	var path string
	if s := x.Source; s != nil {
		switch d.Type {
		case "file":
			path = s.File
		case "block":
			path = s.Dev
		case "dir":
			path = s.Dir
		case "network":
			d.Source = s.Protocol + ":" + s.Name
		case "volume":
			d.Source = s.Pool + "/" + s.Volume
		}
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
