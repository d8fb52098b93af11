package cluster

import "time"

// Event is something that happened, fed to the scheduler's Core. Backends
// emit the migration and host events; drivers add the operator's requests
// and timers.
type Event interface{ IsEvent() }

// Command is something the Core wants done; backends carry them out.
type Command interface{ IsCommand() }

// MigrationOptions are per-migration settings a backend passes to
// libvirt/QEMU (or the simulator's model).
type MigrationOptions struct {
	// Bandwidth caps the migration in bytes/s (0: none).
	Bandwidth     float64       `json:"bandwidth,omitempty"`
	DowntimeLimit time.Duration `json:"downtime_limit,omitempty"`
	AutoConverge  bool          `json:"auto_converge,omitempty"`
	// ThrottleInitial and ThrottleIncrement are auto-converge's steps in
	// percent (QEMU's cpu-throttle-initial and -increment; 0: QEMU's).
	ThrottleInitial   int `json:"cpu_throttle_initial,omitempty"`
	ThrottleIncrement int `json:"cpu_throttle_increment,omitempty"`
	// PostCopy allows a later StartPostCopy.
	PostCopy bool `json:"postcopy,omitempty"`
	// MaxIterations and OnLimit override the executor's limits for this
	// migration; the Core enforces them, the hypervisor never sees them.
	MaxIterations int     `json:"max_iterations,omitempty"`
	OnLimit       OnLimit `json:"on_limit,omitempty"`
}

// StartMigration asks for a live migration. The backend answers with
// MigrationProgress events and exactly one MigrationDone.
type StartMigration struct {
	ID          int
	VM          string
	Source      string
	Destination string
	Transport   Transport
	Options     MigrationOptions
	// Cause names the policy or request behind it, for reports.
	Cause string
	// Via is the move's plan.Move.Via, for a model that reproduces
	// CloudSim's double moves; real hosts ignore it.
	Via []string
}

// FollowMigration asks the backend to watch a migration it did not start
// (one an earlier process started before it stopped; the journal says so,
// the snapshot shows the guest migrating): progress and abort, force and
// post-copy as for its own, and exactly one MigrationDone when it ends.
type FollowMigration struct {
	ID          int
	VM          string
	Source      string
	Destination string
	Transport   Transport
}

// AbortMigration cancels a running migration; the guest stays on its
// source, and MigrationDone follows with outcome aborted.
type AbortMigration struct {
	ID     int
	Reason string
}

// ForceSwitchover pauses the guest so the rest is copied: the migration
// ends now at the price of a long downtime.
type ForceSwitchover struct {
	ID     int
	Reason string
}

// StartPostCopy resumes the guest on the destination and pulls the rest.
type StartPostCopy struct {
	ID     int
	Reason string
}

func (StartMigration) IsCommand()  {}
func (FollowMigration) IsCommand() {}
func (AbortMigration) IsCommand()  {}
func (ForceSwitchover) IsCommand() {}
func (StartPostCopy) IsCommand()   {}

// MigrationProgress reports a running migration, at least at each pre-copy
// round's end.
type MigrationProgress struct {
	ID        int
	Iteration int
	Sent      int64
	Remaining int64
}

// MigrationDone ends a migration. Completed, forced and postcopy leave the
// guest on the destination; the others leave it on the source, unless Lost.
type MigrationDone struct {
	ID       int
	VM       string
	Outcome  Outcome
	Reason   string
	Downtime time.Duration
	Bytes    int64
	Rounds   int
	// Elapsed is the job's own time as the hypervisor counted it (libvirt's
	// time_elapsed), 0 when unknown: what a move takes besides is the
	// executor's own work (checks before and after, polling).
	Elapsed time.Duration
	// Lost is set when the guest died with a host during the migration.
	Lost bool
	// Err is why a rejected or failed migration ended, where a sentinel
	// says it (ErrNotFound for an unknown VM or host); nil otherwise.
	Err error `json:"-"`
}

// Succeeded reports whether the guest now runs on the destination.
func (d MigrationDone) Succeeded() bool { return d.Outcome.Succeeded() }

// HostFailed: the host and its guests are gone.
type HostFailed struct{ Host string }

// MaintenanceRequested asks to drain hosts.
type MaintenanceRequested struct{ Hosts []string }

// DisasterWarning: Zone is predicted to fail at FailsAt.
type DisasterWarning struct {
	Zone    string
	FailsAt time.Duration
}

// MigrationRequested is an operator's explicit move; the Core checks it
// against every constraint before it runs.
type MigrationRequested struct {
	VM, Host string
	Options  MigrationOptions
}

// SnapshotTaken delivers the snapshot the Core asked for.
type SnapshotTaken struct{ Snap *Snapshot }

// TimerFired delivers a timer the Core set.
type TimerFired struct{ Key string }

// AbortRequested asks to stop a move (ID) or everything (ID 0).
type AbortRequested struct {
	ID     int
	Reason string
}

func (MigrationProgress) IsEvent()    {}
func (MigrationDone) IsEvent()        {}
func (HostFailed) IsEvent()           {}
func (MaintenanceRequested) IsEvent() {}
func (DisasterWarning) IsEvent()      {}
func (MigrationRequested) IsEvent()   {}
func (SnapshotTaken) IsEvent()        {}
func (TimerFired) IsEvent()           {}
func (AbortRequested) IsEvent()       {}
