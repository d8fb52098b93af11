package grid

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/droverlab/drover/calibrate"
)

// fakeLab stands in for two hosts in tests of the runner's error paths
// and bookkeeping; the grid against real daemons runs in make e2e. A
// guest's console prints ten heartbeats of its boot at once when opened,
// written at the guest's own rate.
type fakeLab struct {
	mu     sync.Mutex
	on     map[string]string // guest → host
	guests map[string]Guest
	boots  map[string]int
	seq    map[string]int64
	moves  []Move
	// fail decides a migration's end: "" completes it; "fail" leaves the
	// guest on its source; "reboot" lands it rebooted.
	fail    func(n int, m Move) string
	shaped  []string
	foreign map[string]bool // names of domains the lab did not make
}

func newFake() *fakeLab {
	return &fakeLab{on: map[string]string{}, guests: map[string]Guest{}, boots: map[string]int{}, seq: map[string]int64{},
		fail: func(int, Move) string { return "" }}
}

func (f *fakeLab) Boot(_ context.Context, host string, g Guest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.on[g.Name], f.guests[g.Name] = host, g
	f.boots[g.Name]++
	return nil
}

func (f *fakeLab) Remove(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.foreign[name] {
		return fmt.Errorf("domain %s is not a drover workload guest: left alone", name)
	}
	delete(f.on, name)
	return nil
}

func (f *fakeLab) Console(_ context.Context, host, name string, w io.Writer) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.on[name] != host {
		return nil, fmt.Errorf("%s is not on %s", name, host)
	}
	g := f.guests[name]
	for range 10 {
		f.seq[name]++
		s := f.seq[name]
		up := float64(s) / 2
		fmt.Fprintf(w, "HEARTBEAT seq=%d boot=b%d uptime=%.3f dirtied=%d rate=0\r\n", s, f.boots[name], up, int64(up*float64(g.Dirty)))
	}
	return func() {}, nil
}

func (f *fakeLab) Migrate(_ context.Context, m Move) Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moves = append(f.moves, m)
	switch f.fail(len(f.moves), m) {
	case "fail":
		return Result{Reason: "failed: injected", On: m.Source, Wall: time.Second}
	case "reboot":
		f.on[m.Guest] = m.Destination
		f.boots[m.Guest]++
		f.seq[m.Guest] = 0
		return Result{OK: true, Reason: "completed", On: m.Destination, Wall: time.Second}
	}
	f.on[m.Guest] = m.Destination
	return Result{OK: true, Reason: "completed", On: m.Destination, Wall: 2 * time.Second}
}

func (f *fakeLab) Job(_ context.Context, host, name string) (map[string]uint64, error) {
	return map[string]uint64{"time_elapsed": 1500, "downtime": 40, "data_total": 268435456, "data_processed": 100 << 20,
		"memory_iteration": 3, "memory_constant": 40000, "memory_normal": 25600, "memory_page_size": 4096, "memory_dirty_rate": 0}, nil
}

func (f *fakeLab) Shape(_ context.Context, host string, rate float64) error {
	f.shaped = append(f.shaped, fmt.Sprintf("%s:%g", host, rate/(1<<20)))
	return nil
}

// first ends the first migration as kind says and completes the others.
func first(kind string) func(int, Move) string {
	return func(n int, _ Move) string {
		if n == 1 {
			return kind
		}
		return ""
	}
}

func spec() Spec {
	s := DefaultSpec()
	s.Hosts = [2]string{"h1", "h2"}
	s.Mem, s.WSS, s.Dirty, s.Caps = []int{256}, []int64{64 << 20}, []int64{0, 8 << 20}, []int{32, 64}
	s.Conc, s.ConcDirty = []int{2}, []int64{4 << 20}
	s.Budget = time.Hour
	return s
}

func run(t *testing.T, lab *fakeLab, s Spec, out string) (Summary, error) {
	t.Helper()
	var log strings.Builder
	r := Runner{Lab: lab, Spec: s, Out: out, Log: &log}
	sum, err := r.Run(context.Background())
	t.Log(log.String())
	return sum, err
}

func table(t *testing.T, out string) []calibrate.Point {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "measurements.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pts, err := calibrate.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return pts
}

func TestGridWritesARowPerMigrationThatCalibrateReads(t *testing.T) {
	out, lab := t.TempDir(), newFake()
	sum, err := run(t, lab, spec(), out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Planned != 6 || sum.OK != 6 {
		t.Fatalf("summary %+v: want 6 planned, 6 ok", sum)
	}
	// A guest goes back and forth rather than rebooting per cap.
	if m := lab.moves; m[0].Source != "h1" || m[1].Source != "h2" || m[1].Destination != "h1" || m[1].Cap != 64<<20 {
		t.Fatalf("moves %+v", m[:2])
	}
	if got := strings.Join(lab.shaped, " "); got != "h1:24 h1:0 h1:0" {
		t.Fatalf("shaping %q: want the link shaped for the group and lifted after it (and at the end)", got)
	}
	pts := table(t, out)
	if len(pts) != 6 {
		t.Fatalf("%d rows read back, want 6", len(pts))
	}
	p := pts[2] // the first of the 8 MiB/s guest
	if p.ID != "m256-w64-d8-c32-3" || p.Cap != 32<<20 || p.Conc != 1 || p.TimeMS != 1500 || p.Iterations != 3 {
		t.Fatalf("row %+v", p)
	}
	// The rate is the guest's own word, over its last heartbeats.
	if r := p.Workload.DirtyRate; r < 7.9*(1<<20) || r > 8.1*(1<<20) {
		t.Fatalf("guest rate %.0f, want 8 MiB/s", r)
	}
	if g := pts[5]; g.Conc != 2 || g.Link != 24<<20 || g.Cap != 0 {
		t.Fatalf("group row %+v", g)
	}
	raw, err := os.ReadFile(filepath.Join(out, "raw", "m256-w64-d8-c32-3.txt"))
	if err != nil || !strings.Contains(string(raw), "memory_iteration: 3") || !strings.Contains(string(raw), "HEARTBEAT") {
		t.Fatalf("raw record: %v\n%s", err, raw)
	}
}

func TestGridResumesWithoutMeasuringAgain(t *testing.T) {
	out, lab := t.TempDir(), newFake()
	if _, err := run(t, lab, spec(), out); err != nil {
		t.Fatal(err)
	}
	n := len(lab.moves)
	sum, err := run(t, lab, spec(), out)
	if err != nil || sum.Planned != 0 || sum.Resumed != 6 || len(lab.moves) != n {
		t.Fatalf("second run: %+v, %v, %d new moves: want nothing run again", sum, err, len(lab.moves)-n)
	}
	s := spec()
	s.Caps = []int{32, 64, 16}
	sum, err = run(t, lab, s, out)
	if err != nil || sum.Planned != 2 || len(lab.moves) != n+2 {
		t.Fatalf("added cap: %+v, %v: want the new cap's 2 migrations only", sum, err)
	}
	if got := len(table(t, out)); got != 8 {
		t.Fatalf("%d rows, want 8", got)
	}
}

func TestFailedMigrationIsRecordedAndTheGuestGoesOnFromItsSource(t *testing.T) {
	out, lab := t.TempDir(), newFake()
	lab.fail = first("fail")
	s := spec()
	s.Dirty, s.Conc = []int64{0}, nil
	sum, err := run(t, lab, s, out)
	if err == nil || !strings.Contains(err.Error(), "1 migrations failed") {
		t.Fatalf("want an error naming the failure, got %v", err)
	}
	if sum.OK != 1 || sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if m := lab.moves[1]; m.Source != "h1" {
		t.Fatalf("second move from %s: the guest stayed on h1", m.Source)
	}
	if pts := table(t, out); len(pts) != 1 || pts[0].Cap != 64<<20 {
		t.Fatalf("ok rows %+v: want only the second", pts)
	}
	raw, _ := os.ReadFile(filepath.Join(out, "raw", "m256-w64-d0-c32-1.txt"))
	if !strings.Contains(string(raw), "injected") {
		t.Fatalf("raw record lacks the reason:\n%s", raw)
	}
	// The failed point is measured by the next run.
	lab.fail = func(int, Move) string { return "" }
	if sum, err := run(t, lab, s, out); err != nil || sum.Planned != 1 {
		t.Fatalf("rerun: %+v, %v: want the failed point only", sum, err)
	}
}

func TestGuestRebootedOnArrivalFailsTheRowAndEndsItsCase(t *testing.T) {
	out, lab := t.TempDir(), newFake()
	lab.fail = first("reboot")
	s := spec()
	s.Dirty, s.Conc = []int64{0}, nil
	sum, err := run(t, lab, s, out)
	if err == nil || sum.Failed != 1 || sum.Skipped != 1 || len(lab.moves) != 1 {
		t.Fatalf("summary %+v, %v, %d moves: want the row failed and the guest's next cap skipped", sum, err, len(lab.moves))
	}
	raw, _ := os.ReadFile(filepath.Join(out, "raw", "m256-w64-d0-c32-1.txt"))
	if !strings.Contains(string(raw), "boot id changed") {
		t.Fatalf("raw record:\n%s", raw)
	}
}

func TestADomainOfTheSameNameIsLeftAlone(t *testing.T) {
	out, lab := t.TempDir(), newFake()
	lab.foreign = map[string]bool{"cal-m256-w64-d0": true}
	s := spec()
	s.Conc = nil
	sum, err := run(t, lab, s, out)
	if err == nil || sum.Skipped != 2 || sum.OK != 2 || lab.boots["cal-m256-w64-d0"] != 0 {
		t.Fatalf("summary %+v, %v, boots %v: want the taken name's case skipped, untouched, and the other measured", sum, err, lab.boots)
	}
}

func TestForeignTableIsRefused(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "measurements.csv"), []byte("id,time_ms\nx,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, newFake(), spec(), out)
	if err == nil || !strings.Contains(err.Error(), "header differs") {
		t.Fatalf("want a refusal, got %v", err)
	}
}

func TestBudgetBoundsTheGrid(t *testing.T) {
	out, lab := t.TempDir(), newFake()
	s := spec()
	s.Budget = 30 * time.Second // less than a case needs to start
	sum, err := run(t, lab, s, out)
	if err == nil || sum.Skipped != 6 || len(lab.moves) != 0 {
		t.Fatalf("summary %+v, %v: want everything skipped and said", sum, err)
	}
}

func TestConsoleCountsWholeLinesOnly(t *testing.T) {
	var c Console
	io.WriteString(&c, "noise\r\nHEARTBEAT seq=1 boot=abc uptime=0.500 dirtied=0 rate=0\r\nHEARTBEAT seq=2 boot=abc uptime=1.000 dirtied=1048576 rate=0\r\nHEARTBEAT seq=3 bo")
	if c.Beats() != 2 {
		t.Fatalf("%d heartbeats, want 2 (the cut line does not count)", c.Beats())
	}
	io.WriteString(&c, "ot=abc uptime=1.500 dirtied=2097152 rate=0\n")
	last, _ := c.Last()
	if c.Beats() != 3 || last.Seq != 3 || last.Boot != "abc" {
		t.Fatalf("after the rest of the line: %d beats, last %+v", c.Beats(), last)
	}
	if r := c.Rate(7); r != 2<<20 {
		t.Fatalf("rate %.0f, want 2 MiB/s", r)
	}
	if c.Trouble() != "" {
		t.Fatalf("trouble %q", c.Trouble())
	}
	io.WriteString(&c, "GUEST PANIC runtime error\n")
	if !strings.Contains(c.Trouble(), "panicked") {
		t.Fatalf("trouble %q", c.Trouble())
	}
	// A line that never ends is dropped, not kept.
	io.WriteString(&c, strings.Repeat("x", 3*maxLine))
	if len(c.partial) > maxLine {
		t.Fatalf("partial line of %d bytes kept", len(c.partial))
	}
}

func TestConsoleSaysMemoryCorrupt(t *testing.T) {
	var c Console
	io.WriteString(&c, "HEARTBEAT seq=1 boot=abc uptime=0.500 dirtied=0 rate=0 bad=0 verified=512 pfn=0x1a2b3\n")
	if last, _ := c.Last(); c.Trouble() != "" || last.Seq != 1 || last.Bad != 0 {
		t.Fatalf("intact guest: trouble %q, last %+v", c.Trouble(), last)
	}
	io.WriteString(&c, "HEARTBEAT seq=2 boot=abc uptime=1.000 dirtied=0 rate=0 bad=1 verified=1024 pfn=0x1a2b3\n")
	if !strings.Contains(c.Trouble(), "corrupt: 1 pages") {
		t.Fatalf("trouble %q", c.Trouble())
	}
	var d Console
	io.WriteString(&d, "GUEST CORRUPT page=3 word=12 want=0x9e37 got=0x9f37\n")
	if !strings.Contains(d.Trouble(), "page=3") {
		t.Fatalf("trouble %q", d.Trouble())
	}
}

func TestConsoleReadsRateAndFrame(t *testing.T) {
	var c Console
	io.WriteString(&c, "HEARTBEAT seq=4 boot=abc uptime=2.000 dirtied=8388608 rate=4194304 bad=0 verified=2048 pfn=0x1a2b3\n")
	last, _ := c.Last()
	if last.Rate != 4<<20 || last.PFN != 0x1a2b3 || last.Dirtied != 8<<20 {
		t.Fatalf("last %+v: want rate 4 MiB/s, pfn 0x1a2b3", last)
	}
}

// A serial log file holds the boot's banner first: that is no reboot, a
// second banner is, and so is a log cut inside the first banner's line
// (nothing is read until it ends).
func TestStayReadsFromTheBoot(t *testing.T) {
	boot := "GUEST START boot=abc wss=16777216\nHEARTBEAT seq=1 boot=abc uptime=0.500 dirtied=0 rate=0 bad=0 verified=0 pfn=0x10\n"
	hb, trouble := Stay([]byte("firmware noise\n" + boot))
	if trouble != "" || hb.Seq != 1 || hb.PFN != 0x10 {
		t.Fatalf("one boot: %+v, %q", hb, trouble)
	}
	if _, trouble := Stay([]byte(boot + boot)); trouble != "guest rebooted" {
		t.Fatalf("two boots: trouble %q", trouble)
	}
	if hb, trouble := Stay([]byte("GUEST START boot=a")); trouble != "" || hb.Seq != 0 {
		t.Fatalf("half a banner: %+v, %q", hb, trouble)
	}
}

// A shuffled grid measures the same rows in another order, the same order
// for the same seed, and resumes by key whatever the order.
func TestShuffledGridMeasuresTheSameRowsInASeededOrder(t *testing.T) {
	s := spec()
	s.Mem, s.WSS, s.Dirty, s.Conc = []int{256, 512}, []int64{16 << 20, 64 << 20}, []int64{0, 4 << 20, 8 << 20}, []int{0}
	order := func(seed uint64) []string {
		out, lab := t.TempDir(), newFake()
		s.Shuffle = seed
		if _, err := run(t, lab, s, out); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range table(t, out) {
			// The row's configuration, without its running number.
			ids = append(ids, p.ID[:strings.LastIndexByte(p.ID, '-')])
		}
		return ids
	}
	plain, a, b := order(0), order(7), order(7)
	if len(plain) != 24 || !slices.Equal(a, b) {
		t.Fatalf("want 24 rows in one order per seed: %d, %v against %v", len(plain), a, b)
	}
	if slices.Equal(plain, a) {
		t.Fatalf("seed 7 kept the grid's order: %v", a)
	}
	if !slices.Equal(slices.Sorted(slices.Values(plain)), slices.Sorted(slices.Values(a))) {
		t.Fatalf("shuffled rows differ from the grid's: %v against %v", a, plain)
	}
}
