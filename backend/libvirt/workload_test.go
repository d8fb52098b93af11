package libvirt

import (
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// The workload guest drover calibrate boots: pty console logged on the
// host, virtio-balloon, no NIC.
const calibrateGuestXML = `<domain type="qemu">
  <name>a</name>
  <description>drover calibrate: workload guest (e2e/lab/guest), safe to remove</description>
  <memory unit="MiB">160</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <kernel>/var/tmp/g/vmlinuz</kernel>
    <initrd>/var/tmp/g/initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet drover.wss=16777216 drover.dirty=4194304</cmdline>
  </os>
  <features>
    <acpi></acpi>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type="usb" model="none"></controller>
    <serial type="pty">
      <target port="0"></target>
      <log file="/var/log/libvirt/qemu/a-serial.log" append="on"></log>
    </serial>
    <console type="pty">
      <target type="serial" port="0"></target>
    </console>
    <memballoon model="virtio">
      <stats period="1"></stats>
    </memballoon>
  </devices>
</domain>`

func TestWorkloadXML(t *testing.T) {
	w := Workload{Name: "a", MemoryMiB: 160, WSS: 16 << 20, Dirty: 4 << 20, GuestDir: "/var/tmp/g"}
	got, err := w.XML()
	if err != nil {
		t.Fatal(err)
	}
	if got != calibrateGuestXML {
		t.Errorf("the calibrate guest's XML changed:\n%s", got)
	}
	w.KVM = true
	if got, _ := w.XML(); !strings.HasPrefix(got, `<domain type="kvm">`) {
		t.Errorf("KVM: %s", got)
	}
}

// The lab's variant: serial and console to a file, no balloon, a NIC.
func TestWorkloadXMLLabKnobs(t *testing.T) {
	w := Workload{Name: "drlab", MemoryMiB: 128, WSS: 16 << 20, Dirty: 4 << 20, GuestDir: "/var/tmp/g",
		SerialFile: "/var/log/libvirt/qemu/drlab-serial.log", NoBalloon: true, MAC: "52:54:00:dd:00:01"}
	x, err := w.XML()
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	dv := d.Devices
	if len(dv.Serials) != 1 || dv.Serials[0].Source.File == nil || dv.Serials[0].Source.File.Path != w.SerialFile ||
		dv.Serials[0].Source.File.Append != "on" || dv.Serials[0].Log != nil {
		t.Errorf("serial: %s", x)
	}
	if len(dv.Consoles) != 1 || dv.Consoles[0].Source.File == nil || dv.Consoles[0].Source.File.Path != w.SerialFile {
		t.Errorf("console: %s", x)
	}
	if dv.MemBalloon == nil || dv.MemBalloon.Model != "none" || dv.MemBalloon.Stats != nil {
		t.Errorf("balloon: %s", x)
	}
	if len(dv.Interfaces) != 1 || dv.Interfaces[0].Source.User == nil || dv.Interfaces[0].MAC.Address != w.MAC ||
		dv.Interfaces[0].Model.Type != "virtio" {
		t.Errorf("interface: %s", x)
	}
	if d.Description != WorkloadDescription {
		t.Errorf("description %q", d.Description)
	}
}

func TestWorkloadXMLRefusals(t *testing.T) {
	ok := Workload{Name: "a", MemoryMiB: 128, GuestDir: "/g"}
	for _, c := range []struct {
		change func(*Workload)
		want   string
	}{
		{func(w *Workload) { w.GuestDir = "" }, "guest directory"},
		{func(w *Workload) { w.MemoryMiB = 0 }, "memory"},
		{func(w *Workload) { w.GuestDir = "/a b" }, "white space"},
		{func(w *Workload) { w.SerialFile = "serial.log" }, "absolute"},
		{func(w *Workload) { w.MAC = "52:54:00" }, "invalid MAC"},
	} {
		w := ok
		c.change(&w)
		if _, err := w.XML(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", w, err, c.want)
		}
	}
}
