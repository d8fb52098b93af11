package libvirt

import (
	"context"
	"fmt"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// DomainStats are one sample of a running domain's counters. CPU use and
// dirty rate are rates, so they take two samples or a measurement over a
// period; Sampler turns samples into the figures the planner reads.
type DomainStats struct {
	Name string
	// At is when drover received the sample (wall clock): libvirt gives
	// no time stamp for cpu.time.
	At time.Time
	// CPUTime is the guest's total CPU time (cpu.time), all vCPUs.
	CPUTime time.Duration
	// RSS is the QEMU process's resident memory (balloon.rss): the pages
	// the guest has touched, which pre-copy must send as data rather than
	// as zero-page markers. 0 when libvirt does not report it.
	RSS int64
	// Memory is the guest's current memory (balloon.current).
	Memory int64
	// Unused is the memory the guest itself reports free (balloon.unused,
	// from a virtio-balloon with statistics), 0 when it reports none.
	// Pages a guest never used, or zeroed on allocation, migrate as
	// zero-page markers; RSS counts them all the same (and a TCG QEMU's
	// own code cache besides), so memory − unused bounds the non-zero
	// memory far better than RSS does.
	Unused int64
	// DirtyRate is the last completed measurement (dirtyrate.*) in
	// bytes/s, and DirtyMeasured when that measurement started; zero when
	// none completed. DirtyMeasuring is set while one runs.
	DirtyRate      float64
	DirtyMeasured  time.Time
	DirtyMeasuring bool
	// DirtyPeriod is the last measurement's window.
	DirtyPeriod time.Duration
}

// libvirt's dirtyrate.calc_status values.
const (
	dirtyRateUnstarted = 0
	dirtyRateMeasuring = 1
	dirtyRateMeasured  = 2
)

// Stats samples every running domain in one call
// (virConnectGetAllDomainStats), keyed by domain name. It does not wait
// for domains busy with a job (a migration): their figures that need the
// job are left out rather than delaying the whole host.
func (c *Conn) Stats(ctx context.Context) (map[string]DomainStats, error) {
	const types = golibvirt.DomainStatsState | golibvirt.DomainStatsCPUTotal |
		golibvirt.DomainStatsBalloon | golibvirt.DomainStatsDirtyrate
	recs, err := call(ctx, c, func() ([]golibvirt.DomainStatsRecord, error) {
		return c.l.ConnectGetAllDomainStats(nil, uint32(types), uint32(golibvirt.ConnectGetAllDomainsStatsActive|golibvirt.ConnectGetAllDomainsStatsNowait))
	})
	if err != nil {
		return nil, fmt.Errorf("domain stats: %w", err)
	}
	now := time.Now()
	out := make(map[string]DomainStats, len(recs))
	for _, r := range recs {
		p := params(r.Params)
		s := DomainStats{
			Name:    r.Dom.Name,
			At:      now,
			CPUTime: time.Duration(p.uint(golibvirt.DomainStatsCPUTime)),
			RSS:     int64(p.uint(golibvirt.DomainStatsBalloonRss)) * 1024,
			Memory:  int64(p.uint(golibvirt.DomainStatsBalloonCurrent)) * 1024,
			Unused:  int64(p.uint(golibvirt.DomainStatsBalloonUnused)) * 1024,
		}
		switch p.uint(golibvirt.DomainStatsDirtyrateCalcStatus) {
		case dirtyRateMeasuring:
			s.DirtyMeasuring = true
		case dirtyRateMeasured:
			// libvirt reports MiB/s (its "megabytes" are 2^20 bytes).
			s.DirtyRate = float64(p.uint(golibvirt.DomainStatsDirtyrateMegabytesPerSecond)) * (1 << 20)
			s.DirtyMeasured = time.Unix(int64(p.uint(golibvirt.DomainStatsDirtyrateCalcStartTime)), 0)
			s.DirtyPeriod = time.Duration(p.uint(golibvirt.DomainStatsDirtyrateCalcPeriod)) * time.Second
		}
		out[r.Dom.Name] = s
	}
	return out, nil
}

// StartDirtyRate starts measuring a domain's dirty rate over period (whole
// seconds, at least one) by page sampling: QEMU hashes a sample of pages
// at the start and the end, which works under TCG and KVM alike and costs
// the guest nothing. The result shows up in Stats once period has passed.
func (c *Conn) StartDirtyRate(ctx context.Context, domain string, period time.Duration) error {
	secs := max(int32(period/time.Second), 1)
	_, err := call(ctx, c, func() (struct{}, error) {
		d, err := c.l.DomainLookupByName(domain)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, c.l.DomainStartDirtyRateCalc(d, secs, uint32(golibvirt.DomainDirtyrateModePageSampling))
	})
	if err != nil {
		return fmt.Errorf("dirty rate of %s: %w", domain, err)
	}
	return nil
}

// typedParams reads libvirt's typed parameters by name.
type typedParams map[string]any

func params(ps []golibvirt.TypedParam) typedParams {
	m := make(typedParams, len(ps))
	for _, p := range ps {
		m[p.Field] = p.Value.I
	}
	return m
}

// uint is the parameter as an unsigned number, whatever integer type
// libvirt chose for it; 0 when absent.
func (p typedParams) uint(name string) uint64 {
	switch v := p[name].(type) {
	case uint64:
		return v
	case int64:
		return uint64(max(v, 0))
	case uint32:
		return uint64(v)
	case int32:
		return uint64(max(v, 0))
	case float64:
		return uint64(max(v, 0))
	}
	return 0
}
