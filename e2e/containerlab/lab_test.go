package containerlab

import (
	"strings"
	"testing"
)

// The lab's plan needs no Docker: addresses, transports, zones and racks
// follow from the config alone, and a bad config is refused whole.
func TestPlan(t *testing.T) {
	c := Config{Image: "x", Hosts: 4, Secured: 2, Foreign: true, Expiring: true, WrongSAN: true, Zones: 2, Racks: 2, Dir: "/tmp/l"}
	if err := c.defaults(); err != nil {
		t.Fatal(err)
	}
	hs := c.plan()
	want := []Host{
		{Name: "h1", Address: "198.18.64.1", Zone: "z1", Rack: "z1-r1"},
		{Name: "h2", Address: "198.18.64.2", Zone: "z2", Rack: "z2-r1"},
		{Name: "h3", Address: "198.18.64.3", Zone: "z1", Rack: "z1-r2", TLS: true},
		{Name: "h4", Address: "198.18.64.4", Zone: "z2", Rack: "z2-r2", TLS: true},
		{Name: "h5", Address: "198.18.64.5", Zone: "z1", Rack: "z1-r1", TLS: true, CertFault: CertForeign},
		{Name: "h6", Address: "198.18.64.6", Zone: "z2", Rack: "z2-r1", TLS: true, CertFault: CertExpiring},
		{Name: "h7", Address: "198.18.64.7", Zone: "z1", Rack: "z1-r2", TLS: true, CertFault: CertWrongSAN},
	}
	if len(hs) != len(want) {
		t.Fatalf("%d hosts, want %d", len(hs), len(want))
	}
	for i := range want {
		if hs[i] != want[i] {
			t.Errorf("host %d: %+v, want %+v", i, hs[i], want[i])
		}
	}
	l := &Lab{Name: "t", Dir: "/tmp/l", Hosts: hs}
	inv := string(l.Inventory())
	for _, h := range []string{"h5", "h6", "h7"} {
		if strings.Contains(inv, h) {
			t.Errorf("%s, a host with a bad certificate, is in the inventory:\n%s", h, inv)
		}
	}
	for _, s := range []string{"pki: /tmp/l/pki/clients/drover", "{name: h3, address: 198.18.64.3, transport: tls, zone: z1, rack: z1-r2}"} {
		if !strings.Contains(inv, s) {
			t.Errorf("inventory lacks %q:\n%s", s, inv)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	c := Config{Hosts: 0, Secured: 3, Subnet: "10.0.0.0/24", Shared: "disks"}
	err := c.defaults()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, s := range []string{"no image", "0 hosts", "3 secured", "inside 198.18.0.0/15", "no directory", `shared directory "disks": want an absolute path`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
}

// The probe on devices that are not KVM: absent is a plain no, and a
// device that does not answer KVM's ioctl is a no with the reason.
func TestKVMUsable(t *testing.T) {
	if ok, err := kvmUsable("/nonexistent/kvm"); ok || err != nil {
		t.Errorf("missing device: %v, %v; want false, nil", ok, err)
	}
	ok, err := kvmUsable("/dev/null")
	if ok || err == nil || !strings.Contains(err.Error(), "KVM_GET_API_VERSION") {
		t.Errorf("/dev/null: %v, %v; want false and the ioctl's error", ok, err)
	}
	ok, err = KVMUsable()
	t.Logf("this machine: KVM usable %v (%v)", ok, err)
}
