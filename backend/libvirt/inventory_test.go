package libvirt

import "testing"

const domXML = `<domain type='kvm'>
  <name>web1</name>
  <uuid>8c1f6a2e-0000-4000-8000-000000000001</uuid>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/web1.qcow2'/><target dev='vda'/></disk>
    <disk type='file' device='disk'><source file='/mnt/nfs/web1-data.qcow2'/><target dev='vdb'/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='pool/web1'/><target dev='vdc'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc'/></disk>
    <disk type='block' device='disk'><source dev='/dev/mapper/shared'/><target dev='vdd'/><shareable/></disk>
    <interface type='network'><mac address='52:54:00:AA:00:01'/></interface>
    <interface type='user'><mac address='52:54:00:aa:00:02'/></interface>
  </devices>
</domain>`

func TestParseDomainDisks(t *testing.T) {
	d, err := parseDomain(domXML)
	if err != nil {
		t.Fatal(err)
	}
	want := []Disk{
		{Target: "vda", Device: "disk", Type: "file", Source: "/var/lib/libvirt/images/web1.qcow2"},
		{Target: "vdb", Device: "disk", Type: "file", Source: "/mnt/nfs/web1-data.qcow2", Shared: true},
		{Target: "vdc", Device: "disk", Type: "network", Source: "rbd:pool/web1", Shared: true},
		{Target: "hdc", Device: "cdrom", Type: "file", Empty: true},
		{Target: "vdd", Device: "disk", Type: "block", Source: "/dev/mapper/shared", Shared: true},
	}
	if len(d.Devices.Disks) != len(want) {
		t.Fatalf("%d disks, want %d", len(d.Devices.Disks), len(want))
	}
	for i, x := range d.Devices.Disks {
		if got := diskOf(x, []string{"/mnt/nfs"}); got != want[i] {
			t.Errorf("disk %d: %+v, want %+v", i, got, want[i])
		}
	}
	if n := len(d.Devices.Interfaces); n != 2 || d.Devices.Interfaces[0].MAC.Address != "52:54:00:AA:00:01" {
		t.Fatalf("interfaces: %+v", d.Devices.Interfaces)
	}
}

func TestUnderAny(t *testing.T) {
	for p, want := range map[string]bool{
		"/mnt/nfs/a.qcow2": true, "/mnt/nfs": false, "/mnt/nfsx/a": false, "/mnt/nfs/../x": false,
	} {
		if underAny(p, []string{"/mnt/nfs/"}) != want {
			t.Errorf("underAny(%q) != %v", p, want)
		}
	}
}

func TestCapabilitiesModel(t *testing.T) {
	c, err := parseCapabilities(`<capabilities><host><uuid>u1</uuid><cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model><vendor>Intel</vendor></cpu></host></capabilities>`)
	if err != nil || cpuModel(c) != "Skylake-Client-IBRS" || c.Host.UUID != "u1" {
		t.Fatalf("%+v %v", c, err)
	}
	c, _ = parseCapabilities(`<capabilities><host><cpu><arch>aarch64</arch></cpu></host></capabilities>`)
	if cpuModel(c) != "aarch64" {
		t.Fatalf("model %q", cpuModel(c))
	}
}
