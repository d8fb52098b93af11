package libvirt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/droverlab/drover/backend"
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
			return nil, fmt.Errorf("%w: %s: waiting to reconnect after: %w", backend.ErrHostUnreachable, h.cfg.Name, h.lastErr)
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

func (h *host) options() Options {
	cfg := h.b.cfg
	o := Options{Transport: h.cfg.Transport, Address: h.cfg.Address, Port: h.cfg.Port, PKIDir: cfg.PKI,
		Timeout: cfg.timeout(), Logger: h.b.log}
	for _, n := range cfg.InsecureSkipVerify {
		if n == h.cfg.Name {
			o.InsecureSkipVerify = true
		}
	}
	return o
}

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
	ctx, cancel := context.WithTimeout(ctx, h.b.cfg.timeout()+h.b.cfg.dirtyPeriod()+5*time.Second)
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
	if errors.Is(err, backend.ErrHostUnreachable) {
		h.drop(c)
	}
	return err
}

// stats fills each VM's CPU use, resident memory and dirty rate. CPU use
// needs two samples: the first snapshot of a domain takes a second one
// half a second later. A dirty rate older than the configured age is
// measured afresh (the snapshot then waits one measurement period);
// migrating domains are not measured.
func (h *host) stats(ctx context.Context, c *Conn, inv *Inventory) error {
	cur, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	h.sampleMu.Lock()
	fresh := false
	for _, v := range inv.VMs {
		if _, ok := h.samples[v.Name]; !ok {
			fresh = true
		}
	}
	h.sampleMu.Unlock()
	var measure []string
	for _, v := range inv.VMs {
		s, ok := cur[v.Name]
		if !ok || s.DirtyMeasuring || v.State != stateRunning || h.b.migrating(v.Name) {
			continue
		}
		if s.DirtyMeasured.IsZero() || time.Since(s.DirtyMeasured) > h.b.cfg.dirtyMaxAge() {
			if err := c.StartDirtyRate(ctx, v.Name, h.b.cfg.dirtyPeriod()); err == nil {
				measure = append(measure, v.Name)
			} else if !errors.Is(err, backend.ErrNotFound) {
				h.b.log.Warn("libvirt: cannot measure dirty rate", "host", h.cfg.Name, "vm", v.Name, "err", err)
			}
		}
	}
	wait := time.Duration(0)
	if len(measure) > 0 {
		wait = h.b.cfg.dirtyPeriod() + 300*time.Millisecond
	} else if fresh {
		wait = 500 * time.Millisecond
	}
	if wait > 0 {
		h.sampleMu.Lock()
		for n, s := range cur {
			h.samples[n] = s
		}
		h.sampleMu.Unlock()
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", backend.ErrHostUnreachable, h.cfg.Name, ctx.Err())
		}
		// A measurement may still be finishing; wait a little more, bounded.
		for range 10 {
			if cur, err = c.Stats(ctx); err != nil {
				return err
			}
			if !anyMeasuring(cur, measure) {
				break
			}
			time.Sleep(200 * time.Millisecond)
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
		v.Resident = min(max(s.RSS, 0), v.Memory)
		// libvirt measures no working set: the touched memory bounds it.
		v.WSS = v.Resident
		v.DirtyRate = s.DirtyRate
		v.Stats = s
		h.samples[v.Name] = s
	}
	for n := range h.samples {
		if _, ok := cur[n]; !ok {
			delete(h.samples, n)
			delete(h.cpu, n)
		}
	}
	return nil
}

func anyMeasuring(cur map[string]DomainStats, names []string) bool {
	for _, n := range names {
		if cur[n].DirtyMeasuring {
			return true
		}
	}
	return false
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
