package plan

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Basis is the cluster an operator's plan was made on, carried in the plan
// file, so that apply refuses a plan the cluster has moved away from: the
// contract of drover apply. Times are the wall clock's, given by the
// caller (the package reads no clock).
type Basis struct {
	MadeAt  time.Time `json:"made_at"`
	Expires time.Time `json:"expires"`
	// Fingerprint names the cluster state below in one short string.
	Fingerprint string      `json:"fingerprint"`
	Hosts       []BasisHost `json:"hosts"`
	VMs         []BasisVM   `json:"vms"`
	// Request is what the plan was asked for, so apply --replan can ask
	// again on the cluster as it is now.
	Request Request `json:"request"`
}

// BasisHost is what of a host a plan depends on.
type BasisHost struct {
	Name     string            `json:"name"`
	State    cluster.HostState `json:"state"`
	Security cluster.Security  `json:"security"`
}

// BasisVM is where a guest ran.
type BasisVM struct {
	Name string `json:"name"`
	Host string `json:"host"`
}

// Request is the planning request behind a plan: the policy and its
// inputs (hosts to drain, a zone and its deadline from the plan's start).
type Request struct {
	Policy   string        `json:"policy"`
	Hosts    []string      `json:"hosts,omitempty"`
	Zone     string        `json:"zone,omitempty"`
	Deadline time.Duration `json:"deadline,omitempty"`
}

// NewBasis records snap, taken at madeAt, for a plan valid for ttl.
func NewBasis(snap *cluster.Snapshot, madeAt time.Time, ttl time.Duration, req Request) *Basis {
	b := &Basis{MadeAt: madeAt.UTC(), Expires: madeAt.Add(ttl).UTC(), Request: req}
	for _, h := range snap.Hosts {
		b.Hosts = append(b.Hosts, BasisHost{Name: h.Name, State: h.State, Security: h.Security})
	}
	for _, v := range snap.VMs {
		b.VMs = append(b.VMs, BasisVM{Name: v.Name, Host: v.Host})
	}
	slices.SortFunc(b.Hosts, func(x, y BasisHost) int { return cmp.Compare(x.Name, y.Name) })
	slices.SortFunc(b.VMs, func(x, y BasisVM) int { return cmp.Compare(x.Name, y.Name) })
	b.Fingerprint = fingerprint(b.Hosts, b.VMs)
	return b
}

func fingerprint(hosts []BasisHost, vms []BasisVM) string {
	h := sha256.New()
	for _, x := range hosts {
		fmt.Fprintf(h, "host %s %s %s\n", x.Name, x.State, x.Security)
	}
	for _, v := range vms {
		fmt.Fprintf(h, "vm %s %s\n", v.Name, v.Host)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Changes says how the cluster in snap, at now, differs from the basis in
// what a plan depends on: the plan expired, a host is gone or changed state
// or security, a guest is gone or runs elsewhere. Empty when the plan still
// stands. New hosts and guests do not make a plan stale.
func (b *Basis) Changes(snap *cluster.Snapshot, now time.Time) []string {
	var out []string
	if now.After(b.Expires) {
		out = append(out, fmt.Sprintf("the plan expired at %s (made at %s)", b.Expires.Format(time.RFC3339), b.MadeAt.Format(time.RFC3339)))
	}
	for _, h := range b.Hosts {
		now := snap.Host(h.Name)
		switch {
		case now == nil:
			out = append(out, fmt.Sprintf("host %s is gone", h.Name))
		case now.State != h.State:
			out = append(out, fmt.Sprintf("host %s was %s and is %s", h.Name, h.State, now.State))
		case now.Security != h.Security:
			out = append(out, fmt.Sprintf("host %s was %s and is %s", h.Name, h.Security, now.Security))
		}
	}
	for _, v := range b.VMs {
		now := snap.VM(v.Name)
		switch {
		case now == nil:
			out = append(out, fmt.Sprintf("vm %s is gone", v.Name))
		case now.Host != v.Host:
			out = append(out, fmt.Sprintf("vm %s was on %s and is on %s", v.Name, v.Host, now.Host))
		}
	}
	return out
}

// Diff says how q differs from p, move by move, for a person: the moves
// only one of them has, and those that go elsewhere.
func Diff(p, q *Plan) []string {
	dst := func(pl *Plan) map[string]string {
		m := map[string]string{}
		for _, mv := range pl.Moves {
			m[mv.VM] = mv.Destination
		}
		return m
	}
	a, b := dst(p), dst(q)
	both := maps.Clone(a)
	maps.Copy(both, b)
	var out []string
	for _, vm := range slices.Sorted(maps.Keys(both)) {
		switch x, y := a[vm], b[vm]; {
		case y == "":
			out = append(out, fmt.Sprintf("- %s -> %s (no longer planned)", vm, x))
		case x == "":
			out = append(out, fmt.Sprintf("+ %s -> %s (new)", vm, y))
		case x != y:
			out = append(out, fmt.Sprintf("~ %s -> %s (was -> %s)", vm, y, x))
		}
	}
	return out
}
