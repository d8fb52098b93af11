package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/calibrate/grid"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/units"
)

// libvirtLab is a calibration grid's pair of real hosts: migrations go
// through the Backend, as apply's do (TLS enforcement, post-conditions,
// abort); guests, consoles and job records through connections of its
// own.
type libvirtLab struct {
	cfg      *libvirt.Config
	b        *libvirt.Backend
	log      *slog.Logger
	guestDir string
	kvm      bool
	shaper   []string // the command and its first arguments; host and MiB/s follow

	mu      sync.Mutex
	conns   map[string]*libvirt.Conn
	nextID  int
	waiting map[int]chan cluster.MigrationDone
}

var _ grid.Lab = (*libvirtLab)(nil)

func newLibvirtLab(cfg *libvirt.Config, b *libvirt.Backend, log *slog.Logger, guestDir string, shaper string) *libvirtLab {
	l := &libvirtLab{cfg: cfg, b: b, log: log, guestDir: guestDir, shaper: strings.Fields(shaper),
		conns: map[string]*libvirt.Conn{}, waiting: map[int]chan cluster.MigrationDone{}}
	b.Subscribe(func(ev cluster.Event) {
		d, ok := ev.(cluster.MigrationDone)
		if !ok {
			return
		}
		l.mu.Lock()
		ch := l.waiting[d.ID]
		delete(l.waiting, d.ID)
		l.mu.Unlock()
		if ch != nil {
			ch <- d
		}
	})
	return l
}

func (l *libvirtLab) dial(ctx context.Context, host string) (*libvirt.Conn, error) {
	o, ok := l.cfg.Options(host, l.log)
	if !ok {
		return nil, fmt.Errorf("no host %s in the inventory", host)
	}
	return libvirt.Dial(ctx, host, o)
}

// conn is the lab's shared connection to host, dialled again when it broke.
func (l *libvirtLab) conn(ctx context.Context, host string) (*libvirt.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.conns[host]; c != nil {
		select {
		case <-c.Disconnected():
			c.Close()
		default:
			return c, nil
		}
	}
	c, err := l.dial(ctx, host)
	if err != nil {
		return nil, err
	}
	l.conns[host] = c
	return c, nil
}

func (l *libvirtLab) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for h, c := range l.conns {
		c.Close()
		delete(l.conns, h)
	}
}

func (l *libvirtLab) Boot(ctx context.Context, host string, g grid.Guest) error {
	xml, err := libvirt.Workload{Name: g.Name, MemoryMiB: g.MemoryMiB, WSS: g.WSS, Dirty: g.Dirty, GuestDir: l.guestDir, KVM: l.kvm}.XML()
	if err != nil {
		return err
	}
	c, err := l.conn(ctx, host)
	if err != nil {
		return err
	}
	return c.Boot(ctx, xml)
}

func (l *libvirtLab) Remove(ctx context.Context, name string) error {
	var first error
	for _, h := range l.cfg.Hosts {
		c, err := l.conn(ctx, h.Name)
		if err == nil {
			err = c.RemoveWorkload(ctx, name)
		}
		if err != nil && first == nil && h.State != cluster.HostDown {
			first = fmt.Errorf("remove %s from %s: %w", name, h.Name, err)
		}
	}
	return first
}

// Console reads over a connection of its own, which stop closes: a
// console stream holds its connection until the stream ends.
func (l *libvirtLab) Console(ctx context.Context, host, name string, w io.Writer) (func(), error) {
	c, err := l.dial(ctx, host)
	if err != nil {
		return nil, err
	}
	opened := make(chan error, 1)
	go func() {
		err := c.Console(name, w)
		select {
		case opened <- err:
		default:
		}
	}()
	// An error opening it comes at once; a stream that runs does not end.
	select {
	case err := <-opened:
		if err != nil {
			c.Close()
			return nil, err
		}
	case <-time.After(500 * time.Millisecond):
	}
	return func() { c.Close() }, nil
}

func (l *libvirtLab) Migrate(ctx context.Context, m grid.Move) grid.Result {
	l.mu.Lock()
	l.nextID++
	id := l.nextID
	ch := make(chan cluster.MigrationDone, 1)
	l.waiting[id] = ch
	l.mu.Unlock()
	start := time.Now()
	err := l.b.Apply(ctx, []cluster.Command{cluster.StartMigration{ID: id, VM: m.Guest, Source: m.Source, Destination: m.Destination,
		Options: cluster.MigrationOptions{Bandwidth: m.Cap}, Cause: "calibrate"}})
	if err != nil {
		return grid.Result{Reason: err.Error(), On: m.Source}
	}
	var d cluster.MigrationDone
	select {
	case d = <-ch:
	case <-time.After(m.Timeout):
		_ = l.b.Apply(ctx, []cluster.Command{cluster.AbortMigration{ID: id, Reason: fmt.Sprintf("no end after %s", m.Timeout)}})
		d = <-ch // the backend ends every migration with exactly one MigrationDone
	case <-ctx.Done():
		_ = l.b.Apply(context.WithoutCancel(ctx), []cluster.Command{cluster.AbortMigration{ID: id, Reason: "interrupted"}})
		d = <-ch
	}
	r := grid.Result{Wall: time.Since(start), Reason: string(d.Outcome)}
	if d.Reason != "" {
		r.Reason += ": " + d.Reason
	}
	switch {
	case d.Outcome == cluster.OutcomeCompleted:
		r.OK, r.On = true, m.Destination
	case d.Succeeded():
		r.On = m.Destination // forced or post-copy: not the pre-copy this grid measures
	case !d.Lost:
		r.On = m.Source
	}
	return r
}

func (l *libvirtLab) Job(ctx context.Context, host, name string) (map[string]uint64, error) {
	c, err := l.conn(ctx, host)
	if err != nil {
		return nil, err
	}
	return c.CompletedJob(ctx, name)
}

func (l *libvirtLab) Shape(ctx context.Context, host string, rate float64) error {
	if len(l.shaper) == 0 {
		if rate == 0 {
			return nil
		}
		return fmt.Errorf("migrations sharing a shaped link need --shaper, a command that shapes a host's egress")
	}
	mibs := strconv.FormatFloat(rate/(1<<20), 'f', -1, 64)
	args := append(append([]string(nil), l.shaper[1:]...), host, mibs)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, l.shaper[0], args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", l.shaper[0], strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// gridFlags are calibrate's flags for measuring a grid.
type gridFlags struct {
	inventory, guestDir, shaper, hosts string
	accel                              string
	mem, caps, conc                    []int
	wss, dirty, concDirty              []string
	concMem, link                      int
	concWSS                            string
	budget, migTimeout                 time.Duration
	shuffle                            uint64
}

func (g *gridFlags) register(c *cobra.Command) {
	d := grid.DefaultSpec()
	fl := c.Flags()
	fl.StringVar(&g.inventory, "inventory", "", "measure a grid of real migrations on this inventory's hosts first (into --out)")
	fl.StringVar(&g.hosts, "hosts", "", "the two hosts, comma-separated (default: the inventory's first two)")
	fl.StringVar(&g.guestDir, "guest-dir", "", "directory with the workload guest's vmlinuz and initrd.gz (e2e/lab/build-guest.sh), the same path on every host")
	fl.StringVar(&g.accel, "accel", "auto", "how the guests run: kvm, tcg, or auto (KVM where both hosts have it, else TCG); with --table or --from-runs, how the measured guests ran (auto: TCG), which picks the half of a profile that knows the accelerator")
	fl.StringVar(&g.shaper, "shaper", "", "command that limits a host's egress: run as CMD HOST MIB_PER_S, and CMD HOST 0 to lift it (e2e/lab/shape.sh); the concurrent groups need it")
	fl.IntSliceVar(&g.mem, "mem", d.Mem, "guest memory sizes, MiB")
	fl.StringSliceVar(&g.wss, "wss", sizes(d.WSS, "MiB"), "working sets (only those up to half the guest's memory)")
	fl.StringSliceVar(&g.dirty, "dirty", sizes(d.Dirty, "MiB/s"), "rates the guest writes its working set at")
	fl.IntSliceVar(&g.caps, "caps", d.Caps, "libvirt bandwidth caps, MiB/s; each guest is migrated once per cap")
	fl.IntSliceVar(&g.conc, "conc", d.Conc, "sizes of the groups migrating at once over the shaped link (0: none)")
	fl.IntVar(&g.concMem, "conc-mem", d.ConcMem, "memory of a group's guests, MiB")
	fl.StringVar(&g.concWSS, "conc-wss", "64MiB", "working set of a group's guests")
	fl.StringSliceVar(&g.concDirty, "conc-dirty", sizes(d.ConcDirty, "MiB/s"), "rates a group's guests write at")
	fl.IntVar(&g.link, "link", d.LinkMiBs, "the shaped link's rate, MiB/s")
	fl.DurationVar(&g.budget, "budget", d.Budget, "bound on the whole grid: no guest boots after it")
	fl.Uint64Var(&g.shuffle, "shuffle", 0, "measure the guests (and each guest's caps) in an order seeded by this, so that a machine's drift over the grid is not read as a cost of size or rate (0: the grid's order)")
	fl.DurationVar(&g.migTimeout, "migration-timeout", d.MigTimeout, "bound on one migration: it is aborted after it (the guest stays on its source)")
}

func sizes(v []int64, unit string) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(float64(x)/(1<<20), 'g', -1, 64) + unit
	}
	return out
}

func (g *gridFlags) spec(cfg *libvirt.Config) (grid.Spec, error) {
	s := grid.DefaultSpec()
	hosts := strings.Split(g.hosts, ",")
	if g.hosts == "" {
		hosts = nil
		for _, h := range cfg.Hosts {
			hosts = append(hosts, h.Name)
		}
	}
	if len(hosts) < 2 || (g.hosts != "" && len(hosts) != 2) {
		return s, fmt.Errorf("calibrate needs two hosts (--hosts a,b, or two in the inventory)")
	}
	s.Hosts = [2]string{strings.TrimSpace(hosts[0]), strings.TrimSpace(hosts[1])}
	// The table's transport column: QEMU native TLS runs between secured
	// hosts, which an inventory reaches over tls.
	s.Transport = "tls"
	for _, h := range s.Hosts {
		hc := cfg.Host(h)
		if hc == nil {
			return s, fmt.Errorf("--hosts: no host %s in %s", h, g.inventory)
		}
		if hc.Transport != libvirt.TLS {
			s.Transport = "tcp"
		}
	}
	var err error
	parse := func(flag string, in []string, rate bool) []int64 {
		out := make([]int64, 0, len(in))
		for _, v := range in {
			var x float64
			var e error
			if rate {
				x, e = units.ParseRate(v, 4096)
			} else {
				var n int64
				n, e = units.ParseSize(v)
				x = float64(n)
			}
			if e != nil {
				err = errors.Join(err, fmt.Errorf("--%s: %v", flag, e))
				continue
			}
			out = append(out, int64(x))
		}
		return out
	}
	s.Mem, s.Caps, s.Conc, s.ConcMem, s.LinkMiBs = g.mem, g.caps, g.conc, g.concMem, g.link
	s.WSS = parse("wss", g.wss, false)
	s.Dirty = parse("dirty", g.dirty, true)
	s.ConcDirty = parse("conc-dirty", g.concDirty, true)
	if w := parse("conc-wss", []string{g.concWSS}, false); len(w) == 1 {
		s.ConcWSS = w[0]
	}
	s.Budget, s.MigTimeout, s.Shuffle = g.budget, g.migTimeout, g.shuffle
	return s, errors.Join(err, s.Check())
}

// runGrid measures the grid into out and returns the table's path.
// runGrid measures the grid into out and returns its table and whether its
// guests ran under TCG.
func runGrid(parent context.Context, log io.Writer, g gridFlags, out string) (table string, tcg bool, err error) {
	if g.guestDir == "" {
		return "", false, fmt.Errorf("--inventory needs --guest-dir: where the workload guest's vmlinuz and initrd.gz are on every host (e2e/lab/build-guest.sh DIR builds them)")
	}
	cfg, b, slogger, err := openInventory(g.inventory)
	if err != nil {
		return "", false, err
	}
	defer b.Close()
	spec, err := g.spec(cfg)
	if err != nil {
		return "", false, err
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	lab := newLibvirtLab(cfg, b, slogger, g.guestDir, g.shaper)
	defer lab.Close()
	if lab.kvm, err = lab.accel(ctx, g.accel, spec.Hosts); err != nil {
		return "", false, err
	}
	fmt.Fprintf(log, "calibrate: guests run with %s\n", map[bool]string{true: "KVM", false: "TCG"}[lab.kvm])
	r := grid.Runner{Lab: lab, Spec: spec, Out: out, Log: log}
	if _, err := r.Run(ctx); err != nil {
		return "", false, err
	}
	return filepath.Join(out, "measurements.csv"), !lab.kvm, nil
}

// accel decides how the guests run: as asked, or with KVM only where
// both hosts have it (a grid on mixed hosts would measure two machines).
func (l *libvirtLab) accel(ctx context.Context, mode string, hosts [2]string) (bool, error) {
	switch mode {
	case "kvm":
		return true, nil
	case "tcg":
		return false, nil
	case "auto":
	default:
		return false, fmt.Errorf("--accel %q: want kvm, tcg or auto", mode)
	}
	for _, h := range hosts {
		c, err := l.conn(ctx, h)
		if err != nil {
			return false, err
		}
		ok, err := c.KVM(ctx)
		if err != nil {
			return false, fmt.Errorf("%s: can it run KVM guests: %w", h, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}
