package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/droverlab/drover/scheduler/cluster"
	"libvirt.org/go/libvirtxml"
)

// Workload is the project's workload guest (e2e/lab/guest, built by
// e2e/lab/build-guest.sh): a kernel and an initramfs and no disk, which
// keeps a working set of WSS bytes, writes Dirty bytes/s into it and
// prints a heartbeat on its serial console. drover calibrate boots it on
// real hosts to measure migrations of known working set and rate.
type Workload struct {
	Name      string
	MemoryMiB int
	WSS       int64
	Dirty     int64
	// GuestDir holds vmlinuz and initrd.gz, at the same path on every
	// host (the destination's QEMU opens them again).
	GuestDir string
	// KVM asks for hardware virtualization; TCG otherwise.
	KVM bool
	// CPU is the share of its vCPU the guest keeps busy (0..1), for
	// balancing tests; 0 leaves it idle between writes.
	CPU float64

	// The knobs below keep their zero value for drover calibrate; the lab
	// scripts (e2e/lab, through drover guest-xml) and the lab specs set them.

	// SerialFile, when set, sends the serial console straight to this
	// file (a path on the host the guest runs on) instead of to a pty
	// logged to /var/log/libvirt/qemu/NAME-serial.log; Console cannot read
	// such a guest.
	SerialFile string
	// NoBalloon leaves the virtio-balloon out (memballoon model none).
	NoBalloon bool
	// MAC, when set, gives the guest one user-mode virtio NIC with this
	// address.
	MAC string
}

// WorkloadDescription marks a domain as a workload guest, so that drover
// removes no other domain of the same name.
const WorkloadDescription = "drover calibrate: workload guest (e2e/lab/guest), safe to remove"

// cmdline is the guest's kernel command line (e2e/lab/guest reads the
// drover.* keys).
func cmdline(w Workload) string {
	c := fmt.Sprintf("console=ttyS0 panic=-1 quiet drover.wss=%d drover.dirty=%d", w.WSS, w.Dirty)
	if w.CPU > 0 {
		c += fmt.Sprintf(" drover.cpu=%.2f", min(w.CPU, 1))
	}
	return c
}

// XML is the workload's domain. The serial console is a pty, so that it
// can be read over libvirt's RPC from anywhere (Console), and is logged
// on the host as well; a virtio-balloon reports the guest's free memory
// every second, the live figure of its non-zero memory. SerialFile,
// NoBalloon and MAC change those devices (the lab's variants).
func (w Workload) XML() (string, error) {
	if w.Name == "" || w.MemoryMiB <= 0 || w.GuestDir == "" {
		return "", fmt.Errorf("workload: name, memory and guest directory are required (got %q, %d MiB, %q)", w.Name, w.MemoryMiB, w.GuestDir)
	}
	if strings.ContainsAny(w.GuestDir, " \t\n") {
		return "", fmt.Errorf("workload: guest directory %q has white space", w.GuestDir)
	}
	if w.SerialFile != "" && !path.IsAbs(w.SerialFile) {
		return "", fmt.Errorf("workload: serial file %q is not an absolute path", w.SerialFile)
	}
	if w.MAC != "" {
		if _, err := net.ParseMAC(w.MAC); err != nil {
			return "", fmt.Errorf("workload: %v", err)
		}
	}
	typ := "qemu"
	if w.KVM {
		typ = "kvm"
	}
	port := uint(0)
	pty := libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}}
	logf := &libvirtxml.DomainChardevLog{File: "/var/log/libvirt/qemu/" + w.Name + "-serial.log", Append: "on"}
	serial := libvirtxml.DomainSerial{Source: &pty, Log: logf, Target: &libvirtxml.DomainSerialTarget{Port: &port}}
	console := libvirtxml.DomainConsole{Source: &pty, Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: &port}}
	if w.SerialFile != "" {
		file := libvirtxml.DomainChardevSource{File: &libvirtxml.DomainChardevSourceFile{Path: w.SerialFile, Append: "on"}}
		serial.Source, serial.Log, console.Source = &file, nil, &file
	}
	balloon := &libvirtxml.DomainMemBalloon{Model: "virtio", Stats: &libvirtxml.DomainMemBalloonStats{Period: 1}}
	if w.NoBalloon {
		balloon = &libvirtxml.DomainMemBalloon{Model: "none"}
	}
	var nics []libvirtxml.DomainInterface
	if w.MAC != "" {
		nics = []libvirtxml.DomainInterface{{
			Source: &libvirtxml.DomainInterfaceSource{User: &libvirtxml.DomainInterfaceSourceUser{}},
			MAC:    &libvirtxml.DomainInterfaceMAC{Address: w.MAC},
			Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		}}
	}
	d := libvirtxml.Domain{
		Type:        typ,
		Name:        w.Name,
		Description: WorkloadDescription,
		Memory:      &libvirtxml.DomainMemory{Value: uint(w.MemoryMiB), Unit: "MiB"},
		VCPU:        &libvirtxml.DomainVCPU{Value: 1},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "pc", Type: "hvm"},
			Kernel:  w.GuestDir + "/vmlinuz",
			Initrd:  w.GuestDir + "/initrd.gz",
			Cmdline: cmdline(w),
		},
		// Without <acpi/> libvirt passes -no-acpi, which QEMU 10 rejects.
		Features:   &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}},
		OnPoweroff: "destroy", OnReboot: "destroy", OnCrash: "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Serials:     []libvirtxml.DomainSerial{serial},
			Consoles:    []libvirtxml.DomainConsole{console},
			Interfaces:  nics,
			Controllers: []libvirtxml.DomainController{{Type: "usb", Model: "none"}},
			MemBalloon:  balloon,
		},
	}
	return d.Marshal()
}

// KVM reports whether the host can run guests with KVM: libvirt knows
// its domain capabilities for the kvm type only where /dev/kvm works.
func (c *Conn) KVM(ctx context.Context) (bool, error) {
	_, err := call(ctx, c, func() (string, error) {
		return c.l.ConnectGetDomainCapabilities(golibvirt.OptString{}, golibvirt.OptString{"x86_64"}, golibvirt.OptString{}, golibvirt.OptString{"kvm"}, 0)
	})
	if err == nil {
		return true, nil
	}
	var le golibvirt.Error
	if errors.As(err, &le) {
		return false, nil // libvirt answered: no kvm here
	}
	return false, err
}

// Boot defines the domain persistently and starts it.
func (c *Conn) Boot(ctx context.Context, xml string) error {
	_, err := call(ctx, c, func() (struct{}, error) {
		d, err := c.l.DomainDefineXML(xml)
		if err != nil {
			return struct{}{}, err
		}
		if err := c.l.DomainCreate(d); err != nil {
			_ = c.l.DomainUndefine(d)
			return struct{}{}, err
		}
		return struct{}{}, nil
	})
	return err
}

// RemoveWorkload destroys and undefines a workload guest; a domain that
// is not there is not an error, and one that is not a workload guest
// (another description) is refused, never touched.
func (c *Conn) RemoveWorkload(ctx context.Context, name string) error {
	_, err := call(ctx, c, func() (struct{}, error) {
		d, err := c.l.DomainLookupByName(name)
		if err != nil {
			return struct{}{}, err
		}
		x, err := c.l.DomainGetXMLDesc(d, golibvirt.DomainXMLInactive)
		if err != nil {
			return struct{}{}, err
		}
		var dom libvirtxml.Domain
		if err := dom.Unmarshal(x); err != nil {
			return struct{}{}, err
		}
		if dom.Description != WorkloadDescription {
			return struct{}{}, fmt.Errorf("%w: domain %s is not a drover workload guest (its description differs): left alone", errForeign, name)
		}
		_ = c.l.DomainDestroy(d) // not running is fine
		return struct{}{}, c.l.DomainUndefine(d)
	})
	if errors.Is(err, cluster.ErrNotFound) {
		return nil
	}
	return err
}

// errForeign is a domain drover did not make where it would make one.
var errForeign = errors.New("name taken")

// Console copies the domain's serial console to w until the stream ends:
// the domain stopped or left the host, or c was closed. It takes a
// connection of its own (closing it is how a reader stops early), since
// the stream holds it; w must not block.
func (c *Conn) Console(name string, w io.Writer) error {
	d, err := c.l.DomainLookupByName(name)
	if err != nil {
		return c.mapError(err)
	}
	// FORCE: a console left open by an earlier reader is taken over.
	if err := c.l.DomainOpenConsole(d, golibvirt.OptString{}, w, uint32(golibvirt.DomainConsoleForce)); err != nil {
		return c.mapError(err)
	}
	return nil
}

// JobStats are the figures of a completed migration job as libvirt keeps
// them on the destination (virDomainGetJobStats, completed), under their
// typed-parameter names (time_elapsed, downtime, data_total,
// memory_iteration, ...), all integers.
type JobStats map[string]uint64

// CompletedJob reads the domain's completed job and keeps it, so that
// others may read it again (virsh domjobinfo --completed).
func (c *Conn) CompletedJob(ctx context.Context, name string) (JobStats, error) {
	return call(ctx, c, func() (JobStats, error) {
		d, err := c.l.DomainLookupByName(name)
		if err != nil {
			return nil, err
		}
		_, ps, err := c.l.DomainGetJobStats(d, golibvirt.DomainJobStatsCompleted|golibvirt.DomainJobStatsKeepCompleted)
		if err != nil {
			return nil, err
		}
		p := params(ps)
		s := make(JobStats, len(p))
		for k := range p {
			s[k] = p.uint(k)
		}
		return s, nil
	})
}
