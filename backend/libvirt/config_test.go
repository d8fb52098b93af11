package libvirt

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
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
	if cfg.TLS != cluster.TLSMatching {
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
		{"window unit", "working_set: {windows: [1s, 2500ms]}\n" + tcpHost, "inv.yaml:1:29: working_set.windows: 2.5s is not a whole number of seconds"},
		{"window order", "working_set:\n  windows: [4s, 1s]\n" + tcpHost, "inv.yaml:2:17: working_set.windows: 1s after 4s"},
		{"window too long", "working_set: {windows: [90s]}\n" + tcpHost, "is not a whole number of seconds from 1s to 60s"},
		{"samples", "working_set: {samples: -1}\n" + tcpHost, "inv.yaml:1:14: working_set.samples: -1"},
		{"working_set field", "working_set: {window: [1s]}\n" + tcpHost, `inv.yaml:1:15: working_set: unknown field "window"`},
		{"campaign too long", "dirty_rate_max_age: 20s\nworking_set: {windows: [1s, 4s], samples: 3}\n" + tcpHost, "a campaign takes 30s, not shorter than dirty_rate_max_age (20s)"},
		{"period and windows", "dirty_rate_period: 2s\nworking_set: {windows: [1s, 4s]}\n" + tcpHost, "dirty_rate_period is deprecated"},
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

const tcpHost = "hosts:\n  - {name: a, address: x, transport: tcp}\n"

func TestWorkingSetConfig(t *testing.T) {
	for _, tc := range []struct {
		in   string
		plan string
		long time.Duration
	}{
		{"", "[1s 1s 1s 1s 4s 1s 1s 1s 1s 4s]", 16 * time.Second},
		{"working_set: {windows: [2s, 5s], samples: 1}\n", "[2s 2s 5s]", 9 * time.Second},
		// the deprecated period is the short window
		{"dirty_rate_period: 2s\n", "[2s 2s 2s 2s 8s 2s 2s 2s 2s 8s]", 32 * time.Second},
		{"working_set: {windows: [3s]}\n", "[3s 3s]", 6 * time.Second},
	} {
		cfg, err := ParseConfig("inv.yaml", []byte(tc.in+tcpHost))
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		plan := cfg.campaignPlan()
		if got := fmt.Sprint(plan); got != tc.plan {
			t.Errorf("%q: plan %s, want %s", tc.in, got, tc.plan)
		}
		if got := cfg.campaignLength(); got != tc.long+time.Duration(len(plan))*campaignSlack {
			t.Errorf("%q: campaign %s, want %s + slack", tc.in, got, tc.long)
		}
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

// migration.profile: a built-in name or a file beside the inventory; the
// scenario drover inventory writes names it so that it is found from
// anywhere; a bad one is refused at its line and column.
func TestConfigProfile(t *testing.T) {
	dir := t.TempDir()
	prof := precopy.DefaultProfile()
	prof.Name, prof.StreamRate = "lab", 40<<20
	b, err := prof.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	inv := func(ref string) string {
		return "migration: {profile: " + ref + "}\nhosts:\n  - {name: h1, address: 198.18.0.1, transport: tcp}\n"
	}
	cfg, err := ParseConfig(filepath.Join(dir, "inv.yaml"), []byte(inv("lab.json")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Profile().Name != "lab" || cfg.Profile().StreamRate != 40<<20 {
		t.Errorf("profile = %+v", cfg.Profile())
	}
	if m := new(cfg.SchedulerMigration()); m.Profile.Name != "lab" || m.ProfileRef != filepath.Join(dir, "lab.json") {
		t.Errorf("scenario migration: %q %q", m.Profile.Name, m.ProfileRef)
	}
	cfg, err = ParseConfig("inv.yaml", []byte(inv("qemu10-tcg")))
	if err != nil || cfg.Profile().Name != "qemu10-tcg" {
		t.Fatalf("built-in: %v %v", cfg, err)
	}
	if cfg, err = ParseConfig("inv.yaml", []byte("hosts:\n  - {name: h1, address: 198.18.0.1, transport: tcp}\n")); err != nil || cfg.Profile() != precopy.DefaultProfile() {
		t.Errorf("default: %v", err)
	}
	_, err = ParseConfig(filepath.Join(dir, "inv.yaml"), []byte(inv("nope.json")))
	if err == nil || !strings.Contains(err.Error(), "inv.yaml:1:22: migration.profile: profile \"nope.json\" is neither") {
		t.Errorf("want the position of a bad profile, got %v", err)
	}
}
