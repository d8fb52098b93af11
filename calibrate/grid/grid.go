// Package grid measures real live migrations for a calibration: it boots
// the project's workload guest at every point of a grid (memory, working
// set, write rate), migrates it once per bandwidth cap between two hosts,
// and runs groups of identical guests at once over a shaped link. Each
// migration becomes a row of measurements.csv (calibrate.Read's table):
// libvirt's completed job statistics, the rate the guest itself says it
// wrote, and whether it kept running on the destination with the same
// boot and its heartbeat going on. A row is written as soon as it is
// measured, so an interrupted grid resumes where it stopped.
package grid

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lab is the pair of hosts a grid runs on: real ones in drover calibrate.
type Lab interface {
	// Boot defines the guest on host and starts it.
	Boot(ctx context.Context, host string, g Guest) error
	// Remove destroys and undefines the guest on every host, and refuses
	// (an error) a domain of that name it did not boot.
	Remove(ctx context.Context, name string) error
	// Console copies the guest's console on host to w from now until
	// stop is called or the guest leaves the host.
	Console(ctx context.Context, host, name string, w io.Writer) (stop func(), err error)
	// Migrate live-migrates a guest and returns when the migration has
	// ended, aborting it after m.Timeout.
	Migrate(ctx context.Context, m Move) Result
	// Job is libvirt's record of the guest's completed job on host, by
	// typed-parameter name.
	Job(ctx context.Context, host, name string) (map[string]uint64, error)
	// Shape limits host's egress to rate bytes/s; 0 lifts the limit.
	Shape(ctx context.Context, host string, rate float64) error
}

// Guest is one workload guest.
type Guest struct {
	Name      string
	MemoryMiB int
	WSS       int64 // bytes
	Dirty     int64 // bytes/s
}

// Move is one migration to run.
type Move struct {
	Guest               string
	Source, Destination string
	Cap                 float64 // libvirt's bandwidth cap, bytes/s; 0: none
	Timeout             time.Duration
}

// Result is how a migration ended.
type Result struct {
	// OK: the guest runs on the destination and no longer on the source.
	OK     bool
	Reason string
	// On is the host the guest runs on afterwards ("" when on neither).
	On string
	// Wall is the whole migration on the wall clock, libvirt's phases
	// outside its job included.
	Wall time.Duration
}

// Spec is the grid. Sizes are bytes, caps and the link MiB/s.
type Spec struct {
	Hosts     [2]string
	Transport string // tcp or tls, the table's transport column
	Mem       []int  // MiB
	WSS       []int64
	Dirty     []int64
	Caps      []int
	// Conc: groups of this many identical guests (ConcMem, ConcWSS, each
	// of ConcDirty) migrating at once, without a cap, over Hosts[0]'s
	// egress shaped to LinkMiBs.
	Conc      []int
	ConcMem   int
	ConcWSS   int64
	ConcDirty []int64
	LinkMiBs  int
	// Budget bounds the whole grid: no case starts after it and
	// migration timeouts are cut to it. MigTimeout bounds one migration,
	// BootTimeout one guest's boot.
	Budget, MigTimeout, BootTimeout time.Duration
	// Shuffle, when not 0, seeds the order the guests are measured in
	// (and each guest's caps): a machine that drifts over the grid's
	// quarter hour then shows as noise, not as a cost of memory size or
	// rate. 0 keeps the grid's order.
	Shuffle uint64
	// BootHB heartbeats make a guest booted; the guest's rate is read
	// over its last RateWindow heartbeats before a migration.
	BootHB, RateWindow int
}

// DefaultSpec is calibrate.sh's grid: 256 and 512 MiB guests, working
// sets of 16–128 MiB, writing 0–24 MiB/s, caps of 32 and 64 MiB/s, and
// groups of 2 and 3 guests writing 4 or 6 MiB/s over a 24 MiB/s link.
func DefaultSpec() Spec {
	return Spec{
		Transport: "tcp",
		Mem:       []int{256, 512},
		WSS:       []int64{16 << 20, 64 << 20, 128 << 20},
		Dirty:     []int64{0, 4 << 20, 12 << 20, 24 << 20},
		Caps:      []int{32, 64},
		Conc:      []int{2, 3},
		ConcMem:   256, ConcWSS: 64 << 20, ConcDirty: []int64{4 << 20, 6 << 20},
		LinkMiBs: 24,
		Budget:   24 * time.Minute, MigTimeout: 3 * time.Minute, BootTimeout: 90 * time.Second,
		BootHB: 4, RateWindow: 7,
	}
}

// Check says every problem of the grid at once, before any guest boots.
// A value listed twice is measured twice (repeatability runs).
func (s Spec) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Hosts[0] == "" || s.Hosts[1] == "" || s.Hosts[0] == s.Hosts[1] {
		bad("want two different hosts, got %q and %q", s.Hosts[0], s.Hosts[1])
	}
	for _, m := range append(slices.Clone(s.Mem), s.ConcMem) {
		if m < 64 || m > 1<<20 {
			bad("memory %d MiB: want 64 MiB to 1 TiB (the guest's kernel needs about 40)", m)
		}
	}
	for _, w := range append(slices.Clone(s.WSS), s.ConcWSS) {
		if w <= 0 {
			bad("working set %d bytes: want more than 0", w)
		}
	}
	for _, d := range append(slices.Clone(s.Dirty), s.ConcDirty...) {
		if d < 0 {
			bad("write rate %d bytes/s: want 0 or more", d)
		}
	}
	for _, c := range s.Caps {
		if c < 0 || c > 1<<20 {
			bad("cap %d MiB/s: want 0 (none) up to 1048576", c)
		}
	}
	groups := false
	for _, k := range s.Conc {
		switch {
		case k == 0:
		case k < 2 || k > 16:
			bad("--conc %d: want groups of 2 to 16 guests (0: none)", k)
		default:
			groups = true
		}
	}
	if groups && s.LinkMiBs <= 0 {
		bad("--link %d MiB/s: groups need a shaped link of more than 0", s.LinkMiBs)
	}
	if s.Budget <= 0 || s.MigTimeout <= 0 {
		bad("--budget %s and --migration-timeout %s: want both more than 0", s.Budget, s.MigTimeout)
	}
	if s.BootHB < 1 || s.RateWindow < 2 || s.BootTimeout <= 0 {
		bad("boot heartbeats %d, rate window %d, boot timeout %s: want at least 1, 2 and more than 0", s.BootHB, s.RateWindow, s.BootTimeout)
	}
	single := false
	for _, m := range s.Mem {
		for _, w := range s.WSS {
			single = single || fits(m, w)
		}
	}
	if len(s.Caps) > 0 && !single && len(errs) == 0 {
		bad("no working set is at most half a guest's memory: the grid has no single migration")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("grid: %w", err)
	}
	return nil
}

// Columns is the table's header, calibrate.sh's.
var Columns = []string{"id", "mem_mib", "wss_bytes", "dirty_set_bps", "guest_rate_bps", "cap_mibs", "transport",
	"time_ms", "time_net_ms", "setup_ms", "downtime_ms", "downtime_net_ms", "data_total", "data_processed",
	"memory_processed", "memory_bps", "iterations", "constant_pages", "normal_pages", "normal_data", "page_size",
	"dirty_rate_pps", "expected_downtime_ms", "ok", "conc", "link_mibs", "wall_ms"}

// jobColumns are the columns taken from libvirt's completed job as they are.
var jobColumns = map[string]string{
	"time_ms": "time_elapsed", "time_net_ms": "time_elapsed_net", "setup_ms": "setup_time",
	"downtime_ms": "downtime", "downtime_net_ms": "downtime_net", "data_total": "data_total",
	"data_processed": "data_processed", "memory_processed": "memory_processed", "memory_bps": "memory_bps",
	"iterations": "memory_iteration", "constant_pages": "memory_constant", "normal_pages": "memory_normal",
	"normal_data": "memory_normal_bytes", "page_size": "memory_page_size", "dirty_rate_pps": "memory_dirty_rate",
}

// Runner runs a Spec on a Lab into Out (measurements.csv, raw/).
type Runner struct {
	Lab  Lab
	Spec Spec
	Out  string
	// Prefix starts every guest's name ("cal").
	Prefix string
	// Log gets a line per guest and per migration, with the count done
	// and the time left.
	Log io.Writer
	// Now is the wall clock (time.Now when nil): a grid measures real
	// time.
	Now func() time.Time

	start, deadline time.Time
	done            map[string]int // key → ok rows already in the table
	rows            int            // rows in the table
	planned, ran    int
	ok, bad         int
	csv             *os.File
}

// Summary is what a run did.
type Summary struct {
	Planned, Skipped, OK, Failed, Resumed int
}

// Run measures every grid point the table does not have yet. It fails
// when a migration fails or a planned one could not run; the rows
// measured are in the table either way.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Prefix == "" {
		r.Prefix = "cal"
	}
	if r.Log == nil {
		r.Log = io.Discard
	}
	s := r.Spec
	if err := s.Check(); err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(filepath.Join(r.Out, "raw"), 0o755); err != nil {
		return Summary{}, err
	}
	if err := r.openTable(); err != nil {
		return Summary{}, err
	}
	defer r.csv.Close()
	r.start = r.Now()
	r.deadline = r.start.Add(s.Budget)

	cases, resumed := r.singleCases()
	if s.Shuffle != 0 {
		rng := rand.New(rand.NewPCG(s.Shuffle, 0))
		rng.Shuffle(len(cases), func(i, j int) { cases[i], cases[j] = cases[j], cases[i] })
		for _, c := range cases {
			rng.Shuffle(len(c.caps), func(i, j int) { c.caps[i], c.caps[j] = c.caps[j], c.caps[i] })
		}
	}
	groups, resumedInGroups := r.groupCases()
	resumed += resumedInGroups
	for _, c := range cases {
		r.planned += len(c.caps)
	}
	for _, g := range groups {
		r.planned += g.k
	}
	if resumed > 0 {
		r.logf("%d migrations already in %s: not run again", resumed, filepath.Join(r.Out, "measurements.csv"))
	}
	r.logf("%d migrations to run between %s and %s within %s", r.planned, s.Hosts[0], s.Hosts[1], s.Budget)

	var skipped int
	for _, c := range cases {
		if ctx.Err() != nil || r.left() < time.Minute {
			skipped += len(c.caps)
			continue
		}
		skipped += r.runCase(ctx, c)
	}
	if len(groups) > 0 {
		defer r.Lab.Shape(context.WithoutCancel(ctx), s.Hosts[0], 0)
	}
	for _, g := range groups {
		if ctx.Err() != nil || r.left() < 90*time.Second {
			skipped += g.k
			continue
		}
		skipped += r.runGroup(ctx, g)
	}
	sum := Summary{Planned: r.planned, Skipped: skipped, OK: r.ok, Failed: r.bad, Resumed: resumed}
	r.logf("done in %s: %d measured (%d ok, %d failed), %d skipped", r.Now().Sub(r.start).Round(time.Second), r.ok+r.bad, r.ok, r.bad, skipped)
	switch {
	case ctx.Err() != nil:
		return sum, ctx.Err()
	case r.bad > 0 || skipped > 0:
		return sum, fmt.Errorf("grid: %d migrations failed and %d were not run (budget %s); run again to measure what is missing", r.bad, skipped, s.Budget)
	}
	return sum, nil
}

func (r *Runner) left() time.Duration { return r.deadline.Sub(r.Now()) }

func (r *Runner) logf(format string, args ...any) {
	fmt.Fprintf(r.Log, "calibrate: "+format+"\n", args...)
}

// key identifies a grid point's row whatever its running number.
func key(transport string, mem int, wss, dirty int64, capMiBs, conc, link int) string {
	return fmt.Sprintf("%s/%d/%d/%d/%d/%d/%d", transport, mem, wss, dirty, capMiBs, conc, link)
}

// openTable reads what the table already holds and opens it for
// appending, writing the header to a new one.
func (r *Runner) openTable() error {
	path := filepath.Join(r.Out, "measurements.csv")
	r.done = map[string]int{}
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil {
			return fmt.Errorf("%s: %w (move it away to start afresh)", path, err)
		}
		if len(recs) == 0 || !slices.Equal(recs[0], Columns) {
			return fmt.Errorf("%s: not a table of this grid (its header differs); move it away to start afresh", path)
		}
		col := map[string]int{}
		for i, h := range Columns {
			col[h] = i
		}
		for _, rec := range recs[1:] {
			r.rows++
			n := func(c string) int64 { v, _ := strconv.ParseInt(rec[col[c]], 10, 64); return v }
			if rec[col["ok"]] != "1" {
				continue
			}
			r.done[key(rec[col["transport"]], int(n("mem_mib")), n("wss_bytes"), n("dirty_set_bps"), int(n("cap_mibs")), int(max(1, n("conc"))), int(n("link_mibs")))]++
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if r.rows == 0 {
		if st, _ := f.Stat(); st.Size() == 0 {
			if _, err := f.WriteString(strings.Join(Columns, ",") + "\n"); err != nil {
				f.Close()
				return err
			}
		}
	}
	r.csv = f
	return nil
}

type single struct {
	g    Guest
	caps []int // the caps not yet measured
}

type group struct {
	k int
	g Guest // the members' size and rate; names get -1..-k
}

func mibs(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'g', -1, 64) }

// fits says whether a guest of mem MiB can hold a working set of wss
// bytes: its kernel and runtime need the other half.
func fits(mem int, wss int64) bool { return wss <= int64(mem)<<20/2 }

// singleCases are the guests still to measure alone, each with the caps
// the table lacks, and how many migrations the table already has.
func (r *Runner) singleCases() (out []single, resumed int) {
	s := r.Spec
	for _, mem := range s.Mem {
		for _, wss := range s.WSS {
			if !fits(mem, wss) {
				continue
			}
			for _, dirty := range s.Dirty {
				c := single{g: Guest{Name: fmt.Sprintf("%s-m%d-w%s-d%s", r.Prefix, mem, mibs(wss), mibs(dirty)), MemoryMiB: mem, WSS: wss, Dirty: dirty}}
				for _, cp := range s.Caps {
					if r.done[key(s.Transport, mem, wss, dirty, cp, 1, 0)] == 0 {
						c.caps = append(c.caps, cp)
					} else {
						resumed++
					}
				}
				if len(c.caps) > 0 {
					out = append(out, c)
				}
			}
		}
	}
	return out, resumed
}

// groupCases are the groups still to measure, and how many migrations
// of the groups the table already has.
func (r *Runner) groupCases() (out []group, resumed int) {
	s := r.Spec
	for _, dirty := range s.ConcDirty {
		for _, k := range s.Conc {
			switch {
			case k < 2:
			case r.done[key(s.Transport, s.ConcMem, s.ConcWSS, dirty, 0, k, s.LinkMiBs)] >= k:
				resumed += k
			default:
				out = append(out, group{k: k, g: Guest{Name: fmt.Sprintf("%s-k%d-d%s", r.Prefix, k, mibs(dirty)), MemoryMiB: s.ConcMem, WSS: s.ConcWSS, Dirty: dirty}})
			}
		}
	}
	return out, resumed
}

// stay is a guest on a host, watched through its console there.
type stay struct {
	g    Guest
	host string
	con  *Console
	stop func()
}

func (st *stay) close() {
	if st.stop != nil {
		st.stop()
		st.stop = nil
	}
}

// boot starts g on host and waits for its heartbeats.
func (r *Runner) boot(ctx context.Context, g Guest, host string) (*stay, error) {
	// A leftover of an interrupted run goes; a domain of the name that
	// is not a guest of ours stops the case.
	if err := r.Lab.Remove(ctx, g.Name); err != nil {
		return nil, err
	}
	if err := r.Lab.Boot(ctx, host, g); err != nil {
		return nil, fmt.Errorf("boot %s on %s: %w", g.Name, host, err)
	}
	st := &stay{g: g, host: host, con: &Console{}}
	stop, err := r.Lab.Console(ctx, host, g.Name, st.con)
	if err != nil {
		return nil, fmt.Errorf("console of %s on %s: %w", g.Name, host, err)
	}
	st.stop = stop
	t0 := r.Now()
	if !r.waitBeats(ctx, st.con, r.Spec.BootHB, r.Spec.BootTimeout) {
		st.close()
		return nil, fmt.Errorf("%s: fewer than %d heartbeats on %s within %s", g.Name, r.Spec.BootHB, host, r.Spec.BootTimeout)
	}
	r.logf("%s: booted on %s, %d heartbeats after %s", g.Name, host, r.Spec.BootHB, r.Now().Sub(t0).Round(100*time.Millisecond))
	return st, nil
}

func (r *Runner) waitBeats(ctx context.Context, c *Console, n int, within time.Duration) bool {
	end := r.Now().Add(within)
	for c.Beats() < n {
		if r.Now().After(end) || ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return true
}

func (r *Runner) other(h string) string {
	if h == r.Spec.Hosts[0] {
		return r.Spec.Hosts[1]
	}
	return r.Spec.Hosts[0]
}

func (r *Runner) runCase(ctx context.Context, c single) (skipped int) {
	t0 := r.Now()
	st, err := r.boot(ctx, c.g, r.Spec.Hosts[0])
	defer func() { _ = r.Lab.Remove(context.WithoutCancel(ctx), c.g.Name) }()
	if err != nil {
		r.logf("%v: skip %d migrations", err, len(c.caps))
		return len(c.caps)
	}
	for i, cp := range c.caps {
		if st == nil || ctx.Err() != nil || r.left() < 20*time.Second {
			r.logf("%s: skip cap %d MiB/s (guest gone, interrupted or out of budget)", c.g.Name, cp)
			skipped += len(c.caps) - i
			break
		}
		st = r.migrate(ctx, []*stay{st}, float64(cp)*(1<<20), cp, 1, 0)[0]
	}
	if st != nil {
		st.close()
	}
	r.logf("%s: done in %s (%s of budget left)", c.g.Name, r.Now().Sub(t0).Round(time.Second), r.left().Round(time.Second))
	return skipped
}

func (r *Runner) runGroup(ctx context.Context, g group) (skipped int) {
	t0 := r.Now()
	stays := make([]*stay, 0, g.k)
	defer func() {
		for i := 1; i <= g.k; i++ {
			_ = r.Lab.Remove(context.WithoutCancel(ctx), fmt.Sprintf("%s-%d", g.g.Name, i))
		}
	}()
	for i := 1; i <= g.k; i++ {
		m := g.g
		m.Name = fmt.Sprintf("%s-%d", g.g.Name, i)
		st, err := r.boot(ctx, m, r.Spec.Hosts[0])
		if err != nil {
			r.logf("%v: skip the group of %d", err, g.k)
			for _, s := range stays {
				s.close()
			}
			return g.k
		}
		stays = append(stays, st)
	}
	link := float64(r.Spec.LinkMiBs) * (1 << 20)
	if err := r.Lab.Shape(ctx, r.Spec.Hosts[0], link); err != nil {
		r.logf("shape %s to %d MiB/s: %v: skip the group of %d", r.Spec.Hosts[0], r.Spec.LinkMiBs, err, g.k)
		for _, s := range stays {
			s.close()
		}
		return g.k
	}
	after := r.migrate(ctx, stays, 0, 0, g.k, r.Spec.LinkMiBs)
	if err := r.Lab.Shape(ctx, r.Spec.Hosts[0], 0); err != nil {
		r.logf("lift the shaping of %s: %v", r.Spec.Hosts[0], err)
	}
	for _, st := range after {
		if st != nil {
			st.close()
		}
	}
	r.logf("group of %d writing %s MiB/s: done in %s (%s of budget left)", g.k, mibs(g.g.Dirty), r.Now().Sub(t0).Round(time.Second), r.left().Round(time.Second))
	return 0
}

// row is one migration's measurement under way.
type row struct {
	id      string
	st      *stay
	move    Move
	rate    float64
	seq0    Heartbeat
	capMiBs int
	conc    int
	link    int
	res     Result
	job     map[string]uint64
	jobFrom string
	why     []string
	dst     *Console
	srcTail []string
	started time.Time
}

// migrate moves every guest of stays to the other host at once, checks
// each on arrival and writes its row. It returns where each guest now
// is, nil for a guest that is on neither host.
func (r *Runner) migrate(ctx context.Context, stays []*stay, capBps float64, capMiBs, conc, link int) []*stay {
	tmo := min(r.Spec.MigTimeout, max(r.left(), 10*time.Second))
	rows := make([]*row, len(stays))
	for i, st := range stays {
		r.rows++
		id := fmt.Sprintf("m%d-w%s-d%s-c%d-%d", st.g.MemoryMiB, mibs(st.g.WSS), mibs(st.g.Dirty), capMiBs, r.rows)
		last, _ := st.con.Last()
		rows[i] = &row{id: id, st: st, rate: st.con.Rate(r.Spec.RateWindow), seq0: last, capMiBs: capMiBs, conc: conc, link: link,
			move: Move{Guest: st.g.Name, Source: st.host, Destination: r.other(st.host), Cap: capBps, Timeout: tmo}}
	}
	done := make(chan int, len(rows))
	for i, rw := range rows {
		rw.started = r.Now()
		go func() {
			rw.res = r.Lab.Migrate(ctx, rw.move)
			done <- i
		}()
	}
	for range rows {
		<-done
	}
	out := make([]*stay, len(rows))
	for i, rw := range rows {
		out[i] = r.finish(ctx, rw)
	}
	return out
}

// finish checks a migrated guest on its destination and writes its row.
func (r *Runner) finish(ctx context.Context, rw *row) *stay {
	src, dst := rw.move.Source, rw.move.Destination
	rw.st.close()
	rw.srcTail = rw.st.con.Tail()
	ok := rw.res.OK
	if !ok {
		rw.why = append(rw.why, "migration: "+rw.res.Reason)
	}
	var next *stay
	if ok {
		next = &stay{g: rw.st.g, host: dst, con: &Console{}}
		stop, err := r.Lab.Console(ctx, dst, rw.st.g.Name, next.con)
		if err != nil {
			ok = false
			rw.why = append(rw.why, fmt.Sprintf("console on %s: %v", dst, err))
		} else {
			next.stop = stop
			// The guest's own word that it kept running: heartbeats of
			// the same boot, their sequence going on, no reboot, no panic.
			if !r.waitBeats(ctx, next.con, 6, 30*time.Second) {
				ok = false
				rw.why = append(rw.why, fmt.Sprintf("fewer than 6 heartbeats on %s within 30s", dst))
			}
			first, _ := next.con.First()
			last, _ := next.con.Last()
			switch {
			case next.con.Trouble() != "":
				ok = false
				rw.why = append(rw.why, next.con.Trouble())
			case first.Boot != rw.seq0.Boot || last.Boot != rw.seq0.Boot:
				ok = false
				rw.why = append(rw.why, fmt.Sprintf("boot id changed: %s -> %s", rw.seq0.Boot, last.Boot))
			case first.Seq <= rw.seq0.Seq || last.Seq <= first.Seq:
				ok = false
				rw.why = append(rw.why, fmt.Sprintf("heartbeat did not go on: last on %s seq %d, on %s %d..%d", src, rw.seq0.Seq, dst, first.Seq, last.Seq))
			}
		}
		rw.dst = next.con
	}
	// Where the record of the job is: the destination after a migration
	// that reached it, else the source's record of the failed job.
	for _, h := range []string{dst, src} {
		if j, err := r.Lab.Job(ctx, h, rw.st.g.Name); err == nil && len(j) > 0 {
			rw.job, rw.jobFrom = j, h
			break
		}
	}
	if ok {
		r.ok++
	} else {
		r.bad++
	}
	r.ran++
	r.write(rw, ok)
	if !ok {
		if next != nil {
			next.close()
		}
		// A migration that failed leaves the guest on its source; keep
		// going from wherever it runs.
		switch rw.res.On {
		case src:
			again := &stay{g: rw.st.g, host: src, con: &Console{}}
			if stop, err := r.Lab.Console(ctx, src, rw.st.g.Name, again.con); err == nil {
				again.stop = stop
				if r.waitBeats(ctx, again.con, 2, 10*time.Second) {
					return again
				}
				again.close()
			}
			return nil
		default:
			return nil // the next cap would measure a guest in an unknown state
		}
	}
	return next
}

func (r *Runner) write(rw *row, ok bool) {
	g := rw.st.g
	v := map[string]string{
		"id": rw.id, "mem_mib": strconv.Itoa(g.MemoryMiB), "wss_bytes": strconv.FormatInt(g.WSS, 10),
		"dirty_set_bps": strconv.FormatInt(g.Dirty, 10), "cap_mibs": strconv.Itoa(rw.capMiBs), "transport": r.Spec.Transport,
		"ok": "0", "conc": strconv.Itoa(rw.conc), "wall_ms": strconv.FormatInt(rw.res.Wall.Milliseconds(), 10),
	}
	if rw.rate > 0 {
		v["guest_rate_bps"] = strconv.FormatFloat(rw.rate, 'f', 0, 64)
	}
	if ok {
		v["ok"] = "1"
	}
	if rw.link > 0 {
		v["link_mibs"] = strconv.Itoa(rw.link)
	}
	for c, p := range jobColumns {
		if x, has := rw.job[p]; has {
			v[c] = strconv.FormatUint(x, 10)
		}
	}
	if v["dirty_rate_pps"] == "0" {
		v["dirty_rate_pps"] = "" // a completed job reports 0: unknown, not idle
	}
	rec := make([]string, len(Columns))
	for i, c := range Columns {
		rec[i] = v[c]
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(rec)
	w.Flush()
	if _, err := r.csv.WriteString(b.String()); err != nil {
		r.logf("write %s: %v", r.csv.Name(), err)
	}
	_ = r.csv.Sync()

	var raw strings.Builder
	fmt.Fprintf(&raw, "# id=%s guest=%s %s -> %s cap_mibs=%d conc=%d link_mibs=%d\n", rw.id, g.Name, rw.move.Source, rw.move.Destination, rw.capMiBs, rw.conc, rw.link)
	fmt.Fprintf(&raw, "# mem_mib=%d wss=%d dirty=%d guest_rate_bps=%.0f\n", g.MemoryMiB, g.WSS, g.Dirty, rw.rate)
	fmt.Fprintf(&raw, "# start=%s wall_ms=%d timeout=%s outcome_ok=%v reason=%q on=%s\n", rw.started.UTC().Format(time.RFC3339Nano), rw.res.Wall.Milliseconds(), rw.move.Timeout, rw.res.OK, rw.res.Reason, rw.res.On)
	fmt.Fprintf(&raw, "# ok=%v", ok)
	if len(rw.why) > 0 {
		fmt.Fprintf(&raw, " why=%s", strings.Join(rw.why, "; "))
	}
	fmt.Fprintf(&raw, "\n## completed job (from %s)\n", rw.jobFrom)
	keys := make([]string, 0, len(rw.job))
	for k := range rw.job {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&raw, "%s: %d\n", k, rw.job[k])
	}
	fmt.Fprintf(&raw, "## source console, last lines\n%s\n", strings.Join(rw.srcTail, "\n"))
	if rw.dst != nil {
		fmt.Fprintf(&raw, "## destination console since the migration, last lines\n%s\n", strings.Join(rw.dst.Tail(), "\n"))
	}
	if err := os.WriteFile(filepath.Join(r.Out, "raw", rw.id+".txt"), []byte(raw.String()), 0o644); err != nil {
		r.logf("raw record of %s: %v", rw.id, err)
	}

	status := "ok"
	if !ok {
		status = "FAILED: " + strings.Join(rw.why, "; ")
	}
	eta := ""
	if r.ran > 0 && r.ran < r.planned {
		per := r.Now().Sub(r.start) / time.Duration(r.ran)
		eta = fmt.Sprintf(", about %s left", (per * time.Duration(r.planned-r.ran)).Round(time.Second))
	}
	r.logf("[%d/%d] %s: %s -> %s %s: job %s ms, downtime %s ms, %s iterations, %s bytes, guest wrote %.1f MiB/s, wall %d ms%s",
		r.ran, r.planned, rw.id, rw.move.Source, rw.move.Destination, status,
		orQ(v["time_ms"]), orQ(v["downtime_ms"]), orQ(v["iterations"]), orQ(v["data_processed"]), rw.rate/(1<<20), rw.res.Wall.Milliseconds(), eta)
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
