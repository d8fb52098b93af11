// Package reports holds what a run produced and renders it. A Report is
// plain data: the same run gives the same bytes, so reports can be diffed
// and golden-tested.
package reports

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/google/renameio/v2"
)

// SchemaVersion is the version of the report.json format this drover
// writes, major.minor: a minor version only adds fields an older reader
// may ignore; a new major version changes what a field means, and Load
// refuses a file whose major version is newer than this one.
const SchemaVersion = "1.3"

// Kinds of run a report can come from.
const (
	KindSim   = "sim"   // drover sim: a simulated run
	KindPlan  = "plan"  // drover plan: one plan's moves as predicted, nothing measured
	KindApply = "apply" // drover apply or run: migrations on real hosts
	// KindCalibration: drover calibrate's measured migrations, each beside
	// the prediction of a profile fitted without it.
	KindCalibration = "calibration"
)

// Report is the outcome of one run, simulated or real. Times are
// milliseconds since the start of the run, sizes bytes.
type Report struct {
	// Version is SchemaVersion as the writer knew it; a file without
	// one was written before the schema was versioned (1.0).
	Version string `json:"schema_version"`
	// Kind is KindSim, KindPlan, KindApply or KindCalibration.
	Kind     string `json:"kind,omitempty"`
	Scenario string `json:"scenario"`
	// Policy is the periodic policy the run used ("" for none), and
	// Evacuation the strategy of its evacuations: what a comparison
	// groups runs by.
	Policy     string  `json:"policy,omitempty"`
	Evacuation string  `json:"evacuation,omitempty"`
	Seed       uint64  `json:"seed"`
	DurationMS float64 `json:"duration_ms"`
	Summary    Summary `json:"summary"`
	// Migrations in the order they started (ties by id).
	Migrations []Migration `json:"migrations"`
	// Lost lists VMs that died with their host.
	Lost []LostVM `json:"lost"`
	// Faults and operator events in the order they happened.
	Events []EventRecord `json:"events"`
	// Plans the scheduler made, with predictions against what happened.
	Plans []Plan `json:"plans"`
	// Disasters follows each disaster warning to its outcome.
	Disasters []Disaster `json:"disasters"`
	// Samples of host utilisation, one series per host in name order, and
	// the cluster's imbalance at each sample.
	SampleIntervalMS float64      `json:"sample_interval_ms"`
	SampleTimesMS    []float64    `json:"sample_times_ms"`
	Imbalance        []float64    `json:"imbalance"`
	Hosts            []HostSeries `json:"hosts"`
}

// Plan is one plan of the scheduler: what it predicted and what happened.
type Plan struct {
	Policy   string  `json:"policy"`
	AtMS     float64 `json:"at_ms"`
	Moves    int     `json:"moves"`
	Unplaced int     `json:"unplaced"`
	// PredictedMakespanMS and LowerBoundMS are the plan's; MakespanMS is
	// from its first start to its last end in the run.
	PredictedMakespanMS float64 `json:"predicted_makespan_ms"`
	LowerBoundMS        float64 `json:"lower_bound_ms"`
	// BoundBy names what sets the lower bound (a NIC, a link, a limit).
	BoundBy         string  `json:"bound_by,omitempty"`
	MakespanMS      float64 `json:"makespan_ms"`
	Completed       int     `json:"completed"`
	ImbalanceBefore float64 `json:"imbalance_before,omitempty"`
	ImbalanceAfter  float64 `json:"imbalance_after,omitempty"`
	// Why are the reasons VMs were left unplaced, most frequent first.
	Why []ReasonCount `json:"unplaced_why,omitempty"`
	// DeadlineMS is when the plan had to be done by (a disaster's
	// failure, a maintenance window's end), on the run's clock; 0: none.
	DeadlineMS float64 `json:"deadline_ms,omitempty"`
	// Bytes is what the plan predicted it would move.
	Bytes int64 `json:"bytes,omitempty"`
	// MigrationIDs are the IDs of the plan's migrations in Migrations.
	MigrationIDs []int `json:"migration_ids,omitempty"`
	// UnplacedVMs is every VM the plan left where it was, and why.
	UnplacedVMs []UnplacedVM `json:"unplaced_vms,omitempty"`
}

// UnplacedVM is a VM a plan found no place for.
type UnplacedVM struct {
	VM     string `json:"vm"`
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// DeadlineMet says whether a plan with a deadline ended by it: every move
// it made ended in time. A plan without a deadline has met it.
func (p Plan) DeadlineMet() bool {
	return p.DeadlineMS == 0 || p.AtMS+p.MakespanMS <= p.DeadlineMS
}

// ReasonCount is how many VMs one kind of reason left unplaced: reasons
// are grouped by what comes before their first ": " (the numbers after it
// differ from VM to VM); Example is the first one in full.
type ReasonCount struct {
	Reason  string `json:"reason"`
	VMs     int    `json:"vms"`
	Example string `json:"example,omitempty"`
}

// Disaster is one warned zone: how many of its VMs were saved.
type Disaster struct {
	Zone      string  `json:"zone"`
	WarnedMS  float64 `json:"warned_ms"`
	FailsAtMS float64 `json:"fails_at_ms"`
	VMs       int     `json:"vms"`
	Saved     int     `json:"saved"`
	Lost      int     `json:"lost"`
	// Unsavable is how many the plan said in advance it could not save.
	Unsavable int `json:"unsavable"`
	// DeadlineMet: every move the plan kept ended before the zone failed.
	DeadlineMet bool `json:"deadline_met"`
	// LastEndMS is when the last saving migration ended.
	LastEndMS float64 `json:"last_end_ms"`
}

// Migration is one live migration, whatever its outcome.
type Migration struct {
	ID          int     `json:"id"`
	VM          string  `json:"vm"`
	Source      string  `json:"source"`
	Destination string  `json:"destination"`
	Cause       string  `json:"cause"`
	StartMS     float64 `json:"start_ms"`
	EndMS       float64 `json:"end_ms"`
	DurationMS  float64 `json:"duration_ms"`
	DowntimeMS  float64 `json:"downtime_ms"`
	Bytes       int64   `json:"bytes"`
	Rounds      int     `json:"rounds"`
	Transport   string  `json:"transport"`
	// Mixed is set when source and destination differ in security state.
	Mixed bool `json:"mixed,omitempty"`
	// Outcome is completed, forced, postcopy, aborted, failed or rejected.
	Outcome cluster.Outcome `json:"outcome"`
	Reason  string          `json:"reason,omitempty"`
	// PredictedMS is the closed-form prediction at the bandwidth the
	// migration got when it started, to show what sharing cost.
	PredictedMS float64 `json:"predicted_ms"`
	Throttle    float64 `json:"throttle,omitempty"`
	// JobMS is the job's own time as libvirt counted it (real runs): the
	// rest of DurationMS is drover's work around it.
	JobMS float64 `json:"job_ms,omitempty"`
	// PredictedLowMS and PredictedHighMS bound PredictedMS with 80%
	// confidence, where the plan gave a range (apply runs).
	PredictedLowMS  float64 `json:"predicted_low_ms,omitempty"`
	PredictedHighMS float64 `json:"predicted_high_ms,omitempty"`
	// Links are the network links the migration's stream crossed, in
	// order (simulated runs): migrations that shared one competed for it.
	Links []string `json:"links,omitempty"`
	// Inputs are the figures the prediction was made from, kept by real
	// runs so that `drover calibrate --from-runs` can refit a profile on
	// what really happened.
	Inputs *MigrationInputs `json:"inputs,omitempty"`
}

// MigrationInputs are a migration's model inputs as the live snapshot
// gave them when it started.
type MigrationInputs struct {
	MemoryBytes   int64   `json:"memory_bytes"`
	ResidentBytes int64   `json:"resident_bytes"`
	WSSBytes      int64   `json:"wss_bytes"`
	DirtyRate     float64 `json:"dirty_rate"`
	// Cap is the libvirt bandwidth cap (0: none) and PathRate what the
	// hosts' NICs offer one stream (bytes/s); TLS says the stream was
	// encrypted. Uncapped runs teach a profile its stream rates.
	Cap      float64 `json:"cap"`
	PathRate float64 `json:"path_rate"`
	TLS      bool    `json:"tls,omitempty"`
	// Concurrent is how many migrations ran at once, this one included,
	// when it started.
	Concurrent int    `json:"concurrent"`
	Method     string `json:"method,omitempty"`
	Profile    string `json:"profile,omitempty"`
	// Accel is "tcg" for a guest QEMU emulated (predicted with the
	// profile's TCG half), empty for one with hardware virtualization
	// (schema 1.3).
	Accel string `json:"accel,omitempty"`
}

// LostVM is a VM that died with its host.
type LostVM struct {
	VM     string  `json:"vm"`
	Host   string  `json:"host"`
	AtMS   float64 `json:"at_ms"`
	Reason string  `json:"reason"`
}

// EventRecord is a scenario event or fault as it happened.
type EventRecord struct {
	AtMS   float64 `json:"at_ms"`
	Kind   string  `json:"kind"`
	Target string  `json:"target"`
	Detail string  `json:"detail,omitempty"`
}

// HostSeries is one host's utilisation at each sample time (fractions of
// capacity; CPU may exceed 1 when demand exceeds cores).
type HostSeries struct {
	Name   string    `json:"name"`
	Zone   string    `json:"zone,omitempty"`
	Rack   string    `json:"rack,omitempty"`
	CPU    []float64 `json:"cpu"`
	Memory []float64 `json:"memory"`
	VMs    []int     `json:"vms"`
}

// Summary aggregates a run.
type Summary struct {
	Migrations      int     `json:"migrations"`
	Completed       int     `json:"completed"`
	Forced          int     `json:"forced"`
	PostCopy        int     `json:"postcopy"`
	Aborted         int     `json:"aborted"`
	Failed          int     `json:"failed"`
	Rejected        int     `json:"rejected"`
	MixedSecurity   int     `json:"mixed_security_migrations"`
	BytesMoved      int64   `json:"bytes_moved"`
	TotalDowntimeMS float64 `json:"total_downtime_ms"`
	MaxDowntimeMS   float64 `json:"max_downtime_ms"`
	MeanDurationMS  float64 `json:"mean_duration_ms"`
	MaxConcurrent   int     `json:"max_concurrent_migrations"`
	VMsLost         int     `json:"vms_lost"`
	// VMsFinished counts VMs that ended by themselves: under the
	// simulator's CloudSim migration model, a VM whose CPU trace reaches
	// 0% (sim/cloudsim.go); absent: none.
	VMsFinished  int    `json:"vms_finished,omitempty"`
	HostsCrashed int    `json:"hosts_crashed"`
	Events       uint64 `json:"sim_events"`
	// ByCause counts migrations per policy (or "request").
	ByCause []CauseCount `json:"by_cause"`
	// Imbalance over the run: mean, max, and the fraction of samples
	// above the balancer's threshold.
	ImbalanceMean float64 `json:"imbalance_mean"`
	ImbalanceMax  float64 `json:"imbalance_max"`
	ImbalanceOver float64 `json:"imbalance_over_threshold"`
	Threshold     float64 `json:"threshold"`
	// PingPong is how many moves brought a VM back to the host it had
	// left within the hour before (PingPongMoves with PingPongWindowMS);
	// absent: none, or a report from before schema 1.1.
	PingPong int `json:"ping_pong_moves,omitempty"`
	// OverCapacityMS is, per host with any, the time its CPU demand exceeded
	// its cores; hosts never over capacity are left out.
	OverCapacityMS []HostTime `json:"time_over_capacity"`
	// Consolidation holds energy and the consolidation benchmark's SLA
	// figures; absent when no host has a power model, or in a report from
	// before schema 1.2.
	Consolidation *Consolidation `json:"consolidation,omitempty"`
}

// Consolidation is energy and the SLA figures of Beloglazov and Buyya's
// benchmark over a run, each computed by the formula of package
// reports/consolidation that it names.
type Consolidation struct {
	// PoweredHosts is how many hosts have a power model; the others count
	// for no energy (but for SLATAH and PDM all the same).
	PoweredHosts int `json:"powered_hosts"`
	// EnergyKWh is the hosts' energy, each host's power integrated over
	// the run at its CPU utilisation, held constant between the changes
	// of its demand (consolidation.JoulesPerKWh).
	EnergyKWh float64 `json:"energy_kwh"`
	// SLATAH is the share of active host time spent with demand above
	// capacity (consolidation.SLATAH): Σ overloaded time / Σ active time,
	// a host being active while it holds a VM.
	SLATAH float64 `json:"slatah"`
	// PDM is the share of requested CPU work lost to migrations
	// (consolidation.PDM): Σ 10% of each migrating VM's demand over its
	// migration / Σ all demand over the run, CloudSim's penalty.
	PDM float64 `json:"pdm"`
	// SLAV = SLATAH × PDM (consolidation.SLAV).
	SLAV float64 `json:"slav"`
	// ESV = energy in kWh × SLAV (consolidation.ESV).
	ESV float64 `json:"esv"`
	// Shutdowns counts the times a host that switches off when empty was
	// emptied.
	Shutdowns int `json:"host_shutdowns"`
}

// CauseCount is the number of migrations one cause started.
type CauseCount struct {
	Cause string `json:"cause"`
	N     int    `json:"n"`
}

// HostTime is a duration attributed to one host.
type HostTime struct {
	Host string  `json:"host"`
	MS   float64 `json:"ms"`
}

// SummarizeMigrations sets the summary's migration figures (counts by
// outcome and by cause, bytes, downtime, mean duration, mixed-security
// migrations, ping-pong moves) from r.Migrations, the same way for
// simulated and real runs.
func (r *Report) SummarizeMigrations() {
	s := &r.Summary
	var durations float64
	var finished int
	causes := map[string]int{}
	for _, rec := range r.Migrations {
		s.Migrations++
		switch rec.Outcome {
		case cluster.OutcomeCompleted:
			s.Completed++
		case cluster.OutcomeForced:
			s.Forced++
		case cluster.OutcomePostCopy:
			s.PostCopy++
		case cluster.OutcomeAborted:
			s.Aborted++
		case cluster.OutcomeFailed:
			s.Failed++
		case cluster.OutcomeRejected:
			s.Rejected++
		}
		if rec.Mixed && rec.Outcome != cluster.OutcomeRejected {
			s.MixedSecurity++
		}
		if rec.Outcome != cluster.OutcomeRejected {
			causes[rec.Cause]++
		}
		s.BytesMoved += rec.Bytes
		s.TotalDowntimeMS += rec.DowntimeMS
		s.MaxDowntimeMS = max(s.MaxDowntimeMS, rec.DowntimeMS)
		if rec.Outcome.Succeeded() {
			durations += rec.DurationMS
			finished++
		}
	}
	if finished > 0 {
		s.MeanDurationMS = durations / float64(finished)
	}
	s.ByCause = []CauseCount{}
	for c, n := range causes {
		s.ByCause = append(s.ByCause, CauseCount{Cause: c, N: n})
	}
	slices.SortFunc(s.ByCause, func(a, b CauseCount) int { return cmp.Compare(a.Cause, b.Cause) })
	s.PingPong = PingPongMoves(r.Migrations, PingPongWindowMS)
}

// MS converts a duration to float milliseconds, the unit of every report.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	data, err := r.JSON()
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// JSON returns the bytes WriteJSON writes, for callers that write them
// whole: a 10,000-host day's report is 176 MB, not to be copied again.
// They are an Encoder's with SetIndent("", "  "), the same escaping and
// the trailing newline, laid out in a slice sized once (see indent).
func (r *Report) JSON() ([]byte, error) {
	// A report written by this drover is in this drover's format, whatever
	// version it was read with.
	c := *r
	c.Version = SchemaVersion
	chunks, err := compactChunks(&c)
	if err != nil {
		return nil, err
	}
	return indentChunks(chunks), nil
}

// Save writes dir/report.json, creating dir. The file appears whole or
// not at all (a temporary file renamed over it): a run that fails while
// writing leaves the report before it, never an empty or half one.
func (r *Report) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := r.JSON()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.json")
	return path, renameio.WriteFile(path, data, 0o644)
}

// ErrNewerSchema is wrapped by Load's error for a report written by a
// newer drover in a format this one cannot read.
var ErrNewerSchema = errors.New("report schema is newer than this drover reads")

// Load reads a report.json. A file from a newer major version of the
// schema is refused (ErrNewerSchema) rather than misread.
func Load(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// The version is read first: a newer format may not even decode
	// into this one's types, and its error would hide the real reason.
	var v struct {
		Version string `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkVersion(v.Version); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Version == "" {
		r.Version = "1.0"
	}
	return &r, nil
}

// checkVersion accepts every version whose major is at most ours.
func checkVersion(v string) error {
	if v == "" {
		return nil // written before the schema had a version: 1.0
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n < 0 {
		return fmt.Errorf("schema_version %q: want major.minor, such as %s", v, SchemaVersion)
	}
	ours, _, _ := strings.Cut(SchemaVersion, ".")
	if m, _ := strconv.Atoi(ours); n > m {
		return fmt.Errorf("%w: the file is version %s, this drover reads %s.x: use a newer drover", ErrNewerSchema, v, ours)
	}
	return nil
}

// PrintSummary writes the few lines a person reads after a run.
func (r *Report) PrintSummary(w io.Writer) {
	s := r.Summary
	fmt.Fprintf(w, "scenario %s, seed %d, %s simulated (%d events)\n", r.Scenario, r.Seed,
		time.Duration(r.DurationMS*float64(time.Millisecond)), s.Events)
	fmt.Fprintf(w, "migrations: %d (completed %d, forced %d, postcopy %d, aborted %d, failed %d, rejected %d)\n",
		s.Migrations, s.Completed, s.Forced, s.PostCopy, s.Aborted, s.Failed, s.Rejected)
	// Why moves did not happen, where a person looks: the kinds of reason
	// of the rejected and failed ones, most frequent first.
	for _, o := range []cluster.Outcome{cluster.OutcomeRejected, cluster.OutcomeFailed} {
		var reasons []vmReason
		for _, m := range r.Migrations {
			if m.Outcome == o {
				reasons = append(reasons, vmReason{m.VM, m.Reason})
			}
		}
		gs := groupReasons(reasons)
		for i, c := range gs {
			if i == 3 {
				fmt.Fprintf(w, "    and %d more kinds (report.json has every one)\n", len(gs)-3)
				break
			}
			fmt.Fprintf(w, "    %d %s: %s (e.g. %s)\n", c.VMs, o, c.Reason, c.Example)
		}
	}
	fmt.Fprintf(w, "moved %s, downtime total %.1f ms, max %.1f ms, mean duration %.1f s, max concurrent %d\n",
		FormatBytes(s.BytesMoved), s.TotalDowntimeMS, s.MaxDowntimeMS, s.MeanDurationMS/1000, s.MaxConcurrent)
	fmt.Fprintf(w, "hosts crashed %d, VMs lost %d, mixed-security migrations %d, hosts over capacity %d\n",
		s.HostsCrashed, s.VMsLost, s.MixedSecurity, len(s.OverCapacityMS))
	if s.VMsFinished > 0 {
		fmt.Fprintf(w, "VMs finished %d (CPU trace at 0%%, as CloudSim ends them)\n", s.VMsFinished)
	}
	if len(r.Imbalance) > 0 {
		fmt.Fprintf(w, "imbalance mean %.3f, max %.3f, above threshold %.3f for %.0f%% of samples\n",
			s.ImbalanceMean, s.ImbalanceMax, s.Threshold, 100*s.ImbalanceOver)
	}
	if c := s.Consolidation; c != nil {
		fmt.Fprintf(w, "energy %.2f kWh (%d hosts with power), SLATAH %.2f%%, PDM %.4f%%, SLAV %.6f%%, ESV %.6f, host shutdowns %d\n",
			c.EnergyKWh, c.PoweredHosts, 100*c.SLATAH, 100*c.PDM, 100*c.SLAV, c.ESV, c.Shutdowns)
	}
	if s.PingPong > 0 {
		fmt.Fprintf(w, "ping-pong moves %d (a VM moved back to the host it left within 1 h)\n", s.PingPong)
	}
	if len(s.ByCause) > 0 {
		// "request" alone on a line read as a command; the label says
		// these count migrations by what started them.
		parts := make([]string, len(s.ByCause))
		for i, c := range s.ByCause {
			parts[i] = fmt.Sprintf("%s %d", c.Cause, c.N)
		}
		fmt.Fprintf(w, "migrations by cause: %s\n", strings.Join(parts, ", "))
	}
	for _, p := range r.Plans {
		if p.Moves == 0 && p.Unplaced == 0 {
			continue
		}
		by := ""
		if p.BoundBy != "" {
			by = " set by " + p.BoundBy
		}
		fmt.Fprintf(w, "plan %s at %s: %d moves (%d completed), makespan %.1f s (predicted %.1f s, lower bound %.1f s%s), %d unplaced\n",
			p.Policy, time.Duration(p.AtMS*float64(time.Millisecond)), p.Moves, p.Completed, p.MakespanMS/1000,
			p.PredictedMakespanMS/1000, p.LowerBoundMS/1000, by, p.Unplaced)
		for i, c := range p.Why {
			if i == 3 {
				fmt.Fprintf(w, "    and %d more reasons (report.json has them all)\n", len(p.Why)-3)
				break
			}
			if c.Example != "" {
				fmt.Fprintf(w, "    %d unplaced: %s (e.g. %s)\n", c.VMs, c.Reason, c.Example)
			} else {
				fmt.Fprintf(w, "    %d unplaced: %s\n", c.VMs, c.Reason)
			}
		}
	}
	for _, d := range r.Disasters {
		met := "met"
		if !d.DeadlineMet {
			met = "MISSED"
		}
		fmt.Fprintf(w, "disaster zone %s: %d VMs, %d saved, %d lost (%d known unsavable in advance), deadline %s\n",
			d.Zone, d.VMs, d.Saved, d.Lost, d.Unsavable, met)
	}
}

// FormatBytes prints a size with a binary unit.
func FormatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// FormatRate prints a rate in bytes/s as bits per second, as links are sold.
func FormatRate(bps float64) string {
	bits := bps * 8
	switch {
	case bits >= 1e12:
		return fmt.Sprintf("%.3g Tbit/s", bits/1e12)
	case bits >= 1e9:
		return fmt.Sprintf("%.3g Gbit/s", bits/1e9)
	case bits >= 1e6:
		return fmt.Sprintf("%.3g Mbit/s", bits/1e6)
	}
	return fmt.Sprintf("%.3g kbit/s", bits/1e3)
}
