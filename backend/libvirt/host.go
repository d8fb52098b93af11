package libvirt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/droverlab/drover/backend/pki"
	"github.com/droverlab/drover/scheduler/cluster"
)

// Reconnection backoff: doubling from the first to the last, with jitter.
const (
	backoffFirst = 500 * time.Millisecond
	backoffMax   = 30 * time.Second
)

// securityMaxAge is how long a probed security state is trusted.
const securityMaxAge = 30 * time.Second

// host is one configured host and drover's connection to it.
type host struct {
	cfg HostConfig
	b   *Backend

	mu      sync.Mutex
	c       *Conn
	backoff time.Duration
	retryAt time.Time
	lastErr error

	secMu    sync.Mutex
	security cluster.Security
	secWhy   string
	secAt    time.Time

	sampleMu sync.Mutex
	samples  map[string]DomainStats // previous sample per domain, for CPU deltas
	cpu      map[string]float64     // last computed CPU use per domain, cores
	wss      map[string]*wssState   // last working-set estimate per domain
}

// wssState is a domain's last measurement campaign and what it gave.
type wssState struct {
	at        time.Time // when the campaign started
	samples   []WSSSample
	est       WSSEstimate
	measuring bool // a snapshot's campaign is under way
}

// conn returns the live connection, dialling when there is none. After a
// failed dial it waits out the backoff (or ctx) before the next attempt, so
// a dead host is not hammered; the error then wraps ErrHostUnreachable.
func (h *host) conn(ctx context.Context) (*Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil && h.c.l.IsConnected() {
		return h.c, nil
	}
	if h.c != nil {
		h.c.Close()
		h.c = nil
	}
	if wait := time.Until(h.retryAt); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s: waiting to reconnect after: %w", cluster.ErrHostUnreachable, h.cfg.Name, h.lastErr)
		}
	}
	c, err := Dial(ctx, h.cfg.Name, h.options())
	if err != nil {
		h.backoff = min(max(2*h.backoff, backoffFirst), backoffMax)
		jitter := time.Duration(rand.Int64N(int64(h.backoff) / 4))
		h.retryAt = time.Now().Add(h.backoff + jitter)
		h.lastErr = err
		return nil, err
	}
	h.backoff, h.retryAt, h.lastErr = 0, time.Time{}, nil
	h.c = c
	return c, nil
}

func (h *host) options() Options { return h.b.cfg.options(&h.cfg, h.b.log) }

// check is the keepalive: a cheap call on an idle connection.
func (h *host) check(ctx context.Context) {
	h.mu.Lock()
	c := h.c
	h.mu.Unlock()
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := call(ctx, c, c.l.ConnectGetLibVersion); err != nil {
		h.b.log.Warn("libvirt: host connection lost; will reconnect", "host", h.cfg.Name, "err", err)
		h.drop(c)
	}
}

// drop forgets c if it is still the current connection.
func (h *host) drop(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c == c {
		h.c = nil
		go c.Close()
	}
}

func (h *host) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c == nil {
		return nil
	}
	err := h.c.Close()
	h.c = nil
	return err
}

// securityState probes the host (cached for securityMaxAge): secured when
// its TLS port verifies against the cluster CA, unsecured when it offers
// TCP only, invalid otherwise, and invalid too when drover was told not to
// verify it.
func (h *host) securityState(ctx context.Context) (cluster.Security, string, error) {
	h.secMu.Lock()
	defer h.secMu.Unlock()
	if !h.secAt.IsZero() && time.Since(h.secAt) < securityMaxAge {
		return h.security, h.secWhy, nil
	}
	var sec cluster.Security
	var why string
	switch {
	case h.cfg.Transport == Unix:
		sec, why = cluster.Unsecured, "reached by unix socket: no TLS to speak of"
	case h.options().InsecureSkipVerify:
		sec, why = cluster.Invalid, "certificate not verified (insecure_skip_verify)"
	default:
		ctx, cancel := context.WithTimeout(ctx, h.b.cfg.timeout())
		defer cancel()
		tlsPort, tcpPort := 0, 0
		if h.cfg.Port > 0 {
			if h.cfg.Transport == TLS {
				tlsPort = h.cfg.Port
			} else {
				tcpPort = h.cfg.Port
			}
		}
		var err error
		sec, why, err = pki.Probe(ctx, h.cfg.Address, tlsPort, tcpPort, h.b.probe)
		if err != nil {
			return "", "", fmt.Errorf("%s: security probe: %w", h.cfg.Name, err)
		}
	}
	h.security, h.secWhy, h.secAt = sec, why, time.Now()
	return sec, why, nil
}

// migrationURI is what a source daemon dials for peer-to-peer migration to
// this host: qemu+tls between secured hosts, qemu+tcp otherwise.
func (h *host) migrationURI(secured bool) (string, error) {
	if h.cfg.Transport == Unix {
		return "", fmt.Errorf("host %s is reached by unix socket: give it an address other daemons can dial", h.cfg.Name)
	}
	scheme, port := "qemu+tcp", pki.TCPPort
	if secured {
		scheme, port = "qemu+tls", pki.TLSPort
	}
	addr := h.cfg.Address
	if h.cfg.Port > 0 && (h.cfg.Transport == TLS) == secured {
		port = h.cfg.Port
	}
	if port == pki.TCPPort && !secured || port == pki.TLSPort && secured {
		if ip := net.ParseIP(addr); ip != nil && ip.To4() == nil {
			addr = "[" + addr + "]"
		}
		return scheme + "://" + addr + "/system", nil
	}
	return scheme + "://" + net.JoinHostPort(addr, strconv.Itoa(port)) + "/system", nil
}

// inventory reads the host's inventory, stats and security state.
func (h *host) inventory(ctx context.Context) (*Inventory, error) {
	c, err := h.conn(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.b.cfg.timeout()+h.b.cfg.campaignLength()+5*time.Second)
	defer cancel()
	inv, err := c.Inventory(ctx, InventoryOptions{SharedPaths: h.b.cfg.SharedPaths, BlockMigration: h.b.cfg.BlockMigration})
	if err != nil {
		return nil, h.failed(c, err)
	}
	sec, why, err := h.securityState(ctx)
	if err != nil {
		return nil, err
	}
	inv.Host.Security = sec
	inv.SecurityReason = why
	if err := h.stats(ctx, c, inv); err != nil {
		return nil, h.failed(c, err)
	}
	return inv, nil
}

// failed drops the connection when err says the host stopped answering.
func (h *host) failed(c *Conn, err error) error {
	if errors.Is(err, cluster.ErrHostUnreachable) {
		h.drop(c)
	}
	return err
}

// stats fills each VM's CPU use, resident memory, working set and dirty
// rate. CPU use needs two samples: the first snapshot of a domain takes a
// second one half a second later. A working-set estimate older than the
// configured age is measured afresh by a campaign (the snapshot then
// waits for it, every VM of the host at once); migrating domains, and
// domains another snapshot is measuring, keep their last estimate.
func (h *host) stats(ctx context.Context, c *Conn, inv *Inventory) error {
	cur, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	maxAge := h.b.cfg.dirtyMaxAge()
	h.sampleMu.Lock()
	if h.wss == nil {
		h.wss = map[string]*wssState{}
	}
	fresh := false
	var measure []string
	for _, v := range inv.VMs {
		if _, ok := h.samples[v.Name]; !ok {
			fresh = true
		}
		s, ok := cur[v.Name]
		if !ok || s.DirtyMeasuring || v.State != stateRunning || h.b.migrating(v.Name) {
			continue
		}
		st := h.wss[v.Name]
		if st == nil {
			st = &wssState{}
			h.wss[v.Name] = st
		}
		if !st.measuring && (st.at.IsZero() || time.Since(st.at) > maxAge) {
			st.measuring = true
			measure = append(measure, v.Name)
		}
	}
	if len(measure) > 0 || fresh {
		for n, s := range cur {
			h.samples[n] = s
		}
	}
	h.sampleMu.Unlock()

	if len(measure) > 0 {
		start := time.Now()
		got, last, err := h.campaign(ctx, c, measure, cur)
		h.sampleMu.Lock()
		for _, n := range measure {
			st := h.wss[n]
			st.measuring = false
			if len(got[n]) > 0 {
				st.at, st.samples = start, got[n]
			}
		}
		h.sampleMu.Unlock()
		if err != nil {
			return err
		}
		cur = last
	} else if fresh {
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", cluster.ErrHostUnreachable, h.cfg.Name, ctx.Err())
		}
		if cur, err = c.Stats(ctx); err != nil {
			return err
		}
	}

	h.sampleMu.Lock()
	defer h.sampleMu.Unlock()
	if h.cpu == nil {
		h.cpu = map[string]float64{}
	}
	for i := range inv.VMs {
		v := &inv.VMs[i]
		s, ok := cur[v.Name]
		if !ok {
			continue
		}
		if prev, ok := h.samples[v.Name]; ok && s.At.Sub(prev.At) >= 100*time.Millisecond && s.CPUTime >= prev.CPUTime {
			h.cpu[v.Name] = float64(s.CPUTime-prev.CPUTime) / float64(s.At.Sub(prev.At))
		}
		v.CPU = min(h.cpu[v.Name], float64(v.VCPUs))
		v.Resident = Resident(s)
		// The estimate is redone against today's RSS: a guest that grew
		// or shrank since its campaign moves the rss bound with it.
		in := WSSInput{RSS: v.Resident, Memory: v.Memory}
		if st := h.wss[v.Name]; st != nil {
			in.Samples = st.samples
		}
		e := EstimateWSS(in)
		if len(in.Samples) == 0 && s.DirtyRate > 0 {
			// Never measured by drover (migrating since it was first
			// seen): libvirt's last figure, whoever asked for it.
			e.DirtyRate, e.DirtyRateHigh = s.DirtyRate, s.DirtyRate
		}
		if st := h.wss[v.Name]; st != nil {
			st.est = e
		}
		v.WSS, v.DirtyRate = e.WSS, e.DirtyRate
		m := e.Measured
		if s.Unused > 0 {
			m.Method += "; resident: guest's free memory"
		} else {
			m.Method += "; resident: rss"
		}
		v.Measured = &m
		v.Stats = s
		h.samples[v.Name] = s
	}
	for n := range h.samples {
		if _, ok := cur[n]; !ok {
			delete(h.samples, n)
			delete(h.cpu, n)
		}
	}
	for n, st := range h.wss {
		if _, ok := cur[n]; !ok && !st.measuring {
			delete(h.wss, n)
		}
	}
	return nil
}

// campaign measures the named domains' dirty rates over the configured
// windows, one measurement after another per domain (a domain runs one at
// a time) and all domains in step. A domain that starts migrating, goes
// away or refuses a measurement drops out with the samples it has. It
// returns each domain's samples and the host's last stats.
func (h *host) campaign(ctx context.Context, c *Conn, names []string, cur map[string]DomainStats) (map[string][]WSSSample, map[string]DomainStats, error) {
	got := map[string][]WSSSample{}
	active := slices.Clone(names)
	for _, w := range h.b.cfg.campaignPlan() {
		before := map[string]time.Time{}
		var started []string
		for _, n := range active {
			if h.b.migrating(n) {
				continue
			}
			if err := c.StartDirtyRate(ctx, n, w); err != nil {
				if !errors.Is(err, cluster.ErrNotFound) {
					h.b.log.Warn("libvirt: cannot measure dirty rate", "host", h.cfg.Name, "vm", n, "err", err)
				}
				continue
			}
			before[n] = cur[n].DirtyMeasured
			started = append(started, n)
		}
		if len(started) == 0 {
			break
		}
		deadline := time.Now().Add(w + campaignSlack)
		select {
		case <-time.After(w):
		case <-ctx.Done():
			return got, cur, fmt.Errorf("%w: %s: %w", cluster.ErrHostUnreachable, h.cfg.Name, ctx.Err())
		}
		active = nil
		for pending := started; len(pending) > 0; {
			var err error
			if cur, err = c.Stats(ctx); err != nil {
				return got, cur, err
			}
			var still []string
			for _, n := range pending {
				s, ok := cur[n]
				switch {
				case !ok:
				case s.DirtyMeasuring || s.DirtyMeasured.IsZero() || s.DirtyMeasured.Equal(before[n]) || s.DirtyPeriod != w:
					still = append(still, n)
				default:
					got[n] = append(got[n], WSSSample{Window: w, Rate: s.DirtyRate})
					active = append(active, n)
				}
			}
			pending = still
			if len(pending) > 0 && time.Now().After(deadline) {
				// A late result would be mistaken for the next window's.
				h.b.log.Warn("libvirt: dirty-rate measurement overdue; domain left out of this campaign",
					"host", h.cfg.Name, "vms", pending, "window", w)
				break
			}
			if len(pending) > 0 {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	for _, n := range names {
		e := EstimateWSS(WSSInput{Samples: got[n], RSS: min(cur[n].RSS, cur[n].Memory), Memory: cur[n].Memory})
		var wins []string
		for _, w := range e.Windows {
			wins = append(wins, fmt.Sprintf("%s×%d d=%.1fMiB±%.1f", w.Window, w.N, w.D/(1<<20), w.SE/(1<<20)))
		}
		h.b.log.Debug("libvirt: working set measured", "host", h.cfg.Name, "vm", n, "method", e.Method, "windows", strings.Join(wins, " "),
			"wss", e.WSS, "wss_low", e.WSSLow, "wss_high", e.WSSHigh,
			"dirty_rate", e.DirtyRate, "dirty_rate_low", e.DirtyRateLow, "dirty_rate_high", e.DirtyRateHigh)
	}
	return got, cur, nil
}

// describe is the host as the scheduler sees it: the inventory file's
// placement and NICs, the daemon's size and CPU model.
func (h *host) describe(inv *Inventory) cluster.Host {
	out := cluster.Host{Name: h.cfg.Name, Class: h.cfg.Class, Zone: h.cfg.Zone, Rack: h.cfg.Rack,
		NICs: h.cfg.NICs, NICSpeed: float64(h.cfg.NICSpeed), State: h.cfg.State}
	if out.State == "" {
		out.State = cluster.HostUp
	}
	if inv != nil {
		out.CPUs, out.Memory, out.CPUModel, out.Security = inv.Host.CPUs, inv.Host.Memory, inv.Host.CPUModel, inv.Host.Security
	}
	return out
}

// Resident is the best live bound on a guest's non-zero memory: what the
// guest does not report free, where it reports it (a virtio-balloon with
// statistics), else the QEMU process's RSS; never above the guest's memory.
func Resident(s DomainStats) int64 {
	r := min(max(s.RSS, 0), s.Memory)
	if s.Unused > 0 && s.Memory > s.Unused {
		r = min(r, s.Memory-s.Unused)
	}
	return r
}
