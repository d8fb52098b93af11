package libvirt

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/droverlab/drover/profiles"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/units"
)

// Config is an inventory file: the hosts of a live cluster and how drover
// reaches and treats them. `drover inventory`, `plan --inventory` and
// `apply` read it.
//
//	pki: /etc/drover/pki/clients/drover   # drover's client certificate, key and the cluster CA
//	tls: matching                          # or required: unsecured hosts take no part
//	shared_paths: [/srv/nfs/images]
//	migration: {bandwidth: 1Gbit/s, downtime_limit: 300ms, auto_converge: true}
//	hosts:
//	  - {name: kvm1, address: 10.0.0.11, transport: tls, zone: a, rack: r1, nics: 2, nic_speed: 10Gbit/s}
//	  - {name: kvm2, address: 10.0.0.12, transport: tcp, zone: b, state: maintenance}
type Config struct {
	// PKI is drover's client directory (cacert.pem, clientcert.pem,
	// clientkey.pem), as `drover pki issue client` writes it. Needed for
	// tls hosts and to probe security states.
	PKI string `yaml:"pki"`
	// TLS is the enforcement mode: matching (the default) or required.
	// The real backend has no "off": it never migrates between hosts of
	// different security states.
	TLS cluster.TLSMode `yaml:"tls"`
	// InsecureSkipVerify names hosts whose certificate drover does not
	// verify (trials only; every connection logs a warning). Such hosts
	// count as invalid for TLS enforcement: nothing migrates to or from
	// them.
	InsecureSkipVerify []string `yaml:"insecure_skip_verify"`
	// SharedPaths are directories every host sees; local disks elsewhere
	// make a VM non-movable unless BlockMigration is set. libvirt checks
	// for itself too: a path it cannot tell is shared (NFS, cluster file
	// systems) must also be in qemu.conf's shared_filesystems, with the
	// disk's cache none or directsync, or it refuses ("unsafe").
	SharedPaths    []string `yaml:"shared_paths"`
	BlockMigration bool     `yaml:"block_migration"`
	// Timeout bounds one call to a host (dial, inventory); 10s when 0.
	Timeout Duration `yaml:"timeout"`
	// PollInterval is how often a running migration's job stats are read;
	// 400ms when 0.
	PollInterval Duration `yaml:"poll_interval"`
	// DirtyRateMaxAge is how old a VM's working-set estimate may be
	// before a snapshot measures it afresh; 1m when 0.
	DirtyRateMaxAge Duration `yaml:"dirty_rate_max_age"`
	// WorkingSet is how the working set and dirty rate are measured.
	WorkingSet WorkingSetConfig `yaml:"working_set"`
	// DirtyRatePeriod is deprecated: it was the one dirty-rate window.
	// Alone it still sets the short window (working_set.windows becomes
	// [period, 4×period], at most 60s); with working_set.windows it is an
	// error.
	DirtyRatePeriod Duration `yaml:"dirty_rate_period"`
	// Migration holds the options every migration starts with and the
	// executor's limits.
	Migration MigrationConfig `yaml:"migration"`
	Hosts     []HostConfig    `yaml:"hosts"`

	file    string
	profile precopy.Profile
	// profileRef names the profile from anywhere (a built-in name or an
	// absolute path), for the scenarios drover inventory writes.
	profileRef string
}

// ProfileRef is the migration.profile key: the reference and where it
// stands, for errors.
type ProfileRef struct {
	Ref          string
	line, column int
}

func (p *ProfileRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &nodeError{n, "migration.profile: want a built-in profile name or a profile file"}
	}
	p.Ref, p.line, p.column = n.Value, n.Line, n.Column
	return nil
}

// Profile is the calibration profile of migration.profile, loaded.
func (c *Config) Profile() precopy.Profile { return c.profile }

// MigrationConfig is the migration section of an inventory file.
type MigrationConfig struct {
	// Profile is the calibration profile plans on these hosts predict
	// with: a built-in name or a file from drover calibrate, relative to
	// the inventory file (default: the built-in default). A profile with
	// stream rates bounds uncapped streams by what these hosts achieve.
	Profile       ProfileRef `yaml:"profile"`
	Bandwidth     Rate       `yaml:"bandwidth"`
	DowntimeLimit Duration   `yaml:"downtime_limit"`
	AutoConverge  bool       `yaml:"auto_converge"`
	// CPUThrottleInitial and CPUThrottleIncrement are auto-converge's
	// steps in percent, as QEMU's parameters (0: QEMU's 20 and 10).
	CPUThrottleInitial   int  `yaml:"cpu_throttle_initial"`
	CPUThrottleIncrement int  `yaml:"cpu_throttle_increment"`
	PostCopy             bool `yaml:"postcopy"`
	// The executor's limits (scheduler.Config). The two timeouts default
	// to 150s, on_limit to abort, as in scenarios, so that a plan made on
	// `drover inventory`'s scenario predicts what apply does.
	CompletionTimeoutPerGiB Duration        `yaml:"completion_timeout_per_gib"`
	ProgressTimeout         Duration        `yaml:"progress_timeout"`
	MaxIterations           int             `yaml:"max_iterations"`
	OnLimit                 cluster.OnLimit `yaml:"on_limit"`
	MaxParallel             int             `yaml:"max_parallel"`
	MaxPerHost              int             `yaml:"max_per_host"`
}

// WorkingSetConfig is how a snapshot measures a running VM's working set
// and dirty rate (EstimateWSS): libvirt page-sampling dirty-rate windows
// of whole seconds (1s..60s, shortest first), [1s, 4s] when none.
// Samples is how many times the longest window is measured, 2 when 0;
// each shorter window is measured for as long (1s: 8 times), because the
// rate is read from it and extrapolated, so its noise counts fourfold. A
// campaign takes len(windows) × samples × the longest window (16s by
// default) per host, every VM of the host at once, and runs when a VM's
// estimate is older than dirty_rate_max_age.
//
//	working_set: {windows: [1s, 4s], samples: 2}
type WorkingSetConfig struct {
	Windows []Duration `yaml:"windows"`
	Samples int        `yaml:"samples"`

	line, column int
	at           [][2]int // each window's line and column
}

var workingSetKeys = []string{"windows", "samples"}

func (w *WorkingSetConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !slices.Contains(workingSetKeys, k.Value) {
				return &nodeError{k, fmt.Sprintf("working_set: unknown field %q (known: %s)", k.Value, strings.Join(workingSetKeys, ", "))}
			}
			if k.Value == "windows" && v.Kind == yaml.SequenceNode {
				for _, e := range v.Content {
					w.at = append(w.at, [2]int{e.Line, e.Column})
				}
			}
		}
	}
	type plain WorkingSetConfig
	p := plain{at: w.at}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*w = WorkingSetConfig(p)
	w.line, w.column = n.Line, n.Column
	return nil
}

// defaultWindows are the campaign's windows when none are configured.
var defaultWindows = []Duration{Duration(time.Second), Duration(4 * time.Second)}

// HostConfig is one host of an inventory file.
type HostConfig struct {
	Name string `yaml:"name"`
	// Address is the IP address or DNS name drover, and the other hosts'
	// daemons in peer-to-peer migration, use to reach the host; a tls
	// host's certificate must name it. For transport unix it is the
	// socket path (the local daemon).
	Address   string    `yaml:"address"`
	Transport Transport `yaml:"transport"`
	Port      int       `yaml:"port"`
	Zone      string    `yaml:"zone"`
	Rack      string    `yaml:"rack"`
	Class     string    `yaml:"class"`
	// NICs and NICSpeed are the host's migration ports; 1 × 10Gbit/s when
	// not given.
	NICs     int               `yaml:"nics"`
	NICSpeed Rate              `yaml:"nic_speed"`
	State    cluster.HostState `yaml:"state"`

	line, column int
}

// Rate is a rate in bytes/s written with a unit (1Gbit/s, 100MiB/s).
type Rate float64

// Duration is a Go duration string (300ms, 90s).
type Duration time.Duration

func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	v, err := units.ParseRate(n.Value, 4096)
	if err != nil {
		return &nodeError{n, err.Error()}
	}
	*r = Rate(v)
	return nil
}

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return &nodeError{n, fmt.Sprintf("bad duration %q (use e.g. 300ms, 90s, 5m)", n.Value)}
	}
	*d = Duration(v)
	return nil
}

// hostKeys are HostConfig's fields: yaml.v3 does not apply KnownFields
// inside a custom unmarshaller.
var hostKeys = []string{"name", "address", "transport", "port", "zone", "rack", "class", "nics", "nic_speed", "state"}

func (h *HostConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(hostKeys, k.Value) {
				return &nodeError{k, fmt.Sprintf("host: unknown field %q (known: %s)", k.Value, strings.Join(hostKeys, ", "))}
			}
		}
	}
	type plain HostConfig
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*h = HostConfig(p)
	h.line, h.column = n.Line, n.Column
	return nil
}

// nodeError is a value error at a YAML node.
type nodeError struct {
	n   *yaml.Node
	msg string
}

func (e *nodeError) Error() string { return fmt.Sprintf("%d:%d: %s", e.n.Line, e.n.Column, e.msg) }

// LoadConfig reads an inventory file. Errors name the file, line and
// column, all of them at once.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, b)
}

// ParseConfig parses an inventory file's bytes; file names it in errors.
func ParseConfig(file string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, yamlError(file, err)
	}
	c.file = file
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// yamlError puts file in front of yaml.v3's "line N: msg" and our
// "line:col: msg".
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	var ne *nodeError
	switch {
	case errors.As(err, &ne):
		return fmt.Errorf("%s:%s", file, ne.Error())
	case errors.As(err, &te):
		var msgs []string
		for _, m := range te.Errors {
			m = strings.TrimPrefix(m, "line ")
			if i := strings.Index(m, ": "); i > 0 && !strings.Contains(m[:i], ":") {
				m = m[:i] + ":1" + m[i:] // yaml.v3 gives no column here
			}
			msgs = append(msgs, file+":"+m)
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "line ")
	return fmt.Errorf("%s:%s", file, msg)
}

func (c *Config) check() error {
	var errs []string
	bad := func(line, col int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s:%d:%d: %s", c.file, line, col, fmt.Sprintf(format, args...)))
	}
	switch c.TLS {
	case "":
		c.TLS = cluster.TLSMatching
	case cluster.TLSMatching, cluster.TLSRequired:
	default:
		bad(1, 1, "tls: %q is not matching or required (real hosts never migrate between security states)", c.TLS)
	}
	c.profile = precopy.DefaultProfile()
	if ref := c.Migration.Profile.Ref; ref != "" {
		p, canon, err := profiles.ResolveProfile(ref, filepath.Dir(c.file))
		if err != nil {
			bad(c.Migration.Profile.line, c.Migration.Profile.column, "migration.profile: %v", err)
		}
		c.profile, c.profileRef = p, canon
	}
	if c.Migration.CompletionTimeoutPerGiB == 0 {
		c.Migration.CompletionTimeoutPerGiB = Duration(defaultTimeout)
	}
	if c.Migration.ProgressTimeout == 0 {
		c.Migration.ProgressTimeout = Duration(defaultTimeout)
	}
	for _, t := range []struct {
		key string
		v   int
	}{{"cpu_throttle_initial", c.Migration.CPUThrottleInitial}, {"cpu_throttle_increment", c.Migration.CPUThrottleIncrement}} {
		if t.v < 0 || t.v > 99 {
			bad(1, 1, "migration.%s: %d is not a percentage 1..99 (0: QEMU's)", t.key, t.v)
		}
	}
	if c.Migration.MaxParallel < 0 || c.Migration.MaxPerHost < 0 || c.Migration.MaxIterations < 0 {
		bad(1, 1, "migration: negative limit")
	}
	if c.Migration.OnLimit == "" {
		c.Migration.OnLimit = cluster.LimitAbort
	}
	if _, err := cluster.ParseOnLimit(string(c.Migration.OnLimit)); err != nil {
		bad(1, 1, "migration.%v", err)
	}
	if c.Migration.OnLimit == cluster.LimitPostcopy && !c.Migration.PostCopy {
		bad(1, 1, "migration.on_limit: postcopy needs migration.postcopy: true")
	}
	c.checkWorkingSet(bad)
	if len(c.Hosts) == 0 {
		bad(1, 1, "hosts: no hosts")
	}
	seen := map[string]bool{}
	needPKI := false
	for i := range c.Hosts {
		h := &c.Hosts[i]
		switch {
		case h.Name == "":
			bad(h.line, h.column, "host %d: no name", i+1)
		case seen[h.Name]:
			bad(h.line, h.column, "host %s: listed twice", h.Name)
		}
		seen[h.Name] = true
		switch h.Transport {
		case "":
			h.Transport = TLS
			needPKI = true
		case TLS:
			needPKI = true
		case TCP, Unix:
		default:
			bad(h.line, h.column, "host %s: transport %q is not tls, tcp or unix", h.Name, h.Transport)
		}
		if h.Address == "" && h.Transport != Unix {
			bad(h.line, h.column, "host %s: no address", h.Name)
		}
		if h.Port < 0 || h.Port > 65535 {
			bad(h.line, h.column, "host %s: port %d out of range", h.Name, h.Port)
		}
		if h.NICs < 0 || h.NICSpeed < 0 {
			bad(h.line, h.column, "host %s: negative nics or nic_speed", h.Name)
		}
		if h.NICs == 0 {
			h.NICs = 1
		}
		if h.NICSpeed == 0 {
			h.NICSpeed = 10e9 / 8
		}
		switch h.State {
		case "", cluster.HostUp, cluster.HostMaintenance, cluster.HostDown:
		default:
			bad(h.line, h.column, "host %s: state %q is not up, maintenance or down", h.Name, h.State)
		}
	}
	for _, n := range c.InsecureSkipVerify {
		if !seen[n] {
			bad(1, 1, "insecure_skip_verify: no host %s", n)
		}
	}
	if needPKI && c.PKI == "" {
		bad(1, 1, "pki: tls hosts need drover's client directory (drover pki issue client)")
	}
	slices.SortStableFunc(c.Hosts, func(a, b HostConfig) int { return strings.Compare(a.Name, b.Name) })
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// maxWindow is QEMU's longest dirty-rate calculation.
const maxWindow = 60 * time.Second

func (c *Config) checkWorkingSet(bad func(line, col int, format string, args ...any)) {
	ws := &c.WorkingSet
	line, col := max(ws.line, 1), max(ws.column, 1)
	if c.DirtyRatePeriod > 0 {
		if len(ws.Windows) > 0 {
			bad(1, 1, "dirty_rate_period is deprecated: give working_set.windows only")
		} else {
			p := time.Duration(c.DirtyRatePeriod)
			ws.Windows = []Duration{Duration(p), Duration(min(max(4*p, 4*time.Second), maxWindow))}
			if p >= maxWindow {
				ws.Windows = ws.Windows[:1]
			}
		}
	}
	if len(ws.Windows) == 0 {
		ws.Windows = slices.Clone(defaultWindows)
	}
	for i, w := range ws.Windows {
		l, cl := line, col
		if i < len(ws.at) {
			l, cl = ws.at[i][0], ws.at[i][1]
		}
		d := time.Duration(w)
		switch {
		case d < time.Second || d > maxWindow || d%time.Second != 0:
			bad(l, cl, "working_set.windows: %s is not a whole number of seconds from 1s to 60s", d)
		case i > 0 && w <= ws.Windows[i-1]:
			bad(l, cl, "working_set.windows: %s after %s: list them shortest first, each once", d, time.Duration(ws.Windows[i-1]))
		}
	}
	switch {
	case ws.Samples == 0:
		ws.Samples = 2
	case ws.Samples < 0 || ws.Samples > 20:
		bad(line, col, "working_set.samples: %d is not from 1 to 20", ws.Samples)
	}
	if d := c.campaignLength(); d >= c.dirtyMaxAge() {
		bad(line, col, "working_set: a campaign takes %s, not shorter than dirty_rate_max_age (%s)", d, c.dirtyMaxAge())
	}
}

// campaignPlan is the order of a campaign's windows: samples rounds, each
// with every window once and the shorter ones as often as fit in the
// longest, so that a drifting guest weighs on all windows alike.
func (c *Config) campaignPlan() []time.Duration {
	ws := c.WorkingSet
	if len(ws.Windows) == 0 {
		ws.Windows = defaultWindows
	}
	long := time.Duration(ws.Windows[len(ws.Windows)-1])
	var plan []time.Duration
	for range max(ws.Samples, 1) {
		for _, w := range ws.Windows {
			if w := time.Duration(w); w > 0 {
				for range max(long/w, 1) {
					plan = append(plan, w)
				}
			}
		}
	}
	return plan
}

// campaignSlack is the wait per measurement beyond its window: QEMU's
// thread overshoots its sleep, and drover polls for the result.
const campaignSlack = 400 * time.Millisecond

// campaignLength bounds a campaign's wall time.
func (c *Config) campaignLength() time.Duration {
	var d time.Duration
	for _, w := range c.campaignPlan() {
		d += w + campaignSlack
	}
	return d
}

// Host returns the host called name, or nil.
func (c *Config) Host(name string) *HostConfig {
	for i := range c.Hosts {
		if c.Hosts[i].Name == name {
			return &c.Hosts[i]
		}
	}
	return nil
}

// defaultTimeout is the scenarios' default for both executor timeouts.
const defaultTimeout = 150 * time.Second

// SchedulerMigration is the migration settings of this cluster, for a
// Core and for plans that predict what the real executor will do.
func (c *Config) SchedulerMigration() scheduler.Migration {
	m := c.Migration
	return scheduler.Migration{
		Profile: c.profile, ProfileRef: c.profileRef,
		DowntimeLimit: time.Duration(m.DowntimeLimit), MaxIterations: m.MaxIterations,
		CompletionTimeoutPerGiB: time.Duration(m.CompletionTimeoutPerGiB), ProgressTimeout: time.Duration(m.ProgressTimeout),
		OnLimit: m.OnLimit, AutoConverge: m.AutoConverge, Bandwidth: float64(m.Bandwidth),
		Throttle:    precopy.Throttle{Initial: m.CPUThrottleInitial, Increment: m.CPUThrottleIncrement},
		MaxParallel: m.MaxParallel, MaxPerHostOut: m.MaxPerHost, MaxPerHostIn: m.MaxPerHost,
	}
}

// MigrationOptions are the options every migration starts with.
func (c *Config) MigrationOptions() cluster.MigrationOptions {
	m := c.Migration
	return cluster.MigrationOptions{Bandwidth: float64(m.Bandwidth), DowntimeLimit: time.Duration(m.DowntimeLimit),
		AutoConverge: m.AutoConverge, PostCopy: m.PostCopy, ThrottleInitial: m.CPUThrottleInitial, ThrottleIncrement: m.CPUThrottleIncrement}
}

// Options is how to reach the host called name, for a connection of
// one's own (Dial); ok false when the inventory has no such host.
func (c *Config) Options(name string, log *slog.Logger) (Options, bool) {
	h := c.Host(name)
	if h == nil {
		return Options{}, false
	}
	return c.options(h, log), true
}

func (c *Config) options(h *HostConfig, log *slog.Logger) Options {
	o := Options{Transport: h.Transport, Address: h.Address, Port: h.Port, PKIDir: c.PKI, Timeout: c.timeout(), Logger: log}
	o.InsecureSkipVerify = slices.Contains(c.InsecureSkipVerify, h.Name)
	return o
}

func (c *Config) timeout() time.Duration      { return orDefault(c.Timeout, DefaultTimeout) }
func (c *Config) pollInterval() time.Duration { return orDefault(c.PollInterval, 400*time.Millisecond) }
func (c *Config) dirtyMaxAge() time.Duration  { return orDefault(c.DirtyRateMaxAge, time.Minute) }

func orDefault(d Duration, def time.Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return def
}
