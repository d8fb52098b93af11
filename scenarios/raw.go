package scenarios

// The raw types mirror the file format one to one. The decoder (decode.go)
// fills them from YAML nodes and records where every value was written; the
// resolver (resolve.go) turns them into a Scenario. The same types give the
// JSON Schema (schema.go): `yaml` names a key, `jsonschema:"required"` makes
// the decoder report a missing key, and `enum=` values are the only ones the
// decoder accepts.

// meta is embedded in every raw mapping type. The kind tag names the type in
// messages ("unknown field "cpuz" in host class").
type meta struct {
	// Pos is where the mapping starts; Path is how messages name it
	// (hosts[1]).
	Pos  Pos
	Path string
	// Fields holds the position of the value of every key written; nil
	// when the value was not a mapping at all.
	Fields map[string]Pos
	// Bad holds the keys whose value had an error (or was missing though
	// required): their problem is reported, so nothing more is said.
	Bad map[string]bool
}

func (m *meta) getMeta() *meta { return m }

// decoded reports whether the mapping was read at all.
func (m *meta) decoded() bool { return m.Fields != nil }

// good reports whether key was written with a value that decoded.
func (m *meta) good(key string) bool { return m.has(key) && !m.Bad[key] }

func (m *meta) markBad(key string) {
	if m.Bad == nil {
		m.Bad = map[string]bool{}
	}
	m.Bad[key] = true
}

// has reports whether key was written (even if its value was bad).
func (m *meta) has(key string) bool {
	_, ok := m.Fields[key]
	return ok
}

// at is the position of the value of key, or of the mapping when key was
// not written.
func (m *meta) at(key string) Pos {
	if p, ok := m.Fields[key]; ok {
		return p
	}
	return m.Pos
}

// path names key for messages: "hosts[1].names".
func (m *meta) path(key string) string {
	switch {
	case m.Path == "":
		return key
	case key == "":
		return m.Path
	}
	return m.Path + "." + key
}

type rawFile struct {
	meta        `yaml:"-" kind:"scenario"`
	Name        string         `yaml:"name" jsonschema:"required" jsonschema_description:"Name of the scenario, used in reports."`
	Sim         *rawSim        `yaml:"sim" jsonschema_description:"Simulator-only settings: seed, duration, sampling."`
	Zones       []rawZone      `yaml:"zones" jsonschema:"required" jsonschema_description:"Failure zones and the racks in each. Every rack belongs to exactly one zone."`
	HostClasses []rawHostClass `yaml:"host_classes" jsonschema_description:"Named host templates; hosts refer to them with class and may override any field."`
	Hosts       []rawHost      `yaml:"hosts" jsonschema:"required" jsonschema_description:"Hypervisors, one entry per group of identical hosts (names may be a range such as h[01-16])."`
	Network     *rawNetwork    `yaml:"network" jsonschema_description:"The migration network: a generated leaf-spine fabric or explicit links."`
	VMClasses   []rawVMClass   `yaml:"vm_classes" jsonschema_description:"Named VM templates; VM entries refer to them with class and may override any field."`
	VMs         []rawVM        `yaml:"vms" jsonschema_description:"Guests, one entry per group of similar VMs, with their initial placement."`
	Groups      []rawGroup     `yaml:"groups" jsonschema_description:"Affinity and anti-affinity groups. Members come from the VMs' group field and the optional vms list."`
	Events      []rawEvent     `yaml:"events" jsonschema_description:"Timed events; each has at and exactly one kind key."`
	Policy      *rawPolicy     `yaml:"policy" jsonschema_description:"Scheduler policy settings, read now and acted on by the scheduler."`
	Migration   *rawMigration  `yaml:"migration" jsonschema_description:"Migration defaults and executor limits."`
}

type rawSim struct {
	meta           `yaml:"-" kind:"sim settings"`
	Seed           *uint64   `yaml:"seed" jsonschema:"default=1" jsonschema_description:"Master seed; every random stream derives from it."`
	Duration       *duration `yaml:"duration" jsonschema_extras:"default=1h" jsonschema_description:"Length of the simulated run (Go duration)."`
	SampleInterval *duration `yaml:"sample_interval" jsonschema_extras:"default=5m" jsonschema_description:"How often metrics are sampled; also the default interval of CPU traces and random walks."`
}

type rawZone struct {
	meta  `yaml:"-" kind:"zone"`
	Name  string `yaml:"name" jsonschema:"required" jsonschema_description:"Zone name, unique."`
	Racks names  `yaml:"racks" jsonschema:"required" jsonschema_description:"Racks of the zone: names, ranges (r[1-4]) or a list of them. Rack names are unique across zones."`
}

type rawNICs struct {
	meta  `yaml:"-" kind:"nics"`
	Count *int  `yaml:"count" jsonschema:"default=1" jsonschema_description:"Number of NIC ports used for migration traffic."`
	Speed *rate `yaml:"speed" jsonschema_description:"Speed of one port, e.g. 10Gbit/s or 25Gbps."`
}

// hostFields are the fields a host class sets and a host entry may override.
type hostFields struct {
	CPUs     *int      `yaml:"cpus" jsonschema_description:"Physical cores."`
	Memory   *size     `yaml:"memory" jsonschema_description:"Memory size, e.g. 256GiB."`
	CPUModel *string   `yaml:"cpu_model" jsonschema_description:"CPU model as libvirt names it, e.g. Skylake-Server; hosts of one pool share it."`
	NICs     *rawNICs  `yaml:"nics" jsonschema_description:"Migration NICs: count and per-port speed."`
	Security *string   `yaml:"security" jsonschema:"enum=tls,enum=tcp,enum=invalid,default=tls" jsonschema_description:"Security state: tls (certificates valid), tcp (plain only) or invalid (bad certificate; no migration may touch it)."`
	Power    *rawPower `yaml:"power" jsonschema_description:"Power model: a named SPECpower table or 11 watts values, and whether an empty host is switched off. Without it the host's energy is not counted."`
}

// rawPower is a host's power model; an entry's replaces its class's whole.
type rawPower struct {
	meta      `yaml:"-" kind:"power"`
	Model     *string   `yaml:"model" jsonschema:"enum=hp-ml110-g4,enum=hp-ml110-g5" jsonschema_description:"A named SPECpower table (CloudSim's HP ProLiant ML110 G4 or G5); or give watts."`
	Watts     []float64 `yaml:"watts" jsonschema_description:"Watts at 0%, 10%, ..., 100% CPU utilisation (11 values), linear between; or give model."`
	SwitchOff *bool     `yaml:"switch_off" jsonschema:"default=false" jsonschema_description:"An empty host is switched off and draws 0 W (CloudSim's rule); otherwise it draws its idle power."`
}

type rawHostClass struct {
	meta       `yaml:"-" kind:"host class"`
	Name       string `yaml:"name" jsonschema:"required" jsonschema_description:"Class name, unique among host classes."`
	hostFields `yaml:",inline"`
}

type rawHost struct {
	meta       `yaml:"-" kind:"host"`
	Names      names   `yaml:"names" jsonschema:"required" jsonschema_description:"Host names: a name, a range such as h[01-04] (zero padding follows the width of the first number), or a list of them."`
	Class      *string `yaml:"class" jsonschema_description:"Host class to start from."`
	Zone       *string `yaml:"zone" jsonschema_description:"Zone of the hosts; optional, as the rack implies it, but checked when given."`
	Rack       string  `yaml:"rack" jsonschema:"required" jsonschema_description:"Rack of the hosts; must be one of the zone's racks."`
	hostFields `yaml:",inline"`
}

type rawNetwork struct {
	meta             `yaml:"-" kind:"network"`
	Topology         *string   `yaml:"topology" jsonschema:"enum=leaf-spine,enum=explicit,default=leaf-spine" jsonschema_description:"leaf-spine generates host and rack links; explicit takes links as written."`
	Oversubscription *float64  `yaml:"oversubscription" jsonschema:"default=1" jsonschema_description:"leaf-spine: rack uplink bandwidth is the sum of its hosts' NIC bandwidth divided by this."`
	HostLatency      *duration `yaml:"host_latency" jsonschema_extras:"default=50us" jsonschema_description:"One-way latency of a host-to-ToR link (and the default latency of explicit links)."`
	SpineLatency     *duration `yaml:"spine_latency" jsonschema_extras:"default=100us" jsonschema_description:"One-way latency of a rack-to-spine link."`
	Links            []rawLink `yaml:"links" jsonschema_description:"explicit only: the links. Endpoints are host names or switch names (any name that is not a host is a switch)."`
}

type rawLink struct {
	meta      `yaml:"-" kind:"link"`
	Name      string    `yaml:"name" jsonschema:"required" jsonschema_description:"Link name, unique; events refer to it."`
	From      string    `yaml:"from" jsonschema:"required" jsonschema_description:"One endpoint: a host or a switch."`
	To        string    `yaml:"to" jsonschema:"required" jsonschema_description:"The other endpoint: a host or a switch."`
	Bandwidth *rate     `yaml:"bandwidth" jsonschema:"required" jsonschema_description:"Bandwidth in each direction, e.g. 10Gbit/s."`
	Latency   *duration `yaml:"latency" jsonschema_description:"One-way latency; defaults to network.host_latency."`
}

// vmFields are the fields a VM class sets and a VM entry may override.
type vmFields struct {
	VCPUs     *int     `yaml:"vcpus" jsonschema_description:"Virtual CPUs."`
	Memory    *size    `yaml:"memory" jsonschema_description:"Guest memory, e.g. 8GiB."`
	Resident  *size    `yaml:"resident" jsonschema_description:"Memory holding non-zero pages; at most memory. Defaults to memory."`
	WSS       *size    `yaml:"wss" jsonschema_description:"Writable working set; at most resident. Defaults to resident/4."`
	DirtyRate *rate    `yaml:"dirty_rate" jsonschema_description:"Page dirtying rate, e.g. 50MiB/s or 2000pages/s. Defaults to 0."`
	CPU       *cpuSpec `yaml:"cpu" jsonschema_description:"CPU demand in cores: a number, {trace, interval} or {random_walk: {...}}. Defaults to 0."`
	Priority  *int     `yaml:"priority" jsonschema_description:"Higher priorities are saved first in disasters. Defaults to 0."`
	Pinned    *string  `yaml:"pinned" jsonschema_description:"Why the VM cannot be live-migrated (e.g. a local disk without shared storage); the scheduler never moves it. Defaults to movable."`
	Accel     *string  `yaml:"accel" jsonschema:"enum=kvm,enum=tcg,default=kvm" jsonschema_description:"How QEMU runs the guest: kvm (hardware virtualization) or tcg (emulated: libvirt's domain type qemu). A tcg guest is predicted with the migration profile's TCG half (the default's: the lab's zero-page scan and CPU-bound stream rates)."`
	// The bounds of a measured working set and dirty rate (drover inventory
	// writes them): plans widen their predicted range by them.
	WSSLow        *size   `yaml:"wss_low" jsonschema_description:"Lower 80% bound of a measured wss. Defaults to wss."`
	WSSHigh       *size   `yaml:"wss_high" jsonschema_description:"Upper 80% bound of a measured wss. Defaults to wss."`
	DirtyRateLow  *rate   `yaml:"dirty_rate_low" jsonschema_description:"Lower 80% bound of a measured dirty_rate. Defaults to dirty_rate."`
	DirtyRateHigh *rate   `yaml:"dirty_rate_high" jsonschema_description:"Upper 80% bound of a measured dirty_rate. Defaults to dirty_rate."`
	MeasuredBy    *string `yaml:"measured_by" jsonschema_description:"How wss and dirty_rate were measured (drover inventory's method). Setting it or any bound makes the figures uncertain."`
}

type rawVMClass struct {
	meta     `yaml:"-" kind:"VM class"`
	Name     string `yaml:"name" jsonschema:"required" jsonschema_description:"Class name, unique among VM classes."`
	vmFields `yaml:",inline"`
}

type rawVM struct {
	meta     `yaml:"-" kind:"VM"`
	Names    names   `yaml:"names" jsonschema:"required" jsonschema_description:"VM names: a name, a range such as web[001-040], or a list of them."`
	Class    *string `yaml:"class" jsonschema_description:"VM class to start from."`
	Hosts    names   `yaml:"hosts" jsonschema:"required" jsonschema_description:"Initial hosts: one host, a range or a list; the VMs, in name order, are dealt round-robin over them."`
	MAC      *string `yaml:"mac" jsonschema_description:"Base MAC address, incremented for each VM of the entry in name order. Defaults to 52:54:00 followed by the VM's index."`
	Group    *string `yaml:"group" jsonschema_description:"Affinity or anti-affinity group declared under groups."`
	vmFields `yaml:",inline"`
}

// cpuModel is the mapping form of cpu.
type cpuModel struct {
	meta       `yaml:"-" kind:"cpu demand"`
	Trace      *string   `yaml:"trace" jsonschema_description:"CSV (one column) or whitespace-separated file of demand values in cores, relative to the scenario file."`
	Interval   *duration `yaml:"interval" jsonschema_description:"Time between trace values; defaults to sim.sample_interval."`
	RandomWalk *rawWalk  `yaml:"random_walk" jsonschema_description:"A seeded random walk of the demand."`
}

type rawWalk struct {
	meta     `yaml:"-" kind:"random walk"`
	Start    *float64  `yaml:"start" jsonschema:"required" jsonschema_description:"Demand at the start, in cores."`
	Step     *float64  `yaml:"step" jsonschema:"required" jsonschema_description:"Largest change per interval, in cores."`
	Min      *float64  `yaml:"min" jsonschema_description:"Lowest demand; defaults to 0."`
	Max      *float64  `yaml:"max" jsonschema_description:"Highest demand; defaults to vcpus."`
	Interval *duration `yaml:"interval" jsonschema_description:"Time between steps; defaults to sim.sample_interval."`
}

type rawGroup struct {
	meta `yaml:"-" kind:"group"`
	Name string `yaml:"name" jsonschema:"required" jsonschema_description:"Group name, unique."`
	Kind string `yaml:"kind" jsonschema:"required,enum=affinity,enum=anti-affinity" jsonschema_description:"affinity keeps members on one host; anti-affinity keeps them apart."`
	VMs  *names `yaml:"vms" jsonschema_description:"More members, besides the VMs whose group field names this group."`
}

type rawEvent struct {
	meta            `yaml:"-" kind:"event"`
	At              *duration        `yaml:"at" jsonschema:"required" jsonschema_description:"When the event happens, from the start of the run."`
	Migrate         *rawMigrate      `yaml:"migrate" jsonschema:"oneof_required=migrate" jsonschema_description:"Live-migrate a VM."`
	HostCrash       *names           `yaml:"host_crash" jsonschema:"oneof_required=host_crash" jsonschema_description:"Crash a host (or several: a range or list); its VMs are lost."`
	LinkDown        *names           `yaml:"link_down" jsonschema:"oneof_required=link_down" jsonschema_description:"Take links down."`
	LinkUp          *names           `yaml:"link_up" jsonschema:"oneof_required=link_up" jsonschema_description:"Bring links back up."`
	LinkDegraded    *rawLinkDegraded `yaml:"link_degraded" jsonschema:"oneof_required=link_degraded" jsonschema_description:"Lower a link's bandwidth."`
	Maintenance     *names           `yaml:"maintenance" jsonschema:"oneof_required=maintenance" jsonschema_description:"Put hosts into maintenance: the scheduler must evacuate them."`
	DisasterWarning *rawDisaster     `yaml:"disaster_warning" jsonschema:"oneof_required=disaster_warning" jsonschema_description:"Warn that a zone will fail at fails_at."`
	LoadSpike       *rawLoadSpike    `yaml:"load_spike" jsonschema:"oneof_required=load_spike" jsonschema_description:"Multiply the CPU demand of VMs for a while."`
}

// eventKinds lists the kind keys of an event, in schema order.
var eventKinds = []struct {
	key  string
	kind EventKind
}{
	{"migrate", EventMigrate},
	{"host_crash", EventHostCrash},
	{"link_down", EventLinkDown},
	{"link_up", EventLinkUp},
	{"link_degraded", EventLinkDegraded},
	{"maintenance", EventMaintenance},
	{"disaster_warning", EventDisasterWarning},
	{"load_spike", EventLoadSpike},
}

type rawMigrate struct {
	meta          `yaml:"-" kind:"migrate event"`
	VM            string    `yaml:"vm" jsonschema:"required" jsonschema_description:"VM to migrate."`
	To            string    `yaml:"to" jsonschema:"required" jsonschema_description:"Destination host."`
	Bandwidth     *rate     `yaml:"bandwidth" jsonschema_description:"Bandwidth cap for this migration."`
	DowntimeLimit *duration `yaml:"downtime_limit" jsonschema_description:"Downtime limit for this migration."`
	MaxIterations *int      `yaml:"max_iterations" jsonschema_description:"Pre-copy round limit for this migration (0: none)."`
	OnLimit       *string   `yaml:"on_limit" jsonschema:"enum=abort,enum=force,enum=postcopy" jsonschema_description:"What to do when a limit is hit."`
	AutoConverge  *bool     `yaml:"auto_converge" jsonschema_description:"Throttle the guest's CPUs to converge."`
}

type rawLinkDegraded struct {
	meta      `yaml:"-" kind:"link_degraded event"`
	Link      string `yaml:"link" jsonschema:"required" jsonschema_description:"Link to degrade."`
	Bandwidth *rate  `yaml:"bandwidth" jsonschema:"required" jsonschema_description:"New bandwidth of the link."`
}

type rawDisaster struct {
	meta    `yaml:"-" kind:"disaster_warning event"`
	Zone    string    `yaml:"zone" jsonschema:"required" jsonschema_description:"Zone that will fail."`
	FailsAt *duration `yaml:"fails_at" jsonschema:"required" jsonschema_description:"When every host of the zone crashes, from the start of the run (not after the warning)."`
}

type rawLoadSpike struct {
	meta   `yaml:"-" kind:"load_spike event"`
	VMs    names     `yaml:"vms" jsonschema:"required" jsonschema_description:"VMs whose demand rises: names, ranges or a list."`
	Factor *float64  `yaml:"factor" jsonschema:"required" jsonschema_description:"Demand multiplier, above 0."`
	For    *duration `yaml:"for" jsonschema:"required" jsonschema_description:"How long the spike lasts."`
}

type rawPolicy struct {
	meta             `yaml:"-" kind:"policy"`
	Name             *string      `yaml:"name" jsonschema:"pattern=^(|balance|consolidate|greedy-cv|(thr|iqr|mad|lr|lrr)[-_](mmt|mc|rs|mu)[-_][0-9.]+)$" jsonschema_description:"Periodic policy: empty for none, balance, consolidate, greedy-cv, or one of Beloglazov and Buyya's consolidation policies named DETECTOR-SELECTOR-PARAMETER (thr-mmt-0.8, iqr-mmt-1.5, mad-mmt-2.5, lr-mmt-1.2, lrr-mmt-1.2, any pair of detector thr/iqr/mad/lr/lrr and selector mmt/mc/rs/mu)."`
	Interval         *duration    `yaml:"interval" jsonschema_extras:"default=5m" jsonschema_description:"Time between periodic policy runs."`
	TLS              *string      `yaml:"tls" jsonschema:"enum=matching,enum=required,enum=off,default=matching" jsonschema_description:"TLS enforcement: matching (TLS between TLS hosts), required (TLS only) or off."`
	Evacuation       *string      `yaml:"evacuation" jsonschema:"enum=planned,enum=fixed-batch,default=planned" jsonschema_description:"Evacuation strategy for maintenance and disasters."`
	CPUOvercommit    *float64     `yaml:"cpu_overcommit" jsonschema:"default=4" jsonschema_description:"Allowed ratio of vCPUs to host cores."`
	Threshold        *float64     `yaml:"threshold" jsonschema:"default=0.2" jsonschema_description:"Imbalance (coefficient of variation) above which the balancer acts."`
	Hysteresis       *float64     `yaml:"hysteresis" jsonschema:"default=0.8" jsonschema_description:"Fraction of the threshold the cluster must fall below before the balancer rests."`
	MaxMovesPerRound *int         `yaml:"max_moves_per_round" jsonschema:"default=10" jsonschema_description:"Most migrations the balancer proposes per run."`
	Params           policyParams `yaml:"params" jsonschema_description:"Each policy's own parameters, by policy name: {balance: {cooldown: 10m}, disaster: {margin: 0.2}}."`
}

type rawMigration struct {
	meta                    `yaml:"-" kind:"migration settings"`
	Model                   *string   `yaml:"model" jsonschema:"enum=precopy,enum=cloudsim,default=precopy" jsonschema_description:"The simulator's migration model: precopy (rounds over the shared network) or cloudsim (CloudSim's fixed time, memory / (bandwidth / 2) with bandwidth the per-migration cap or else half the destination's NICs, no contention, and 10% of the VM's CPU demand moved from source to destination while it migrates). Real hosts ignore it."`
	Profile                 *string   `yaml:"profile" jsonschema_extras:"default=qemu10-tcg" jsonschema_description:"Calibration profile of the migration model: a built-in name or a profile file written by drover calibrate, relative to this file."`
	DowntimeLimit           *duration `yaml:"downtime_limit" jsonschema_extras:"default=300ms" jsonschema_description:"Largest pause allowed at switch-over, as QEMU's."`
	SwitchoverCost          *duration `yaml:"switchover_cost" jsonschema_description:"Fixed paused cost of the switch-over; unset or 0: the calibration profile's."`
	SetupTime               *duration `yaml:"setup_time" jsonschema_description:"Time to set up a migration before pages flow; unset or 0: the calibration profile's."`
	MaxIterations           *int      `yaml:"max_iterations" jsonschema:"default=0" jsonschema_description:"Pre-copy round limit; 0 means none."`
	CompletionTimeoutPerGiB *duration `yaml:"completion_timeout_per_gib" jsonschema_extras:"default=150s" jsonschema_description:"Completion timeout per GiB of guest memory, as KubeVirt's; 0 means none."`
	ProgressTimeout         *duration `yaml:"progress_timeout" jsonschema_extras:"default=150s" jsonschema_description:"Abort when remaining data has not shrunk for this long; 0 means none."`
	OnLimit                 *string   `yaml:"on_limit" jsonschema:"enum=abort,enum=force,enum=postcopy,default=abort" jsonschema_description:"What to do when a limit is hit."`
	AutoConverge            *bool     `yaml:"auto_converge" jsonschema:"default=false" jsonschema_description:"Throttle guests' CPUs so migrations converge."`
	CPUThrottleInitial      *int      `yaml:"cpu_throttle_initial" jsonschema:"minimum=1,maximum=99,default=20" jsonschema_description:"Auto-converge's first throttle step in percent, as QEMU's cpu-throttle-initial."`
	CPUThrottleIncrement    *int      `yaml:"cpu_throttle_increment" jsonschema:"minimum=1,maximum=99,default=10" jsonschema_description:"Auto-converge's further steps in percent, as QEMU's cpu-throttle-increment."`
	CPUThrottleTailslow     *bool     `yaml:"cpu_throttle_tailslow" jsonschema:"default=false" jsonschema_description:"Late steps only as large as the excess dirtying needs, as QEMU's cpu-throttle-tailslow."`
	MaxCPUThrottle          *int      `yaml:"max_cpu_throttle" jsonschema:"minimum=1,maximum=99,default=99" jsonschema_description:"Most auto-converge may throttle in percent, as QEMU's max-cpu-throttle."`
	Bandwidth               *rate     `yaml:"bandwidth" jsonschema_extras:"default=0" jsonschema_description:"Bandwidth cap per migration; 0 means none."`
	MaxParallel             *int      `yaml:"max_parallel" jsonschema:"default=0" jsonschema_description:"Concurrent migrations in the cluster; 0 means no limit."`
	MaxPerHostOut           *int      `yaml:"max_per_host_out" jsonschema:"default=0" jsonschema_description:"Concurrent outgoing migrations per host; 0 means no limit."`
	MaxPerHostIn            *int      `yaml:"max_per_host_in" jsonschema:"default=0" jsonschema_description:"Concurrent incoming migrations per host; 0 means no limit."`
}
