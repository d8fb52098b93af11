package libvirt

import (
	"strings"
	"testing"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/filter"
)

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig("inv.yaml", []byte(`
pki: /etc/drover/pki/clients/drover
migration: {bandwidth: 1Gbit/s, downtime_limit: 300ms, auto_converge: true, max_per_host: 2}
hosts:
  - {name: kvm2, address: 10.0.0.12, transport: tcp, zone: b, state: maintenance}
  - {name: kvm1, address: 10.0.0.11, zone: a, rack: r1, nics: 2, nic_speed: 25Gbit/s}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS != filter.TLSMatching {
		t.Errorf("tls = %q, want matching by default", cfg.TLS)
	}
	if cfg.Hosts[0].Name != "kvm1" || cfg.Hosts[0].Transport != TLS || cfg.Hosts[0].NICSpeed != 25e9/8 || cfg.Hosts[0].NICs != 2 {
		t.Errorf("kvm1 = %+v", cfg.Hosts[0])
	}
	if h := cfg.Host("kvm2"); h == nil || h.State != cluster.HostMaintenance || h.NICs != 1 || h.NICSpeed != 10e9/8 {
		t.Errorf("kvm2 = %+v", h)
	}
	o := cfg.MigrationOptions()
	if o.Bandwidth != 1e9/8 || o.DowntimeLimit != 300*time.Millisecond || !o.AutoConverge {
		t.Errorf("options = %+v", o)
	}
}

// Every problem at once, each with file, line and column.
func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown field", "hosts:\n  - {name: a, address: x, transport: tcp, colour: red}\n", `inv.yaml:2:43: host: unknown field "colour"`},
		{"bad rate", "hosts:\n  - {name: a, address: x, transport: tcp, nic_speed: fast}\n", `inv.yaml:2:54: bad rate "fast"`},
		{"bad duration", "timeout: soon\nhosts:\n  - {name: a, address: x, transport: tcp}\n", `inv.yaml:1:10: bad duration "soon"`},
		{"no address", "hosts:\n  - {name: a, transport: tcp}\n", "inv.yaml:2:5: host a: no address"},
		{"twice", "hosts:\n  - {name: a, address: x, transport: tcp}\n  - {name: a, address: y, transport: tcp}\n", "inv.yaml:3:5: host a: listed twice"},
		{"transport", "hosts:\n  - {name: a, address: x, transport: ssh}\n", `transport "ssh" is not tls, tcp or unix`},
		{"tls off", "tls: off\nhosts:\n  - {name: a, address: x, transport: tcp}\n", "never migrate between security states"},
		{"tls without pki", "hosts:\n  - {name: a, address: x}\n", "pki: tls hosts need"},
		{"syntax", "hosts: [\n", "inv.yaml:"},
		{"no hosts", "pki: x\n", "hosts: no hosts"},
	} {
		_, err := ParseConfig("inv.yaml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	_, err := ParseConfig("inv.yaml", []byte("hosts:\n  - {name: a, transport: tcp}\n  - {name: b, address: y, transport: ssh}\n"))
	if err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("want both errors, got %v", err)
	}
}

func TestMigrationURI(t *testing.T) {
	b := &Backend{cfg: &Config{}}
	for _, tc := range []struct {
		h       HostConfig
		secured bool
		want    string
	}{
		{HostConfig{Name: "a", Address: "10.0.0.1", Transport: TCP}, false, "qemu+tcp://10.0.0.1/system"},
		{HostConfig{Name: "a", Address: "kvm1.lab", Transport: TLS}, true, "qemu+tls://kvm1.lab/system"},
		{HostConfig{Name: "a", Address: "fd00::1", Transport: TLS}, true, "qemu+tls://[fd00::1]/system"},
		{HostConfig{Name: "a", Address: "10.0.0.1", Transport: TLS, Port: 16600}, true, "qemu+tls://10.0.0.1:16600/system"},
	} {
		h := &host{cfg: tc.h, b: b}
		got, err := h.migrationURI(tc.secured)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.h, got, err, tc.want)
		}
	}
	h := &host{cfg: HostConfig{Name: "local", Transport: Unix}, b: b}
	if _, err := h.migrationURI(false); err == nil {
		t.Error("a unix host has no migration URI")
	}
}

func TestPostconditions(t *testing.T) {
	before := &VM{VM: cluster.VM{MACs: []string{"52:54:00:00:00:01"}}}
	ok := placement{state: map[string]string{"b": stateRunning}, macs: map[string][]string{"b": {"52:54:00:00:00:01"}}}
	if msg := postconditions(before, ok, "a", "b"); msg != "" {
		t.Errorf("clean migration: %s", msg)
	}
	bad := placement{state: map[string]string{"a": "paused", "b": "paused"}, macs: map[string][]string{"b": {"52:54:00:00:00:02"}}}
	msg := postconditions(before, bad, "a", "b")
	for _, want := range []string{"not running on b", "still paused on a", "MAC addresses changed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}
