package precopy

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Workload is the guest as the model needs it. Sizes bytes, rate bytes/s.
type Workload struct {
	Memory   int64 // guest RAM
	Resident int64 // non-zero pages (<= Memory); Memory-Resident are zero pages
	// WSS is the writable working set: the most that can be dirty at once.
	// Zero means the guest dirties nothing, whatever DirtyRate says.
	WSS       int64
	DirtyRate float64 // bytes/s the guest dirties (before throttling)
}

// ErrInvalid marks every problem Validate reports, so callers can tell a
// bad input from other failures with errors.Is.
var ErrInvalid = errors.New("precopy: invalid")

// Validate returns every problem with w at once (errors.Join), each wrapping
// ErrInvalid, or nil. NewStepper and Predict clamp an invalid workload into
// range instead of failing, so callers that must refuse bad input call this.
func (w Workload) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if w.Memory < 0 {
		bad("memory %d is negative", w.Memory)
	}
	if w.Resident < 0 {
		bad("resident %d is negative", w.Resident)
	}
	if w.WSS < 0 {
		bad("wss %d is negative", w.WSS)
	}
	if w.Resident > w.Memory {
		bad("resident %d exceeds memory %d", w.Resident, w.Memory)
	}
	if w.WSS > w.Memory {
		bad("wss %d exceeds memory %d", w.WSS, w.Memory)
	}
	switch {
	case math.IsNaN(w.DirtyRate) || math.IsInf(w.DirtyRate, 0):
		bad("dirty rate %v is not finite", w.DirtyRate)
	case w.DirtyRate < 0:
		bad("dirty rate %v is negative", w.DirtyRate)
	}
	return errors.Join(errs...)
}

// Config are QEMU/libvirt migration parameters and executor limits. Zero
// values mean "default" where a default is documented.
type Config struct {
	DowntimeLimit  time.Duration // default 300ms (QEMU)
	SwitchoverCost time.Duration // fixed paused cost of a switch-over; default the profile's
	SetupTime      time.Duration // fixed cost before the first page flows; default the profile's
	// Latency is the one-way network latency of the route: setup costs
	// 2*Latency (one RTT) extra, each round's dirty-sync costs 2*Latency,
	// switch-over costs 2*Latency.
	Latency       time.Duration
	PageSize      int64 // default 4096
	MaxIterations int   // 0: no limit. Counted in pre-copy rounds.
	// CompletionTimeoutPerGiB is 0 for none. Timeout = this * Memory in GiB
	// (float), as KubeVirt.
	CompletionTimeoutPerGiB time.Duration
	// ProgressTimeout is 0 for none. Fires when the remaining bytes have not
	// reached a new minimum for this long (KubeVirt).
	ProgressTimeout time.Duration
	OnLimit         cluster.OnLimit // default LimitAbort
	AutoConverge    bool
	// Throttle is how auto-converge throttles, with QEMU's parameter
	// names; zero fields take QEMU's defaults.
	Throttle Throttle
	// BandwidthCap is bytes/s, 0 for none; Predict uses min(bandwidth, cap);
	// the stepper leaves caps to its caller, who shares links among flows.
	BandwidthCap float64
	// LinkRate is what the path offers a stream without any cap, bytes/s
	// (0: unknown). QEMU lifts its rate limit for the stop-and-copy, so the
	// final copy runs at min(Profile.FinalRate, LinkRate), never slower than
	// the rate pre-copy had.
	LinkRate float64
	// Bound is the most the stream itself may take, bytes/s: its cap and
	// its hosts' stream rate, without the path (+Inf: nothing but the
	// path; 0: not known, and no path queue is counted). Granted less, the
	// stream is bound by its path and keeps its queue full
	// (Profile.QueueBytes).
	Bound float64
	// CopyShared says the caller shares links among streams: it lifts a
	// stream's cap for the stop-and-copy (and post-copy's pull), as QEMU
	// lifts its rate limit, and passes the share of the path the stream
	// then gets, which the final copy runs at (bounded by the profile's
	// final rate). Without it the final copy has the whole path (LinkRate)
	// to itself, as a migration alone does.
	CopyShared bool
	// TLS says the stream is encrypted: the profile's TLS stream rate is
	// what its CPU-bound parts run at.
	TLS bool
	// Wall counts the profile's overhead outside libvirt's job before the
	// setup, so that TotalTime is what an operator waits for rather than
	// what libvirt reports.
	Wall bool
	// Profile holds the fitted parameters; the zero Profile means
	// DefaultProfile. SetupTime and SwitchoverCost, when set, override the
	// profile's.
	Profile Profile
}

// Throttle holds QEMU's auto-converge parameters, in percent.
type Throttle struct {
	Initial   int  // cpu-throttle-initial: the first step (QEMU: 20)
	Increment int  // cpu-throttle-increment: each further step (QEMU: 10)
	Max       int  // max-cpu-throttle (QEMU: 99)
	Trigger   int  // throttle-trigger-threshold: dirtied over sent that counts as too much (QEMU: 50)
	Tailslow  bool // cpu-throttle-tailslow: late steps only as large as the excess needs
}

// QEMU's and drover's defaults.
const (
	DefaultDowntimeLimit = 300 * time.Millisecond
	DefaultPageSize      = 4096
)

// DefaultThrottle is QEMU 10's auto-converge.
var DefaultThrottle = Throttle{Initial: 20, Increment: 10, Max: 99, Trigger: 50}

// WithDefaults fills zero (or negative, hence meaningless) values that have a
// documented default.
func (c Config) WithDefaults() Config {
	if c.DowntimeLimit <= 0 {
		c.DowntimeLimit = DefaultDowntimeLimit
	}
	if c.Profile.Name == "" {
		c.Profile = DefaultProfile()
	}
	if c.SwitchoverCost <= 0 {
		c.SwitchoverCost = msDur(c.Profile.SwitchoverMS)
	}
	if c.SetupTime <= 0 {
		c.SetupTime = msDur(c.Profile.SetupMS)
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.OnLimit == "" {
		c.OnLimit = cluster.LimitAbort
	}
	d := DefaultThrottle
	for _, f := range []struct{ v, def *int }{
		{&c.Throttle.Initial, &d.Initial}, {&c.Throttle.Increment, &d.Increment}, {&c.Throttle.Max, &d.Max}, {&c.Throttle.Trigger, &d.Trigger},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return c
}

// For is c for a guest that runs under TCG or not: the profile's half for
// it, and the fixed costs that came from the profile (SetupTime and
// SwitchoverCost as WithDefaults fills them) taken from that half; a cost
// set apart from the profile stays.
func (c Config) For(tcg bool) Config {
	p := c.Profile.For(tcg)
	if c.SetupTime == msDur(c.Profile.SetupMS) {
		c.SetupTime = msDur(p.SetupMS)
	}
	if c.SwitchoverCost == msDur(c.Profile.SwitchoverMS) {
		c.SwitchoverCost = msDur(p.SwitchoverMS)
	}
	c.Profile = p
	return c
}

// Validate returns every problem with c at once (errors.Join), each wrapping
// ErrInvalid. Zero values are valid: they mean the default or "none".
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"downtime limit", c.DowntimeLimit},
		{"switch-over cost", c.SwitchoverCost},
		{"setup time", c.SetupTime},
		{"latency", c.Latency},
		{"completion timeout per GiB", c.CompletionTimeoutPerGiB},
		{"progress timeout", c.ProgressTimeout},
	} {
		if d.v < 0 {
			bad("%s %v is negative", d.name, d.v)
		}
	}
	if c.PageSize < 0 {
		bad("page size %d is negative", c.PageSize)
	}
	if c.MaxIterations < 0 {
		bad("max iterations %d is negative", c.MaxIterations)
	}
	switch c.OnLimit {
	case "", cluster.LimitAbort, cluster.LimitForce, cluster.LimitPostcopy:
	default:
		bad("on-limit %q is not abort, force or postcopy", c.OnLimit)
	}
	if c.BandwidthCap < 0 || math.IsNaN(c.BandwidthCap) {
		bad("bandwidth cap %v is not a non-negative number", c.BandwidthCap)
	}
	if c.Bound < 0 || math.IsNaN(c.Bound) {
		bad("stream bound %v is not a non-negative number", c.Bound)
	}
	// QEMU's own ranges (migrate-set-parameters refuses anything else).
	for _, t := range []struct {
		name   string
		v      int
		lo, hi int
	}{
		{"cpu-throttle-initial", c.Throttle.Initial, 1, 99}, {"cpu-throttle-increment", c.Throttle.Increment, 1, 99},
		{"max-cpu-throttle", c.Throttle.Max, 1, 99}, {"throttle-trigger-threshold", c.Throttle.Trigger, 1, 100},
	} {
		if t.v != 0 && (t.v < t.lo || t.v > t.hi) {
			bad("%s %d: want %d..%d", t.name, t.v, t.lo, t.hi)
		}
	}
	return errors.Join(errs...)
}

// Reasons in Result.Reason. The three limits come from Config; the last two
// are Predict's verdicts on a migration that would otherwise never end.
const (
	ReasonMaxIterations     = "max-iterations"
	ReasonCompletionTimeout = "completion-timeout"
	ReasonProgressTimeout   = "progress-timeout"
	ReasonNoBandwidth       = "no-bandwidth"
	ReasonNoConvergence     = "no-convergence"
	// StalledSuffix is appended to a limit's reason when Force or Postcopy
	// was asked for at bandwidth 0: nothing could be copied, so the guest
	// stays on the source.
	StalledSuffix = ",stalled"
)

// Round is one pre-copy iteration.
type Round struct {
	Index    int           // 1-based
	Start    time.Duration // since migration start
	Duration time.Duration
	Bytes    int64   // sent this round (incl. page headers, zero-page markers)
	Dirtied  int64   // dirtied during the round (what the next round must send)
	Throttle float64 // auto-converge throttle in force during the round, 0..0.99
	// Partial marks a round cut short by a limit or Abort; Bytes and Dirtied
	// are what happened until then.
	Partial bool
}

// Result is one migration's outcome.
type Result struct {
	TotalTime time.Duration // from start to done (includes post-copy tail)
	// Downtime is the time the guest was paused: final copy + switch-over
	// cost (+RTT); 0 if Aborted.
	Downtime time.Duration
	// Iterations counts pre-copy rounds run, a partial one included (the
	// final stop-and-copy is not a round); it equals len(Rounds).
	Iterations       int
	TransferredBytes int64
	Converged        bool // true only for cluster.OutcomeCompleted
	Outcome          cluster.Outcome
	Reason           string  // for a limit: "max-iterations", "completion-timeout", "progress-timeout"; "" otherwise
	Throttle         float64 // final auto-converge throttle
	Rounds           []Round
}

// Phase is where a Stepper is. Its constants carry a Phase prefix because
// PostCopy already names an Outcome.
type Phase string

const (
	PhaseSetup       Phase = "setup"
	PhasePreCopy     Phase = "precopy"
	PhaseStopAndCopy Phase = "stop-and-copy" // guest paused (for post-copy only while device state moves)
	PhasePostCopy    Phase = "postcopy"      // guest runs on the destination, pages follow
	PhaseFinishing   Phase = "finishing"     // guest runs on the destination; libvirt confirms and cleans up
	PhaseFinished    Phase = "finished"
)
