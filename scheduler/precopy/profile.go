package precopy

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// ProfileVersion is the profile file format this build reads. A file of a
// newer version is refused rather than half understood.
const ProfileVersion = 1

// Profile holds the model's free parameters: what QEMU's mechanism does not
// fix and a host's hardware and software decide. The mechanism (rate-limit
// windows, threshold from measured bandwidth, bitmap syncs when the estimate
// falls under it, an unthrottled final copy) is code; these numbers are
// fitted on real migrations by `drover calibrate` and travel as a named,
// versioned file, so a cluster with KVM and 25 Gbit/s NICs brings its own.
type Profile struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// FittedOn says where the figures come from (hypervisor, accelerator,
	// transport, date, number of migrations), for the operator reading a
	// prediction; the model ignores it.
	FittedOn string `json:"fitted_on,omitempty"`

	// SetupMS is the fixed cost before the first page flows: libvirt's
	// begin/prepare, the destination QEMU's start, the handshake and the
	// first dirty-bitmap sync. It does not grow with iterations.
	SetupMS float64 `json:"setup_ms"`
	// Goodput is the rate migration bytes flow at over the granted rate
	// (a libvirt cap or a link share): QEMU's TCP stream on a shaped link
	// gets about 0.97 of it.
	Goodput float64 `json:"goodput"`
	// LinkGoodput is Goodput for a stream bound by its path (a shaped or
	// shared link) rather than by its cap or its hosts' CPU: the link's
	// rate counts every frame's headers and the stream shares it with
	// others, where a cap counts QEMU's own bytes. Fitted on concurrent
	// migrations over a shaped link (0: the same as Goodput).
	LinkGoodput float64 `json:"link_goodput,omitempty"`
	// GoodputTLS is Goodput for a stream with QEMU native TLS (0: the
	// same as Goodput): encrypting costs the migration thread time that a
	// rate limit does not give back, so a capped TLS stream moves less.
	GoodputTLS float64 `json:"goodput_tls,omitempty"`
	// SyncMS is the pause in sending for one dirty-bitmap sync.
	SyncMS float64 `json:"sync_ms"`
	// SwitchoverMS is the fixed paused time of a switch-over besides the
	// final copy: device state, the last sync, the destination's resume.
	SwitchoverMS float64 `json:"switchover_ms"`
	// FinishMS is the time after the guest resumes that libvirt still
	// counts in the job (confirm phase, source clean-up).
	FinishMS float64 `json:"finish_ms"`
	// FinalRate is the rate in bytes/s of the stop-and-copy, which QEMU
	// runs without its rate limit: bound by the link and by the CPU that
	// feeds the stream (TCG, TLS), not by a cap. 0 means the granted rate.
	FinalRate float64 `json:"final_rate"`
	// DirtyFactor scales the guest's dirty rate while it migrates: dirty
	// logging slows a guest's writes (under TCG every write to a logged
	// page leaves the translated code), so it dirties less than it did
	// before. 0 means 1.
	DirtyFactor float64 `json:"dirty_factor,omitempty"`
	// Overlap is how much of QEMU's de-duplication the workload gets: a
	// page dirtied again while it is still waiting to be sent goes once.
	// 1 takes the unsent pages to be spread uniformly over the hot set (a
	// random writer); a guest that writes its working set in address order
	// while QEMU scans in address order hits pages already sent more
	// often, and gets less; 0 counts every dirtied page. Fitted: the lab's
	// sequential writer gets about 0.7. A file without the key means 1.
	Overlap float64 `json:"overlap"`
	// StreamRate, when set, is the most one migration stream achieves on
	// these hosts whatever the link offers, bound by the CPU that feeds it
	// (TCG, compression); StreamRateTLS the same with QEMU native TLS,
	// which costs a CPU-bound stream more. Measured by drover calibrate on
	// uncapped migrations, they bound every stream as a cap would, so a
	// plan without a cap is not predicted at the NIC's speed. 0: unknown,
	// the path bounds the stream (the built-in default: a simulated
	// datacenter's NICs are its bound). StreamRateTLS 0 takes StreamRate.
	StreamRate    float64 `json:"stream_rate,omitempty"`
	StreamRateTLS float64 `json:"stream_rate_tls,omitempty"`
	// OverheadMS is what a move takes on the wall clock outside the job
	// libvirt reports (its time_elapsed): a peer-to-peer migration's begin,
	// prepare and confirm phases and the client's own calls, before any
	// page flows; OverheadTLSMS the same over TLS (0: OverheadMS). Plans
	// and the simulator count it (they predict what an operator waits
	// for); predict reports it apart, as wall_time_ms.
	OverheadMS    float64 `json:"overhead_ms,omitempty"`
	OverheadTLSMS float64 `json:"overhead_tls_ms,omitempty"`
	// ZeroPageUS is the migration thread's CPU time per zero page in the
	// first pass, in µs: QEMU reads every page to find the zero ones, so
	// a large, mostly idle guest takes longer than its bytes say when
	// nothing else holds the stream back (a rate limit hides it: the
	// thread scans while it waits). 0: free.
	ZeroPageUS float64 `json:"zero_page_us,omitempty"`
	// QueueBytes is what a stream bound by its path (a narrow or shared
	// link), not by its cap or its host's CPU, keeps queued ahead of the
	// bottleneck: its TCP send buffer and the link's queue, which such a
	// stream fills and a capped one leaves empty. When the guest stops,
	// the destination still has these bytes to receive before it can
	// resume, so the switch-over waits for them at the stream's rate.
	// Fitted on concurrent migrations over a shaped link; on a fast path
	// it costs milliseconds. 0: no queue.
	QueueBytes float64 `json:"queue_bytes,omitempty"`
	// WindowMS is QEMU's rate-limit window (BUFFER_DELAY, 100 ms): the
	// switch-over test runs once per window, on the bandwidth measured in
	// the last one.
	WindowMS float64 `json:"window_ms"`
	// ZeroPageBytes is what one zero page costs on the wire (QEMU sends a
	// page header and one byte); PageHeaderBytes what a normal page adds.
	ZeroPageBytes   float64 `json:"zero_page_bytes"`
	PageHeaderBytes float64 `json:"page_header_bytes"`
	// RelErr is the relative error (one standard deviation) of this
	// profile's total-time predictions on migrations left out of its fit;
	// predictions widen their interval by it.
	RelErr float64 `json:"rel_err,omitempty"`

	// TCG, when set, is the whole profile for guests QEMU emulates (TCG)
	// rather than runs with hardware virtualization. Emulation costs the
	// host CPU that KVM does not: the zero-page scan competes with the
	// vCPU thread and a CPU-bound stream runs far below the NIC. A
	// profile fitted on TCG hosts carries those costs here, so that the
	// same default serves a simulated KVM datacenter and the TCG lab. Nil:
	// this profile serves both.
	TCG *Profile `json:"tcg,omitempty"`
}

// For is the profile a guest is predicted with: the TCG profile for an
// emulated guest when there is one, else p.
func (p Profile) For(tcg bool) Profile {
	if tcg && p.TCG != nil {
		return *p.TCG
	}
	return p
}

//go:embed profiles/*.json
var profileFiles embed.FS

// DefaultProfileName is the profile every prediction uses unless told
// otherwise: fitted on the project's lab (QEMU 10 TCG, libvirt 11.3).
const DefaultProfileName = "qemu10-tcg"

var defaultProfile = func() Profile {
	p, err := BuiltinProfile(DefaultProfileName)
	if err != nil {
		panic(err) // a broken embedded file is a build defect
	}
	return p
}()

// DefaultProfile returns the default profile.
func DefaultProfile() Profile { return defaultProfile }

// BuiltinProfile returns a profile shipped with drover, by name: a file's
// or its TCG profile's (the default's TCG half is qemu10-tcg-lab, which
// was a file of its own before profiles knew the accelerator).
func BuiltinProfile(name string) (Profile, error) {
	if b, err := profileFiles.ReadFile("profiles/" + name + ".json"); err == nil {
		return ParseProfile(b)
	}
	if p, err := BuiltinProfile(DefaultProfileName); err == nil && p.TCG != nil && p.TCG.Name == name {
		return *p.TCG, nil
	}
	return Profile{}, fmt.Errorf("%w: no built-in profile %q", ErrInvalid, name)
}

// UnmarshalJSON decodes a profile, its TCG profile included, refusing
// unknown keys at every level; a file without overlap means 1 (version 1
// files predate the key).
func (p *Profile) UnmarshalJSON(b []byte) error {
	type plain Profile // without this method, so that decoding does not recurse
	q := plain{Overlap: 1}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return err
	}
	*p = Profile(q)
	return nil
}

// ParseProfile decodes a profile file, refusing unknown keys, a newer
// version and out-of-range values (every problem at once).
func ParseProfile(b []byte) (Profile, error) {
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return Profile{}, fmt.Errorf("%w: profile: %v", ErrInvalid, err)
	}
	for _, q := range []*Profile{&p, p.TCG} {
		if q != nil && q.Version > ProfileVersion {
			return Profile{}, fmt.Errorf("%w: profile %q is version %d; this drover reads up to %d", ErrInvalid, q.Name, q.Version, ProfileVersion)
		}
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// Validate returns every problem with p at once, each wrapping ErrInvalid.
func (p Profile) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: profile: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if p.Name == "" {
		bad("name is empty")
	}
	if p.Version < 1 {
		bad("version %d: want 1..%d", p.Version, ProfileVersion)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"setup_ms", p.SetupMS}, {"sync_ms", p.SyncMS}, {"switchover_ms", p.SwitchoverMS},
		{"finish_ms", p.FinishMS}, {"final_rate", p.FinalRate}, {"stream_rate", p.StreamRate}, {"stream_rate_tls", p.StreamRateTLS}, {"zero_page_us", p.ZeroPageUS}, {"queue_bytes", p.QueueBytes}, {"overhead_ms", p.OverheadMS}, {"overhead_tls_ms", p.OverheadTLSMS},
		{"zero_page_bytes", p.ZeroPageBytes}, {"dirty_factor", p.DirtyFactor}, {"page_header_bytes", p.PageHeaderBytes}, {"rel_err", p.RelErr},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			bad("%s %v is not a non-negative number", f.name, f.v)
		}
	}
	// Above 1 is allowed: libvirt's cap and QEMU's own byte count need
	// not agree exactly.
	if !(p.Goodput > 0 && p.Goodput <= 2) {
		bad("goodput %v: want more than 0 and at most 2", p.Goodput)
	}
	if !(p.LinkGoodput >= 0 && p.LinkGoodput <= 2) {
		bad("link_goodput %v: want 0 (as goodput) up to 2", p.LinkGoodput)
	}
	if !(p.GoodputTLS >= 0 && p.GoodputTLS <= 2) {
		bad("goodput_tls %v: want 0 (as goodput) up to 2", p.GoodputTLS)
	}
	if !(p.Overlap >= 0 && p.Overlap <= 1) {
		bad("overlap %v: want 0..1", p.Overlap)
	}
	if !(p.WindowMS >= 1 && p.WindowMS <= 10_000) {
		bad("window_ms %v: want 1..10000", p.WindowMS)
	}
	if t := p.TCG; t != nil {
		if t.TCG != nil {
			bad("tcg: a TCG profile has no TCG profile of its own")
		}
		if err := t.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("tcg: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Encode writes p as an indented profile file.
func (p Profile) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func msDur(v float64) time.Duration { return time.Duration(math.Round(v * 1e6)) }

// Finish is FinishMS as a duration, rounded as the stepper rounds it.
func (p Profile) Finish() time.Duration { return msDur(p.FinishMS) }

// Z80 is the half-width of a central 80% normal interval in standard
// deviations: the intervals every prediction carries are 80% ones.
const Z80 = 1.2816

// Spread is the relative half-width of the 80% interval of a total time
// predicted with p: its held-out error, and as many more relative errors
// from uncertain inputs as are given, taken as independent (their squares
// add).
func (p Profile) Spread(inputs ...float64) float64 {
	v := (Z80 * p.RelErr) * (Z80 * p.RelErr)
	for _, x := range inputs {
		v += x * x
	}
	return math.Sqrt(v)
}

// Achievable is the most one stream gets on these hosts whatever the path
// offers (bytes/s), 0 when unknown. It is granted rate, as a cap is: the
// stream rates are what bytes were measured to flow at, so goodput is
// taken back out, and a fit does not trade one for the other.
func (p Profile) Achievable(tls bool) float64 {
	r := p.StreamRate
	if tls && p.StreamRateTLS > 0 {
		r = p.StreamRateTLS
	}
	if g := p.GoodputOf(tls); r > 0 && g > 0 {
		r /= g
	}
	return r
}

// GoodputOf is the goodput of a stream over TLS or not.
func (p Profile) GoodputOf(tls bool) float64 {
	if tls && p.GoodputTLS > 0 {
		return p.GoodputTLS
	}
	return p.Goodput
}

// Stream is what one migration stream may use between two hosts whose
// path offers path bytes/s (0: unbounded) under a configured cap (0:
// none), over TLS or not: the rate pre-copy is held to, and the path's
// rate that bounds the unthrottled final copy. Both are also bounded by
// the stream rate these hosts achieve.
func (p Profile) Stream(path, cap float64, tls bool) (rate, link float64) {
	bound := func(a, b float64) float64 {
		switch {
		case a <= 0:
			return b
		case b <= 0:
			return a
		}
		return min(a, b)
	}
	link = bound(path, p.Achievable(tls))
	return bound(link, cap), link
}

// Bound is Config.Bound of a stream under cap (0: none): what it may take
// whatever its path offers.
func (p Profile) Bound(cap float64, tls bool) float64 {
	if r, _ := p.Stream(0, cap, tls); r > 0 {
		return r
	}
	return math.Inf(1)
}

// Overhead is OverheadMS (or OverheadTLSMS over TLS) as a duration.
func (p Profile) Overhead(tls bool) time.Duration {
	if tls && p.OverheadTLSMS > 0 {
		return msDur(p.OverheadTLSMS)
	}
	return msDur(p.OverheadMS)
}
